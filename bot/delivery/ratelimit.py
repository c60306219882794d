"""Pacing sends under Telegram's limits: a global rate and one message per second per chat."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class RateLimiter:
    """Hands out send slots: at most `rate` per second overall and one per `per_chat` seconds per chat.

    Each caller reserves the earliest free slot under a lock, then sleeps until it outside the lock, so
    slots are evenly spaced (a burst never exceeds the cap in any one-second window). A flood wait from
    Telegram (429) pauses everyone: Telegram applies it to the whole bot.
    """

    def __init__(self, rate: float, *, per_chat: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self.per_chat = per_chat
        self._clock = clock
        self._lock = asyncio.Lock()
        self._next = 0.0
        self._paused_until = 0.0
        self._chat_next: dict[int, float] = {}

    async def acquire(self, chat_id: int) -> None:
        async with self._lock:
            now = self._clock()
            slot = max(now, self._next, self._paused_until, self._chat_next.get(chat_id, 0.0))
            self._next = slot + self.interval
            self._chat_next[chat_id] = slot + self.per_chat
            if len(self._chat_next) > 10_000:
                self._chat_next = {c: t for c, t in self._chat_next.items() if t > now}
        delay = slot - self._clock()
        if delay > 0:
            await asyncio.sleep(delay)
        # A flood wait that began while this caller slept applies to it too.
        while (wait := self._paused_until - self._clock()) > 0:  # noqa: ASYNC110 - a deadline, not an event
            await asyncio.sleep(wait)

    def pause(self, seconds: float) -> None:
        """Telegram said "retry after": nobody sends until then."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)
