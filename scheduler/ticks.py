"""Periodic work, on APScheduler: a few ticks whose work lives in our own tables.

Never one job per mother: the dispatcher claims due outbox rows, the planner plans from dates, the
content watcher swaps in edited lessons. APScheduler's default misfire grace of one second would silently
skip a late tick, so ticks get a generous grace and coalesce instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}


class Ticks:
    """Runs named async callables at fixed intervals; a failing tick is logged and tried next time."""

    def __init__(self) -> None:
        self.scheduler = AsyncIOScheduler(job_defaults=JOB_DEFAULTS)
        self.failures: dict[str, int] = {}

    def every(
        self,
        seconds: float,
        name: str,
        work: Callable[[], Awaitable[object]],
        *,
        first_run: datetime | None = None,
    ) -> None:
        async def run() -> None:
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except Exception:
                self.failures[name] = self.failures.get(name, 0) + 1
                log.exception("tick %s failed", name)

        # APScheduler reads next_run_time=None as "add paused", so the argument is passed only when set.
        extra = {"next_run_time": first_run} if first_run is not None else {}
        self.scheduler.add_job(run, "interval", seconds=seconds, id=name, name=name, **extra)

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
