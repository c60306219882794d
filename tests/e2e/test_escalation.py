"""Escalation end to end: a crisis answer, an alert, a missed deadline, the ladder, and the way back."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.db import transaction
from bot.domain.cases import escalate_due
from bot.domain.invites import create_invite
from bot.domain.staff import add_staff
from bot.i18n import Translator
from bot.models import AuditEvent, Case, CaseEvent, StaffRole
from tests.clock import weeks_ago
from tests.e2e.test_screening import take
from tests.e2e.world import World
from tests.integration.chat import Chat

KIM, LEE, PARK, ADMIN, STRANGER = 9101, 9102, 9103, 9104, 9199
MOTHER = 9201


async def staff_world(world: World) -> dict[str, Chat]:
    """A nurse (Korean) with a backup, their district supervisor, an admin; all bound through Telegram."""
    with transaction(world.sessions) as s:
        kim = add_staff(s, name="Kim Nurse", role=StaffRole.NURSE, language="ko", district="Gangbuk")
        lee = add_staff(s, name="Lee Backup", role=StaffRole.NURSE, language="en", district="Gangbuk")
        kim.staff.backup_id = lee.staff.id
        park = add_staff(s, name="Park Supervisor", role=StaffRole.SUPERVISOR, language="en", district="Gangbuk")
        admin = add_staff(s, name="Admin", role=StaffRole.ADMIN, language="en")
        invite = create_invite(s, nurse_id=kim.staff.id).code
        payloads = {KIM: kim.payload, LEE: lee.payload, PARK: park.payload, ADMIN: admin.payload}
    chats = {}
    for user_id, payload in payloads.items():
        await world.client.send_text(user_id, "hi")  # the emulator must know the chat
        chat = Chat(world.conversation, user_id, language_code="en")
        chat.command("start", payload)
        chats[str(user_id)] = chat
    chats["invite"] = invite  # type: ignore[assignment]
    return chats


async def alerts_to(world: World, user_id: int) -> list[str]:
    return [m.get("text") or "" for m in await world.client.bot_messages(user_id)]


async def test_crisis_alert_escalation_acknowledgement_relay_and_resolution(world: World) -> None:
    staff = await staff_world(world)
    # The mother enrols through Kim's invite link, in Vietnamese.
    mother = Chat(world.conversation, MOTHER, language_code="vi")
    mother.command("start", str(staff["invite"]))
    mother.data("lang:vi")
    mother.data("consent:yes")
    mother.data("stage:born")
    mother.data(f"day:{weeks_ago(5).isoformat()}")
    mother.data("count:1")
    await world.client.send_text(MOTHER, "chào", language_code="vi")

    # EPDS with item 10 above 0: the crisis lines at once, before anything else.
    take(mother, "epds", [0, 0, 0, 0, 0, 0, 0, 0, 0, 2])
    replies = mother.texts()
    first_result = next(i for i, text in enumerate(replies) if "109" in text)
    assert all("Question" not in text for text in replies[first_result:])
    assert "1577-0199" in replies[first_result] and "1577-1366" in replies[first_result]
    with world.sessions() as s:
        case = s.scalars(select(Case)).one()
        assert (case.priority, case.status) == ("urgent", "open")
        case_id = case.id

    # The nurse's alert, in Korean, with the answers translated and the buttons to act.
    assert await world.alerts.tick() == 1
    ko = Translator("ko")
    alert = (await alerts_to(world, KIM))[-1]
    assert ko("Case #{id}", id=case_id) in alert and "❗" in alert
    assert ko("⚠️ She answered in {language}; that translation is not validated.", language="Tiếng Việt") in alert

    # Nobody acknowledges. After 15 minutes: Kim again and her backup Lee. Then the supervisor.
    world.clock.now += timedelta(minutes=16)
    with transaction(world.sessions) as s:
        assert escalate_due(s, world.clock.now) == 1
    assert await world.alerts.tick() == 2
    assert "Not acknowledged in time" in (await alerts_to(world, LEE))[-1]
    assert await alerts_to(world, PARK) == ["hi"] or not any("Case #" in t for t in await alerts_to(world, PARK))
    world.clock.now += timedelta(minutes=16)
    with transaction(world.sessions) as s:
        assert escalate_due(s, world.clock.now) == 1
    await world.alerts.tick()
    assert f"Case #{case_id}" in (await alerts_to(world, PARK))[-1]

    # A forged press from an account that is not staff, and from the admin-less stranger, change nothing.
    stranger = Chat(world.conversation, STRANGER, language_code="en")
    stranger.data(f"c:ack:{case_id}")
    assert "moved on" in stranger.said() and "Mother" not in stranger.said()
    with world.sessions() as s:
        assert s.get(Case, case_id).status == "open"  # type: ignore[union-attr]

    # The supervisor acknowledges, writes to the mother; the mother answers; the supervisor resolves.
    park = staff[str(PARK)]
    park.data(f"c:ack:{case_id}")
    assert f"Case #{case_id} acknowledged" in park.said()
    vi = Translator("vi")
    assert vi("Your nurse has seen your message and will contact you soon.") in park.said()  # sent to her
    park.data(f"c:msg:{case_id}")
    park.text("Chị ơi, em là điều dưỡng. Em sẽ gọi cho chị trong 10 phút nữa nhé.")
    to_mother = [a for a in park.last if getattr(a, "chat_id", None) == MOTHER]
    assert to_mother and "Park Supervisor" in to_mother[0].text  # type: ignore[union-attr]
    assert "+82" not in to_mother[0].text and "@" not in to_mother[0].text  # type: ignore[union-attr]
    mother.text("Vâng, cảm ơn chị")
    assert vi("I have passed this on to your nurse.") in mother.said()
    assert await world.alerts.tick() == 1
    assert "Vâng, cảm ơn chị" in (await alerts_to(world, PARK))[-1]
    park.data(f"c:res:{case_id}")
    assert f"Case #{case_id} resolved" in park.said()

    # The audit shows every step, with actor and time.
    with world.sessions() as s:
        kinds = [
            e.kind for e in s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id))
        ]
        refused = s.scalars(select(AuditEvent).where(AuditEvent.action == "callback.refused")).all()
    assert kinds[0] == "opened" and kinds[-1] == "resolved"
    for kind in ("alert_sent", "escalated", "acknowledged", "message_relayed"):
        assert kind in kinds
    assert kinds.count("escalated") == 2 and kinds.count("message_relayed") == 2
    assert refused and all("Mother" not in str(e.details) for e in refused)


async def test_wrong_nurse_cannot_see_or_act_and_off_duty_is_skipped(world: World) -> None:
    staff = await staff_world(world)
    with transaction(world.sessions) as s:
        other = add_staff(s, name="Other Nurse", role=StaffRole.NURSE, language="en", district="Nowon")
        payload = other.payload
    await world.client.send_text(9301, "hi")
    outsider = Chat(world.conversation, 9301)
    outsider.command("start", payload)
    mother = Chat(world.conversation, MOTHER, language_code="en")
    mother.command("start", str(staff["invite"]))
    for data in ("lang:en", "consent:yes", "stage:born", f"day:{weeks_ago(5).isoformat()}", "count:1"):
        mother.data(data)
    # Kim goes off duty: her alerts go to the backup and supervisor instead.
    staff[str(KIM)].command("offduty")
    mother.data("nurse:ask")
    assert "I have told your nurse" in mother.said()
    with world.sessions() as s:
        case_id = s.scalars(select(Case.id)).one()
    outsider.data(f"c:ack:{case_id}")
    outsider.command("case", str(case_id))
    assert "There is no case with that number among yours." in outsider.said()
    with transaction(world.sessions) as s:
        assert escalate_due(s, world.clock.now) == 1  # nobody at level 0: escalated at once
    world.clock.now += timedelta(hours=30)
    with transaction(world.sessions) as s:
        escalate_due(s, world.clock.now)
    await world.alerts.tick()
    assert not any(f"Case #{case_id}" in t for t in await alerts_to(world, KIM))
    assert any(f"Case #{case_id}" in t for t in await alerts_to(world, LEE))
    staff[str(LEE)].command("cases")
    assert f"#{case_id}" in staff[str(LEE)].said()
    with world.sessions() as s:
        refused = s.scalars(select(AuditEvent.action).where(AuditEvent.action == "case.access_refused")).all()
    assert len(refused) == 2


async def test_unreachable_chain_goes_to_every_admin(world: World) -> None:
    staff = await staff_world(world)
    for user_id in (KIM, LEE, PARK):
        await world.client.configure(blocked_users=[user_id])
    mother = Chat(world.conversation, MOTHER, language_code="en")
    mother.command("start", str(staff["invite"]))
    for data in ("lang:en", "consent:yes", "stage:born", f"day:{weeks_ago(5).isoformat()}", "count:1"):
        mother.data(data)
    take(mother, "epds", [0, 0, 0, 0, 0, 0, 0, 0, 0, 3])
    for _ in range(4):
        await world.alerts.tick()
        world.clock.now += timedelta(minutes=16)
        with transaction(world.sessions) as s:
            escalate_due(s, world.clock.now)
    await world.alerts.tick()
    assert any("Nobody in this mother's care chain can be reached" in t for t in await alerts_to(world, ADMIN))
    with world.sessions() as s:
        kinds = {e.kind for e in s.scalars(select(CaseEvent))}
    assert {"delivery_failed", "unreachable_chain"} <= kinds


async def test_cases_cli_lists_shows_and_assigns(world: World, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from bot.cli import main

    staff = await staff_world(world)
    mother = Chat(world.conversation, MOTHER, language_code="en")
    mother.command("start", str(staff["invite"]))
    for data in ("lang:en", "consent:yes", "stage:born", f"day:{weeks_ago(5).isoformat()}", "count:1"):
        mother.data(data)
    mother.data("nurse:ask")
    monkeypatch.setenv("DODAM_DATABASE_URL", world.settings.database_url)
    assert main(["cases", "list"]) == 0
    listing = capsys.readouterr().out
    assert "routine" in listing and "open" in listing
    assert main(["cases", "show", "1"]) == 0
    shown = capsys.readouterr().out
    assert "she asked to talk to her nurse" in shown and "opened" in shown
    assert main(["cases", "assign", "1", "--staff", "2"]) == 0
    with world.sessions() as s:
        assert s.get(Case, 1).assigned_staff_id == 2  # type: ignore[union-attr]
        assert "reassigned" in [e.kind for e in s.scalars(select(CaseEvent))]


async def test_her_name_cannot_reverse_the_alert_line_and_missing_dates_are_said(world: World) -> None:
    staff = await staff_world(world)
    mother = Chat(world.conversation, 9301, language_code="en", first_name="\u202eAnna")
    mother.command("start", str(staff["invite"]))
    mother.data("lang:en")
    mother.data("consent:yes")  # signed up, no dates given yet
    mother.text("i want to kill myself")
    await world.alerts.tick()
    alert = (await alerts_to(world, KIM))[-1]
    ko = Translator("ko")
    assert "\u2068\u202eAnna\u2069" in alert  # isolated: the override ends with her name
    assert ko("no dates yet") in alert
