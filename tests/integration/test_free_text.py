"""Free text without a Rasa server: the safety detector answers danger at once, keywords guess topics."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.conversation import Conversation
from bot.domain.safety_flow import first_line
from bot.i18n import Translator
from bot.models import AuditEvent, Case, ChatMessage
from tests.clock import weeks_ago
from tests.integration.chat import Chat


def enrolled(conversation: Conversation, user_id: int, language: str) -> Chat:
    chat = Chat(conversation, user_id, language_code=language)
    for step in ("start",):
        chat.command(step)
    for data in (f"lang:{language}", "consent:yes", "stage:born", f"day:{weeks_ago(5).isoformat()}", "count:1"):
        chat.data(data)
    return chat


@pytest.mark.parametrize(
    ("language", "text", "category", "number"),
    [
        ("ko", "요즘 그냥 죽고싶어요", "self_harm", "109"),
        ("en", "my baby is not breathing properly and her lips look blue", "infant_danger", "119"),
        ("zh_Hans", "我老公打我，我不敢回家", "abuse", "1577-1366"),
        ("vi", "chay mau nhieu qua tham het bang ve sinh trong 1 tieng", "maternal_danger", "119"),
        ("tl", "gusto ko na lang mamatay", "self_harm", "109"),
    ],
)
def test_danger_message_gets_the_right_reply_and_opens_a_case(
    conversation: Conversation,
    sessions: sessionmaker[Session],
    language: str,
    text: str,
    category: str,
    number: str,
) -> None:
    chat = enrolled(conversation, 8100, language)
    chat.text(text)
    first = chat.texts()[0]
    assert number in first  # what to do now comes first
    t = Translator(language)
    # She is in the default pool and no nurse exists: she is told the truth, not promised a call.
    line = first_line(category)
    assert t("No nurse is assigned to you yet, so please call {number} now.", number=line) in chat.said()
    with sessions() as s:
        case = s.scalars(select(Case)).one()
        assert case.priority == "urgent" and case.triggers["items"][0]["category"] == category
        assert s.scalars(select(ChatMessage.text)).one() == text
        detected = s.scalars(select(AuditEvent).where(AuditEvent.action == "safety.detected")).one()
        assert text not in str(detected.details)  # the audit log never holds her words


def test_danger_is_caught_in_the_middle_of_onboarding_and_the_question_comes_back(conversation: Conversation) -> None:
    chat = Chat(conversation, 8101, language_code="en")
    chat.command("start")
    chat.data("lang:en")
    chat.data("consent:yes")
    chat.data("stage:born")
    chat.text("i want to kill myself")
    assert "109" in chat.texts()[0]
    assert "When was your baby born?" in chat.said()


def test_idioms_are_not_emergencies(conversation: Conversation, sessions: sessionmaker[Session]) -> None:
    chat = enrolled(conversation, 8102, "ko")
    chat.text("피곤해 죽겠어요 ㅠㅠ")
    assert "109" not in chat.said()
    with sessions() as s:
        assert s.scalars(select(Case)).first() is None


def test_keywords_answer_when_there_is_no_nlu_server(conversation: Conversation) -> None:
    chat = enrolled(conversation, 8103, "vi")
    chat.text("be khoc hoai khong nin")
    assert "📚" in " ".join(chat.labels())  # a crying lesson, with "more on this"
    chat.text("asdf qwerty")
    assert len([label for label in chat.labels() if label]) >= 5  # topics and the nurse


def test_with_a_nurse_she_is_told_her_nurse_will_call_and_no_other_district_hears(
    conversation: Conversation, sessions: sessionmaker[Session]
) -> None:
    from bot.domain.staff import add_staff
    from bot.models import Alert, Mother, Staff, StaffRole

    with sessions.begin() as s:
        south = add_staff(s, name="South Supervisor", role=StaffRole.SUPERVISOR, district="south").staff
        south.telegram_user_id, south.chat_id = 7777, 7777
    chat = enrolled(conversation, 8200, "en")  # the default pool: nobody is named for it
    chat.text("i want to kill myself")
    assert "No nurse is assigned to you yet" in chat.said()
    with sessions.begin() as s:
        nurse = add_staff(s, name="Kim", role=StaffRole.NURSE, district="north").staff
        nurse.telegram_user_id, nurse.chat_id = 7778, 7778
        mother = s.scalars(select(Mother)).one()
        mother.nurse_id = nurse.id
        case = s.scalars(select(Case)).one()
        case.status = "resolved"
    chat.text("i want to kill myself")
    assert "I have told your nurse. She will contact you" in chat.said()
    with sessions() as s:
        from bot.domain.cases import chain

        for case in s.scalars(select(Case)):
            for level in (0, 1, 2, 3):
                assert "South Supervisor" not in [p.name for p in chain(s, case, level)]
        alerted = {a.staff_id for a in s.scalars(select(Alert))}
        assert s.scalars(select(Staff.id).where(Staff.district == "south")).one() not in alerted
