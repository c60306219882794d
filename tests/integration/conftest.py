from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.db import make_engine, make_session_factory, migrate
from bot.domain.conversation import Conversation


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, telegram_token="1:T", default_pool="seoul-central")


@pytest.fixture
def sessions(settings: Settings) -> Iterator[sessionmaker[Session]]:
    migrate(settings.database_url)
    engine = make_engine(settings.database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def conversation(settings: Settings, sessions: sessionmaker[Session], clock) -> Conversation:  # type: ignore[no-untyped-def]
    return Conversation(settings, sessions, clock=clock)
