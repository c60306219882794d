"""Mother invite codes: a nurse's link that enrols a mother straight into her care."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bot.domain import audit
from bot.domain.codes import new_code
from bot.models import InviteCode, Staff, StaffRole, utcnow


def create_invite(
    session: Session, *, nurse_id: int, max_uses: int | None = None, valid_days: int | None = None
) -> InviteCode:
    nurse = session.get(Staff, nurse_id)
    if nurse is None or not nurse.active:
        raise ValueError(f"no active staff member with id {nurse_id}")
    if nurse.role not in (StaffRole.NURSE, StaffRole.SUPERVISOR):
        raise ValueError(f"staff member {nurse_id} is {nurse.role}; mothers are assigned to nurses")
    expires = utcnow() + timedelta(days=valid_days) if valid_days else None
    invite = InviteCode(code=new_code(9), nurse_id=nurse_id, max_uses=max_uses, expires_at=expires)
    session.add(invite)
    session.flush()
    audit.record(
        session,
        actor="cli",
        action="invite.created",
        subject_type="invite",
        subject_id=invite.id,
        nurse_id=nurse_id,
    )
    return invite


def usable_invite(session: Session, code: str, *, now: datetime) -> InviteCode | None:
    """The invite behind a code if it can still be used: not revoked, expired or used up."""
    invite = session.scalars(select(InviteCode).where(InviteCode.code == code)).one_or_none()
    if invite is None or invite.revoked:
        return None
    if invite.expires_at is not None and invite.expires_at <= now:
        return None
    if invite.max_uses is not None and invite.uses >= invite.max_uses:
        return None
    if not invite.nurse.active:
        return None
    return invite


def claim_invite(session: Session, code: str, *, now: datetime) -> InviteCode | None:
    """Use one of the invite's places, if it has one left: checked and counted in one statement, so two mothers
    signing up at the same moment cannot both take the last place (``--max-uses``)."""
    invite = usable_invite(session, code, now=now)
    if invite is None:
        return None
    claimed = session.execute(
        update(InviteCode)
        .where(
            InviteCode.id == invite.id,
            or_(InviteCode.max_uses.is_(None), InviteCode.uses < InviteCode.max_uses),
        )
        .values(uses=InviteCode.uses + 1)
        .returning(InviteCode.id)
        .execution_options(synchronize_session=False)
    ).first()
    if claimed is None:
        return None
    session.refresh(invite)
    return invite


def write_qr_png(link: str, path: Path) -> None:
    """Write the link as a QR code a mother can scan from the nurse's phone or a printed card."""
    import qrcode  # imported here: only the CLI needs it

    path.parent.mkdir(parents=True, exist_ok=True)
    img = qrcode.make(link, box_size=10, border=4)
    img.save(str(path))
