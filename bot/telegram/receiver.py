"""Receiving updates: each is stored in the inbox before Telegram is told it arrived, then handled.

PTB's own Updater confirms a batch (by asking for the next offset) as soon as it has fetched it, before any
handler ran; a crash or a database outage at that moment loses what she sent. Here the next offset is asked for
only once the batch is stored. A webhook answers 200 only once the update is stored, so Telegram retries it
otherwise. What is stored but not answered (a crash, a failed turn) is handled again by the retry loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import warnings
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.error import RetryAfter, TelegramError
from telegram.ext import Application
from telegram.warnings import PTBUserWarning

from bot.inbox import Inbox
from bot.models import utcnow

log = logging.getLogger(__name__)

BACKOFF = (0.5, 1.0, 2.0, 5.0)
RETRY_EVERY = 2.0  # seconds between looks for items left behind
RETRY_AFTER = 10.0  # an item this old and not in hand here was left behind (a failed turn, another process)
KEEP_ANSWERED = timedelta(days=1)  # how long an answered id is kept to recognise a repeat


class Receiver:
    def __init__(self, app: Application, inbox: Inbox, *, poll_timeout: int = 10) -> None:
        self.app, self.inbox, self.poll_timeout = app, inbox, poll_timeout
        self._in_hand: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._offset: int | None = None
        self.polled_at: float | None = None  # time.monotonic() of the last poll: the liveness the health check reads
        self.skipped: list[int | None] = []  # ids of updates that could not be read
        self._by_chat: dict[int, list[int]] = {}  # update ids in hand, per chat, for turns in her order
        self._order = asyncio.Condition()

    async def accept(self, updates: list[Update]) -> None:
        """Store the updates, then handle them in the background.

        Raises:
            SQLAlchemyError: They could not be stored; they must not be confirmed to Telegram.
        """
        items = [(u.update_id, u.effective_chat.id if u.effective_chat else None, u.to_dict()) for u in updates]
        await asyncio.to_thread(self.inbox.store, items)
        for update in updates:
            self._spawn(update)

    def _spawn(self, update: Update) -> None:
        if update.update_id in self._in_hand:
            return
        self._in_hand.add(update.update_id)
        if update.effective_chat is not None:  # registered now, so a batch's turns wait for each other in order
            self._by_chat.setdefault(update.effective_chat.id, []).append(update.update_id)
        task = asyncio.create_task(self._handle(update), name=f"update-{update.update_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, update: Update) -> None:
        """Handle one update, after every earlier update of the same chat this worker holds: her turns run in
        the order she sent them, whatever order the webhook requests or the retry loop brought them in."""
        chat = update.effective_chat.id if update.effective_chat else None
        waiting = self._by_chat.get(chat) if chat is not None else None
        try:
            if waiting is not None:
                async with self._order:
                    await self._order.wait_for(lambda: min(waiting) == update.update_id)
            await self.app.process_update(update)
        finally:
            self._in_hand.discard(update.update_id)
            if waiting is not None and chat is not None:
                waiting.remove(update.update_id)
                if not waiting:
                    self._by_chat.pop(chat, None)
                async with self._order:
                    self._order.notify_all()

    async def start(self, *, polling: bool) -> None:
        await self.retry_left_behind(everything=True)  # what a crash left: first, in the order it came
        self._loops.append(asyncio.create_task(self._retry_loop(), name="inbox-retry"))
        if polling:
            self._loops.append(asyncio.create_task(self._poll(), name="poll"))

    def liveness(self) -> dict[str, object]:
        """What a health check reads: whether each loop runs, the seconds since the last poll, skipped updates.

        A loop that ended (it should never) is started again here, so one call is also the watchdog.
        """
        restarted = []
        for n, loop in enumerate(self._loops):
            if loop.done() and not loop.cancelled():
                name = loop.get_name()
                log.critical("receiver loop %s ended (%s): restarting it", name, type(loop.exception()).__name__)
                self._loops[n] = asyncio.create_task(self._poll() if name == "poll" else self._retry_loop(), name=name)
                restarted.append(name)
        since = None if self.polled_at is None else round(time.monotonic() - self.polled_at, 1)
        return {
            "loops": [t.get_name() for t in self._loops],
            "restarted": restarted,
            "since_poll": since,
            "skipped_updates": len(self.skipped),
        }

    async def _poll(self) -> None:
        """Fetch, store, confirm, for ever: no update and no fault may end this loop (a bot that stops polling
        is deaf to every later message, a crisis too, while the process looks alive)."""
        failures = 0
        while True:
            self.polled_at = time.monotonic()
            try:
                updates, last_id = await self._fetch()
            except RetryAfter as exc:
                await asyncio.sleep(float(exc.retry_after if isinstance(exc.retry_after, int) else 1))
                continue
            except Exception as exc:  # a network fault, or anything PTB raises: back off and poll again
                log.warning("getUpdates failed (%s): retrying", type(exc).__name__)
                await asyncio.sleep(BACKOFF[min(failures, len(BACKOFF) - 1)])
                failures += 1
                continue
            if last_id is None:
                continue
            try:
                if updates:
                    await self.accept(updates)
            except SQLAlchemyError as exc:
                # Not confirmed: Telegram hands the same updates over again once the database is back.
                log.error("could not store %d updates (%s): left with Telegram", len(updates), type(exc).__name__)
                await asyncio.sleep(BACKOFF[min(failures, len(BACKOFF) - 1)])
                failures += 1
                continue
            failures = 0
            self._offset = last_id + 1

    async def _fetch(self) -> tuple[list[Update], int | None]:
        """One getUpdates: the readable updates, and the highest update id seen (readable or not).

        The raw JSON is read one update at a time, so one that python-telegram-bot cannot parse (a field
        missing, a type it does not know) is skipped and recorded by id instead of failing the whole batch
        again and again.
        """
        with warnings.catch_warnings():
            # PTB suggests Bot.get_updates, which parses the whole batch at once: the very failure avoided here.
            warnings.simplefilter("ignore", PTBUserWarning)
            raw = await self.app.bot.do_api_request(
                "getUpdates",
                api_kwargs={"offset": self._offset, "timeout": self.poll_timeout, "allowed_updates": Update.ALL_TYPES},
                read_timeout=self.poll_timeout + 10,
            )
        updates: list[Update] = []
        last_id: int | None = None
        for item in raw if isinstance(raw, list) else []:
            update_id = item.get("update_id") if isinstance(item, dict) else None
            if isinstance(update_id, int) and not isinstance(update_id, bool):
                last_id = update_id if last_id is None else max(last_id, update_id)
            try:
                update = Update.de_json(item, self.app.bot)
            except Exception as exc:
                update = None
                log.error("update %s could not be read (%s): skipped", update_id, type(exc).__name__)
            if update is None:
                self.skipped.append(update_id)
                continue
            updates.append(update)
        return updates, last_id

    async def _retry_loop(self) -> None:
        purged_at = utcnow()
        while True:
            await asyncio.sleep(RETRY_EVERY)
            try:
                await self.retry_left_behind()
                if utcnow() - purged_at > timedelta(hours=1):
                    await asyncio.to_thread(self.inbox.purge_answered, utcnow() - KEEP_ANSWERED)
                    purged_at = utcnow()
            except SQLAlchemyError as exc:
                log.warning("inbox retry skipped (%s)", type(exc).__name__)

    async def retry_left_behind(self, *, everything: bool = False) -> int:
        cutoff = utcnow() if everything else utcnow() - timedelta(seconds=RETRY_AFTER)
        due = await asyncio.to_thread(self.inbox.due_again, older_than=cutoff, exclude=set(self._in_hand))
        for _, payload in due:
            update = Update.de_json(payload, self.app.bot)
            if update is not None:
                self._spawn(update)
        return len(due)

    async def stop(self, *, grace: float = 10.0) -> None:
        for loop in self._loops:
            loop.cancel()
        for loop in self._loops:
            with contextlib.suppress(asyncio.CancelledError):
                await loop
        self._loops.clear()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)
        if self._offset is not None:
            # Confirm what was stored, so a restart is not handed it again (the inbox would skip it anyway).
            with contextlib.suppress(TelegramError):
                await self.app.bot.get_updates(offset=self._offset, timeout=0, limit=1)
