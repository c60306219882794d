"""The bot as a real `dodam run` process against the emulator, for crash and fault tests (kill -9, restarts)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.db import make_engine, make_session_factory, transaction
from bot.emulator import Emulator
from bot.models import Mother, Staff, StaffRole

ROOT = Path(__file__).resolve().parents[2]


def start_bot(emulator: Emulator, url: str, **env: str) -> subprocess.Popen[bytes]:
    """`dodam run` on ``url``, polling the emulator; ``env`` adds or overrides DODAM_* settings."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        cwd=ROOT,
        env={
            **os.environ,
            "DODAM_TELEGRAM_TOKEN": emulator.token,
            "DODAM_BOT_API_BASE_URL": emulator.base_url,
            "DODAM_BOT_API_BASE_FILE_URL": emulator.base_file_url,
            "DODAM_DATABASE_URL": url,
            "DODAM_QUIET_HOURS": "0-0",
            "DODAM_LOG_LEVEL": "WARNING",
            "DODAM_NLU_URL": "off",
            **env,
        },
        stdout=subprocess.DEVNULL,
        # DODAM_TEST_BOT_LOG=path keeps the bot's log for a failing test (logs hold no message text).
        stderr=open(os.environ["DODAM_TEST_BOT_LOG"], "ab")
        if os.environ.get("DODAM_TEST_BOT_LOG")
        else subprocess.DEVNULL,
    )


def stop(bot: subprocess.Popen[bytes]) -> None:
    if bot.poll() is None:
        bot.terminate()
        try:
            bot.wait(timeout=15)
        except subprocess.TimeoutExpired:
            bot.kill()
            bot.wait(timeout=5)


async def stop_async(bot: subprocess.Popen[bytes]) -> None:
    """:func:`stop` without blocking the event loop: the emulator runs on it, and a bot finishing its turns on
    SIGTERM still needs the emulator to answer."""
    await asyncio.to_thread(stop, bot)


async def wait_until(check: Callable[[], Awaitable[bool]], *, timeout: float = 20.0, what: str = "") -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.1)


def seed_nurse(url: str, *, user_id: int, mother_ids: list[int]) -> int:
    """A nurse bound to Telegram account ``user_id``, with the given mothers assigned to her."""
    engine = make_engine(url)
    try:
        with transaction(make_session_factory(engine)) as s:
            nurse = Staff(
                name="Nurse Test", role=StaffRole.NURSE, language="en", telegram_user_id=user_id, chat_id=user_id
            )
            s.add(nurse)
            s.flush()
            for mother_id in mother_ids:
                s.get_one(Mother, mother_id).nurse_id = nurse.id
            return nurse.id
    finally:
        engine.dispose()


__all__ = ["ROOT", "seed_nurse", "start_bot", "stop", "wait_until"]
