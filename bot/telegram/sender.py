"""Carry out the conversation's actions through the Bot API, with bounded, backed-off retries."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.content.markup import plain_text
from bot.delivery.sending import Rejected, RetryLater, TransientFailure, Unreachable
from bot.domain.messages import Action, AnswerButton, ClearButtons, Edit, Keyboard, LeaveChat, Send, SendDocument

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 4
BACKOFF_SECONDS = (0.5, 1.0, 2.0)
MAX_RETRY_AFTER = 30.0  # longer than this and the reply is no longer a reply; give up and log


class Undeliverable(Exception):
    """The chat cannot receive messages (blocked the bot, deleted account)."""

    def __init__(self, chat_id: int) -> None:
        super().__init__(chat_id)
        self.chat_id = chat_id


MESSAGE_LIMIT = 4096


def pieces(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split a text Telegram would refuse as too long, at line breaks where possible (plain text only).

    Telegram counts UTF-16 code units, not characters: an emoji or a rare Han character is two. A piece cut by
    characters could be refused for good, and the relay it carried lost while she is told it was passed on.
    """
    if _utf16(text) <= limit:
        return [text]
    parts: list[str] = []
    while _utf16(text) > limit:
        fits, units = 0, 0
        for char in text:
            units += 2 if ord(char) > 0xFFFF else 1
            if units > limit:
                break
            fits += 1
        cut = text.rfind("\n", 0, fits)
        cut = cut if cut > fits // 2 else fits
        parts.append(text[:cut])
        text = text[cut:].lstrip("\n")
    return [*parts, text] if text else parts


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


async def send_long(bot: Bot, chat_id: int, text: str, *, buttons: Keyboard = (), html: bool = False) -> Message:
    """Send a text of any length; the buttons go with the last piece. HTML (lessons) is never split."""
    chunks = [text] if html else pieces(text)
    for chunk in chunks[:-1]:
        await bot.send_message(chat_id, chunk)
    return await bot.send_message(
        chat_id, chunks[-1], reply_markup=markup(buttons), parse_mode=ParseMode.HTML if html else None
    )


def markup(buttons: Keyboard) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in buttons])


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def perform(bot: Bot, action: Action) -> None:
    """Send one action, retrying flood waits and network faults a bounded number of times.

    Raises:
        Undeliverable: Telegram refused the chat (403): the caller records it.
    """
    bare = False  # a refused send is tried once more as bare text
    for attempt in range(MAX_ATTEMPTS):
        try:
            await _call(bot, action)
            return
        except RetryAfter as exc:
            wait = _seconds(exc.retry_after)
            if wait > MAX_RETRY_AFTER or attempt == MAX_ATTEMPTS - 1:
                raise
            await asyncio.sleep(wait)
        except Forbidden as exc:
            raise Undeliverable(_chat_of(action)) from exc
        except BadRequest as exc:
            if "not modified" in exc.message.lower() or isinstance(action, AnswerButton):
                return  # the screen already shows what we wanted, or the press is too old to answer
            if isinstance(action, ClearButtons | LeaveChat):
                return  # cosmetic; the conversation does not depend on it
            reason = exc.message.lower()
            if "chat not found" in reason or "user is deactivated" in reason:
                raise Undeliverable(_chat_of(action)) from exc  # her chat is gone: as good as blocked
            if isinstance(action, Edit):
                # The message to edit is gone or too old: what it was to say is sent as a new message.
                log.warning("edit refused (%s): sent as a new message", exc.message)
                action = Send(chat_id=action.chat_id, text=action.text, buttons=action.buttons)
                continue
            if isinstance(action, Send) and not bare:
                # Perhaps the buttons or the markup were refused, or Telegram erred: once more, the words alone.
                log.warning("send refused (%s): sent again as plain text", exc.message)
                text = plain_text(action.text) if action.html else action.text
                action, bare = Send(chat_id=action.chat_id, text=text), True
                continue
            log.warning("bad request for %s: %s", type(action).__name__, exc.message)
            raise
        except NetworkError:
            # TimedOut is a NetworkError too. A retried send may arrive twice; a lost reply is worse.
            if attempt == MAX_ATTEMPTS - 1:
                raise
            await asyncio.sleep(BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS) - 1)])


def _chat_of(action: Action) -> int:
    return 0 if isinstance(action, AnswerButton) else action.chat_id


async def _call(bot: Bot, action: Action) -> None:
    match action:
        case Send(chat_id=chat_id, text=text, buttons=buttons, html=html):
            await send_long(bot, chat_id, text, buttons=buttons, html=html)
        case Edit(chat_id=chat_id, message_id=message_id, text=text, buttons=buttons):
            await bot.edit_message_text(text, chat_id=chat_id, message_id=message_id, reply_markup=markup(buttons))
        case ClearButtons(chat_id=chat_id, message_id=message_id):
            await bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id, reply_markup=None)
        case AnswerButton(callback_id=callback_id, text=text):
            await bot.answer_callback_query(callback_id, text=text or None)
        case LeaveChat(chat_id=chat_id):
            await bot.leave_chat(chat_id)
        case SendDocument(chat_id=chat_id, filename=filename, content=content, caption=caption):
            await bot.send_document(chat_id, document=content, filename=filename, caption=caption or None)
        case _:
            raise TelegramError(f"unknown action {action!r}")


class TelegramMessageSender:
    """The dispatcher's channel: one send, no retries of its own; failures become delivery errors."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(
        self,
        chat_id: int,
        text: str,
        *,
        buttons: Keyboard = (),
        html: bool = False,
        photo: Path | None = None,
    ) -> int:
        parse_mode = ParseMode.HTML if html else None
        try:
            if photo is not None:
                message = await self.bot.send_photo(
                    chat_id,
                    photo=photo,
                    caption=text,
                    parse_mode=parse_mode,
                    reply_markup=markup(buttons),
                )
            else:
                message = await send_long(self.bot, chat_id, text, buttons=buttons, html=html)
        except TelegramError as exc:
            raise _delivery_error(exc, chat_id) from exc
        return message.message_id

    async def copy(self, chat_id: int, *, from_chat_id: int, message_id: int, caption: str | None = None) -> int:
        try:
            copied = await self.bot.copy_message(chat_id, from_chat_id, message_id, caption=caption)
        except TelegramError as exc:
            raise _delivery_error(exc, chat_id) from exc
        return copied.message_id


def _delivery_error(exc: TelegramError, chat_id: int) -> Exception:
    """Telegram's failure, as the dispatchers understand it."""
    if isinstance(exc, RetryAfter):
        return RetryLater(_seconds(exc.retry_after))
    if isinstance(exc, Forbidden):
        return Unreachable(str(chat_id))
    if isinstance(exc, BadRequest):
        if "chat not found" in exc.message.lower():
            return Unreachable(str(chat_id))
        return Rejected(exc.message)
    if isinstance(exc, NetworkError):  # TimedOut included
        return TransientFailure(type(exc).__name__)
    return Rejected(type(exc).__name__)
