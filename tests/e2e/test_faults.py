"""Faults against a real `dodam run` process: kill -9 mid-screen and between a case and its alert, replies
that cannot be sent (connection resets, timeouts), and PostgreSQL restarted under the running bot.

What she sent is stored (the inbox) before Telegram is told it arrived; a turn's replies are stored with it in
the turn's transaction. So after a crash a turn is never lost and never run twice, and its replies go out.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from telegram import Bot

from bot.db import make_engine, make_session_factory
from bot.domain.messages import Edit
from bot.emulator import Emulator, EmulatorClient
from bot.i18n import Translator
from bot.models import Alert, Case, InboxItem, OutboxStatus, Screening, ScreeningAnswer
from bot.telegram.sender import perform
from tests.clock import weeks_ago
from tests.e2e.process import seed_nurse, start_bot, stop_async, wait_until
from tests.e2e.world import LIBRARY, World, seed_due_lessons

EN = Translator("en")
MOTHER, NURSE = 60_001, 69_001
DANGER = "I want to die, I can't do this anymore"


def question(n: int) -> str:
    return EN("Question {n} of {total}", n=n, total=10)


@contextlib.contextmanager
def database(url: str) -> Iterator[Session]:
    """A session on the bot's database, from outside the bot process."""
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as s:
            yield s
    finally:
        engine.dispose()


def count(url: str, statement: object) -> int:
    with database(url) as s:
        return int(s.scalar(statement) or 0)  # type: ignore[call-overload]


async def texts(client: EmulatorClient, chat_id: int) -> list[str]:
    return [m.get("text") or "" for m in await client.bot_messages(chat_id)]


async def seen(client: EmulatorClient, chat_id: int, needle: str) -> int:
    return sum(needle in t for t in await texts(client, chat_id))


async def open_screen(client: EmulatorClient) -> None:
    """From the menu to question 1 of the EPDS, as she would: buttons pressed on the latest keyboard."""
    await client.send_text(MOTHER, "/menu", language_code="en")
    await wait_until(lambda: _has_button(client, EN("💬 How am I feeling?")), what="the menu")
    await press(client, EN("💬 How am I feeling?"), EN("💬 How am I feeling?"))
    await wait_until(lambda: _has_button(client, EN("Start now")), what="the screen's offer")
    await press(client, EN("Start now"), EN("Start now"))
    await wait_until(lambda: _seen_at_least(client, MOTHER, 1, question(1)), what="question 1")


async def _latest_with(client: EmulatorClient, needle: str) -> dict | None:  # type: ignore[type-arg]
    """Her latest bot message whose text or buttons hold ``needle`` (a lesson may arrive in between)."""
    for message in reversed(await client.bot_messages(MOTHER)):
        if needle in (message.get("text") or "") or needle in str(message.get("reply_markup")):
            return message
    return None


async def _has_button(client: EmulatorClient, label: str) -> bool:
    message = await _latest_with(client, label)
    return message is not None and label in str(message.get("reply_markup"))


async def press(client: EmulatorClient, needle: str, button: str | int) -> None:
    message = await _latest_with(client, needle)
    assert message is not None, needle
    await client.press(MOTHER, button, message_id=message["message_id"])


async def answer(client: EmulatorClient, n: int) -> None:
    """Press the first option of question ``n`` and wait for the next question."""
    await press(client, question(n), 0)
    if n < 10:
        await wait_until(lambda: _seen_at_least(client, MOTHER, 1, question(n + 1)), what=f"question {n + 1}")


def _unanswered(url: str) -> list[tuple[int, dict]]:  # type: ignore[type-arg]
    with database(url) as s:
        items = s.scalars(select(InboxItem).where(InboxItem.answered_at.is_(None))).all()
        return [(i.id, {"payload": i.payload, "replies": i.replies, "attempts": i.attempts}) for i in items]


def answers(url: str) -> list[int]:
    with database(url) as s:
        return list(s.scalars(select(ScreeningAnswer.item_number).order_by(ScreeningAnswer.item_number)))


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    emulator = Emulator()
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


async def test_kill_mid_screen_with_her_answer_in_flight(emulator: Emulator, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'screen.sqlite3'}"
    seed_due_lessons(url, mothers=1, first_user_id=MOTHER, slug=None)
    async with EmulatorClient(emulator.url) as client:
        bot = start_bot(emulator, url)
        try:
            await open_screen(client)
            for n in (1, 2, 3):
                await answer(client, n)
            await press(client, question(4), 0)  # her answer to question 4 ...
            bot.send_signal(signal.SIGKILL)  # ... and the process dies at once, wherever it was
            killed_at = time.time()
            bot.wait(timeout=10)
        finally:
            await stop_async(bot)
        bot = start_bot(emulator, url)
        try:
            await wait_until(
                lambda: _seen_at_least(client, MOTHER, 1, question(5)), what="question 5 after the restart"
            )
            for n in range(5, 11):
                await answer(client, n)
            await wait_until(lambda: _seen_at_least(client, MOTHER, 1, "109"), what="the result with crisis lines")
        finally:
            await stop_async(bot)
        copies = [m for m in await client.bot_messages(MOTHER) if question(5) in (m.get("text") or "")]
    assert answers(url) == list(range(1, 11)), "every answer kept once, the one in flight included"
    assert count(url, select(func.count()).select_from(Screening).where(Screening.status == "completed")) == 1
    # Question 5 twice only inside the documented window: sent just before the kill, not yet recorded as sent.
    assert len(copies) == 1 or (len(copies) == 2 and abs(copies[0]["date"] - killed_at) < 2)
    assert not _unanswered(url), "nothing left unanswered in the inbox"


async def test_a_reply_that_cannot_be_sent_is_kept_and_survives_a_kill(emulator: Emulator, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kept.sqlite3'}"
    seed_due_lessons(url, mothers=1, first_user_id=MOTHER, slug=None)
    async with EmulatorClient(emulator.url) as client:
        bot = start_bot(emulator, url)
        try:
            await open_screen(client)
            await answer(client, 1)
            # Every send now has its connection reset: the turn commits, its reply cannot go out.
            await client.add_faults({"method": "sendMessage", "kind": "reset", "times": 1000})
            await press(client, question(2), 0)
            # Committed (her answer stored, the reply kept with her update), and nothing can be delivered.
            await wait_until(lambda: _answered_items(url, [1, 2]), what="her second answer committed")
            bot.send_signal(signal.SIGKILL)
            bot.wait(timeout=10)
        finally:
            await stop_async(bot)
        await client.clear_faults()
        bot = start_bot(emulator, url)
        try:
            await wait_until(
                lambda: _seen_at_least(client, MOTHER, 1, question(3)), what="the kept reply after the restart"
            )
            await asyncio.sleep(1.5)
        finally:
            await stop_async(bot)
        assert await seen(client, MOTHER, question(3)) == 1
        # Run twice, the turn would have found question 2 already answered and said so.
        assert await seen(client, MOTHER, EN("That button belongs to an earlier question, which has moved on.")) == 0
    assert answers(url) == [1, 2]


async def _answered_items(url: str, expected: list[int]) -> bool:
    return answers(url) == expected


async def _count_async(url: str, statement: object) -> bool:
    return count(url, statement) > 0


async def test_kill_between_a_case_and_its_alert(emulator: Emulator, tmp_path: Path) -> None:
    """Her danger message opens a case; nothing can be sent (resets); the process dies; after a restart the
    nurse gets the alert once and she gets the crisis reply once."""
    url = f"sqlite:///{tmp_path / 'case.sqlite3'}"
    seed_due_lessons(url, mothers=1, first_user_id=MOTHER, slug=None)
    seed_nurse(url, user_id=NURSE, mother_ids=[1])
    async with EmulatorClient(emulator.url) as client:
        await client.send_text(NURSE, "hi")  # the emulator only delivers to chats it knows
        bot = start_bot(emulator, url)
        try:
            await wait_until(lambda: _seen_at_least(client, NURSE, 1), what="the bot answering the nurse")
            await client.add_faults({"method": "sendMessage", "kind": "reset", "times": 1000})
            await client.send_text(MOTHER, DANGER, language_code="en")
            await wait_until(
                lambda: _count_async(url, select(func.count()).select_from(Alert)), what="the case and its alert"
            )
            assert count(url, select(func.count()).select_from(Case)) == 1
            bot.send_signal(signal.SIGKILL)
            bot.wait(timeout=10)
        finally:
            await stop_async(bot)
        assert not any("109" in t for t in await texts(client, MOTHER)), "nothing could be sent before the kill"
        await client.clear_faults()
        bot = start_bot(emulator, url)
        try:
            await wait_until(lambda: _seen_at_least(client, MOTHER, 1, "109"), what="her crisis reply")
            # An alert in flight at the kill is the dead process's until its lease (30 s) runs out.
            await wait_until(lambda: _alerted(client), timeout=45, what="the nurse's alert")
            await asyncio.sleep(2)  # anything sent twice would have gone by now
        finally:
            await stop_async(bot)
        assert sum("109" in t for t in await texts(client, MOTHER)) == 1
        assert len(await _alerts(client)) == 1
    assert count(url, select(func.count()).select_from(Case)) == 1


async def _seen_at_least(client: EmulatorClient, chat_id: int, n: int, needle: str = "") -> bool:
    return sum(needle in t for t in await texts(client, chat_id)) >= n


async def _alerts(client: EmulatorClient) -> list[dict]:  # type: ignore[type-arg]
    return [m for m in await client.bot_messages(NURSE) if "callback_data" in str(m.get("reply_markup"))]


async def _alerted(client: EmulatorClient) -> bool:
    return bool(await _alerts(client))


async def test_alerts_survive_timeouts_and_connection_resets(emulator: Emulator, tmp_path: Path) -> None:
    """Stalled sends (PTB times out) and reset connections: the alert goes out, after bounded retries."""
    url = f"sqlite:///{tmp_path / 'timeouts.sqlite3'}"
    seed_due_lessons(url, mothers=1, first_user_id=MOTHER, slug=None)
    seed_nurse(url, user_id=NURSE, mother_ids=[1])
    async with EmulatorClient(emulator.url) as client:
        await client.send_text(NURSE, "hi")
        bot = start_bot(emulator, url)
        try:
            await wait_until(lambda: _seen_at_least(client, NURSE, 1), what="the bot answering the nurse")
            await client.add_faults(
                {"method": "sendMessage", "kind": "stall", "seconds": 8, "times": 2},
                {"method": "sendMessage", "kind": "reset", "times": 3},
            )
            await client.send_text(MOTHER, DANGER, language_code="en")
            await wait_until(lambda: _alerted(client), timeout=60, what="the alert through timeouts and resets")
            await wait_until(lambda: _seen_at_least(client, MOTHER, 1, "109"), timeout=60, what="her reply")
        finally:
            await stop_async(bot)
        log = await client.log()
    failed = [c for c in log["calls"] if c["method"] == "sendMessage" and c["status"] != 200]
    assert len(failed) >= 3, "the resets were met and retried"
    # A stalled send that PTB gave up on may still have been delivered: at most one extra copy each.
    assert 1 <= len(await _alerts_from_log(log)) <= 3


async def _alerts_from_log(log: dict) -> list[dict]:  # type: ignore[type-arg]
    return [c for c in log["calls"] if c["method"] == "sendMessage" and c["status"] == 200 and c["chat_id"] == NURSE]


PG_CLUSTER = Path("/etc/postgresql")
SLUG = "baby-w5-never-shake"


def _restart_postgres() -> None:
    version = sorted(p.name for p in PG_CLUSTER.iterdir())[0]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.mark.postgres
@pytest.mark.skipif(
    not (shutil.which("pg_ctlcluster") and PG_CLUSTER.is_dir()),
    reason="needs the right to restart the local PostgreSQL server (pg_ctlcluster)",
)
async def test_postgres_restart_under_the_running_bot_loses_nothing(emulator: Emulator, pg_url: str) -> None:
    """Mothers keep writing while PostgreSQL restarts, and lessons are going out: every message gets its one
    answer and every lesson arrives once."""
    mothers = 20
    seed_due_lessons(pg_url, mothers=mothers, first_user_id=MOTHER, slug=SLUG)
    title = LIBRARY[SLUG].texts["en"].title
    async with EmulatorClient(emulator.url) as client:
        for i in range(mothers):
            await client.send_text(MOTHER + i, "/menu", language_code="en")
        bot = start_bot(emulator, pg_url, DODAM_SEND_RATE="4")  # lessons still going out during the restart
        try:
            await wait_until(lambda: _answered(client, mothers, title, 1), what="menus before the restart")
            restart = asyncio.create_task(asyncio.to_thread(_restart_postgres))
            sent = 0
            while not restart.done():  # she keeps writing while the database is down
                for i in range(mothers):
                    await client.send_text(MOTHER + i, "/help", language_code="en")
                sent += 1
                await asyncio.sleep(0.3)
            await restart
            for i in range(mothers):
                await client.send_text(MOTHER + i, "/help", language_code="en")
            sent += 1
            await wait_until(
                lambda: _answered(client, mothers, title, 1 + sent), timeout=90, what="every message answered"
            )
            await wait_until(lambda: _lessons_out(client, mothers, title), timeout=60, what="every lesson sent")
            await asyncio.sleep(3)  # a duplicate would arrive in this time
            assert bot.poll() is None, "the bot survived the restart"
        finally:
            await stop_async(bot)
        replies = [await _replies(client, MOTHER + i, title) for i in range(mothers)]
    assert sent >= 2, "messages were sent while the database was down"
    assert [r[0] for r in replies] == [1 + sent] * mothers, "one answer for every message, none lost, none twice"
    assert [r[1] for r in replies] == [1] * mothers, "every lesson exactly once"


async def _replies(client: EmulatorClient, chat_id: int, title: str) -> tuple[int, int]:
    """(answers to her messages, lessons) in a chat."""
    all_texts = await texts(client, chat_id)
    lessons = sum(title in t for t in all_texts)
    return len(all_texts) - lessons, lessons


async def _answered(client: EmulatorClient, mothers: int, title: str, n: int) -> bool:
    for i in range(mothers):
        if (await _replies(client, MOTHER + i, title))[0] < n:
            return False
    return True


async def _lessons_out(client: EmulatorClient, mothers: int, title: str) -> bool:
    for i in range(mothers):
        if (await _replies(client, MOTHER + i, title))[1] < 1:
            return False
    return True


async def test_chat_not_found_and_message_not_modified_are_handled(world: World) -> None:
    """400 "chat not found" fails that one lesson once (recorded, never retried) while the next mother still
    gets hers; 400 "message is not modified" on an edit is success, not an error."""
    birth = weeks_ago(5)
    world.enrol(6101, "en", birth=birth)
    world.enrol(6102, "en", birth=birth)  # never wrote to the emulator: Telegram does not know her chat
    await world.client.send_text(6101, "hi")
    stats = await world.dispatcher.tick()
    assert stats.sent == 1 and stats.failed == 1
    assert [r.status for r in world.rows(6102)] == [OutboxStatus.FAILED]
    assert (await world.dispatcher.tick()).claimed == 0, "a chat that does not exist is not retried"
    lesson = (await world.client.bot_messages(6101))[-1]
    await world.client.add_faults(
        {
            "method": "editMessageText",
            "kind": "400",
            "description": "Bad Request: message is not modified: specified new message content and reply markup "
            "are exactly the same as a current content and reply markup of the message",
        }
    )
    async with Bot(world.emulator.token, base_url=world.emulator.base_url) as bot:
        await perform(bot, Edit(chat_id=6101, message_id=lesson["message_id"], text=lesson["text"]))
    log = await world.client.log()
    assert [c["status"] for c in log["calls"] if c["method"] == "editMessageText"] == [400]


async def test_lessons_survive_connection_resets_and_timeouts(world: World) -> None:
    """A reset connection and a send PTB times out on: retried later, each lesson arrives (a timed-out send
    that Telegram did accept may arrive twice: the documented duplicate)."""
    birth = weeks_ago(5)
    for user_id in (6201, 6202):
        world.enrol(user_id, "en", birth=birth)
        await world.client.send_text(user_id, "hi")
    await world.client.add_faults(
        {"method": "sendMessage", "kind": "reset", "times": 1},
        {"method": "sendMessage", "kind": "stall", "seconds": 8, "times": 1},
    )
    stats = await world.dispatcher.tick()
    assert stats.retried >= 1
    for _ in range(6):
        world.clock.now += timedelta(minutes=5)
        await world.dispatcher.tick()
    for user_id in (6201, 6202):
        assert [r.status for r in world.rows(user_id)] == [OutboxStatus.SENT]
        lessons = await world.lessons_received(user_id)
        assert 1 <= len(lessons) <= 2
