"""A world for lesson and screening tests: database, conversation, dispatcher, emulator, real PTB Bot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from telegram import Bot

from bot.config import Settings
from bot.content.library import load_library
from bot.db import make_engine, make_session_factory, migrate
from bot.delivery.alerts import AlertDispatcher
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.ratelimit import RateLimiter
from bot.domain.conversation import Conversation
from bot.emulator import Emulator, EmulatorClient
from bot.i18n import Translator
from bot.models import Mother, OutboxMessage
from bot.telegram.sender import TelegramMessageSender
from tests.clock import NOW, SEOUL
from tests.conftest import Clock
from tests.integration.chat import Chat

LIBRARY = load_library(Path(__file__).resolve().parents[2] / "content")
KST_10 = NOW  # 10:00 in Seoul on the test day


def born_ago(age: timedelta, now: datetime) -> date:
    """The birth date of a baby ``age`` old at ``now``, as a mother in Seoul would give it."""
    return (now.astimezone(SEOUL) - age).date()


class World:
    def __init__(self, settings: Settings, clock: Clock, emulator: Emulator, client: EmulatorClient, bot: Bot) -> None:
        self.settings, self.clock, self.emulator, self.client = settings, clock, emulator, client
        migrate(settings.database_url)
        self.engine = make_engine(settings.database_url)
        self.sessions = make_session_factory(self.engine)
        self.conversation = Conversation(settings, self.sessions, clock=clock, library=lambda: LIBRARY)
        self.alerts = AlertDispatcher(
            self.sessions, TelegramMessageSender(bot), clock=clock, limiter=RateLimiter(1000, per_chat=0)
        )
        self.dispatcher = Dispatcher(
            settings,
            self.sessions,
            lambda: LIBRARY,
            TelegramMessageSender(bot),
            clock=clock,
            limiter=RateLimiter(1000, per_chat=0),
            worker_id="test-a",
        )

    def enrol(self, user_id: int, language: str, *, birth: date | None = None, due: date | None = None) -> Chat:
        chat = Chat(self.conversation, user_id, language_code=language)
        t = Translator(language)
        chat.command("start")
        chat.data(f"lang:{language}")
        chat.data("consent:yes")
        if birth is not None:
            chat.data("stage:born")
            chat.data(f"day:{birth.isoformat()}")
        else:
            assert due is not None
            chat.data("stage:pregnant")
            chat.data(f"day:{due.isoformat()}")
        chat.data("count:1")
        assert t("Main menu") in chat.said()
        return chat

    def rows(self, user_id: int) -> list[OutboxMessage]:
        with self.sessions() as s:
            mother = s.scalars(select(Mother).where(Mother.telegram_user_id == user_id)).one()
            return list(
                s.scalars(select(OutboxMessage).where(OutboxMessage.mother_id == mother.id).order_by(OutboxMessage.id))
            )

    async def lessons_received(self, chat_id: int) -> list[dict]:  # type: ignore[type-arg]
        return [
            m
            for m in await self.client.bot_messages(chat_id)
            if m.get("parse_mode") == "HTML" or "<b>" in str(m.get("raw", ""))
        ]


@pytest.fixture
async def world(tmp_path: Path, clock: Clock) -> AsyncIterator[World]:
    emulator = Emulator()
    await emulator.start()
    settings = replace(Settings(), database_url=f"sqlite:///{tmp_path / 'd.sqlite3'}")
    clock.now = KST_10
    bot = Bot(emulator.token, base_url=emulator.base_url)
    async with EmulatorClient(emulator.url) as client, bot:
        world = World(settings, clock, emulator, client, bot)
        try:
            yield world
        finally:
            world.engine.dispose()
            await emulator.stop()


def seed_due_lessons(
    url: str, *, mothers: int, first_user_id: int, slug: str | None, baby_age: timedelta = timedelta(weeks=5)
) -> None:
    """Enrolled mothers (consent given, a baby ``baby_age`` old today), each with one lesson due now in the
    outbox (none without a ``slug``).

    These mothers are served by a real ``dodam run`` process, which reads the system clock, so the birth date
    is counted back from now in her timezone: a literal date would age out of the lesson's relevance window.
    """
    from sqlalchemy import insert

    from bot.db import transaction
    from bot.models import Baby, ConsentRecord, ConversationState, utcnow

    migrate(url)
    engine = make_engine(url)
    now = utcnow()
    birth = born_ago(baby_age, now)
    ids = range(1, mothers + 1)
    with transaction(make_session_factory(engine)) as s:
        s.execute(
            insert(Mother),
            [
                {
                    "id": i,
                    "telegram_user_id": first_user_id + i - 1,
                    "chat_id": first_user_id + i - 1,
                    "language": "en",
                    "status": "active",
                    "timezone": "Asia/Seoul",
                    "delivery_hour": 10,
                    "enrolled_at": now,
                }
                for i in ids
            ],
        )
        s.execute(
            insert(ConsentRecord),
            [
                {
                    "mother_id": i,
                    "version": Settings().consent_version,
                    "accepted": True,
                    "language": "en",
                    "decided_at": now,
                }
                for i in ids
            ],
        )
        s.execute(
            insert(Baby),
            [{"mother_id": i, "status": "born", "birth_date": birth, "created_at": now} for i in ids],
        )
        s.execute(
            insert(ConversationState),
            [
                {"chat_id": first_user_id + i - 1, "user_id": first_user_id + i - 1, "flow": "main", "step": "menu"}
                for i in ids
            ],
        )
        if slug is not None:
            s.execute(
                insert(OutboxMessage),
                [
                    {
                        "mother_id": i,
                        "kind": "lesson",
                        "lesson_slug": slug,
                        "dedupe_key": f"lesson:{slug}",
                        "due_at": now - timedelta(minutes=1),
                        "expires_at": now + timedelta(days=1),
                        "status": "planned",
                        "attempts": 0,
                        "created_at": now,
                    }
                    for i in ids
                ],
            )
    engine.dispose()
