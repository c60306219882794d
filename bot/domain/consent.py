"""Whether a mother's consent covers the privacy notice in force."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import ConsentRecord, Mother


def latest_consent(session: Session, mother: Mother) -> ConsentRecord | None:
    return session.scalars(
        select(ConsentRecord)
        .where(ConsentRecord.mother_id == mother.id)
        .order_by(ConsentRecord.decided_at.desc(), ConsentRecord.id.desc())
    ).first()


def consent_is_current(session: Session, mother: Mother, version: str) -> bool:
    consent = latest_consent(session, mother)
    return consent is not None and consent.accepted and consent.version == version
