"""Her data is hers: what Dodam keeps about her, erasing it, and forgetting old message bodies."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.domain import audit, cases
from bot.domain.consent import consent_is_current, latest_consent
from bot.models import (
    Alert,
    AlertStatus,
    Baby,
    Case,
    CaseNote,
    ChatMessage,
    ConsentRecord,
    ConversationState,
    Mother,
    MotherStatus,
    OutboxMessage,
    OutboxStatus,
    Screening,
    ScreeningAnswer,
    Staff,
)

ERASED = "erased"


def export(session: Session, mother: Mother) -> dict[str, Any]:
    """Everything Dodam stores about her, as plain data (the JSON file she receives)."""
    nurse = session.get(Staff, mother.nurse_id) if mother.nurse_id else None
    screenings = session.scalars(select(Screening).where(Screening.mother_id == mother.id).order_by(Screening.id))
    return {
        "profile": {
            "id": mother.id,
            "name": mother.display_name,
            "language": mother.language,
            "status": mother.status,
            "enrolled_at": mother.enrolled_at.isoformat(),
            "nurse": nurse.name if nurse else None,
            "pool": mother.pool,
            "delivery_hour": mother.delivery_hour,
            "timezone": mother.timezone,
        },
        "babies": [
            {
                "status": b.status,
                "due_date": b.due_date.isoformat() if b.due_date else None,
                "birth_date": b.birth_date.isoformat() if b.birth_date else None,
            }
            for b in mother.babies
        ],
        "consent": [
            {"version": c.version, "accepted": c.accepted, "at": c.decided_at.isoformat()}
            for c in session.scalars(select(ConsentRecord).where(ConsentRecord.mother_id == mother.id))
        ],
        "lessons_sent": [
            {
                "lesson": r.lesson_slug,
                "version": r.content_version,
                "sent_at": r.sent_at.isoformat() if r.sent_at else None,
            }
            for r in session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.mother_id == mother.id, OutboxMessage.status == OutboxStatus.SENT)
                .order_by(OutboxMessage.id)
            )
        ],
        "screenings": [
            {
                "instrument": s.instrument,
                "status": s.status,
                "total": s.total,
                "risk": s.risk,
                "completed_at": s.completed_at.isoformat() if s.completed_at else None,
                "answers": {a.item_number: a.option_index for a in s.answers},
            }
            for s in screenings
        ],
        "cases": [
            {"id": c.id, "priority": c.priority, "status": c.status, "opened_at": c.opened_at.isoformat()}
            for c in session.scalars(select(Case).where(Case.mother_id == mother.id))
        ],
        "messages": [
            {"direction": m.direction, "text": m.text, "at": m.at.isoformat()}
            for m in session.scalars(
                select(ChatMessage).where(ChatMessage.mother_id == mother.id).order_by(ChatMessage.at)
            )
        ],
    }


def export_json(session: Session, mother: Mother) -> bytes:
    return json.dumps(export(session, mother), ensure_ascii=False, indent=2).encode("utf-8")


def erase(session: Session, mother: Mother, now: datetime) -> list[Case]:
    """Erase her personal data; keep anonymous counts. Returns her cases that were still open.

    Erased: name, Telegram identifiers, free-text messages, questionnaire answers, dates of birth and
    due dates, case notes, the conversation state. Kept, without anything that identifies her: that a
    mother was enrolled, which lessons were sent, screening totals and risk levels, cases and their events.
    """
    open_cases = [
        c
        for c in session.scalars(select(Case).where(Case.mother_id == mother.id, Case.status.in_(cases.OPEN_STATUSES)))
    ]
    chat_id = mother.chat_id
    mother.display_name = None
    mother.telegram_user_id = None
    mother.chat_id = None
    mother.status = ERASED
    for baby in session.scalars(select(Baby).where(Baby.mother_id == mother.id)):
        baby.due_date = None
        baby.birth_date = None
    session.execute(delete(ChatMessage).where(ChatMessage.mother_id == mother.id))
    screening_ids = list(session.scalars(select(Screening.id).where(Screening.mother_id == mother.id)))
    if screening_ids:
        session.execute(delete(ScreeningAnswer).where(ScreeningAnswer.screening_id.in_(screening_ids)))
    case_ids = list(session.scalars(select(Case.id).where(Case.mother_id == mother.id)))
    if case_ids:
        session.execute(delete(CaseNote).where(CaseNote.case_id.in_(case_ids)))
        # Relays carry her words: unsent ones go; sent ones keep only the fact that something was passed on.
        session.execute(
            delete(Alert).where(Alert.case_id.in_(case_ids), Alert.kind == "relay", Alert.status != AlertStatus.SENT)
        )
        session.execute(update(Alert).where(Alert.case_id.in_(case_ids), Alert.kind == "relay").values(payload={}))
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.mother_id == mother.id, OutboxMessage.status == OutboxStatus.PLANNED)
        .values(status=OutboxStatus.CANCELLED, reason=ERASED)
    )
    if chat_id is not None:
        session.execute(delete(ConversationState).where(ConversationState.chat_id == chat_id))
    for case in open_cases:
        cases.event(session, case, "mother_erased", actor=f"mother:{mother.id}", at=now)
        nurse = (
            session.get(Staff, case.acknowledged_by or case.assigned_staff_id)
            if (case.acknowledged_by or case.assigned_staff_id)
            else None
        )
        if cases.reachable(nurse):
            assert nurse is not None
            cases.queue_alerts(session, case, [nurse], "erased", now)
    audit.record(
        session,
        actor=f"mother:{mother.id}",
        action="mother.erased",
        subject_type="mother",
        subject_id=mother.id,
        open_cases=len(open_cases),
    )
    return open_cases


def purge_old_messages(session: Session, now: datetime, retention_days: int) -> int:
    """Forget the words of free-text messages older than the retention period (the row stays, empty)."""
    cutoff = now - timedelta(days=retention_days)
    result = session.execute(
        update(ChatMessage).where(ChatMessage.at < cutoff, ChatMessage.text.is_not(None)).values(text=None)
    )
    purged = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if purged:
        audit.record(session, actor="system", action="retention.purged", count=purged, days=retention_days)
    return purged


__all__ = ["MotherStatus", "consent_is_current", "erase", "export", "latest_consent", "purge_old_messages"]
