"""Her data is hers: /mydata, /deletemydata, a changed privacy notice, retention, and quiet logs."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.db import transaction
from bot.domain.conversation import Conversation
from bot.domain.messages import SendDocument
from bot.domain.privacy import purge_old_messages
from bot.models import Alert, AuditEvent, Case, CaseEvent, ChatMessage, Mother, ScreeningAnswer
from tests.clock import weeks_ago
from tests.e2e.test_escalation import staff_world
from tests.e2e.test_screening import take
from tests.e2e.world import LIBRARY, World
from tests.integration.chat import Chat

BIRTH = weeks_ago(5)


async def test_mydata_sends_a_readable_summary_and_a_json_file(world: World) -> None:
    chat = world.enrol(8201, "vi", birth=BIRTH)
    take(chat, "phq9", [1, 0, 0, 0, 0, 0, 0, 0, 0])
    chat.text("con ngủ ít quá")
    chat.command("mydata")
    assert "Tiếng Việt" in chat.said()
    document = next(a for a in chat.last if isinstance(a, SendDocument))
    data = json.loads(document.content)
    assert data["profile"]["language"] == "vi"
    assert data["babies"] == [{"status": "born", "due_date": None, "birth_date": BIRTH.isoformat()}]
    assert data["screenings"][0]["instrument"] == "phq9" and data["screenings"][0]["total"] == 1
    assert any(m["text"] == "con ngủ ít quá" for m in data["messages"])
    assert data["consent"][0]["accepted"] is True


async def test_deletemydata_erases_her_and_tells_her_nurse(world: World) -> None:
    staff = await staff_world(world)
    mother = Chat(world.conversation, 8202, language_code="en", first_name="Mina")
    mother.command("start", str(staff["invite"]))
    for data in ("lang:en", "consent:yes", "stage:born", f"day:{BIRTH.isoformat()}", "count:1"):
        mother.data(data)
    take(mother, "epds", [2, 2, 2, 2, 2, 2, 1, 1, 1, 0])  # high: a case opens
    mother.text("please call me after 3")
    await world.alerts.tick()  # the nurse already got her message: its stored copy must go too
    mother.command("deletemydata")
    assert "cannot be undone" in mother.said()
    mother.press("Yes, erase my data")
    assert "erased" in mother.said()
    with world.sessions() as s:
        erased = s.scalars(select(Mother)).one()
        assert (erased.display_name, erased.telegram_user_id, erased.chat_id, erased.status) == (
            None,
            None,
            None,
            "erased",
        )
        assert s.scalar(select(func.count()).select_from(ScreeningAnswer)) == 0
        assert s.scalar(select(func.count()).select_from(ChatMessage)) == 0
        assert "call me" not in json.dumps([a.payload for a in s.scalars(select(Alert))])
        assert [b.birth_date for b in erased.babies] == [None]
        case = s.scalars(select(Case)).one()
        assert (case.status, case.priority) == ("open", "high")  # the case and its counts stay
        assert "mother_erased" in [e.kind for e in s.scalars(select(CaseEvent))]
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action == "mother.erased")).one()
        assert "Mina" not in json.dumps(audit.details) and "call me" not in json.dumps(audit.details)
    await world.alerts.tick()
    kim_messages = [m.get("text") or "" for m in await world.client.bot_messages(9101)]
    assert any("🗑" in text for text in kim_messages)
    # An old button pressed after erasure leaves no trace of her Telegram id in the append-only audit log.
    mother.data(f"c:ack:{case.id}")
    mother.data("fb:1:1")
    with world.sessions() as s:
        assert "8202" not in json.dumps([(e.actor, e.details) for e in s.scalars(select(AuditEvent))])
    # After erasure she is a stranger: /start begins again from the language question.
    mother.command("start")
    assert len(mother.labels()) == 5


def test_a_new_privacy_notice_is_asked_again_and_only_safety_gets_through(world: World) -> None:
    chat = world.enrol(8203, "en", birth=BIRTH)
    changed = Conversation(
        replace(world.settings, consent_version="2027-01"), world.sessions, clock=world.clock, library=lambda: LIBRARY
    )
    again = Chat(changed, 8203, language_code="en")
    again.command("menu")
    assert "privacy notice has changed" in again.said() and "2027-01" in again.said()
    again.text("i want to kill myself")
    assert "109" in again.texts()[0]  # safety first, even now
    again.press("I agree")
    assert "Main menu" in again.said()
    with world.sessions() as s:
        versions = [c for c in s.scalars(select(AuditEvent.details).where(AuditEvent.action == "consent.accepted"))]
    assert {"version": "2027-01"} in versions
    del chat


async def test_lessons_wait_while_the_notice_is_not_accepted(world: World) -> None:
    world.enrol(8204, "en", birth=BIRTH)
    await world.client.send_text(8204, "hi")
    world.dispatcher.settings = replace(world.settings, consent_version="2027-01")
    stats = await world.dispatcher.tick()
    assert stats.sent == 0 and stats.reasons == {"consent_outdated": 1}


def test_retention_purges_old_message_bodies(world: World) -> None:
    chat = world.enrol(8205, "en", birth=BIRTH)
    chat.text("an old worry")
    with transaction(world.sessions) as s:
        assert purge_old_messages(s, world.clock.now + timedelta(days=10), retention_days=30) == 0
        assert purge_old_messages(s, world.clock.now + timedelta(days=31), retention_days=30) == 1
    with world.sessions() as s:
        row = s.scalars(select(ChatMessage)).one()
        assert row.text is None and row.direction == "from_mother"


def test_logs_hold_no_message_text_names_or_tokens(world: World, caplog: pytest.LogCaptureFixture) -> None:
    secret_words = ["Seo-yeon", "my husband hits me", "i cant breathe", "doesnt eat anything"]
    with caplog.at_level(logging.DEBUG):
        chat = Chat(world.conversation, 8206, language_code="ko", first_name="Seo-yeon")
        chat.command("start")
        for data in ("lang:ko", "consent:yes", "stage:born", f"day:{BIRTH.isoformat()}", "count:1"):
            chat.data(data)
        for text in secret_words[1:]:
            chat.text(text)
        take(chat, "epds", [0, 0, 0, 0, 0, 0, 0, 0, 0, 3])
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for word in secret_words:
        assert word not in logged
    assert world.emulator.token not in logged
