"""Planning lessons from her dates into the outbox.

Set-based, so a daily run over a million mothers stays a few dozen indexed queries: for each lesson, the
babies whose birth (or due) date makes the lesson due in the planning window. A lesson already planned
for a mother is never planned again (a unique key); one past its relevance window is not planned at all.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.content.lessons import Lesson, Timing
from bot.delivery.timing import at_hour, local_day
from bot.models import Baby, BabyStatus, Mother, MotherStatus, OutboxKind, OutboxMessage, OutboxStatus

HORIZON_DAYS = 1  # plan today's and tomorrow's lessons; the planner runs many times a day
BATCH = 5_000


def lesson_key(slug: str) -> str:
    return f"lesson:{slug}"


def _anchor_range(timing: Timing, first_due: date, last_due: date) -> tuple[date, date]:
    """Anchor dates (due or birth date) for which the lesson falls due within [first_due, last_due].

    Widened by a few days for month offsets (month lengths differ); callers filter exactly.
    """
    if timing.anchor == "due":
        offset = timedelta(weeks=40 - timing.amount)
        return first_due + offset, last_due + offset
    if timing.unit == "month":
        days = round(timing.amount * 30.44)
        return first_due - timedelta(days=days + 4), last_due - timedelta(days=days - 4)
    offset = timedelta(days=timing.amount * (7 if timing.unit == "week" else 1))
    return first_due - offset, last_due - offset


@dataclass(frozen=True)
class Plannable:
    """Anything planned from her dates: a lesson, or a scheduled screening invitation."""

    kind: str
    slug: str
    dedupe_key: str
    timing: Timing
    relevant_for: timedelta

    def due_on(self, anchor_date: date) -> date:
        return self.timing.due_on(anchor_date)


def as_plannable(lesson: Lesson) -> Plannable:
    return Plannable(OutboxKind.LESSON.value, lesson.slug, lesson_key(lesson.slug), lesson.timing, lesson.relevant_for)


def plan_lessons(
    session: Session,
    lessons: Iterable[Lesson],
    *,
    now: datetime,
    mother_ids: Collection[int] | None = None,
    horizon_days: int = HORIZON_DAYS,
) -> int:
    """Plan every lesson due between now and `horizon_days` ahead, or overdue but still relevant.

    Args:
        mother_ids: Only these mothers (a new enrolment, changed dates); all active mothers if None.

    Returns:
        How many outbox rows were added.
    """
    return plan(
        session,
        [as_plannable(lesson) for lesson in lessons],
        now=now,
        mother_ids=mother_ids,
        horizon_days=horizon_days,
    )


def plan(
    session: Session,
    items: Iterable[Plannable],
    *,
    now: datetime,
    mother_ids: Collection[int] | None = None,
    horizon_days: int = HORIZON_DAYS,
) -> int:
    """Plan each item for the mothers whose dates make it due in the window; see :func:`plan_lessons`."""
    added = 0
    today = now.date()
    for lesson in items:
        anchor = lesson.timing.anchor
        column = Baby.due_date if anchor == "due" else Baby.birth_date
        status = BabyStatus.EXPECTED if anchor == "due" else BabyStatus.BORN
        # A day of margin on both sides: mothers' local dates differ from the UTC date.
        first_due = today - lesson.relevant_for - timedelta(days=1)
        last_due = today + timedelta(days=horizon_days + 1)
        low, high = _anchor_range(lesson.timing, first_due, last_due)
        query = (
            select(Mother.id, Mother.timezone, Mother.delivery_hour, column)
            .join(Baby, Baby.mother_id == Mother.id)
            .where(Baby.status == status, column.between(low, high), Mother.status == MotherStatus.ACTIVE)
            .distinct()
        )
        # Skip what is already planned for her (any status): a re-run then reads only the new rows instead
        # of re-computing and re-sending the whole window to the database. The unique key still decides races.
        query = query.where(
            ~exists().where(OutboxMessage.mother_id == Mother.id, OutboxMessage.dedupe_key == lesson.dedupe_key)
        )
        if mother_ids is not None:
            query = query.where(Mother.id.in_(list(mother_ids)))
        rows: list[dict[str, Any]] = []
        for mother_id, tz, hour, anchor_date in session.execute(query).yield_per(BATCH):
            if anchor_date is None:
                continue
            due_day = lesson.due_on(anchor_date)
            local_today = local_day(now, tz)
            if not (first_due <= due_day <= local_today + timedelta(days=horizon_days)):
                continue
            # The window ends when her day ends (content/README: "relevant for N days"), as the library's
            # is_relevant_on says: not at her delivery hour on the next day, which left it sendable after midnight.
            expires = at_hour(due_day + lesson.relevant_for, 0, tz)
            if expires <= now:
                continue
            rows.append(
                {
                    "mother_id": mother_id,
                    "kind": lesson.kind,
                    "lesson_slug": lesson.slug,
                    "dedupe_key": lesson.dedupe_key,
                    "due_at": at_hour(due_day, hour, tz),
                    "expires_at": expires,
                    "status": OutboxStatus.PLANNED.value,
                    "attempts": 0,
                    "created_at": now,
                }
            )
            if len(rows) >= BATCH:
                added += _insert_new(session, rows)
                rows = []
        if rows:
            added += _insert_new(session, rows)
    return added


# One statement per batch on PostgreSQL: three arrays instead of a VALUES list of 9 parameters a row, which
# psycopg re-parses client-side for every 1000-row page (the planner's main cost at a million mothers).
_INSERT_UNNEST = text(
    "INSERT INTO outbox (mother_id, kind, lesson_slug, dedupe_key, due_at, expires_at, status, attempts, created_at)"
    " SELECT m, :kind, :slug, :key, d, e, :status, 0, :now"
    " FROM unnest(CAST(:mothers AS integer[]), CAST(:dues AS timestamptz[]), CAST(:expires AS timestamptz[]))"
    " AS t(m, d, e)"
    " ON CONFLICT (mother_id, dedupe_key) DO NOTHING"
)


def _insert_new(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert, skipping rows whose (mother, lesson) is already planned: the unique key decides."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        first = rows[0]  # a batch is one item: kind, slug, key, status and time are the same in every row
        result = session.execute(
            _INSERT_UNNEST,
            {
                "kind": first["kind"],
                "slug": first["lesson_slug"],
                "key": first["dedupe_key"],
                "status": first["status"],
                "now": first["created_at"],
                "mothers": [row["mother_id"] for row in rows],
                "dues": [row["due_at"] for row in rows],
                "expires": [row["expires_at"] for row in rows],
            },
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(OutboxMessage)
        .on_conflict_do_nothing(index_elements=["mother_id", "dedupe_key"])
        .returning(OutboxMessage.id)
    )
    return len(session.execute(statement, rows).all())


def replan_mother(session: Session, items: Iterable[Plannable], mother: Mother, *, now: datetime) -> int:
    """Her dates changed (or she came back): drop what was planned from her dates and not sent; plan afresh."""
    session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.mother_id == mother.id,
            OutboxMessage.kind.in_([OutboxKind.LESSON, OutboxKind.SCREEN]),
            OutboxMessage.status == OutboxStatus.PLANNED,
            ~OutboxMessage.dedupe_key.startswith("rescreen:"),
        )
    )
    session.flush()
    return plan(session, items, now=now, mother_ids=[mother.id])
