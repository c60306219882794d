"""Faults on every Bot API method of a crisis turn, one at a time: the crisis lines still reach her, or, when
Telegram refuses her chat for good, her nurse is told she could not be reached. Real PTB over HTTP, the
emulator injecting the faults."""

from __future__ import annotations

import asyncio

import pytest

from bot.db import make_engine, make_session_factory, transaction
from bot.domain.invites import create_invite
from bot.domain.staff import add_staff
from bot.models import StaffRole
from tests.clock import weeks_ago
from tests.e2e.conftest import Harness

NURSE, MOTHER = 9401, 9402
CRISIS = "I want to kill myself tonight"

TRANSIENT = [
    ("sendMessage", {"kind": "429", "retry_after": 1}),
    ("sendMessage", {"kind": "500"}),
    ("sendMessage", {"kind": "reset"}),
    ("sendMessage", {"kind": "stall", "seconds": 8}),
    ("sendMessage", {"kind": "400", "description": "Bad Request: can't parse entities"}),
    ("getUpdates", {"kind": "429", "retry_after": 1}),
    ("getUpdates", {"kind": "500"}),
    ("getUpdates", {"kind": "reset"}),
    ("getUpdates", {"kind": "stall", "seconds": 8}),
    ("getUpdates", {"kind": "400", "description": "Bad Request: something odd"}),
]
FOR_GOOD = [
    ("sendMessage", {"kind": "403"}),
    ("sendMessage", {"kind": "400", "description": "Bad Request: chat not found"}),
]


async def with_nurse(harness: Harness) -> None:
    await harness.start_bot()
    factory = make_session_factory(make_engine(harness.settings.database_url))
    with transaction(factory) as s:
        nurse = add_staff(s, name="Kim", role=StaffRole.NURSE, language="en")
        invite, payload = create_invite(s, nurse_id=nurse.staff.id).code, nurse.payload
    await harness.say(NURSE, f"/start {payload}")
    await harness.say(MOTHER, f"/start {invite}")
    await harness.press(MOTHER, "✓ English", expect=2)
    await harness.press(MOTHER, "✅ I agree", expect=2)
    await harness.press(MOTHER, "🤰 I am pregnant")  # week 10: no lesson is due to get in the way
    await harness.say(MOTHER, weeks_ago(-30).isoformat(), expect=2)
    await harness.press(MOTHER, "One baby", expect=2)


async def said_to(harness: Harness, chat: int, what: str) -> bool:
    for _ in range(300):  # 30 s
        if any(what in (m.get("text") or "") for m in await harness.client.bot_messages(chat)):
            return True
        await asyncio.sleep(0.1)
    return False


@pytest.mark.parametrize(("method", "fault"), TRANSIENT, ids=[f"{m}-{f['kind']}" for m, f in TRANSIENT])
async def test_the_crisis_lines_get_through_a_fault(harness: Harness, method: str, fault: dict[str, object]) -> None:
    await with_nurse(harness)
    before = len(await harness.client.bot_messages(MOTHER))
    mine = {"chat_id": MOTHER} if method == "sendMessage" else {}  # her reply, not the nurse's alert
    await harness.client.add_faults({"method": method, "times": 1, **mine, **fault})
    await harness.client.send_text(MOTHER, CRISIS)
    assert await said_to(harness, MOTHER, "☎️ 109"), f"no crisis lines after {method} {fault}"
    messages = (await harness.client.bot_messages(MOTHER))[before:]
    assert "☎️" in (messages[0].get("text") or ""), "what to do now comes first"
    assert await said_to(harness, NURSE, "Case #")


@pytest.mark.parametrize(("method", "fault"), FOR_GOOD, ids=["403", "chat-not-found"])
async def test_when_her_chat_is_refused_for_good_her_nurse_is_told(
    harness: Harness, method: str, fault: dict[str, object]
) -> None:
    await with_nurse(harness)
    await harness.client.add_faults({"method": method, "times": 1, "chat_id": MOTHER, **fault})
    await harness.client.send_text(MOTHER, CRISIS)
    assert await said_to(harness, NURSE, "📵"), "her nurse must hear that Dodam could not reach her"
