"""Scale-out: two dispatcher workers share one PostgreSQL outbox; every message is sent exactly once."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from sqlalchemy import func, select
from telegram import Bot

from bot.config import Settings
from bot.db import make_engine, make_session_factory
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.ratelimit import RateLimiter
from bot.emulator import Emulator, EmulatorClient
from bot.models import OutboxMessage
from bot.telegram.sender import TelegramMessageSender
from tests.e2e.world import LIBRARY, seed_due_lessons

pytestmark = pytest.mark.postgres
MOTHERS = 240
SLUG = "baby-w5-never-shake"


def seed(url: str) -> None:
    seed_due_lessons(url, mothers=MOTHERS, first_user_id=70_000, slug=SLUG)


async def test_two_workers_on_one_postgresql_outbox_send_each_message_once(pg_url: str) -> None:
    seed(pg_url)
    emulator = Emulator()
    await emulator.start()
    settings = replace(Settings(), database_url=pg_url, quiet_start_hour=0, quiet_end_hour=0)
    engines = [make_engine(pg_url), make_engine(pg_url)]
    try:
        async with EmulatorClient(emulator.url) as client, Bot(emulator.token, base_url=emulator.base_url) as bot:
            for i in range(MOTHERS):
                await client.send_text(70_000 + i, "hi")
            workers = [
                Dispatcher(
                    settings,
                    make_session_factory(engine),
                    lambda: LIBRARY,
                    TelegramMessageSender(bot),
                    limiter=RateLimiter(500, per_chat=0),
                    worker_id=f"worker-{n}",
                    batch=25,
                )
                for n, engine in enumerate(engines)
            ]

            async def run(worker: Dispatcher) -> int:
                sent = 0
                for _ in range(100):
                    stats = await worker.tick()
                    sent += stats.sent
                    if stats.claimed == 0:
                        await asyncio.sleep(0.05)
                        if (await worker.tick()).claimed == 0:
                            break
                return sent

            per_worker = await asyncio.gather(*(run(worker) for worker in workers))
            title = LIBRARY[SLUG].texts["en"].title
            received = {}
            for i in range(MOTHERS):
                msgs = await client.bot_messages(70_000 + i)
                received[70_000 + i] = sum(title in (m.get("text") or "") for m in msgs)
    finally:
        for engine in engines:
            engine.dispose()
        await emulator.stop()
    assert sum(per_worker) == MOTHERS
    assert all(n > 0 for n in per_worker), f"both workers should share the work: {per_worker}"
    assert set(received.values()) == {1}, {k: v for k, v in received.items() if v != 1}
    check = make_engine(pg_url)
    with check.connect() as conn:
        assert (
            conn.execute(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent")
            ).scalar_one()
            == MOTHERS
        )
    check.dispose()
