"""Enrolment, through the conversation service and a real database (SQLite, and PostgreSQL in CI)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from babel.dates import format_date as babel_format_date
from babel.dates import format_skeleton
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.conversation import Conversation
from bot.domain.invites import create_invite
from bot.domain.messages import ClearButtons, LeaveChat
from bot.domain.staff import add_staff
from bot.i18n import LANGUAGE_NAMES, LANGUAGES, Translator, babel_locale
from bot.models import AuditEvent, Baby, ConsentRecord, ConversationState, Mother, StaffRole
from tests.clock import TODAY, days_ago
from tests.integration.chat import Chat

BORN = days_ago(36)
# A day and month as a mother types them in each language, without the year (Babel's month names).
TYPED = {"ko": "M월 d일", "en": "MMMM d", "zh_Hans": "M月d日", "vi": "d/M", "tl": "MMMM d"}


def typed(day: date, language: str) -> str:
    return babel_format_date(day, TYPED[language], locale=babel_locale(language))


def enrol_born(chat: Chat, language: str) -> None:
    chat.command("start")
    chat.press(LANGUAGE_NAMES[language])
    t = Translator(language)
    chat.press(t("✅ I agree"))
    chat.press(t("👶 My baby is born"))
    chat.text(typed(BORN, language))
    chat.press(t("One baby"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_mother_enrols_in_each_language(
    conversation: Conversation, sessions: sessionmaker[Session], language: str
) -> None:
    chat = Chat(conversation, 5001, language_code="en-US")
    enrol_born(chat, language)
    t = Translator(language)
    assert t("Main menu") in chat.said()
    assert t("Your baby is {age}.", age=t.plural("{n} week old", "{n} weeks old", 5)) in chat.said()
    with sessions() as s:
        mother = s.scalars(select(Mother)).one()
        assert mother.language == language
        assert mother.pool == "seoul-central" and mother.nurse_id is None
        assert [(b.status, b.birth_date.isoformat() if b.birth_date else None) for b in mother.babies] == [
            ("born", BORN.isoformat())
        ]
        consent = s.scalars(select(ConsentRecord)).one()
        assert consent.accepted and consent.mother_id == mother.id and consent.version == "2026-11"
        actions = [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
        assert actions == ["mother.registered", "consent.accepted", "mother.enrolled"]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("zh-hans", "zh_Hans"),
        ("zh-CN", "zh_Hans"),
        ("en-US", "en"),
        ("vi", "vi"),
        ("ko", "ko"),
        ("tl", "tl"),
        ("fil", "tl"),
    ],
)
def test_greeting_proposes_her_telegram_language(conversation: Conversation, code: str, expected: str) -> None:
    chat = Chat(conversation, 5002, language_code=code)
    chat.command("start")
    t = Translator(expected)
    assert chat.texts()[0].startswith(
        t(
            "Hello, I'm Dodam 🌱 — a companion for you and your baby from your "
            "home-visiting nurse programme. I will talk with you in {language}. "
            "You can choose another language below.",
            language=LANGUAGE_NAMES[expected],
        )[:20]
    )
    assert f"✓ {LANGUAGE_NAMES[expected]}" in chat.labels()
    assert len(chat.labels()) == 5


def test_pregnant_mother_gives_due_date_with_twins(conversation: Conversation, sessions: sessionmaker[Session]) -> None:
    chat = Chat(conversation, 5003, language_code="ko")
    chat.command("start")
    chat.press("한국어")
    t = Translator("ko")
    chat.press(t("✅ I agree"))
    chat.press(t("🤰 I am pregnant"))
    due = days_ago(-100)
    chat.text(f"{due.year}.{due.month}.{due.day}")
    chat.press(t("Twins"))
    assert (
        t("You are in week {week} of your pregnancy; your baby is due on {date}.", week=25, date=t.date(due))
        in chat.said()
    )
    with sessions() as s:
        babies = s.scalars(select(Baby)).all()
        assert [(b.status, b.due_date) for b in babies] == [("expected", due)] * 2


def test_declining_keeps_only_the_refusal(conversation: Conversation, sessions: sessionmaker[Session]) -> None:
    chat = Chat(conversation, 5004, language_code="vi")
    chat.command("start", "someinvite")
    chat.press("Tiếng Việt")
    chat.press(Translator("vi")("No, thank you"))
    assert "/start" in chat.said()
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Mother)) == 0
        assert s.scalar(select(func.count()).select_from(ConversationState)) == 0
        refusal = s.scalars(select(ConsentRecord)).one()
        assert (refusal.accepted, refusal.mother_id, refusal.language) == (False, None, "vi")
        assert [e.action for e in s.scalars(select(AuditEvent))] == ["consent.declined"]
    # She can come back later and start afresh.
    chat.command("start")
    assert len(chat.labels()) == 5


def test_wrong_dates_are_reprompted_and_answers_kept(
    conversation: Conversation, sessions: sessionmaker[Session]
) -> None:
    chat = Chat(conversation, 5005, language_code="en")
    chat.command("start")
    chat.press("English")
    chat.press("I agree")
    chat.press("My baby is born")
    for typed, expect in [
        ("banana", "could not read that as a date"),
        ("2026-02-30", "does not exist"),
        (days_ago(-29).isoformat(), "still in the future"),
        (days_ago(3 * 365).isoformat(), "more than two years ago"),
    ]:
        chat.text(typed)
        assert expect in chat.said(), typed
        assert "When was your baby born?" in chat.said()
    with sessions() as s:
        state = s.get(ConversationState, 5005)
        assert state is not None and state.step == "birth_date" and state.data["stage"] == "born"
        assert s.scalars(select(Mother)).one().language == "en"
    chat.text("yesterday")
    assert Translator("en").date(days_ago(1), "full") in chat.said()


def test_due_date_validation(conversation: Conversation) -> None:
    chat = Chat(conversation, 5006, language_code="en")
    chat.command("start")
    chat.press("English")
    chat.press("I agree")
    chat.press("pregnant")
    chat.text(days_ago(24).isoformat())
    assert "has already passed" in chat.said()
    chat.text(days_ago(-371).isoformat())
    assert "more than 43 weeks away" in chat.said()


def test_calendar_picker(conversation: Conversation) -> None:
    chat = Chat(conversation, 5007, language_code="en")
    chat.command("start")
    chat.press("English")
    chat.press("I agree")
    chat.press("My baby is born")
    chat.press("Calendar")
    en = Translator("en")
    assert format_skeleton("yMMMM", TODAY, locale="en") in chat.labels()
    tomorrow = days_ago(-1)
    if tomorrow.month == TODAY.month:
        assert str(tomorrow.day) not in chat.labels()  # the future is not offered
    chat.press("‹")
    last_month = TODAY.replace(day=1) - timedelta(days=1)
    assert format_skeleton("yMMMM", last_month, locale="en") in chat.labels()
    chat.press("20")
    assert en.date(last_month.replace(day=20), "full") in chat.said()
    assert "How many babies?" in chat.said()


def test_invite_links_mother_to_nurse(conversation: Conversation, sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        nurse = add_staff(s, name="Kim", role=StaffRole.NURSE).staff
        invite = create_invite(s, nurse_id=nurse.id)
        code, nurse_id = invite.code, nurse.id
    chat = Chat(conversation, 5008, language_code="tl")
    chat.command("start", code)
    enrol_rest = Translator("tl")
    chat.press("Filipino")
    chat.press(enrol_rest("✅ I agree"))
    with sessions() as s:
        mother = s.scalars(select(Mother)).one()
        assert mother.nurse_id == nurse_id and mother.pool is None
        assert s.scalars(select(func.sum(__import__("bot.models", fromlist=["InviteCode"]).InviteCode.uses))).one() == 1


def test_cancel_pauses_and_start_resumes(conversation: Conversation) -> None:
    chat = Chat(conversation, 5009, language_code="en")
    chat.command("start")
    chat.press("English")
    chat.press("I agree")
    chat.press("My baby is born")
    chat.command("cancel")
    assert "answers so far are kept" in chat.said()
    chat.text("hello?")
    assert "/start" in chat.said()
    chat.command("start")
    assert "When was your baby born?" in chat.said()


def test_language_can_change_mid_flow(conversation: Conversation) -> None:
    chat = Chat(conversation, 5010, language_code="en")
    chat.command("start")
    chat.press("English")
    chat.press("I agree")
    chat.command("language")
    chat.press("Tiếng Việt")
    vi = Translator("vi")
    assert vi("Are you pregnant now, or is your baby already born?") in chat.said()


def test_stale_button_is_harmless(conversation: Conversation, sessions: sessionmaker[Session]) -> None:
    chat = Chat(conversation, 5011, language_code="en")
    chat.command("start")
    chat.press("English")
    chat.press("I agree")
    chat.data("consent:no", message_id=3)  # the privacy notice's old button
    assert chat.toasts() == ["This question has moved on."]
    assert "Are you pregnant now" in chat.said()
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Mother)) == 1


def test_answered_question_loses_its_buttons(conversation: Conversation) -> None:
    chat = Chat(conversation, 5012, language_code="en")
    chat.command("start")
    actions = chat.press("English")
    assert any(isinstance(a, ClearButtons) for a in actions)


@pytest.mark.parametrize("language", LANGUAGES)
def test_unusual_input_gets_a_kind_answer(conversation: Conversation, language: str) -> None:
    chat = Chat(conversation, 5013, language_code=language)
    t = Translator(language)
    chat.media("sticker")
    assert t("I can only read text messages, so I could not open that. Please write to me in words.") in chat.said()
    chat.command("frobnicate")
    assert "/frobnicate" in chat.said() and "/menu" in chat.said()
    chat.text("x" * 5000)
    assert chat.texts()
    chat.command("menu")
    assert t("Let's finish signing up first; then the menu is yours.") in chat.said()


def test_group_chats_are_refused_and_left(conversation: Conversation, sessions: sessionmaker[Session]) -> None:
    chat = Chat(conversation, 5014, language_code="ko", chat_type="group", chat_id=-4242)
    actions = chat.text("안녕하세요")
    assert isinstance(actions[-1], LeaveChat) and actions[-1].chat_id == -4242
    assert "t.me/" in chat.said()
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(ConversationState)) == 0


def test_staff_binding_is_one_time(conversation: Conversation, sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        created = add_staff(s, name="Park", role=StaffRole.SUPERVISOR, language="en")
        payload, staff_id = created.payload, created.staff.id
    nurse = Chat(conversation, 7001, language_code="ko")
    nurse.command("start", payload)
    assert "Park" in nurse.said() and "supervisor" in nurse.said()
    intruder = Chat(conversation, 7002)
    intruder.command("start", payload)
    assert "not valid" in intruder.said()
    with sessions() as s:
        staff = s.get(__import__("bot.models", fromlist=["Staff"]).Staff, staff_id)
        assert staff is not None and staff.telegram_user_id == 7001 and staff.bind_code_hash is None
    nurse.text("hello")
    assert "connected to Dodam as supervisor" in nurse.said()


def test_baby_born_from_the_menu(conversation: Conversation, sessions: sessionmaker[Session]) -> None:
    chat = Chat(conversation, 5015, language_code="en")
    chat.command("start")
    chat.press("English")
    chat.press("I agree")
    chat.press("pregnant")
    due = days_ago(-46)
    chat.text(typed(due, "en"))
    chat.press("One baby")
    chat.press("My baby is born")
    chat.press("Today")
    assert "Congratulations" in chat.said()
    with sessions() as s:
        baby = s.scalars(select(Baby)).one()
        assert (baby.status, baby.birth_date, baby.due_date) == ("born", TODAY, due)


def test_state_survives_a_new_service(conversation: Conversation, settings, sessions, clock) -> None:  # type: ignore[no-untyped-def]
    chat = Chat(conversation, 5016, language_code="zh-CN")
    chat.command("start")
    chat.press("中文")
    chat.press(Translator("zh_Hans")("✅ I agree"))
    # A new service object over the same database: what a restarted process has.
    again = Chat(Conversation(settings, sessions, clock=clock), 5016, language_code="zh-CN")
    again.text("你好")
    zh = Translator("zh_Hans")
    assert zh("Are you pregnant now, or is your baby already born?") in again.said()


def test_two_mothers_at_once_cannot_both_take_an_invites_last_place(sessions: sessionmaker[Session], clock) -> None:  # type: ignore[no-untyped-def]
    import threading

    from bot.db import transaction
    from bot.domain.invites import claim_invite
    from bot.models import InviteCode

    with sessions.begin() as s:
        nurse = add_staff(s, name="Kim", role=StaffRole.NURSE).staff
        code = create_invite(s, nurse_id=nurse.id, max_uses=1).code
    first_claimed = threading.Event()
    results: dict[str, object] = {}

    def first() -> None:
        with transaction(sessions) as s:
            results["first"] = claim_invite(s, code, now=clock.now)
            first_claimed.set()
            threading.Event().wait(0.3)  # still in its transaction while the second one tries

    def second() -> None:
        first_claimed.wait(5)
        with transaction(sessions) as s:
            results["second"] = claim_invite(s, code, now=clock.now)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results["first"] is not None and results["second"] is None
    with sessions() as s:
        assert s.scalars(select(InviteCode.uses)).one() == 1


def test_the_programmes_delivery_hour_is_her_default(settings, sessions, clock) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    chat = Chat(Conversation(replace(settings, delivery_hour=19), sessions, clock=clock), 5020, language_code="en")
    enrol_born(chat, "en")
    with sessions() as s:
        assert s.scalars(select(Mother.delivery_hour)).one() == 19
