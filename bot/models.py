"""Database models (SQLAlchemy 2, typed ORM).

Telegram identifiers are 64-bit. Times are stored in UTC and always come back timezone-aware.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC; SQLite drops the offset, so it is put back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, datetime: UTCDateTime}


class StaffRole(StrEnum):
    NURSE = "nurse"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class MotherStatus(StrEnum):
    ACTIVE = "active"
    STOPPED = "stopped"
    BLOCKED = "blocked"


class BabyStatus(StrEnum):
    EXPECTED = "expected"
    BORN = "born"
    LOST = "lost"


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(16), default="ko")
    district: Mapped[str | None] = mapped_column(String(100))
    backup_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    # Only a hash of the one-time binding code is kept, so a database reader cannot bind an account.
    bind_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    on_duty: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Telegram refused to deliver to this account (blocked the bot): skipped in escalation chains.
    alerts_blocked: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    bound_at: Mapped[datetime | None]


class InviteCode(Base):
    __tablename__ = "invite_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    nurse_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    max_uses: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)

    nurse: Mapped[Staff] = relationship()


class Mother(Base):
    __tablename__ = "mothers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    # What the nurse sees: the Telegram first name, which the mother chose to show to the world anyway.
    display_name: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(16))
    nurse_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    pool: Mapped[str | None] = mapped_column(String(100))
    invite_code_id: Mapped[int | None] = mapped_column(ForeignKey("invite_codes.id"))
    status: Mapped[str] = mapped_column(String(20), default=MotherStatus.ACTIVE)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Seoul")
    # Local hour at which lessons arrive; she can change it from the menu.
    delivery_hour: Mapped[int] = mapped_column(Integer, default=10, server_default="10")
    paused_until: Mapped[datetime | None]
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)

    babies: Mapped[list[Baby]] = relationship(back_populates="mother", order_by="Baby.id")
    nurse: Mapped[Staff | None] = relationship()


class Baby(Base):
    """A pregnancy or a born baby; twins are two rows with the same dates."""

    __tablename__ = "babies"
    # The planner selects babies by date, for a million mothers at once.
    __table_args__ = (
        Index("ix_babies_birth", "status", "birth_date"),
        Index("ix_babies_due", "status", "due_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mother_id: Mapped[int] = mapped_column(ForeignKey("mothers.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    due_date: Mapped[date | None] = mapped_column(Date)
    birth_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    mother: Mapped[Mother] = relationship(back_populates="babies")


class OutboxStatus(StrEnum):
    PLANNED = "planned"
    SENDING = "sending"  # claimed by a dispatcher until its lease expires
    SENT = "sent"
    SKIPPED = "skipped"  # past its relevance window, or read early on request
    FAILED = "failed"  # gave up after bounded retries; audited
    CANCELLED = "cancelled"  # she stopped, blocked the bot, or her dates changed


class OutboxKind(StrEnum):
    LESSON = "lesson"  # planned from her dates, sent by the dispatcher
    ON_REQUEST = "on_request"  # a lesson she asked for, sent as a reply
    SCREEN = "screen"  # an invitation to a screening questionnaire, from her dates or a rescreen
    SCREEN_REMINDER = "screen_reminder"  # a nudge to finish a started questionnaire


class OutboxMessage(Base):
    """Every planned and delivered lesson: what, to whom, when, and which version of the content."""

    __tablename__ = "outbox"
    __table_args__ = (
        # The same lesson is never planned twice for the same mother.
        UniqueConstraint("mother_id", "dedupe_key", name="uq_outbox_mother_dedupe"),
        Index("ix_outbox_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mother_id: Mapped[int] = mapped_column(ForeignKey("mothers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default=OutboxKind.LESSON)
    lesson_slug: Mapped[str | None] = mapped_column(String(100))
    dedupe_key: Mapped[str] = mapped_column(String(160))
    due_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PLANNED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    content_version: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(16))
    sent_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LessonFeedback(Base):
    """Her answer to "was this helpful?", once per delivered lesson (a second press changes it)."""

    __tablename__ = "lesson_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"), unique=True)
    lesson_slug: Mapped[str] = mapped_column(String(100), index=True)
    helpful: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ScreeningStatus(StrEnum):
    INVITED = "invited"  # offered (scheduled or from the menu), not started
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    EXPIRED = "expired"  # not finished within 7 days: recorded as incomplete
    DECLINED = "declined"


class Screening(Base):
    """One questionnaire taken (or offered): every answer is stored the moment it is given."""

    __tablename__ = "screenings"
    __table_args__ = (Index("ix_screenings_open", "status", "last_activity_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mother_id: Mapped[int] = mapped_column(ForeignKey("mothers.id", ondelete="CASCADE"), index=True)
    instrument: Mapped[str] = mapped_column(String(16))
    instrument_version: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(16))
    translation_validated: Mapped[bool] = mapped_column(Boolean)
    cutoff_validated: Mapped[bool] = mapped_column(Boolean, default=True)
    trigger: Mapped[str] = mapped_column(String(20))  # "scheduled" | "requested" | "rescreen"
    status: Mapped[str] = mapped_column(String(16), default=ScreeningStatus.INVITED)
    current_item: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int | None] = mapped_column(Integer)
    risk: Mapped[str | None] = mapped_column(String(16))
    subscales: Mapped[dict[str, Any]] = mapped_column(default=dict)
    urgent_items: Mapped[dict[str, Any]] = mapped_column(default=dict)
    rescreen_in_days: Mapped[int | None] = mapped_column(Integer)

    answers: Mapped[list[ScreeningAnswer]] = relationship(order_by="ScreeningAnswer.item_number")


class ScreeningAnswer(Base):
    __tablename__ = "screening_answers"
    __table_args__ = (UniqueConstraint("screening_id", "item_number", name="uq_answer_item"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    screening_id: Mapped[int] = mapped_column(ForeignKey("screenings.id", ondelete="CASCADE"), index=True)
    item_number: Mapped[int] = mapped_column(Integer)
    option_index: Mapped[int] = mapped_column(Integer)  # as shown, 0 = first option
    score: Mapped[int] = mapped_column(Integer)
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)


class CasePriority(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    ROUTINE = "routine"


PRIORITY_RANK = {CasePriority.ROUTINE: 0, CasePriority.HIGH: 1, CasePriority.URGENT: 2}


class CaseStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Case(Base):
    """A reason for a nurse to act on a mother: written before any alert is sent."""

    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_escalation", "status", "next_escalation_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mother_id: Mapped[int] = mapped_column(ForeignKey("mothers.id", ondelete="CASCADE"), index=True)
    priority: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(16), default=CaseStatus.OPEN, index=True)
    triggers: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"items": [{"kind", "at", ...}]}
    assigned_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    ack_deadline: Mapped[datetime]
    next_escalation_at: Mapped[datetime | None]
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    unreachable_flagged: Mapped[bool] = mapped_column(Boolean, default=False)


class CaseEvent(Base):
    """Every step of a case, with actor and time (opened, alert sent, acknowledged, note, resolved …)."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class CaseNote(Base):
    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # bounded retries exhausted, or the staff member cannot be reached: escalated


class Alert(Base):
    """A message to a staff member about a case, retried until sent; never silently dropped."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    kind: Mapped[str] = mapped_column(String(20))  # alert | reminder | escalation | unreachable | relay
    status: Mapped[str] = mapped_column(String(12), default=AlertStatus.PENDING)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)  # for relays: the message to pass on
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None]
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(40))


class ChatMessage(Base):
    """Free text she wrote (and what was relayed between her and her nurse), for her nurse's context.

    Bodies are purged after the retention period; the row (who, when, direction) stays.
    """

    __tablename__ = "chat_messages"
    __table_args__ = (Index("ix_chat_messages_mother_at", "mother_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mother_id: Mapped[int] = mapped_column(ForeignKey("mothers.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(16))  # from_mother | to_mother | from_nurse
    text: Mapped[str | None] = mapped_column(Text)
    media: Mapped[str | None] = mapped_column(String(20))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsentRecord(Base):
    """A decision on the privacy notice. A refusal is kept without any identifier."""

    __tablename__ = "consent_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mother_id: Mapped[int | None] = mapped_column(ForeignKey("mothers.id", ondelete="SET NULL"), index=True)
    version: Mapped[str] = mapped_column(String(32))
    accepted: Mapped[bool] = mapped_column(Boolean)
    language: Mapped[str] = mapped_column(String(16))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConversationState(Base):
    """Where a chat is in a conversation, written on every step so a restart resumes exactly there."""

    __tablename__ = "conversation_states"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    flow: Mapped[str] = mapped_column(String(40))
    step: Mapped[str] = mapped_column(String(40))
    language: Mapped[str | None] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class InboxItem(Base):
    """An update as it arrived, stored before the channel is told it was received; emptied once answered.

    The turn that handles it stores its replies here in the same transaction, so after a crash the replies
    are sent (again, at worst) instead of the turn running twice or her message being lost.
    """

    __tablename__ = "inbox"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)  # Telegram's update_id
    chat_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    payload: Mapped[dict[str, Any]] = mapped_column()
    # Tells a repeat of this update from a new update that reuses its id (Telegram picks ids at random after
    # a quiet week; a new emulator, or a new bot on the same database, starts again from 1).
    digest: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    replies: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # Once answered the payload and replies are emptied but the id stays a while, so the same update delivered
    # again (a webhook retry, an offset not yet confirmed when the bot stopped) is recognised and skipped.
    answered_at: Mapped[datetime | None] = mapped_column(index=True)


class AuditEvent(Base):
    """Append-only log of important events; the migrations add triggers refusing UPDATE and DELETE.

    `details` must never hold message text or names: only ids, codes and decisions.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[int | None] = mapped_column(BigInteger)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
