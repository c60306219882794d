"""The caring check end to end, through python-telegram-bot over HTTP and the emulator: a message Dodam is
unsure about gets a direct question with buttons; every answer is handled; her nurse is alerted either way."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot.db import make_engine, make_session_factory, transaction
from bot.domain.invites import create_invite
from bot.domain.staff import add_staff
from bot.i18n import LANGUAGE_NAMES, Translator
from bot.models import Case, StaffRole
from nlu.safety.assess import Level, default_safety
from tests.clock import weeks_ago
from tests.e2e.conftest import Harness

NURSE = 9501
# Past self-harm, told as over: the lexicon sees self-harm, the context says it is not happening now.
UNSURE = {
    "en": "I used to cut myself in high school, I am fine now. Do the scars matter for the epidural?",
    "vi": "hồi cấp 2 em từng cắt tay, giờ em ổn rồi, chỉ muốn hỏi sẹo có ảnh hưởng khi gây tê không",
}


def texts(messages: list[dict]) -> str:  # type: ignore[type-arg]
    return "\n".join(m.get("text") or "" for m in messages)


async def enrol(harness: Harness, user: int, language: str, invite: str) -> Translator:
    t = Translator(language)
    code = language.replace("_", "-").lower()
    await harness.say(user, f"/start {invite}", language_code=code)
    await harness.press(user, f"✓ {LANGUAGE_NAMES[language]}", expect=2)
    await harness.press(user, t("✅ I agree"), expect=2)
    # Pregnant in week 10: no lesson is due yet, so only the conversation speaks in this test.
    await harness.press(user, t("🤰 I am pregnant"))
    await harness.say(user, weeks_ago(-30).isoformat(), language_code=code, expect=2)
    await harness.press(user, t("One baby"), expect=2)
    return t


async def case_of(harness: Harness, factory, *, priority: str) -> Case:  # type: ignore[no-untyped-def]
    for _ in range(100):
        with transaction(factory) as s:
            case = s.scalars(select(Case)).one_or_none()
            if case is not None and case.priority == priority:
                s.expunge(case)
                return case
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {priority} case")


@pytest.mark.parametrize(("language", "user"), [("en", 9601), ("vi", 9602)])
async def test_an_unsure_message_gets_a_caring_check_and_every_answer_reaches_her_nurse(
    harness: Harness, language: str, user: int
) -> None:
    text = UNSURE[language]
    assert default_safety().assess(text, language).level is Level.CHECK, "the example must stay a check"
    factory = make_session_factory(make_engine(harness.settings.database_url))
    await harness.start_bot()
    with transaction(factory) as s:
        nurse = add_staff(s, name="Kim Nurse", role=StaffRole.NURSE, language="ko")
        invite = create_invite(s, nurse_id=nurse.staff.id).code
        payload = nurse.payload
    await harness.say(NURSE, f"/start {payload}", language_code="ko")
    t = await enrol(harness, user, language, invite)

    asked = await harness.say(user, text, language_code=language)
    question = asked[-1]
    assert (
        t(
            "Thank you for telling me. I want to ask you plainly, because it matters: are you having thoughts "
            "of hurting yourself or of ending your life?"
        )
        in question["text"]
    )
    labels = [b["text"] for row in question["reply_markup"]["inline_keyboard"] for b in row]
    assert labels[:3] == [t("Yes, I need help now"), t("I am struggling, but safe right now"), t("No, I am OK")]
    # No crisis lines for a check, and her nurse has her message on a high-priority case at once.
    assert "109" not in texts(asked)
    case = await case_of(harness, factory, priority="high")
    ko = Translator("ko")
    what = ko("a message about harming herself")
    alert = await harness.client.wait_for(NURSE, 2, timeout=10)
    assert (
        ko("Why: Dodam was not sure whether she wrote {what}, and asked her. Please read it.", what=what)
        in (alert[-1]["text"])
    )
    assert text[:20] in alert[-1]["text"]

    # Struggling but safe: a kind answer, the number for worse times, the wellbeing check offered.
    answered = await harness.press(user, t("I am struggling, but safe right now"), expect=3)
    assert "109" in texts(answered) and t("I have asked your nurse to contact you soon.") in texts(answered)
    assert t("💬 How am I feeling?") in str(answered[-1]["reply_markup"])
    with transaction(factory) as s:
        kinds = [item["kind"] for item in s.get(Case, case.id).triggers["items"]]  # type: ignore[union-attr]
    assert kinds == ["safety_check", "check_answer"]

    # Another time she answers "yes": the crisis reply at once, and her case becomes urgent.
    await harness.say(user, text, language_code=language)
    crisis = await harness.press(user, t("Yes, I need help now"), expect=2)
    assert "109" in crisis[0]["text"] and "1577-0199" in crisis[0]["text"]
    assert t("I have told your nurse. She will contact you {when}.", when="")[:15] in texts(crisis)
    await case_of(harness, factory, priority="urgent")


async def test_before_sign_up_a_check_still_asks_and_ok_ends_kindly(harness: Harness) -> None:
    await harness.start_bot()
    t = Translator("en")
    asked = await harness.say(9701, UNSURE["en"])
    assert "plainly" in asked[-1]["text"]
    labels = [b["text"] for row in asked[-1]["reply_markup"]["inline_keyboard"] for b in row]
    assert t("👩‍⚕️ Talk to my nurse") not in labels  # no nurse to call before she signs up
    answered = await harness.press(9701, t("No, I am OK"), expect=1)
    assert t("I am glad. Thank you for answering me. If that changes, write to me at any time, day or night.") in (
        texts(answered)
    )
