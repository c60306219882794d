"""Shared fixtures: real SQLite files, and real PostgreSQL when DODAM_TEST_DATABASE_URL is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from sqlalchemy import create_engine, text

from bot.i18n import LANGUAGES, LOCALES_DIR, translations
from tests.clock import NOW, shift_system_clock

PG_URL = os.environ.get("DODAM_TEST_DATABASE_URL", "")


def _compile_catalogs() -> None:
    """Compile any catalog whose .mo is missing or older than its .po, as `make` would."""
    for language in LANGUAGES:
        po = LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as f:
                catalog = read_po(f, locale=None)
            with mo.open("wb") as f:
                write_mo(f, catalog)
    translations.cache_clear()


_compile_catalogs()
shift_system_clock()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'dodam.sqlite3'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema in the test PostgreSQL database, dropped afterwards."""
    if not PG_URL:
        pytest.skip("DODAM_TEST_DATABASE_URL is not set")
    schema = f"dodam_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs on SQLite and, where available, on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(name))


class Clock:
    """A clock tests can move."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    """10:00 in Seoul on the test day (tests/clock.py)."""
    return Clock(NOW)
