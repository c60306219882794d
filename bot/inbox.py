"""The inbox: updates are stored before the channel is told they arrived, and forgotten once answered.

Telegram forgets an update once the bot confirms it (the next getUpdates offset, or a webhook's 200). Storing
it first means a crash, a database outage or a failing turn never loses what she sent: an item that is still
here is handled again (see ``Conversation.handle(receipt=…)`` for why that never runs a turn twice).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from bot.db import transaction
from bot.models import InboxItem, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # an update whose turn fails this often is dropped (and logged by id), not retried forever


def digest(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class Inbox:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self._pending: set[int] = set()
        self._pending_lock = threading.Lock()
        self._flush_lock = threading.Lock()

    def store(self, items: Iterable[tuple[int, int | None, dict[str, Any]]]) -> None:
        """Keep ``(update_id, chat_id, payload)`` items.

        The same update again is left as it is (pending, or answered). Another update under an answered
        update's id replaces it.

        Raises:
            sqlalchemy.exc.SQLAlchemyError: The database is unreachable; the caller must not confirm the updates.
        """
        now = utcnow()
        rows = [
            {"id": i, "chat_id": c, "payload": p, "digest": digest(p), "received_at": now, "attempts": 0}
            for i, c, p in items
        ]
        if not rows:
            return
        with transaction(self.sessions) as session:
            dialect = session.get_bind().dialect.name
            stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(InboxItem).values(rows)
            session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["id"],
                    set_={
                        "chat_id": stmt.excluded.chat_id,
                        "payload": stmt.excluded.payload,
                        "digest": stmt.excluded.digest,
                        "received_at": stmt.excluded.received_at,
                        "attempts": 0,
                        "replies": None,
                        "answered_at": None,
                    },
                    where=InboxItem.digest != stmt.excluded.digest,
                )
            )

    def forget(self, update_id: int) -> None:
        """The item was answered: drop the message it holds, keep its id a while to recognise a repeat.

        Returns once that is committed. Concurrent calls are committed together (group commit): one caller
        writes every id waiting at that moment, so a busy bot does one write for many answers instead of
        queueing for SQLite's single writer lock once per answer.
        """
        with self._pending_lock:
            self._pending.add(update_id)
        with self._flush_lock:
            with self._pending_lock:
                ids, self._pending = self._pending, set()
            if not ids:
                return  # another caller committed ours
            try:
                with transaction(self.sessions) as session:
                    session.execute(
                        update(InboxItem)
                        .where(InboxItem.id.in_(sorted(ids)))
                        .values(payload={}, replies=None, chat_id=None, answered_at=utcnow())
                    )
            except Exception:
                with self._pending_lock:
                    self._pending |= ids  # not committed: the next caller tries again
                raise

    def purge_answered(self, before: datetime) -> int:
        """Drop the ids of items answered before ``before``; Telegram does not redeliver after a day."""
        with transaction(self.sessions) as session:
            result = session.execute(delete(InboxItem).where(InboxItem.answered_at < before))
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def keep_replies(self, update_id: int, replies: list[dict[str, Any]]) -> None:
        """Some replies could not be sent yet: keep only those, for the retry."""
        with transaction(self.sessions) as session:
            session.execute(update(InboxItem).where(InboxItem.id == update_id).values(replies=replies))

    def due_again(self, *, older_than: datetime, exclude: set[int]) -> list[tuple[int, dict[str, Any]]]:
        """Items left behind by a crash or a failed turn, oldest first, with their attempt counted.

        Items tried ``MAX_ATTEMPTS`` times are dropped here, so one update that always fails cannot block
        the others for ever.
        """
        with transaction(self.sessions) as session:
            items = session.scalars(
                select(InboxItem)
                .where(InboxItem.answered_at.is_(None), InboxItem.received_at <= older_than)
                .order_by(InboxItem.id)
                .limit(100)
            ).all()
            due = []
            for item in items:
                if item.id in exclude:
                    continue
                if item.attempts >= MAX_ATTEMPTS:
                    log.error("update %s dropped after %s failed attempts", item.id, item.attempts)
                    session.delete(item)
                    continue
                due.append((item.id, item.payload))
            if due:
                session.execute(
                    update(InboxItem)
                    .where(InboxItem.id.in_([i for i, _ in due]))
                    .values(attempts=InboxItem.attempts + 1)
                )
            return due

    def waiting(self) -> int:
        """Items not answered yet."""
        with self.sessions() as session:
            return len(session.scalars(select(InboxItem.id).where(InboxItem.answered_at.is_(None))).all())
