"""Every path reaches the crisis reply: the text after a command, a NUL byte (on PostgreSQL too), a former
staff account; through python-telegram-bot over HTTP and the emulator, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from sqlalchemy import func, select
from telegram import Update

from bot.config import Settings
from bot.db import make_engine, make_session_factory, migrate, transaction
from bot.domain.staff import add_staff, new_binding_code
from bot.emulator import Emulator, EmulatorClient
from bot.models import Case, Mother, StaffRole
from tests.clock import weeks_ago
from tests.conftest import Clock
from tests.e2e.conftest import Harness

MOTHER = 9801


@pytest.fixture
async def stack(database_url: str, clock: Clock) -> AsyncIterator[Harness]:
    """The real bot on either database."""
    emulator = Emulator(bot_username="DodamTestBot")
    await emulator.start()
    migrate(database_url)
    settings = replace(
        Settings(),
        database_url=database_url,
        bot_api_base_url=emulator.base_url,
        bot_api_base_file_url=emulator.base_file_url,
        bot_username="DodamTestBot",
    )
    async with EmulatorClient(emulator.url) as client:
        h = Harness(emulator, client, settings, clock)
        try:
            await h.start_bot()
            yield h
        finally:
            await h.stop_bot()
            await emulator.stop()


async def enrolled(h: Harness, user: int) -> None:
    await h.say(user, "/start")
    await h.press(user, "✓ English", expect=2)
    await h.press(user, "✅ I agree", expect=2)
    await h.press(user, "👶 My baby is born")
    await h.say(user, weeks_ago(5).isoformat(), expect=2)
    await h.press(user, "One baby", expect=2)


async def cases_of(h: Harness, user: int) -> int:
    factory = make_session_factory(make_engine(h.settings.database_url))
    with transaction(factory) as s:
        return int(
            s.scalar(select(func.count()).select_from(Case).join(Mother).where(Mother.telegram_user_id == user)) or 0
        )


@pytest.mark.parametrize(
    "text",
    ["/sos I want to die tonight", "/help I want to kill myself", "/cancel 죽고 싶어", "/start I want to die"],
)
async def test_the_text_after_a_command_is_checked_first(stack: Harness, text: str) -> None:
    await enrolled(stack, MOTHER)
    replies = await stack.say(MOTHER, text, expect=2)
    assert "109" in replies[0]["text"], "the crisis lines come first"
    assert "No nurse is assigned to you yet" in replies[1]["text"]  # the default pool has no nurse here
    assert await cases_of(stack, MOTHER) == 1


async def test_a_nul_byte_does_not_drop_a_crisis(stack: Harness) -> None:
    await enrolled(stack, MOTHER)
    replies = await stack.say(MOTHER, "I want to kill myself\x00", expect=2)
    assert "109" in replies[0]["text"]
    assert await cases_of(stack, MOTHER) == 1


async def test_a_nul_byte_in_her_name_does_not_stop_her_signing_up(stack: Harness) -> None:
    await stack.say(MOTHER, "/start", first_name="Ann\x00a")
    await stack.press(MOTHER, "✓ English", expect=2)
    replies = await stack.press(MOTHER, "✅ I agree", expect=2)
    assert "pregnant" in replies[-1]["text"]


async def test_a_former_staff_account_gets_the_crisis_reply(stack: Harness) -> None:
    factory = make_session_factory(make_engine(stack.settings.database_url))
    with transaction(factory) as s:
        created = add_staff(s, name="Old Phone", role=StaffRole.NURSE, language="en")
        staff_id, payload = created.staff.id, created.payload
    await stack.say(9901, f"/start {payload}")
    with transaction(factory) as s:
        relinked = new_binding_code(s, staff_id).payload
    await stack.say(9902, f"/start {relinked}")  # her new phone; 9901 is now nobody's
    await asyncio.sleep(0.1)
    replies = await stack.say(9901, "I want to kill myself", expect=1)
    assert "109" in replies[0]["text"]


async def test_a_former_staff_account_is_answered_like_anyone_new(stack: Harness) -> None:
    factory = make_session_factory(make_engine(stack.settings.database_url))
    with transaction(factory) as s:
        created = add_staff(s, name="Old Phone", role=StaffRole.NURSE, language="en")
        staff_id, payload = created.staff.id, created.payload
    await stack.say(9911, f"/start {payload}")
    await stack.say(9911, "/cases")
    with transaction(factory) as s:
        relinked = new_binding_code(s, staff_id).payload
    await stack.say(9912, f"/start {relinked}")
    replies = await stack.say(9911, "hello")
    assert replies and replies[-1]["text"]


async def test_a_lasting_400_on_edits_never_takes_the_crisis_lines_down(stack: Harness) -> None:
    """Every edit refused for good ("message to edit not found") while she answers EPDS item 10 "yes, quite
    often": each answer's edit is sent as a new message, and the result and the crisis lines still reach her."""
    from tests.e2e.test_screening import option_for

    await enrolled(stack, MOTHER)
    await stack.client.add_faults(
        {
            "method": "editMessageText",
            "kind": "400",
            "description": "Bad Request: message to edit not found",
            "times": 50,
        }
    )
    offer = await stack.press(MOTHER, "💬 How am I feeling?", expect=1)
    assert offer
    await stack.press(MOTHER, 0)  # start
    for number in range(1, 11):
        wanted = 3 if number == 10 else 0
        before = len(await stack.client.bot_messages(MOTHER))
        await stack.client.press(MOTHER, option_for("epds", number, wanted))
        await stack.client.wait_for(MOTHER, before + 1, timeout=10)
    await asyncio.sleep(0.5)
    said = "\n".join(m.get("text") or "" for m in await stack.client.bot_messages(MOTHER))
    assert "109" in said and "1577-0199" in said
    assert await cases_of(stack, MOTHER) == 1


async def test_an_unreadable_update_is_skipped_and_the_bot_keeps_listening(stack: Harness) -> None:
    """A button press without ``chat_instance`` makes python-telegram-bot raise while parsing: the receiver
    skips that one update (recorded by id) and the next message, a crisis, is answered."""
    await stack.say(MOTHER, "/start")
    broken = await stack.client.raw(
        {
            "callback_query": {
                "id": "77",
                "from": {"id": MOTHER, "is_bot": False, "first_name": "A"},
                "data": "lang:en",
                "message": {"message_id": 1, "date": 0, "chat": {"id": MOTHER, "type": "private"}},
            }
        }
    )
    replies = await stack.say(MOTHER, "I want to kill myself", expect=1)
    assert "109" in replies[0]["text"]
    assert stack.runner is not None and stack.runner.receiver is not None
    assert broken["update_id"] in stack.runner.receiver.skipped


async def test_a_failing_command_menu_does_not_stop_the_bot_starting(harness: Harness) -> None:
    await harness.client.add_faults({"method": "setMyCommands", "kind": "400", "times": 20})
    await harness.start_bot()
    replies = await harness.say(MOTHER, "I want to kill myself")
    assert "109" in replies[0]["text"]


async def test_a_supervisor_can_watch_the_running_bot(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`dodam health` reads the heartbeat `dodam run` writes: healthy while it polls, unhealthy once it stops."""
    import subprocess
    import sys

    from tests.e2e.process import ROOT, start_bot, stop_async

    url = f"sqlite:///{tmp_path / 'health.sqlite3'}"
    beat = tmp_path / "beat.json"
    emulator = Emulator()
    await emulator.start()
    env = {"DODAM_HEARTBEAT_FILE": str(beat), "DODAM_DATABASE_URL": url}

    def health(*extra: str) -> int:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", "health", *extra],
            cwd=ROOT,
            env={**__import__("os").environ, **env},
            capture_output=True,
            check=False,
        ).returncode

    bot = start_bot(emulator, url, DODAM_HEARTBEAT_FILE=str(beat))
    try:
        for _ in range(200):
            if beat.exists():
                break
            await asyncio.sleep(0.1)
        assert await asyncio.to_thread(health) == 0
    finally:
        await stop_async(bot)
        await emulator.stop()
    await asyncio.sleep(1.5)
    assert await asyncio.to_thread(health, "--max-age", "1") == 1


async def test_debug_logs_of_the_running_bot_hold_no_text_names_codes_or_token(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tests.e2e.process import start_bot, stop_async

    url = f"sqlite:///{tmp_path / 'logs.sqlite3'}"
    migrate(url)
    factory = make_session_factory(make_engine(url))
    with transaction(factory) as s:
        code = add_staff(s, name="Nurse Secretname", role=StaffRole.NURSE, language="en").payload
    log_file = tmp_path / "bot.log"
    monkeypatch.setenv("DODAM_TEST_BOT_LOG", str(log_file))
    emulator = Emulator()
    await emulator.start()
    bot = start_bot(emulator, url, DODAM_LOG_LEVEL="DEBUG")
    try:
        async with EmulatorClient(emulator.url) as client:
            await client.send_text(9990, f"/start {code}")
            await client.wait_for(9990, 1, timeout=30)
            await client.send_text(9991, "/start", first_name="Seoyeon")
            await client.wait_for(9991, 1, timeout=10)
            await client.send_text(9991, "my husband hits me every night")
            await client.wait_for(9991, 2, timeout=10)
    finally:
        await stop_async(bot)
        await emulator.stop()
    logged = log_file.read_text(encoding="utf-8", errors="replace")
    assert "DEBUG applies to Dodam's own logs only" in logged
    for secret in ("hits me every night", "Seoyeon", "Secretname", code, emulator.token):
        assert secret not in logged


async def test_her_updates_are_handled_in_the_order_she_sent_them(harness: Harness) -> None:
    """Two updates of one chat handed over in reverse order (a webhook's parallel requests, the retry loop): the
    turns run by update id, so the replies come in the order of her messages."""
    runner = await harness.start_bot()
    assert runner.receiver is not None and runner.app is not None
    sender = {"id": MOTHER, "is_bot": False, "first_name": "A", "language_code": "en"}

    def message(update_id: int, text: str) -> Update:
        chat = {"id": MOTHER, "type": "private"}
        data = {
            "update_id": update_id,
            "message": {"message_id": update_id, "date": 0, "chat": chat, "from": sender, "text": text},
        }
        return Update.de_json(data, runner.app.bot)

    before = len(await harness.say(MOTHER, "/start"))  # the emulator delivers only to chats it knows
    await runner.receiver.accept([message(9_000_002, "I want to kill myself"), message(9_000_001, "/language")])
    for _ in range(100):
        texts = [m.get("text") or "" for m in (await harness.client.bot_messages(MOTHER))[before:]]
        if any("☎️" in text for text in texts):
            break
        await asyncio.sleep(0.1)
    first_crisis = next(i for i, text in enumerate(texts) if "☎️" in text)
    assert any("Please choose" in text for text in texts[:first_crisis]), texts  # /language was answered first
