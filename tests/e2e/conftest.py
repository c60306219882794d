"""The real bot (python-telegram-bot over HTTP) against the project's Bot API emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.config import Settings
from bot.emulator import Emulator, EmulatorClient
from bot.runner import BotRunner
from tests.conftest import Clock
from tests.e2e.world import world  # noqa: F401 - a fixture, registered here for every e2e test


class Harness:
    """An emulator, its client, and a bot that can be stopped and started again on the same database."""

    def __init__(self, emulator: Emulator, client: EmulatorClient, settings: Settings, clock: Clock) -> None:
        self.emulator = emulator
        self.client = client
        self.settings = settings
        self.clock = clock
        self.runner: BotRunner | None = None

    async def start_bot(self) -> BotRunner:
        self.runner = BotRunner(self.settings, token=self.emulator.token, clock=self.clock, nlu=False)
        await self.runner.start()
        return self.runner

    async def stop_bot(self) -> None:
        if self.runner is not None:
            await self.runner.stop()
            self.runner = None

    async def say(
        self, user_id: int, text: str, *, expect: int = 1, language_code: str | None = "en", **kw: object
    ) -> list[dict]:  # type: ignore[type-arg]
        """Send as the user; wait for `expect` more bot messages; return the new ones."""
        before = len(await self.client.bot_messages(kw.get("chat_id") or user_id))  # type: ignore[arg-type]
        await self.client.send_text(user_id, text, language_code=language_code, **kw)
        return await self._new(int(kw.get("chat_id") or user_id), before, expect)  # type: ignore[call-overload]

    async def press(self, user_id: int, button: str | int, *, expect: int = 1) -> list[dict]:  # type: ignore[type-arg]
        before = len(await self.client.bot_messages(user_id))
        await self.client.press(user_id, button)
        return await self._new(user_id, before, expect)

    async def _new(self, chat_id: int, before: int, expect: int) -> list[dict]:  # type: ignore[type-arg]
        msgs = await self.client.wait_for(chat_id, before + expect, timeout=10)
        return msgs[before:]


@pytest.fixture
async def harness(tmp_path: Path, clock: Clock) -> AsyncIterator[Harness]:
    emulator = Emulator(bot_username="DodamTestBot")
    await emulator.start()
    settings = replace(
        Settings(),
        database_url=f"sqlite:///{tmp_path / 'dodam.sqlite3'}",
        bot_api_base_url=emulator.base_url,
        bot_api_base_file_url=emulator.base_file_url,
        bot_username="DodamTestBot",
    )
    async with EmulatorClient(emulator.url) as client:
        h = Harness(emulator, client, settings, clock)
        try:
            yield h
        finally:
            await h.stop_bot()
            await emulator.stop()
