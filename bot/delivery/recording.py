"""Recording what a send did, through a database outage.

Once Telegram has accepted a message, forgetting that (because PostgreSQL restarted at that moment) would
send it again when the lease runs out. The outcome is kept in memory and written as soon as the database
answers again, for up to ``patience`` seconds (well inside the lease).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import OperationalError, SQLAlchemyError

log = logging.getLogger(__name__)


async def record(work: Callable[..., Any], *args: Any, patience: float = 30.0) -> None:
    """Run ``work(*args)`` in a thread, retrying while the database is unreachable."""
    waited, delay = 0.0, 0.25
    while True:
        try:
            await asyncio.to_thread(work, *args)
            return
        except OperationalError as exc:
            if waited >= patience:
                log.error("could not record %s after %.0f s: %s", work.__name__, waited, type(exc).__name__)
                raise
        except SQLAlchemyError as exc:
            # psycopg reports a server gone mid-statement in more than one way; only connection loss retries.
            if "connection" not in str(exc).lower() or waited >= patience:
                raise
        log.warning("database unavailable while recording %s: retrying", work.__name__)
        await asyncio.sleep(delay)
        waited += delay
        delay = min(delay * 2, 2.0)
