"""Lessons from the mother's side: what she has reached, reading one on request, pausing, stopping."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.content.lessons import Lesson
from bot.content.library import ContentLibrary
from bot.delivery.planner import Plannable, as_plannable, lesson_key, plan, replan_mother
from bot.domain import audit
from bot.models import Baby, BabyStatus, Mother, MotherStatus, OutboxKind, OutboxMessage, OutboxStatus

TOPICS = ("breastfeeding", "crying", "sleep", "wellbeing")
DELIVERY_HOURS = (8, 10, 12, 14, 17, 19)  # all outside the default quiet hours (21–8)


def anchor_of(mother: Mother) -> tuple[str, date] | None:
    """Which date her lessons count from: her baby's birth date, else the due date; None after a loss."""
    babies = [b for b in mother.babies if b.status != BabyStatus.LOST]
    born = [b.birth_date for b in babies if b.status == BabyStatus.BORN and b.birth_date]
    if born:
        return "birth", max(born)
    due = [b.due_date for b in babies if b.status == BabyStatus.EXPECTED and b.due_date]
    if due:
        return "due", min(due)
    return None


def reached(library: ContentLibrary, mother: Mother, today: date, topic: str | None = None) -> list[Lesson]:
    """Lessons already due for her (latest first), optionally of one topic."""
    anchor = anchor_of(mother)
    if anchor is None:
        return []
    kind, anchor_date = anchor
    lessons = [
        lesson
        for lesson in library.lessons_for(kind, anchor_date)  # type: ignore[arg-type]
        if lesson.due_on(anchor_date) <= today and (topic is None or lesson.topic == topic)
    ]
    return list(reversed(lessons))


def upcoming(library: ContentLibrary, mother: Mother, today: date, topic: str | None = None) -> Lesson | None:
    anchor = anchor_of(mother)
    if anchor is None:
        return None
    kind, anchor_date = anchor
    for lesson in library.lessons_for(kind, anchor_date):  # type: ignore[arg-type]
        if lesson.due_on(anchor_date) > today and (topic is None or lesson.topic == topic):
            return lesson
    return None


def next_lesson(session: Session, library: ContentLibrary, mother: Mother, today: date) -> Lesson | None:
    """What "next lesson" gives her: the earliest planned one, else the next one ahead of her stage."""
    planned = session.scalars(
        select(OutboxMessage.lesson_slug)
        .where(
            OutboxMessage.mother_id == mother.id,
            OutboxMessage.kind == OutboxKind.LESSON,
            OutboxMessage.status == OutboxStatus.PLANNED,
        )
        .order_by(OutboxMessage.due_at)
    ).first()
    if planned and (lesson := library.get(planned)) is not None:
        return lesson
    return upcoming(library, mother, today)


def record_read(session: Session, mother: Mother, lesson: Lesson, *, now: datetime) -> OutboxMessage:
    """Record a lesson she asked for (sent as a reply), and keep the scheduled copy from coming later."""
    row = OutboxMessage(
        mother_id=mother.id,
        kind=OutboxKind.ON_REQUEST,
        lesson_slug=lesson.slug,
        dedupe_key=f"read:{lesson.slug}:{uuid.uuid4().hex[:12]}",
        due_at=now,
        status=OutboxStatus.SENT,
        sent_at=now,
        content_version=lesson.version,
        language=mother.language,
        attempts=1,
        created_at=now,
    )
    session.add(row)
    scheduled = session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.mother_id == mother.id, OutboxMessage.dedupe_key == lesson_key(lesson.slug)
        )
    ).one_or_none()
    if scheduled is None:
        session.add(
            OutboxMessage(
                mother_id=mother.id,
                kind=OutboxKind.LESSON,
                lesson_slug=lesson.slug,
                dedupe_key=lesson_key(lesson.slug),
                due_at=now,
                status=OutboxStatus.SKIPPED,
                reason="read_early",
                attempts=0,
                created_at=now,
            )
        )
    elif scheduled.status == OutboxStatus.PLANNED:
        scheduled.status, scheduled.reason = OutboxStatus.SKIPPED, "read_early"
    session.flush()
    return row


def record_loss(session: Session, mother: Mother, *, now: datetime) -> None:
    """Her baby died: no lesson or check about that baby may ever arrive. Cancels everything planned."""
    from bot.models import Screening, ScreeningStatus

    for baby in mother.babies:
        baby.status = BabyStatus.LOST
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.mother_id == mother.id, OutboxMessage.status.in_([OutboxStatus.PLANNED, OutboxStatus.SENDING])
        )
        .values(status=OutboxStatus.CANCELLED, reason="baby_loss")
    )
    session.execute(
        update(Screening)
        .where(
            Screening.mother_id == mother.id,
            Screening.status.in_([ScreeningStatus.INVITED, ScreeningStatus.IN_PROGRESS]),
        )
        .values(status=ScreeningStatus.DECLINED)
    )
    audit.record(
        session, actor=f"mother:{mother.id}", action="mother.baby_loss", subject_type="mother", subject_id=mother.id
    )


def stop_messages(session: Session, mother: Mother, *, now: datetime) -> None:
    """No more lessons or screens; open cases stay open for her nurse."""
    mother.status = MotherStatus.STOPPED
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.mother_id == mother.id, OutboxMessage.status == OutboxStatus.PLANNED)
        .values(status=OutboxStatus.CANCELLED, reason="stopped")
    )
    audit.record(
        session,
        actor=f"mother:{mother.id}",
        action="mother.stopped",
        subject_type="mother",
        subject_id=mother.id,
    )


def plannables(library: ContentLibrary, screening_instrument: str) -> list[Plannable]:
    """Everything planned from her dates: the lessons and the programme's screening timeline."""
    from bot.domain.screening_flow import screen_plannables

    return [as_plannable(lesson) for lesson in library] + screen_plannables(screening_instrument)


def resume_messages(session: Session, items: list[Plannable], mother: Mother, *, now: datetime) -> None:
    mother.status = MotherStatus.ACTIVE
    mother.paused_until = None
    session.flush()
    replan_mother(session, items, mother, now=now)
    audit.record(
        session,
        actor=f"mother:{mother.id}",
        action="mother.resumed",
        subject_type="mother",
        subject_id=mother.id,
    )


def set_delivery_hour(session: Session, items: list[Plannable], mother: Mother, hour: int, *, now: datetime) -> None:
    if hour not in DELIVERY_HOURS:
        raise ValueError(f"delivery hour {hour} is not offered")
    mother.delivery_hour = hour
    session.flush()
    replan_mother(session, items, mother, now=now)
    audit.record(
        session,
        actor=f"mother:{mother.id}",
        action="mother.delivery_hour",
        subject_type="mother",
        subject_id=mother.id,
        hour=hour,
    )


def plan_for(session: Session, items: list[Plannable], mother: Mother, *, now: datetime) -> int:
    return plan(session, items, now=now, mother_ids=[mother.id])


__all__ = ["DELIVERY_HOURS", "TOPICS", "Baby"]
