"""Staff accounts: created from the CLI, bound to a Telegram account through a one-time link."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain import audit
from bot.domain.codes import STAFF_PREFIX, code_hash, new_code
from bot.models import Staff, StaffRole, utcnow


@dataclass(frozen=True)
class NewStaff:
    staff: Staff
    code: str  # shown once; only its hash is stored

    @property
    def payload(self) -> str:
        return f"{STAFF_PREFIX}{self.code}"


def add_staff(
    session: Session,
    *,
    name: str,
    role: StaffRole,
    language: str = "ko",
    district: str | None = None,
    backup_id: int | None = None,
) -> NewStaff:
    if not name.strip():
        raise ValueError("a staff member needs a name")
    if backup_id is not None and session.get(Staff, backup_id) is None:
        raise ValueError(f"no staff member with id {backup_id} to be the backup")
    code = new_code()
    staff = Staff(
        name=name.strip(),
        role=StaffRole(role).value,
        language=language,
        district=district,
        backup_id=backup_id,
        bind_code_hash=code_hash(code),
    )
    session.add(staff)
    session.flush()
    audit.record(session, actor="cli", action="staff.added", subject_type="staff", subject_id=staff.id, role=staff.role)
    return NewStaff(staff=staff, code=code)


def new_binding_code(session: Session, staff_id: int) -> NewStaff:
    """A fresh one-time link for a staff member (a lost link, or moving to a new phone)."""
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise ValueError(f"no staff member with id {staff_id}")
    code = new_code()
    staff.bind_code_hash = code_hash(code)
    audit.record(session, actor="cli", action="staff.link_issued", subject_type="staff", subject_id=staff.id)
    return NewStaff(staff=staff, code=code)


def bind_staff(session: Session, *, code: str, user_id: int, chat_id: int) -> Staff | None:
    """Bind the Telegram account to the staff record whose one-time code this is; None if unknown/used."""
    staff = session.scalars(select(Staff).where(Staff.bind_code_hash == code_hash(code))).one_or_none()
    if staff is None or not staff.active:
        audit.record(session, actor="unknown", action="staff.bind_refused")
        return None
    holder = session.scalars(select(Staff).where(Staff.telegram_user_id == user_id)).one_or_none()
    if holder is not None and holder.id != staff.id:
        # One Telegram account, one staff record: the old binding moves to the new one.
        holder.telegram_user_id = None
        holder.chat_id = None
    staff.telegram_user_id = user_id
    staff.chat_id = chat_id
    staff.bind_code_hash = None
    staff.bound_at = utcnow()
    audit.record(session, actor=f"staff:{staff.id}", action="staff.bound", subject_type="staff", subject_id=staff.id)
    return staff


def staff_for_user(session: Session, user_id: int) -> Staff | None:
    return session.scalars(select(Staff).where(Staff.telegram_user_id == user_id, Staff.active.is_(True))).one_or_none()
