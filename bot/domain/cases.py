"""Cases: why a nurse must act on a mother, who is told, by when, and every step audited.

A case is written, with its alerts queued, in the same transaction as the event that caused it; the
alert dispatcher sends the alerts after the commit, and retries them until they are sent or escalated.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain import audit, screening_flow
from bot.domain.working_time import rules
from bot.i18n import Translator
from bot.models import (
    PRIORITY_RANK,
    Alert,
    AlertStatus,
    Case,
    CaseEvent,
    CaseNote,
    CasePriority,
    CaseStatus,
    ChatMessage,
    Mother,
    Screening,
    Staff,
    StaffRole,
)
from bot.screening.scoring import Result

# What each kind of trigger is worth. Safety categories are the detector's; screening risks the scorer's.
SAFETY_PRIORITY = {
    "self_harm": CasePriority.URGENT,
    "harm_baby": CasePriority.URGENT,
    "infant_danger": CasePriority.URGENT,
    "maternal_danger": CasePriority.URGENT,
    "abuse": CasePriority.URGENT,
}
SCREENING_PRIORITY = {"urgent": CasePriority.URGENT, "high": CasePriority.HIGH, "borderline": CasePriority.ROUTINE}
OPEN_STATUSES = (CaseStatus.OPEN, CaseStatus.ACKNOWLEDGED)


def event(session: Session, case: Case, kind: str, *, actor: str, at: datetime, **details: Any) -> None:
    """A case event, and the same in the programme-wide audit log (ids and kinds only, never text)."""
    session.add(CaseEvent(case_id=case.id, at=at, actor=actor, kind=kind, details=details))
    audit.record(session, actor=actor, action=f"case.{kind}", subject_type="case", subject_id=case.id, **details)


def open_case_of(session: Session, mother_id: int) -> Case | None:
    return session.scalars(
        select(Case).where(Case.mother_id == mother_id, Case.status.in_(OPEN_STATUSES)).order_by(Case.id.desc())
    ).first()


def responsible_nurse(session: Session, mother: Mother) -> Staff | None:
    """Her own nurse; for a mother in a pool, a nurse (else a supervisor) of that pool's district."""
    if mother.nurse_id is not None:
        nurse = session.get(Staff, mother.nurse_id)
        if nurse is not None and nurse.active:
            return nurse
    if mother.pool:
        for role in (StaffRole.NURSE, StaffRole.SUPERVISOR):
            staff = session.scalars(
                select(Staff)
                .where(Staff.district == mother.pool, Staff.role == role, Staff.active.is_(True))
                .order_by(Staff.on_duty.desc(), Staff.id)
            ).first()
            if staff is not None:
                return staff
    return None


def reachable(staff: Staff | None) -> bool:
    return bool(staff and staff.active and staff.on_duty and staff.chat_id and not staff.alerts_blocked)


def chain(
    session: Session, case: Case, level: int, supervisors: dict[str | None, list[Staff]] | None = None
) -> list[Staff]:
    """Who is alerted at an escalation level: the nurse; then her backup; then the district supervisors.

    Args:
        supervisors: A cache of the supervisor lookup by district, for callers that build many chains.
    """
    people: list[Staff] = []
    nurse = session.get(Staff, case.assigned_staff_id) if case.assigned_staff_id else None
    if nurse is not None:
        people.append(nurse)
    if level >= 1 and nurse is not None and nurse.backup_id:
        backup = session.get(Staff, nurse.backup_id)
        if backup is not None:
            people.append(backup)
    if level >= 2:
        # Her nurse's district; for a mother with no nurse, her pool's: her words go to the supervisors the
        # programme named for that pool, never to every supervisor (nobody named: the admins, at the top).
        district = nurse.district if nurse is not None else _pool_of(session, case)
        found = supervisors.get(district) if supervisors is not None else None
        if found is None:
            found = []
            if district:
                query = select(Staff).where(
                    Staff.role == StaffRole.SUPERVISOR, Staff.active.is_(True), Staff.district == district
                )
                found = list(session.scalars(query.order_by(Staff.id)))
            if supervisors is not None:
                supervisors[district] = found
        people.extend(found)
    seen: set[int] = set()
    unique = [p for p in people if not (p.id in seen or seen.add(p.id))]  # type: ignore[func-returns-value]
    return [p for p in unique if reachable(p)]


def _pool_of(session: Session, case: Case) -> str | None:
    mother = session.get(Mother, case.mother_id)
    return mother.pool if mother is not None else None


def admins(session: Session) -> list[Staff]:
    return [s for s in session.scalars(select(Staff).where(Staff.role == StaffRole.ADMIN)) if reachable(s)]


def queue_alerts(
    session: Session,
    case: Case,
    people: Iterable[Staff],
    kind: str,
    now: datetime,
    payload: dict[str, Any] | None = None,
) -> int:
    count = 0
    for person in people:
        session.add(
            Alert(
                case_id=case.id,
                staff_id=person.id,
                kind=kind,
                status=AlertStatus.PENDING,
                payload=payload or {},
                next_attempt_at=now,
                created_at=now,
            )
        )
        count += 1
    return count


def open_or_add(
    session: Session, mother: Mother, *, priority: CasePriority, trigger: dict[str, Any], now: datetime, actor: str
) -> Case:
    """Open a case for her, or add this trigger to her open one (raising its priority if needed)."""
    trigger = {**trigger, "at": now.isoformat()}
    case = open_case_of(session, mother.id)
    if case is None:
        nurse = responsible_nurse(session, mother)
        deadline = rules().deadline(priority, now)
        case = Case(
            mother_id=mother.id,
            priority=priority,
            status=CaseStatus.OPEN,
            triggers={"items": [trigger]},
            assigned_staff_id=nurse.id if nurse else None,
            opened_at=now,
            ack_deadline=deadline,
            next_escalation_at=deadline,
            escalation_level=0,
        )
        session.add(case)
        session.flush()
        event(session, case, "opened", actor=actor, at=now, priority=str(priority), trigger=trigger["kind"])
        recipients = chain(session, case, 0)
        if recipients:
            queue_alerts(session, case, recipients, "alert", now)
        else:
            # Nobody to tell at level 0: escalate straight away rather than wait for the deadline.
            case.next_escalation_at = now
        return case
    case.triggers = {"items": [*case.triggers.get("items", []), trigger]}
    event(session, case, "trigger_added", actor=actor, at=now, trigger=trigger["kind"])
    raised = PRIORITY_RANK[CasePriority(priority)] > PRIORITY_RANK[CasePriority(case.priority)]
    if raised:
        event(session, case, "priority_raised", actor=actor, at=now, old=case.priority, new=str(priority))
        case.priority = priority
    if raised or priority != CasePriority.ROUTINE:
        # Something new and serious: it needs acknowledging again, on the (possibly tighter) clock.
        deadline = (
            min(case.ack_deadline, rules().deadline(priority, now))
            if case.status == CaseStatus.OPEN
            else rules().deadline(priority, now)
        )
        case.status, case.ack_deadline, case.next_escalation_at = CaseStatus.OPEN, deadline, deadline
        recipients = chain(session, case, case.escalation_level)
        queue_alerts(session, case, recipients, "alert", now)
        if not recipients:
            case.next_escalation_at = now
    return case


def escalate_due(session: Session, now: datetime, *, limit: int = 500) -> int:
    """Move every unacknowledged case past its deadline one step up the ladder; returns how many."""
    due = session.scalars(
        select(Case)
        .where(Case.status == CaseStatus.OPEN, Case.next_escalation_at <= now)
        .order_by(Case.next_escalation_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not due:
        return 0
    # The identity map holds objects weakly: keep this tick's nurses and backups referenced, or every chain()
    # reloads them. One query each instead of two per case.
    nurses = session.scalars(select(Staff).where(Staff.id.in_({c.assigned_staff_id for c in due}))).all()
    backups = session.scalars(select(Staff).where(Staff.id.in_({n.backup_id for n in nurses}))).all()
    supervisors: dict[str | None, list[Staff]] = {}
    # Nothing below reads what the loop writes: without autoflush, the tick's rows are inserted in batches at
    # commit instead of one flush per case.
    with session.no_autoflush:
        for case in due:
            _escalate(session, case, now, supervisors)
    del nurses, backups
    return len(due)


def _escalate(session: Session, case: Case, now: datetime, supervisors: dict[str | None, list[Staff]]) -> None:
    """One case one step up the ladder (see escalate_due)."""
    case.escalation_level += 1
    recipients = chain(session, case, case.escalation_level, supervisors)
    if recipients:
        queue_alerts(session, case, recipients, "escalation", now)
        event(
            session,
            case,
            "escalated",
            actor="system",
            at=now,
            level=case.escalation_level,
            staff=[p.id for p in recipients],
        )
    if not recipients:
        if not case.unreachable_flagged:
            case.unreachable_flagged = True
            event(session, case, "unreachable_chain", actor="system", at=now, level=case.escalation_level)
        queue_alerts(session, case, admins(session), "unreachable", now)
    case.next_escalation_at = rules().deadline(case.priority, now)


def can_act(staff: Staff, case: Case, session: Session) -> bool:
    """The one place that decides who may see and act on a case."""
    if not staff.active:
        return False
    if staff.role == StaffRole.ADMIN:
        return True
    mother = session.get(Mother, case.mother_id)
    nurse = session.get(Staff, case.assigned_staff_id) if case.assigned_staff_id else None
    if staff.role == StaffRole.SUPERVISOR:
        district = nurse.district if nurse is not None else (mother.pool if mother else None)
        return district is not None and staff.district == district
    if mother is not None and mother.nurse_id == staff.id:
        return True
    if case.assigned_staff_id == staff.id:
        return True
    # A backup nurse who has been alerted for this case may act on it.
    alerted = session.scalar(select(Alert.id).where(Alert.case_id == case.id, Alert.staff_id == staff.id))
    return alerted is not None


def acknowledge(session: Session, case: Case, staff: Staff, now: datetime) -> bool:
    if case.status != CaseStatus.OPEN:
        return False
    case.status, case.acknowledged_at, case.acknowledged_by = CaseStatus.ACKNOWLEDGED, now, staff.id
    case.next_escalation_at = None
    event(session, case, "acknowledged", actor=f"staff:{staff.id}", at=now)
    return True


def add_note(session: Session, case: Case, staff: Staff, text: str, now: datetime) -> None:
    note = CaseNote(case_id=case.id, staff_id=staff.id, text=text, at=now)
    session.add(note)
    session.flush()
    event(session, case, "note", actor=f"staff:{staff.id}", at=now, note_id=note.id)


def resolve(session: Session, case: Case, staff: Staff, now: datetime) -> bool:
    if case.status == CaseStatus.RESOLVED:
        return False
    if case.status == CaseStatus.OPEN:
        acknowledge(session, case, staff, now)
    case.status, case.resolved_at, case.resolved_by = CaseStatus.RESOLVED, now, staff.id
    case.next_escalation_at = None
    event(session, case, "resolved", actor=f"staff:{staff.id}", at=now)
    return True


def reopen(session: Session, case: Case, staff: Staff, now: datetime) -> bool:
    if case.status != CaseStatus.RESOLVED or open_case_of(session, case.mother_id) is not None:
        return False
    case.status, case.resolved_at, case.resolved_by = CaseStatus.ACKNOWLEDGED, None, None
    event(session, case, "reopened", actor=f"staff:{staff.id}", at=now)
    return True


def assign(session: Session, case: Case, staff: Staff, now: datetime, *, actor: str) -> None:
    old = case.assigned_staff_id
    case.assigned_staff_id = staff.id
    event(session, case, "reassigned", actor=actor, at=now, old=old, new=staff.id)
    if case.status == CaseStatus.OPEN and reachable(staff):
        queue_alerts(session, case, [staff], "alert", now)


def relay_from_mother(
    session: Session, case: Case, mother: Mother, now: datetime, *, text: str | None, media: dict[str, Any] | None
) -> None:
    """Pass her message to the nurse handling the case (and record it)."""
    session.add(
        ChatMessage(
            mother_id=mother.id,
            direction="from_mother",
            text=text,
            media=media["kind"] if media else None,
            case_id=case.id,
            at=now,
        )
    )
    target = case.acknowledged_by or case.assigned_staff_id
    people = [p for p in [session.get(Staff, target)] if p is not None and reachable(p)] if target else []
    if not people:
        people = chain(session, case, max(case.escalation_level, 2))
    queue_alerts(session, case, people, "relay", now, payload={"text": text, "media": media})
    event(
        session,
        case,
        "message_relayed",
        actor=f"mother:{mother.id}",
        at=now,
        direction="to_nurse",
        media=media["kind"] if media else None,
    )


def relay_to_mother(session: Session, case: Case, staff: Staff, text: str, now: datetime) -> None:
    session.add(ChatMessage(mother_id=case.mother_id, direction="from_nurse", text=text, case_id=case.id, at=now))
    event(session, case, "message_relayed", actor=f"staff:{staff.id}", at=now, direction="to_mother")


def cases_for(session: Session, staff: Staff, *, include_resolved: bool = False) -> list[Case]:
    query = select(Case).order_by(Case.opened_at)
    if not include_resolved:
        query = query.where(Case.status.in_(OPEN_STATUSES))
    return [case for case in session.scalars(query) if can_act(staff, case, session)]


def contact_by_text(t: Translator, deadline: datetime, tz: ZoneInfo, now: datetime) -> str:
    """A deadline as she reads it: "today at 14:00", or a date and a time."""
    local = deadline.astimezone(tz)
    now_local = now.astimezone(tz)
    clock = f"{local:%H:%M}"
    if local.date() == now_local.date():
        return t("by {time} today", time=clock)
    return t("by {time} on {date}", date=t.date(local.date(), "medium"), time=clock)


@screening_flow.on_result
def _case_from_screening(session: Session, mother: Mother, screening: Screening, result: Result, now: datetime) -> None:
    """Urgent, high and borderline results open (or add to) a case for her nurse."""
    priority = SCREENING_PRIORITY.get(result.risk.value)
    if priority is None:
        return
    open_or_add(
        session,
        mother,
        priority=priority,
        now=now,
        actor=f"mother:{mother.id}",
        trigger={"kind": "screening", "screening_id": screening.id, "risk": result.risk.value},
    )


def tell_unreachable(session: Session, mother: Mother, now: datetime) -> int:
    """Telegram refused her chat for good while her case is open (she may not have had her crisis lines): her
    case's people are told at once that Dodam could not reach her, so someone calls her another way."""
    case = open_case_of(session, mother.id)
    if case is None:
        return 0
    event(session, case, "mother_unreachable", actor="system", at=now)
    return queue_alerts(
        session, case, chain(session, case, case.escalation_level) or admins(session), "not_reached", now
    )
