"""Her consent to the privacy notice, and her reachability: small facts many flows ask about."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain import audit
from bot.models import ConsentRecord, Mother, MotherStatus


def latest_consent(session: Session, mother: Mother) -> ConsentRecord | None:
    return session.scalars(
        select(ConsentRecord)
        .where(ConsentRecord.mother_id == mother.id)
        .order_by(ConsentRecord.decided_at.desc(), ConsentRecord.id.desc())
    ).first()


def consent_is_current(session: Session, mother: Mother, version: str) -> bool:
    consent = latest_consent(session, mother)
    return consent is not None and consent.accepted and consent.version == version


def record_consent(
    session: Session, *, mother_id: int | None, version: str, accepted: bool, language: str, now: datetime
) -> None:
    """Store her decision on the privacy notice (a refusal before enrolment has no mother id) and audit it."""
    session.add(
        ConsentRecord(mother_id=mother_id, version=version, accepted=accepted, language=language, decided_at=now)
    )
    audit.record(
        session,
        actor=f"mother:{mother_id}" if mother_id else "anonymous",
        action="consent.accepted" if accepted else "consent.declined",
        subject_type="mother" if mother_id else None,
        subject_id=mother_id,
        version=version,
    )


def mark_unreachable(session: Session, mother: Mother) -> None:
    """Telegram refused her chat (403): no more sends until she writes again."""
    if mother.status == MotherStatus.ACTIVE:
        mother.status = MotherStatus.BLOCKED
        audit.record(session, actor="system", action="mother.unreachable", subject_type="mother", subject_id=mother.id)
