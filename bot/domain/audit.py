"""The append-only audit log: who did what, when. Never message text or names."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from bot.models import AuditEvent, utcnow


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject_type: str | None = None,
    subject_id: int | None = None,
    **details: Any,
) -> AuditEvent:
    """Add an audit row in the caller's transaction, so it commits or rolls back with the event itself.

    Args:
        actor: ``"mother:12"``, ``"staff:3"``, ``"cli"`` or ``"system"``.
        action: dotted verb, e.g. ``"consent.accepted"``.
    """
    event = AuditEvent(
        at=utcnow(),
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        details=details,
    )
    session.add(event)
    return event
