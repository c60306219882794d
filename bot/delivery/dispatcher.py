"""The dispatcher: claims due outbox rows and sends them, paced, retried, and recorded.

Delivery is at-least-once with one narrow window: a process that dies after Telegram accepted a message
and before the row is marked sent (one local database commit) sends that lesson again once the row's
lease expires. Everywhere else a crash loses nothing and duplicates nothing: a claimed row is leased, and
a dead worker's lease runs out so another worker (or the restarted one) takes the row over.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.content.lessons import render
from bot.content.library import ContentLibrary
from bot.db import transaction
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.recording import record
from bot.delivery.sending import MessageSender, Rejected, RetryLater, TransientFailure, Unreachable
from bot.delivery.timing import at_hour, in_quiet_hours, local_day, next_delivery, zone
from bot.domain import audit
from bot.domain.consent import consent_is_current, mark_unreachable
from bot.domain.messages import Button, Keyboard
from bot.i18n import Translator
from bot.models import BabyStatus, Mother, MotherStatus, OutboxKind, OutboxMessage, OutboxStatus, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF = (5, 15, 60, 300, 900, 1800, 3600)  # seconds after the 1st, 2nd … failed attempt


@dataclass
class DispatchStats:
    claimed: int = 0
    sent: int = 0
    deferred: int = 0
    skipped: int = 0
    failed: int = 0
    retried: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def note(self, reason: str) -> None:
        self.reasons[reason] = self.reasons.get(reason, 0) + 1


@dataclass(frozen=True)
class _Job:
    outbox_id: int
    chat_id: int
    text: str
    buttons: Keyboard
    photo: Path | None
    version: str
    language: str
    html: bool = True


@dataclass(frozen=True)
class Composed:
    """A non-lesson outbox message made ready to send (a screening invitation, a reminder)."""

    text: str
    buttons: Keyboard
    version: str = ""


# Builds the message for an outbox row of one kind, in the dispatcher's transaction; a str is a reason
# to close the row without sending (e.g. the screening it reminds of was finished meanwhile).
Composer = Callable[[Session, OutboxMessage, Mother, datetime], "Composed | str"]


def lesson_buttons(t: Translator, outbox_id: int, *, follow_up: bool, ask_helpful: bool) -> Keyboard:
    """Buttons under a lesson; their data names the outbox row, which is checked against the presser."""
    rows: list[tuple[Button, ...]] = []
    if follow_up:
        rows.append((Button(t("📖 Tell me more"), f"more:{outbox_id}"),))
    if ask_helpful:
        rows.append((Button(t("👍 Helpful"), f"fb:{outbox_id}:1"), Button(t("👎 Not really"), f"fb:{outbox_id}:0")))
    return tuple(rows)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Dispatcher:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        library: Callable[[], ContentLibrary],
        sender: MessageSender,
        *,
        limiter: RateLimiter | None = None,
        clock: Callable[[], datetime] = utcnow,
        worker_id: str | None = None,
        batch: int = 200,
        concurrency: int = 16,
        composers: dict[str, Composer] | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.library = library
        self.sender = sender
        self.limiter = limiter or RateLimiter(settings.send_rate_per_second)
        self.clock = clock
        self.worker_id = worker_id or settings.worker_id or default_worker_id()
        # A claimed batch must go out well within its lease, or a second worker could take rows still queued here.
        self.batch = max(1, min(batch, int(settings.send_rate_per_second * settings.lease_seconds / 2)))
        self._slots = asyncio.Semaphore(concurrency)
        if composers is None:
            from bot.domain.screening_flow import COMPOSERS

            composers = COMPOSERS
        self.composers = composers

    # ----------------------------------------------------------------------------- one tick
    async def tick(self) -> DispatchStats:
        """Claim what is due and deliver it; returns what happened, for logs and benchmarks."""
        stats = DispatchStats()
        ids = await asyncio.to_thread(self.claim)
        stats.claimed = len(ids)
        library = self.library()
        await asyncio.gather(*(self._deliver(outbox_id, library, stats) for outbox_id in ids))
        return stats

    def claim(self) -> list[int]:
        """Lease due rows to this worker. On PostgreSQL, SKIP LOCKED lets several workers share the work."""
        now = self.clock()
        due = or_(
            and_(
                OutboxMessage.status == OutboxStatus.PLANNED,
                OutboxMessage.due_at <= now,
                or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
            ),
            # A worker that died mid-send: its lease ran out.
            and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.lease_until < now),
        )
        with transaction(self.sessions) as session:
            query = (
                select(OutboxMessage.id, OutboxMessage.mother_id)
                .where(due)
                .order_by(OutboxMessage.due_at, OutboxMessage.id)
                .limit(self.batch)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            # One row per mother per tick: her next one then meets the one-a-day rule instead of racing it.
            firsts: dict[int, int] = {}
            for outbox_id, mother_id in session.execute(query):
                firsts.setdefault(mother_id, outbox_id)
            candidates = list(firsts.values())
            if not candidates:
                return []
            # The WHERE repeats the due condition so that on SQLite, where two workers' reads can overlap,
            # the second UPDATE finds the rows already claimed and takes nothing.
            claimed = session.scalars(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(candidates), due)
                .values(
                    status=OutboxStatus.SENDING,
                    lease_until=now + timedelta(seconds=self.settings.lease_seconds),
                    claimed_by=self.worker_id,
                    attempts=OutboxMessage.attempts + 1,
                )
                .returning(OutboxMessage.id)
                .execution_options(synchronize_session=False)
            ).all()
        return list(claimed)

    async def _deliver(self, outbox_id: int, library: ContentLibrary, stats: DispatchStats) -> None:
        async with self._slots:
            job = await asyncio.to_thread(self._prepare, outbox_id, library, stats)
            if job is None:
                return
            await self.limiter.acquire(job.chat_id)
            try:
                message_id = await self.sender.send(
                    job.chat_id, job.text, buttons=job.buttons, html=job.html, photo=job.photo
                )
            except RetryLater as exc:
                self.limiter.pause(exc.seconds)
                stats.retried += 1
                await record(self._retry, outbox_id, exc.seconds, "flood_wait")
            except TransientFailure:
                stats.retried += 1
                await record(self._retry, outbox_id, None, "transient")
            except Unreachable:
                stats.failed += 1
                await record(self._unreachable, outbox_id)
            except Rejected:
                stats.failed += 1
                await record(self._fail, outbox_id, "rejected")
            else:
                stats.sent += 1
                await record(self._mark_sent, outbox_id, message_id, job)

    # ----------------------------------------------------------------------------- decisions
    def _prepare(self, outbox_id: int, library: ContentLibrary, stats: DispatchStats) -> _Job | None:
        """Decide, in one transaction, whether this row goes out now, later, or not at all."""
        now = self.clock()
        with transaction(self.sessions) as session:
            row = session.get(OutboxMessage, outbox_id)
            if row is None or row.status != OutboxStatus.SENDING or row.claimed_by != self.worker_id:
                return None
            mother = session.get(Mother, row.mother_id)
            is_lesson = row.kind == OutboxKind.LESSON
            lesson = library.get(row.lesson_slug or "") if is_lesson else None
            reason = self._reason_not_to_send(session, row, mother, not is_lesson or lesson is not None, now)
            composed: Composed | str | None = None
            if reason is None and not is_lesson:
                assert mother is not None
                composer = self.composers.get(row.kind)
                composed = composer(session, row, mother, now) if composer else "unknown_kind"
                if isinstance(composed, str):
                    reason = composed
            if reason is not None:
                decision = self._settle(session, row, mother, reason, now)
                if decision == "deferred":
                    stats.deferred += 1
                else:
                    stats.skipped += 1
                stats.note(reason)
                return None
            assert mother is not None and mother.chat_id is not None
            if isinstance(composed, Composed):
                return _Job(
                    outbox_id=row.id,
                    chat_id=mother.chat_id,
                    text=composed.text,
                    buttons=composed.buttons,
                    photo=None,
                    version=composed.version,
                    language=mother.language,
                    html=False,
                )
            assert lesson is not None
            t = Translator(mother.language)
            return _Job(
                outbox_id=row.id,
                chat_id=mother.chat_id,
                text=render(lesson, mother.language),
                buttons=lesson_buttons(
                    t, row.id, follow_up=lesson.follow_up is not None, ask_helpful=lesson.ask_helpful
                ),
                photo=library.root / lesson.image if lesson.image else None,
                version=lesson.version,
                language=mother.language,
            )

    def _reason_not_to_send(
        self, session: Session, row: OutboxMessage, mother: Mother | None, lesson_exists: bool, now: datetime
    ) -> str | None:
        if mother is None or mother.chat_id is None:
            return "no_mother"
        if mother.status != MotherStatus.ACTIVE:
            return f"mother_{mother.status}"
        if row.kind in (OutboxKind.LESSON, OutboxKind.SCREEN) and not any(
            baby.status != BabyStatus.LOST for baby in mother.babies
        ):
            return "baby_lost"  # a lesson about a baby who has died must never arrive
        if not lesson_exists:
            return "lesson_removed"
        if row.expires_at is not None and row.expires_at <= now:
            return "expired"
        if not consent_is_current(session, mother, self.settings.consent_version):
            return "consent_outdated"  # until she accepts the new notice, only safety replies reach her
        if mother.paused_until is not None and mother.paused_until > now:
            return "paused"
        if in_quiet_hours(now, mother.timezone, start=self.settings.quiet_start_hour, end=self.settings.quiet_end_hour):
            return "quiet_hours"
        if row.kind == OutboxKind.LESSON and (
            self._sent_today(session, mother, now) or self._sibling_in_flight(session, row, now)
        ):
            return "one_a_day"
        return None

    def _sent_today(self, session: Session, mother: Mother, now: datetime) -> bool:
        midnight = at_hour(local_day(now, mother.timezone), 0, mother.timezone)
        return bool(
            session.scalar(
                select(
                    exists().where(
                        OutboxMessage.mother_id == mother.id,
                        OutboxMessage.kind == OutboxKind.LESSON,
                        OutboxMessage.status == OutboxStatus.SENT,
                        OutboxMessage.sent_at >= midnight,
                    )
                )
            )
        )

    def _sibling_in_flight(self, session: Session, row: OutboxMessage, now: datetime) -> bool:
        """Another worker is sending her another lesson right now."""
        return bool(
            session.scalar(
                select(
                    exists().where(
                        OutboxMessage.mother_id == row.mother_id,
                        OutboxMessage.id != row.id,
                        OutboxMessage.kind == OutboxKind.LESSON,
                        OutboxMessage.status == OutboxStatus.SENDING,
                        OutboxMessage.lease_until > now,
                    )
                )
            )
        )

    def _settle(self, session: Session, row: OutboxMessage, mother: Mother | None, reason: str, now: datetime) -> str:
        """Defer the row to her next delivery time, or close it (skipped / cancelled)."""
        if reason in ("paused", "quiet_hours", "one_a_day", "consent_outdated") and mother is not None:
            start = mother.paused_until if reason == "paused" and mother.paused_until else now
            when = next_delivery(start, mother.timezone, mother.delivery_hour)
            if row.expires_at is None or when < row.expires_at:
                row.status, row.due_at = OutboxStatus.PLANNED, when
                row.lease_until = row.claimed_by = row.next_attempt_at = None
                row.attempts = max(0, row.attempts - 1)  # a deferral is not a failed attempt
                return "deferred"
            reason = "expired"
        closing = OutboxStatus.SKIPPED if reason in ("expired", "lesson_removed") else OutboxStatus.CANCELLED
        row.status, row.reason, row.lease_until = closing, reason, None
        return str(closing)

    # ----------------------------------------------------------------------------- outcomes
    def _mark_sent(self, outbox_id: int, message_id: int, job: _Job) -> None:
        with transaction(self.sessions) as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == outbox_id)
                .values(
                    status=OutboxStatus.SENT,
                    sent_at=self.clock(),
                    telegram_message_id=message_id,
                    content_version=job.version,
                    language=job.language,
                    lease_until=None,
                )
            )

    def _retry(self, outbox_id: int, after: float | None, reason: str) -> None:
        now = self.clock()
        with transaction(self.sessions) as session:
            row = session.get(OutboxMessage, outbox_id)
            if row is None:
                return
            if after is None and row.attempts >= MAX_ATTEMPTS:
                row.status, row.reason, row.lease_until = OutboxStatus.FAILED, "gave_up", None
                audit.record(
                    session,
                    actor="system",
                    action="lesson.delivery_failed",
                    subject_type="outbox",
                    subject_id=row.id,
                    attempts=row.attempts,
                )
                return
            wait = after if after is not None else BACKOFF[min(row.attempts - 1, len(BACKOFF) - 1)]
            row.status, row.lease_until, row.claimed_by = OutboxStatus.PLANNED, None, None
            row.next_attempt_at, row.reason = now + timedelta(seconds=wait), reason

    def _unreachable(self, outbox_id: int) -> None:
        with transaction(self.sessions) as session:
            row = session.get(OutboxMessage, outbox_id)
            if row is None:
                return
            row.status, row.reason, row.lease_until = OutboxStatus.FAILED, "blocked", None
            mother = session.get(Mother, row.mother_id)
            if mother is not None:
                mark_unreachable(session, mother)

    def _fail(self, outbox_id: int, reason: str) -> None:
        with transaction(self.sessions) as session:
            row = session.get(OutboxMessage, outbox_id)
            if row is None:
                return
            row.status, row.reason, row.lease_until = OutboxStatus.FAILED, reason, None
            audit.record(
                session,
                actor="system",
                action="lesson.delivery_failed",
                subject_type="outbox",
                subject_id=row.id,
                reason=reason,
            )


__all__ = ["DispatchStats", "Dispatcher", "lesson_buttons", "zone"]
