"""A mother and a nurse through the real python-telegram-bot stack, over HTTP, against the emulator."""

from __future__ import annotations

import socket

import httpx
import pytest
from sqlalchemy import select

from bot.db import make_engine, make_session_factory, transaction
from bot.domain.staff import add_staff
from bot.i18n import LANGUAGE_NAMES, Translator
from bot.models import AuditEvent, Mother, MotherStatus, StaffRole
from tests.clock import days_ago
from tests.e2e.conftest import Harness

MOTHER = 4001


def texts(msgs: list[dict]) -> str:  # type: ignore[type-arg]
    return "\n".join(m.get("text") or "" for m in msgs)


async def test_mother_enrols_in_vietnamese_and_resumes_after_a_restart(harness: Harness) -> None:
    vi = Translator("vi")
    await harness.start_bot()
    greeting = await harness.say(MOTHER, "/start", language_code="vi")
    assert "Dodam" in texts(greeting)
    labels = [b["text"] for row in greeting[0]["reply_markup"]["inline_keyboard"] for b in row]
    assert f"✓ {LANGUAGE_NAMES['vi']}" in labels
    notice = await harness.press(MOTHER, f"✓ {LANGUAGE_NAMES['vi']}", expect=2)
    assert vi("✅ I agree") in str(notice[-1]["reply_markup"])
    await harness.press(MOTHER, vi("✅ I agree"), expect=2)
    await harness.press(MOTHER, vi("👶 My baby is born"))

    # The process goes away mid-onboarding and comes back.
    await harness.stop_bot()
    await harness.start_bot()

    born = days_ago(36)  # typed without a year, as Vietnamese write it: day first
    got = await harness.say(MOTHER, f"{born.day}/{born.month}", language_code="vi", expect=2)
    assert vi("Got it: {date}.", date=vi.date(born, "full")) in texts(got)
    done = await harness.press(MOTHER, vi("One baby"), expect=2)
    assert vi("Main menu") in texts(done)
    # The answered question's buttons were taken away, so it cannot be answered twice.
    log = await harness.client.log()
    assert log["counters"].get("editMessageReplyMarkup", 0) >= 4


async def test_group_chat_is_told_and_left(harness: Harness) -> None:
    await harness.start_bot()
    replies = await harness.say(MOTHER, "hello everyone", chat_id=-100777, chat_type="group", language_code="ko")
    assert "t.me/DodamTestBot" in texts(replies)
    for _ in range(50):
        log = await harness.client.log()
        if -100777 in log["left_chats"]:
            break
        await __import__("asyncio").sleep(0.05)
    assert -100777 in log["left_chats"]


async def test_flood_wait_and_server_errors_are_retried(harness: Harness) -> None:
    await harness.start_bot()
    await harness.client.add_faults(
        {"method": "sendMessage", "kind": "429", "times": 1, "retry_after": 1},
        {"method": "sendMessage", "kind": "502", "times": 1},
    )
    replies = await harness.say(MOTHER, "/start")
    assert "Dodam" in texts(replies)
    log = await harness.client.log()
    assert log["rate_limited"] >= 1


async def test_stickers_and_unknown_commands_get_kind_answers(harness: Harness) -> None:
    en = Translator("en")
    await harness.start_bot()
    await harness.say(MOTHER, "/start")
    before = len(await harness.client.bot_messages(MOTHER))
    await harness.client.send_media(MOTHER, "sticker")
    got = (await harness.client.wait_for(MOTHER, before + 2, timeout=10))[before:]
    assert en("I can only read text messages, so I could not open that. Please write to me in words.") in texts(got)
    unknown = await harness.say(MOTHER, "/dance", expect=2)
    assert "/dance" in texts(unknown)


async def test_blocking_the_bot_marks_the_mother_unreachable(harness: Harness) -> None:
    runner = await harness.start_bot()
    await harness.say(MOTHER, "/start")
    await harness.press(MOTHER, "✓ English", expect=2)
    await harness.press(MOTHER, "✅ I agree", expect=2)
    await harness.client.my_chat_member(MOTHER, "kicked", old_status="member")
    for _ in range(100):
        with transaction(runner.conversation.sessions) as s:
            status = s.scalars(select(Mother.status)).one()
        if status == MotherStatus.BLOCKED:
            break
        await __import__("asyncio").sleep(0.05)
    assert status == MotherStatus.BLOCKED


async def test_staff_member_binds_through_the_link(harness: Harness) -> None:
    factory = make_session_factory(make_engine(harness.settings.database_url))
    runner = await harness.start_bot()
    with transaction(factory) as s:
        payload = add_staff(s, name="Lee Jiyoung", role=StaffRole.NURSE, language="ko").payload
    ko = Translator("ko")
    replies = await harness.say(9001, f"/start {payload}", language_code="ko")
    assert "Lee Jiyoung" in texts(replies) and ko("nurse") in texts(replies)
    with transaction(runner.conversation.sessions) as s:
        assert "staff.bound" in [e.action for e in s.scalars(select(AuditEvent))]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_mode_checks_the_secret(harness: Harness) -> None:
    from dataclasses import replace

    port = _free_port()
    harness.settings = replace(
        harness.settings,
        webhook_url=f"http://127.0.0.1:{port}/telegram",
        webhook_secret="s3cret-token",
        webhook_port=port,
    )
    await harness.start_bot()
    replies = await harness.say(MOTHER, "/start")
    assert "Dodam" in texts(replies)
    update = {
        "update_id": 999999,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 1, "type": "private"},
            "from": {"id": 1, "is_bot": False, "first_name": "X"},
            "text": "/start",
        },
    }
    async with httpx.AsyncClient() as http:
        no_secret = await http.post(f"http://127.0.0.1:{port}/telegram", json=update)
        wrong = await http.post(
            f"http://127.0.0.1:{port}/telegram",
            json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": "nope"},
        )
        garbage = await http.post(
            f"http://127.0.0.1:{port}/telegram",
            content=b"{not json",
            headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-token", "Content-Type": "application/json"},
        )
        huge_id = await http.post(
            f"http://127.0.0.1:{port}/telegram",
            json={**update, "update_id": 2**70},
            headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"},
        )
        health = await http.get(f"http://127.0.0.1:{port}/healthz")
    assert no_secret.status_code == 403 and wrong.status_code == 403
    assert garbage.status_code == 400
    assert huge_id.status_code == 400  # not a 500: an id no update can have is a bad request
    assert health.status_code == 200 and "inbox-retry" in health.json()["loops"]
    assert await harness.client.bot_messages(1) == []


async def test_a_webhook_body_sent_too_slowly_is_refused(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    from dataclasses import replace

    from bot.telegram import webhook

    monkeypatch.setattr(webhook, "BODY_TIMEOUT", 0.5)
    port = _free_port()
    harness.settings = replace(
        harness.settings, webhook_url=f"http://127.0.0.1:{port}/telegram", webhook_secret="s", webhook_port=port
    )
    await harness.start_bot()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /telegram HTTP/1.1\r\nHost: x\r\nX-Telegram-Bot-Api-Secret-Token: s\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
    )
    await writer.drain()
    status = await asyncio.wait_for(reader.readline(), timeout=5)
    writer.close()
    assert b" 408 " in status
