"""Migrations run on SQLite and PostgreSQL, twice without harm, and protect the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from bot.db import make_engine, make_session_factory, migrate, transaction
from bot.domain import audit


def test_migrate_is_idempotent_and_creates_the_schema(database_url: str) -> None:
    migrate(database_url)
    migrate(database_url)
    engine = make_engine(database_url)
    tables = set(inspect(engine).get_table_names())
    assert {
        "mothers",
        "babies",
        "staff",
        "invite_codes",
        "consent_records",
        "conversation_states",
        "audit_log",
    } <= tables
    engine.dispose()


def test_audit_log_is_append_only(database_url: str) -> None:
    migrate(database_url)
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        audit.record(session, actor="system", action="test.event")
    for statement in ("UPDATE audit_log SET action = 'changed'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT action FROM audit_log")).scalar_one() == "test.event"
    engine.dispose()
