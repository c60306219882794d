"""The daily lesson planner at scale: `plan_lessons` over 100 000 and 1 000 000 mothers, SQLite, PostgreSQL.

Each case gets a fresh database (a SQLite file in a temporary folder; on PostgreSQL a schema created for
the run and dropped after it) holding synthetic mothers — active, Asia/Seoul, delivery hour 10 — with
one baby each: born in the past 2 years, or (a quarter of them) expected in the next 9 months. The data
is bulk-loaded (COPY on PostgreSQL, executemany on SQLite) in one subprocess, not timed against the
planner; the timed planning runs in a fresh subprocess, so its peak RSS is its own:

* plan: the day's planning on the fresh data, one transaction, commit included — seconds, rows added and
  the ru_maxrss increase of the process; the tracemalloc peak of Python allocations comes from the same
  run done before it in its own process and rolled back (tracing slows Python several-fold);
* again: the same call once more on the same data: idempotent, it must add 0 rows;
* next day: the planner a day later, the steady-state daily increment.

    .venv/bin/python bench/planning.py [--mothers 100000 1000000] [--db sqlite|postgres|both]
        [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--no-tracemalloc]

The PostgreSQL URL defaults to DODAM_BENCH_DATABASE_URL, then DODAM_TEST_DATABASE_URL, then the one above;
with --db both, an unreachable server leaves SQLite only. --no-tracemalloc skips the traced run (faster).
Timings depend on what else the machine runs: the table shows the load average around each timed run.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import random
import resource
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from bot.content.library import load_library  # noqa: E402
from bot.db import make_engine, make_session_factory, migrate, transaction  # noqa: E402
from bot.delivery.planner import plan_lessons  # noqa: E402
from bot.models import OutboxMessage  # noqa: E402

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LANGUAGES = ("ko", "en", "zh_Hans", "vi", "tl")
SEOUL = "Asia/Seoul"
PREGNANT_SHARE = 0.25
PAST_DAYS = 730  # born in the past 2 years
FUTURE_DAYS = 274  # due in the next 9 months
CHUNK = 50_000
TARGET_SECONDS = 60.0
TARGET_MB = 500.0
TARGET_MOTHERS = 1_000_000

MOTHER_COLUMNS = "id, telegram_user_id, chat_id, language, pool, status, timezone, delivery_hour, enrolled_at"
BABY_COLUMNS = "id, mother_id, status, due_date, birth_date, created_at"


# ----------------------------------------------------------------------------------------- data
Rows = list[tuple[Any, ...]]


def synthetic(mothers: int, today: date, seed: int, enrolled: str) -> Iterator[tuple[Rows, Rows]]:
    """Chunks of (mother rows, baby rows) in MOTHER_COLUMNS / BABY_COLUMNS order, dates as ISO strings."""
    rng = random.Random(seed)
    for start in range(1, mothers + 1, CHUNK):
        mother_rows: Rows = []
        baby_rows: Rows = []
        for i in range(start, min(start + CHUNK, mothers + 1)):
            user_id = 10_000_000_000 + i
            language = LANGUAGES[i % len(LANGUAGES)]
            mother_rows.append((i, user_id, user_id, language, "default", "active", SEOUL, 10, enrolled))
            if rng.random() < PREGNANT_SHARE:
                due = (today + timedelta(days=rng.randint(1, FUTURE_DAYS))).isoformat()
                baby_rows.append((i, i, "expected", due, None, enrolled))
            else:
                born = (today - timedelta(days=rng.randint(0, PAST_DAYS))).isoformat()
                baby_rows.append((i, i, "born", None, born, enrolled))
        yield mother_rows, baby_rows


def enrolled_on(today: date) -> date:
    """Every synthetic mother enrolled before her oldest possible baby was born (the date only labels rows)."""
    return today - timedelta(days=PAST_DAYS + 1)


def _copy_text(rows: Rows) -> str:
    return "".join("\t".join(r"\N" if v is None else str(v) for v in row) + "\n" for row in rows)


def load_postgres(url: str, mothers: int, today: date, seed: int) -> None:
    engine = make_engine(url)
    try:
        raw = engine.raw_connection()
        try:
            conn: Any = raw.driver_connection  # a psycopg.Connection
            with conn.cursor() as cur:
                babies: list[str] = []
                with cur.copy(f"COPY mothers ({MOTHER_COLUMNS}) FROM STDIN") as copy_mothers:
                    for mother_rows, baby_rows in synthetic(mothers, today, seed, f"{enrolled_on(today)} 00:00:00+00"):
                        copy_mothers.write(_copy_text(mother_rows))
                        babies.append(_copy_text(baby_rows))
                with cur.copy(f"COPY babies ({BABY_COLUMNS}) FROM STDIN") as copy_babies:
                    for chunk in babies:
                        copy_babies.write(chunk)
                    babies.clear()
                for table in ("mothers", "babies"):
                    sequence = f"pg_get_serial_sequence('{table}', 'id')"
                    cur.execute(f"SELECT setval({sequence}, (SELECT max(id) FROM {table}))")
            conn.commit()
            # Statistics and hint bits as on a database that has been running: autovacuum would do this.
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("VACUUM ANALYZE mothers")
                cur.execute("VACUUM ANALYZE babies")
        finally:
            raw.close()
    finally:
        engine.dispose()


def load_sqlite(path: str, mothers: int, today: date, seed: int) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        m_marks = ", ".join("?" * len(MOTHER_COLUMNS.split(",")))
        b_marks = ", ".join("?" * len(BABY_COLUMNS.split(",")))
        for mother_rows, baby_rows in synthetic(mothers, today, seed, f"{enrolled_on(today)} 00:00:00.000000"):
            conn.executemany(f"INSERT INTO mothers ({MOTHER_COLUMNS}) VALUES ({m_marks})", mother_rows)
            conn.executemany(f"INSERT INTO babies ({BABY_COLUMNS}) VALUES ({b_marks})", baby_rows)
        conn.commit()
    finally:
        conn.close()


# ----------------------------------------------------------------------------------------- children
def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _sessions(url: str) -> tuple[Engine, sessionmaker[Session]]:
    engine = make_engine(url)
    with engine.connect() as conn:  # connect (and pool) before any clock starts
        conn.execute(text("SELECT 1"))
    return engine, make_session_factory(engine)


def traced_plan(url: str, now: datetime) -> dict[str, float]:
    """The first run under tracemalloc, rolled back: its peak of Python allocations, and nothing written.

    tracemalloc slows allocation-heavy code several-fold, so the timed run is a separate, untraced one.
    """
    library = load_library(ROOT / "content")
    engine, sessions = _sessions(url)
    try:
        gc.collect()
        tracemalloc.start()
        started = time.perf_counter()
        with sessions() as session:
            try:
                added = plan_lessons(session, library.lessons, now=now)
                session.flush()
            finally:
                session.rollback()
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        if engine.dialect.name == "postgresql":  # clear the rolled-back rows away, as autovacuum would
            with engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE outbox"))
        return {"py_peak_mb": peak, "traced_planned": added, "traced_seconds": seconds}
    finally:
        engine.dispose()


def timed_plan(url: str, now: datetime) -> dict[str, float]:
    library = load_library(ROOT / "content")
    engine, sessions = _sessions(url)
    try:
        gc.collect()
        rss_before = max_rss_mb()
        started = time.perf_counter()
        with transaction(sessions) as session:
            added = plan_lessons(session, library.lessons, now=now)
        seconds = time.perf_counter() - started
        rss_delta = max_rss_mb() - rss_before

        started = time.perf_counter()
        with transaction(sessions) as session:
            again = plan_lessons(session, library.lessons, now=now)
        again_seconds = time.perf_counter() - started

        started = time.perf_counter()
        with transaction(sessions) as session:
            next_day = plan_lessons(session, library.lessons, now=now + timedelta(days=1))
        next_seconds = time.perf_counter() - started

        with sessions() as session:
            total = session.scalar(select(func.count()).select_from(OutboxMessage)) or 0
        return {
            "planned": added,
            "seconds": seconds,
            "rss_before_mb": rss_before,
            "rss_delta_mb": rss_delta,
            "again": again,
            "again_seconds": again_seconds,
            "next_day": next_day,
            "next_seconds": next_seconds,
            "outbox_rows": total,
        }
    finally:
        engine.dispose()


def child(args: argparse.Namespace) -> None:
    now = datetime.fromisoformat(args.now)
    if args.role == "load":
        started = time.perf_counter()
        if args.db == "postgres":
            load_postgres(args.url, args.mothers[0], now.date(), args.seed)
        else:
            load_sqlite(str(make_url(args.url).database), args.mothers[0], now.date(), args.seed)
        result: dict[str, float] = {"load_seconds": time.perf_counter() - started}
    elif args.role == "trace":
        result = traced_plan(args.url, now)
    else:
        result = timed_plan(args.url, now)
    print(json.dumps(result), flush=True)


# ----------------------------------------------------------------------------------------- parent
def run_child(role: str, db: str, url: str, mothers: int, now: datetime, seed: int) -> Any:
    command = [
        sys.executable, __file__, "--role", role, "--db", db, "--url", url, "--mothers", str(mothers),
        "--now", now.isoformat(), "--seed", str(seed),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def with_search_path(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


@contextmanager
def fresh_database(db: str, pg_url: str) -> Iterator[str]:
    """A migrated, empty database: a SQLite file in a temporary folder, or a PostgreSQL schema (dropped)."""
    if db == "sqlite":
        with tempfile.TemporaryDirectory(prefix="dodam-bench-") as tmp:
            url = f"sqlite:///{tmp}/planning.sqlite3"
            migrate(url)
            yield url
        return
    schema = f"bench_planning_{secrets.token_hex(4)}"
    admin = create_engine(pg_url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        try:
            url = with_search_path(pg_url, schema)
            migrate(url)
            yield url
        finally:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    finally:
        admin.dispose()


def postgres_reachable(url: str) -> bool:
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            return True
    except OperationalError:
        return False
    finally:
        engine.dispose()


def run_case(db: str, mothers: int, now: datetime, args: argparse.Namespace) -> dict[str, Any]:
    label = f"[{db} {mothers:,}]"
    print(f"{label} creating the database and loading …", flush=True)
    result: dict[str, Any] = {"db": db, "mothers": mothers, "py_peak_mb": float("nan")}
    with fresh_database(db, args.pg_url) as url:
        result |= run_child("load", db, url, mothers, now, args.seed)
        print(f"{label} loaded in {result['load_seconds']:.1f} s", flush=True)
        if not args.no_tracemalloc:
            result |= run_child("trace", db, url, mothers, now, args.seed)
            print(
                f"{label} traced run (rolled back): {result['traced_planned']:,} rows, peak "
                f"{result['py_peak_mb']:.1f} MB of Python allocations, {result['traced_seconds']:.1f} s "
                "under tracemalloc",
                flush=True,
            )
        load_before = os.getloadavg()[0]
        result |= run_child("plan", db, url, mothers, now, args.seed)
        result["load"] = f"{load_before:.1f}/{os.getloadavg()[0]:.1f}"
    print(f"{label} planned {result['planned']:,} rows in {result['seconds']:.2f} s", flush=True)
    return result


def py_peak(result: dict[str, Any]) -> str:
    return "-" if math.isnan(result["py_peak_mb"]) else f"{result['py_peak_mb']:.1f}"


def print_table(results: list[dict[str, Any]], now: datetime) -> None:
    print()
    print(
        f"planning benchmark: plan_lessons at {now.isoformat()} (10:00 in Seoul), one transaction, "
        "commit included; every case in a fresh database, the timed run in a fresh process"
    )
    print(
        f"data: one baby per mother, {1 - PREGNANT_SHARE:.0%} born in the past {PAST_DAYS} days, "
        f"{PREGNANT_SHARE:.0%} due in the next {FUTURE_DAYS} days; bulk-load time (load s) not counted"
    )
    header = (
        f"{'db':<9}{'mothers':>10}{'planned':>10}{'seconds':>9}{'us/mother':>10}{'py peak MB':>11}"
        f"{'RSS +MB':>9}{'again rows':>11}{'again s':>9}{'next day':>9}{'next s':>8}{'load s':>8}"
        f"{'cpu load':>10}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['db']:<9}{r['mothers']:>10,}{r['planned']:>10,}{r['seconds']:>9.2f}"
            f"{r['seconds'] / r['mothers'] * 1e6:>10.1f}{py_peak(r):>11}{r['rss_delta_mb']:>9.1f}"
            f"{r['again']:>11,}{r['again_seconds']:>9.2f}{r['next_day']:>9,}{r['next_seconds']:>8.2f}"
            f"{r['load_seconds']:>8.1f}{r['load']:>10}"
        )
    print(
        "planned: rows added by the first run (every lesson still in its relevance window); again: the same "
        "run repeated (must add 0); next day: a day later (the steady-state daily increment)"
    )
    print(
        "py peak MB: tracemalloc peak of Python allocations (a separate, rolled-back run: tracing slows it); "
        "RSS +MB: ru_maxrss increase of the timed process during the first run; cpu load: the machine's "
        f"1-minute load average before/after the timed process ({os.cpu_count()} CPUs)"
    )
    bad = [f"{r['db']} {r['mothers']:,}" for r in results if r["again"] != 0]
    print("idempotence: " + (f"FAILED ({', '.join(bad)})" if bad else "OK, the second run added 0 rows"))
    target = f"{TARGET_MOTHERS:,} mothers on PostgreSQL in < {TARGET_SECONDS:.0f} s"
    target += f" with < {TARGET_MB:.0f} MB peak"
    measured = [r for r in results if r["db"] == "postgres" and r["mothers"] == TARGET_MOTHERS]
    for r in measured:
        peak = max(r["rss_delta_mb"], 0.0 if math.isnan(r["py_peak_mb"]) else r["py_peak_mb"])
        verdict = "met" if r["seconds"] < TARGET_SECONDS and peak < TARGET_MB else "MISSED"
        print(f"target: {target}: {r['seconds']:.1f} s, {peak:.0f} MB peak — {verdict}")
    if not measured:
        print(f"target: {target} (not measured in this run)")


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--mothers", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("DODAM_BENCH_DATABASE_URL")
        or os.environ.get("DODAM_TEST_DATABASE_URL")
        or DEFAULT_PG_URL,
    )
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument(
        "--no-tracemalloc",
        action="store_true",
        help="skip the traced (rolled-back) run that measures Python memory",
    )
    # Internal: how the parent runs the load and the planning in their own processes.
    parser.add_argument("--role", choices=("load", "trace", "plan"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--now", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:
        child(args)
        return
    now = datetime.now(UTC).replace(hour=1, minute=0, second=0, microsecond=0)
    databases: tuple[str, ...] = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    if args.db == "both" and not postgres_reachable(args.pg_url):
        print(f"PostgreSQL is not reachable at {make_url(args.pg_url).render_as_string()}: SQLite only")
        databases = ("sqlite",)
    results = [run_case(db, n, now, args) for db in databases for n in args.mothers]
    print_table(results, now)


if __name__ == "__main__":
    main()
