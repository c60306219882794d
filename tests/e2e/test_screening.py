"""Screening conversations: every instrument in every language, each risk level's reply, resume and safety."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.cli import main as cli_main
from bot.db import transaction
from bot.delivery.planner import plan
from bot.domain import screening_flow as screens
from bot.domain.conversation import Conversation
from bot.domain.lessons import plannables
from bot.i18n import LANGUAGES, Translator
from bot.models import AuditEvent, OutboxMessage, Screening, ScreeningAnswer
from bot.screening.scoring import score
from tests.clock import weeks_ago, working_morning
from tests.e2e.world import KST_10, LIBRARY, World
from tests.integration.chat import Chat

BIRTH = weeks_ago(5)


def option_for(instrument_id: str, item_number: int, wanted: int) -> int:
    """The index (as shown) of the option carrying `wanted` points."""
    item = screens.instruments()[instrument_id].item(item_number)
    return next(i for i, option in enumerate(item.options) if option.score == wanted)


def take(chat: Chat, instrument_id: str, scores: list[int]) -> None:
    """Open the check from the menu and answer with options worth these scores."""
    chat.data(f"scr:offer:{instrument_id}")
    sid = int(chat.keyboard[0][0].data.split(":")[2])
    chat.data(f"scr:start:{sid}")
    for number, wanted in enumerate(scores, start=1):
        chat.data(f"sa:{sid}:{number}:{option_for(instrument_id, number, wanted)}")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("instrument_id", ["epds", "phq9", "gad7"])
def test_every_instrument_in_every_language(world: World, instrument_id: str, language: str) -> None:
    chat = world.enrol(7000 + LANGUAGES.index(language), language, birth=BIRTH)
    t = Translator(language)
    instrument = screens.instruments()[instrument_id]
    chat.data(f"scr:offer:{instrument_id}")
    assert instrument.recall_period[language] in chat.said()
    sid = int(chat.keyboard[0][0].data.split(":")[2])
    chat.data(f"scr:start:{sid}")
    # The first question shows the instructions, the item and its exact option texts as buttons.
    assert instrument.items[0].text[language] in chat.said()
    assert chat.labels()[: len(instrument.items[0].options)] == [o.text[language] for o in instrument.items[0].options]
    for number in range(1, len(instrument.items) + 1):
        chat.data(f"sa:{sid}:{number}:{option_for(instrument_id, number, 0)}")
    low = t(
        "Thank you for answering. It sounds like you are coping well right now. Keep looking after yourself as "
        "well as your baby."
    )
    assert low in chat.said() and (language == "en" or "Thank you" not in low)
    with world.sessions() as s:
        record = s.get(Screening, sid)
        assert record is not None
        assert (record.status, record.total, record.risk, record.language) == ("completed", 0, "low", language)
        assert record.instrument_version == instrument.version
        assert record.translation_validated == instrument.translations[language].validated
        answers = s.scalars(select(ScreeningAnswer).where(ScreeningAnswer.screening_id == sid)).all()
        assert len(answers) == len(instrument.items)


def test_each_risk_level_gets_its_reply(world: World) -> None:
    en = Translator("en")
    low = world.enrol(7101, "en", birth=BIRTH)
    take(low, "epds", [0] * 10)
    assert "coping well" in low.said() and "Your next check:" in low.said()

    borderline = world.enrol(7102, "en", birth=BIRTH)
    take(borderline, "epds", [1, 1, 1, 1, 1, 1, 1, 1, 2, 0])  # total 10: possible, below 13
    assert "ask you again in two weeks" in borderline.said()
    with world.sessions() as s:
        rescreen = s.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.startswith("rescreen:"))).one()
        assert rescreen.due_at == KST_10 + timedelta(days=14)

    world.clock.now = working_morning()  # high priority counts working hours: 10:00 + 4 h on a working day
    high = world.enrol(7103, "en", birth=BIRTH)
    take(high, "epds", [2, 2, 2, 2, 2, 2, 1, 1, 1, 0])  # total 15
    assert "Your nurse will see your answers and contact you by 14:00 today" in high.said()
    assert "you are depressed" not in high.said().lower()

    urgent = world.enrol(7104, "en", birth=BIRTH)
    take(urgent, "epds", [0, 0, 0, 0, 0, 0, 0, 0, 0, 1])  # item 10 "hardly ever", total 1
    replies = urgent.texts()
    crisis_at = next(i for i, text in enumerate(replies) if "109" in text)
    alerted_at = next(i for i, text in enumerate(replies) if "alerted now" in text)
    assert crisis_at < alerted_at  # the crisis lines come first
    assert "1577-0199" in replies[crisis_at] and "119" in replies[crisis_at]
    with world.sessions() as s:
        assert s.scalars(select(Screening.risk).order_by(Screening.id.desc())).first() == "urgent"
    assert en("Main menu") in urgent.said()


@pytest.mark.parametrize(
    ("language", "total", "risk"),
    [("ko", 10, "high"), ("zh_Hans", 10, "high"), ("en", 10, "borderline"), ("vi", 13, "high")],
)
def test_cut_offs_follow_her_language(world: World, language: str, total: int, risk: str) -> None:
    chat = world.enrol(7200 + LANGUAGES.index(language), language, birth=BIRTH)
    scores = [0] * 10
    for i in range(9):  # fill items 1–9, never item 10
        scores[i] = min(3, total - sum(scores))
    assert sum(scores) == total
    take(chat, "epds", scores)
    with world.sessions() as s:
        assert s.scalars(select(Screening.risk)).one() == risk


def test_back_changes_the_previous_answer_and_old_buttons_do_no_harm(world: World) -> None:
    chat = world.enrol(7301, "en", birth=BIRTH)
    chat.data("scr:offer:phq9")
    sid = int(chat.keyboard[0][0].data.split(":")[2])
    chat.data(f"scr:start:{sid}")
    chat.data(f"sa:{sid}:1:2")
    chat.data(f"sa:{sid}:2:1")
    chat.data(f"sb:{sid}:3")  # back from question 3
    assert "Question 2 of 9" in chat.said() and "Your earlier answer:" in chat.said()
    chat.data(f"sa:{sid}:2:3")
    chat.data(f"sa:{sid}:1:0")  # a press on question 1's old message
    assert "moved on" in chat.said() and "Question 3 of 9" in chat.said()
    with world.sessions() as s:
        query = select(ScreeningAnswer.item_number, ScreeningAnswer.option_index).where(
            ScreeningAnswer.screening_id == sid
        )
        stored = {item: option for item, option in s.execute(query)}
        assert stored == {1: 2, 2: 3}
    # Another mother's forged press changes nothing and is audited.
    other = world.enrol(7302, "en", birth=BIRTH)
    other.data(f"sa:{sid}:3:3")
    assert "moved on" in other.said()
    with world.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ScreeningAnswer)) == 2
        assert s.scalars(select(AuditEvent.action).where(AuditEvent.action == "callback.refused")).first()


def test_free_text_gets_a_hint_and_the_screen_resumes_after_a_restart(world: World) -> None:
    chat = world.enrol(7401, "ko", birth=BIRTH)
    chat.data("scr:offer:epds")
    sid = int(chat.keyboard[0][0].data.split(":")[2])
    chat.data(f"scr:start:{sid}")
    chat.data(f"sa:{sid}:1:0")
    chat.text("잘 모르겠어요")
    ko = Translator("ko")
    assert ko("Question {n} of {total}", n=2, total=10) in chat.said()
    # A new process: the same database, a new conversation service.
    again = Chat(
        Conversation(world.settings, world.sessions, clock=world.clock, library=lambda: LIBRARY),
        7401,
        language_code="ko",
    )
    again.command("menu")
    again.press(ko("▶️ Continue my check"))
    assert ko("Question {n} of {total}", n=2, total=10) in again.said()


async def test_reminders_then_expiry(world: World) -> None:
    chat = world.enrol(7501, "en", birth=BIRTH)
    await world.client.send_text(7501, "hi")
    chat.data("scr:offer:epds")
    sid = int(chat.keyboard[0][0].data.split(":")[2])
    chat.data(f"scr:start:{sid}")
    chat.data(f"sa:{sid}:1:0")
    for hours, expected in [(23, (0, 0)), (25, (1, 0)), (50, (0, 0)), (73, (1, 0)), (24 * 8, (0, 1))]:
        world.clock.now = KST_10 + timedelta(hours=hours)
        with transaction(world.sessions) as s:
            assert screens.screening_tick(s, world.clock.now) == expected, hours
        if expected[0]:
            world.clock.now = world.clock.now.replace(hour=2)  # 11:00 in Seoul, outside quiet hours
            sent = sum([(await world.dispatcher.tick()).sent for _ in range(3)])
            assert sent >= 1
            texts = [m.get("text") or "" for m in await world.client.bot_messages(7501)]
            assert sum("9 questions are left" in text for text in texts) == (1 if hours < 48 else 2)
    with world.sessions() as s:
        assert s.get(Screening, sid).status == "expired"  # type: ignore[union-attr]


async def test_scheduled_screen_is_offered_from_her_dates(world: World) -> None:
    world.enrol(7601, "vi", birth=weeks_ago(2))  # two weeks old today
    await world.client.send_text(7601, "chào", language_code="vi")
    with transaction(world.sessions) as s:
        plan(s, plannables(LIBRARY, "epds"), now=world.clock.now)
    for _ in range(3):
        await world.dispatcher.tick()
    vi = Translator("vi")
    invites = [m for m in await world.client.bot_messages(7601) if vi("Start now") in str(m.get("reply_markup"))]
    assert len(invites) == 1
    with world.sessions() as s:
        screening = s.scalars(select(Screening)).one()
        assert (screening.trigger, screening.status, screening.instrument) == ("scheduled", "invited", "epds")


def test_the_cli_computes_what_the_bot_stored(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    chat = world.enrol(7701, "zh_Hans", birth=BIRTH)
    scores = [2, 1, 3, 0, 1, 2, 0, 1, 2, 0]
    take(chat, "epds", scores)
    with world.sessions() as s:
        record = s.scalars(select(Screening)).one()
        shown = [a.option_index for a in s.scalars(select(ScreeningAnswer).order_by(ScreeningAnswer.item_number))]
        stored = (record.total, record.risk)
    assert cli_main(["screening", "score", "epds", "--lang", "zh_Hans", ",".join(map(str, shown)), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert (printed["total"], printed["risk"]) == stored
    assert stored[0] == score(screens.instruments()["epds"], "zh_Hans", shown).total == sum(scores)
