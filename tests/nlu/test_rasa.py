"""A real Rasa server from the trained model: intents in five languages, routing, and Rasa failing.

`make test` trains the model first (or reuses it when nlu/rasa/ is unchanged); run directly, these tests skip
when Rasa is not installed or no model matches the current data.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.db import make_engine, make_session_factory, migrate
from bot.domain.conversation import Conversation
from bot.models import Case, Mother
from nlu import service
from nlu.client import NluClient
from nlu.evaluation import DEV, LANGUAGES, TESTS, load_intent_tests, score_intents
from tests.clock import NOW, weeks_ago
from tests.conftest import Clock
from tests.integration.chat import Chat

pytestmark = pytest.mark.skipif(
    not (service.installed() and service.model_path().exists()),
    reason="Rasa not installed or model not trained (make nlu-train)",
)


@pytest.fixture(scope="module")
def rasa() -> Iterator[service.RasaServer]:
    server = service.RasaServer(service.model_path())
    server.start()
    yield server
    server.stop()


def test_rasa_reports_nothing_to_third_parties(rasa: service.RasaServer) -> None:
    env = service.rasa_env()
    assert env["RASA_TELEMETRY_ENABLED"] == "false"
    assert service.rasa_keys() == [], "with its key file Rasa sends crash reports to Sentry"


@pytest.mark.parametrize("held_out", [TESTS, DEV], ids=["test", "dev"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_intents_on_held_out_phrasing(rasa: service.RasaServer, language: str, held_out: Path) -> None:
    """Issue 6's target: macro-F1 of at least 0.90 in every language, on phrasing training never saw."""
    client = NluClient(rasa.url, timeout=5.0)
    result = score_intents(language, load_intent_tests(language, held_out), lambda text: client.parse(text).intent)
    assert result.macro_f1 >= 0.90, {k: round(v[2], 2) for k, v in result.per_intent.items()}


@pytest.fixture
def conversation(rasa: service.RasaServer, tmp_path: Path) -> Conversation:
    url = f"sqlite:///{tmp_path / 'nlu.sqlite3'}"
    migrate(url)
    settings = replace(Settings(), database_url=url)
    return Conversation(
        settings,
        make_session_factory(make_engine(url)),
        clock=Clock(NOW),
        nlu=NluClient(rasa.url, timeout=5.0),
    )


def enrolled(conversation: Conversation, user_id: int, language: str) -> Chat:
    chat = Chat(conversation, user_id, language_code=language)
    chat.command("start")
    for data in (f"lang:{language}", "consent:yes", "stage:born", f"day:{weeks_ago(5).isoformat()}", "count:1"):
        chat.data(data)
    return chat


def test_a_question_in_each_language_gets_a_lesson_on_its_topic(conversation: Conversation) -> None:
    for user_id, language, text in [
        (1, "ko", "애기가 밤에 계속 깨서 잠을 안자요"),
        (2, "zh_Hans", "宝宝一直哭怎么哄都不行"),
        (3, "vi", "lam sao de co nhieu sua cho con bu"),
        (4, "tl", "pano po ba patulugin si baby sa gabi"),
        (5, "en", "how do i know baby is getting enough breastmilk"),
    ]:
        chat = enrolled(conversation, user_id, language)
        chat.text(text)
        assert any(label.startswith("📚") for label in chat.labels()), (language, chat.said())


def test_talk_to_nurse_opens_a_routine_case(conversation: Conversation) -> None:
    chat = enrolled(conversation, 10, "en")
    chat.text("can my nurse call me today pls")
    with conversation.sessions() as s:
        case = s.scalars(select(Case)).one()
        assert (case.priority, case.triggers["items"][0]["kind"]) == ("routine", "talk_to_nurse")


def test_baby_loss_is_confirmed_then_every_baby_message_stops(conversation: Conversation) -> None:
    chat = enrolled(conversation, 11, "en")
    chat.text("my baby passed away last night")
    assert "Did you lose your baby?" in chat.said()
    chat.press("Yes")
    assert "deeply sorry" in chat.said()
    with conversation.sessions() as s:
        mother = s.scalars(select(Mother)).one()
        assert {b.status for b in mother.babies} == {"lost"}
        case = s.scalars(select(Case)).one()
        assert (case.priority, case.triggers["items"][0]["kind"]) == ("high", "baby_loss")


def test_safety_fires_even_when_the_classifier_would_say_mood(conversation: Conversation) -> None:
    chat = enrolled(conversation, 12, "en")
    chat.text("i feel so tired and sad, i want to die")
    assert "109" in chat.texts()[0]


def test_when_rasa_dies_the_conversation_goes_on_and_rasa_comes_back(
    rasa: service.RasaServer, conversation: Conversation
) -> None:
    chat = enrolled(conversation, 13, "vi")
    assert rasa.process is not None
    os.kill(rasa.process.pid, signal.SIGKILL)
    rasa.process.wait(timeout=10)
    started = time.monotonic()
    chat.text("be khoc hoai khong nin")  # keywords answer while Rasa is down
    assert time.monotonic() - started < 3
    assert any(label.startswith("📚") for label in chat.labels())
    chat.text("muốn chết quá, không muốn sống nữa")  # safety does not need Rasa
    assert "109" in chat.texts()[0]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not rasa.healthy():
        time.sleep(1)
    assert rasa.healthy() and rasa.restarts >= 1
