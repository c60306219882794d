"""The alert dispatcher: staff alerts, sent at any hour, retried with backoff, never silently lost.

An alert that cannot be delivered (the account blocked the bot, or retries ran out) is recorded on the
case and moves the case up its escalation ladder at once, so someone else is told instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.db import transaction
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.recording import record
from bot.delivery.sending import MessageSender, Rejected, RetryLater, TransientFailure, Unreachable
from bot.domain.alert_text import render_alert
from bot.domain.cases import event
from bot.domain.messages import Keyboard
from bot.models import Alert, AlertStatus, Case, Staff, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BACKOFF = (2, 5, 15, 30, 60)  # seconds; an alert is not worth much an hour late, so retry briskly
LEASE = timedelta(seconds=30)


class AlertDispatcher:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        sender: MessageSender,
        *,
        clock: Callable[[], datetime] = utcnow,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.sessions = sessions
        self.sender = sender
        self.clock = clock
        # Telegram's bot-wide budget is about 30/s; below the rate alerts arrive at, a backlog never drains.
        self.limiter = limiter or RateLimiter(25.0)
        self.wake = asyncio.Event()  # set when a turn queued an alert: send it now, not at the next tick

    async def tick(self) -> int:
        """Send every alert that is due; returns how many were sent."""
        ids = await asyncio.to_thread(self._claim)
        results = await asyncio.gather(*(self._deliver(alert_id) for alert_id in ids))
        return sum(results)

    def _claim(self) -> list[int]:
        now = self.clock()
        due = or_(
            and_(Alert.status == AlertStatus.PENDING, Alert.next_attempt_at <= now),
            and_(Alert.status == AlertStatus.SENDING, Alert.lease_until < now),
        )
        with transaction(self.sessions) as session:
            query = select(Alert.id).where(due).order_by(Alert.next_attempt_at).limit(100)
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            candidates = list(session.scalars(query))
            if not candidates:
                return []
            return list(
                session.scalars(
                    update(Alert)
                    .where(Alert.id.in_(candidates), due)
                    .values(status=AlertStatus.SENDING, lease_until=now + LEASE, attempts=Alert.attempts + 1)
                    .returning(Alert.id)
                    .execution_options(synchronize_session=False)
                )
            )

    async def _deliver(self, alert_id: int) -> int:
        prepared = await asyncio.to_thread(self._prepare, alert_id)
        if prepared is None:
            return 0
        chat_id, text, buttons, media = prepared
        await self.limiter.acquire(chat_id)
        try:
            if media:
                await self.sender.copy(
                    chat_id, from_chat_id=int(media["from_chat_id"]), message_id=int(media["message_id"])
                )
            message_id = await self.sender.send(chat_id, text, buttons=buttons)
        except RetryLater as exc:
            self.limiter.pause(exc.seconds)
            await record(self._retry, alert_id, exc.seconds, "flood_wait")
            return 0
        except TransientFailure:
            await record(self._retry, alert_id, None, "transient")
            return 0
        except (Unreachable, Rejected) as exc:
            await record(self._give_up, alert_id, type(exc).__name__.lower(), isinstance(exc, Unreachable))
            return 0
        await record(self._sent, alert_id, message_id)
        return 1

    def _prepare(self, alert_id: int) -> tuple[int, str, Keyboard, dict[str, Any] | None] | None:
        now = self.clock()
        with transaction(self.sessions) as session:
            alert = session.get(Alert, alert_id)
            if alert is None or alert.status != AlertStatus.SENDING:
                return None
            staff = session.get(Staff, alert.staff_id)
            if staff is None or staff.chat_id is None:
                alert.status, alert.last_error = AlertStatus.FAILED, "not_bound"
                return None
            text, buttons = render_alert(session, alert, staff, now)
            media = alert.payload.get("media") if alert.kind == "relay" else None
            return staff.chat_id, text, buttons, media

    def _sent(self, alert_id: int, message_id: int) -> None:
        now = self.clock()
        with transaction(self.sessions) as session:
            alert = session.get(Alert, alert_id)
            if alert is None:
                return
            alert.status, alert.sent_at, alert.telegram_message_id, alert.lease_until = (
                AlertStatus.SENT,
                now,
                message_id,
                None,
            )
            case = session.get(Case, alert.case_id)
            if case is not None and alert.kind != "relay":
                event(
                    session,
                    case,
                    "alert_sent",
                    actor="system",
                    at=now,
                    staff_id=alert.staff_id,
                    alert=alert.kind,
                    attempts=alert.attempts,
                )

    def _retry(self, alert_id: int, after: float | None, reason: str) -> None:
        now = self.clock()
        with transaction(self.sessions) as session:
            alert = session.get(Alert, alert_id)
            if alert is None:
                return
            if after is None and alert.attempts >= MAX_ATTEMPTS:
                self._fail(session, alert, "gave_up", blocked=False, now=now)
                return
            wait = after if after is not None else BACKOFF[min(alert.attempts - 1, len(BACKOFF) - 1)]
            alert.status, alert.lease_until, alert.last_error = AlertStatus.PENDING, None, reason
            alert.next_attempt_at = now + timedelta(seconds=wait)

    def _give_up(self, alert_id: int, reason: str, blocked: bool) -> None:
        with transaction(self.sessions) as session:
            alert = session.get(Alert, alert_id)
            if alert is not None:
                self._fail(session, alert, reason, blocked=blocked, now=self.clock())

    def _fail(self, session: Session, alert: Alert, reason: str, *, blocked: bool, now: datetime) -> None:
        alert.status, alert.last_error, alert.lease_until = AlertStatus.FAILED, reason, None
        if blocked:
            staff = session.get(Staff, alert.staff_id)
            if staff is not None:
                staff.alerts_blocked = True
        case = session.get(Case, alert.case_id)
        if case is None:
            return
        event(
            session,
            case,
            "delivery_failed",
            actor="system",
            at=now,
            staff_id=alert.staff_id,
            alert=alert.kind,
            reason=reason,
        )
        if case.status == "open":
            case.next_escalation_at = now  # the ladder moves on to someone who can be reached
