"""What the dispatcher needs from a channel: send one message, and say how it failed."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from bot.domain.messages import Keyboard


class DeliveryError(Exception):
    """A send did not go through."""


class RetryLater(DeliveryError):
    """The channel asked us to wait (Telegram 429 with retry_after)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds} s")
        self.seconds = seconds


class TransientFailure(DeliveryError):
    """Server error, timeout or connection reset: try again with backoff."""


class Unreachable(DeliveryError):
    """She blocked the bot, or the chat no longer exists: stop sending to her."""


class Rejected(DeliveryError):
    """The channel refused this message itself (400): retrying the same message cannot help."""


class MessageSender(Protocol):
    async def send(
        self,
        chat_id: int,
        text: str,
        *,
        buttons: Keyboard = (),
        html: bool = False,
        photo: Path | None = None,
    ) -> int:
        """Send and return the channel's message id; raise a DeliveryError subclass on failure."""
        ...

    async def copy(self, chat_id: int, *, from_chat_id: int, message_id: int, caption: str | None = None) -> int:
        """Copy a message (a voice note, a photo) without showing who sent it; returns the new message id."""
        ...
