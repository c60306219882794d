"""Channel-neutral messages: what a user sent, and what Dodam does in reply."""

from __future__ import annotations

import base64
import dataclasses
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    TEXT = "text"
    COMMAND = "command"
    BUTTON = "button"
    MEDIA = "media"  # photo, sticker, voice, document, location … anything that is not text
    EDITED = "edited"  # she edited an earlier message
    JOINED = "joined"  # the bot was added to a chat
    BLOCKED = "blocked"  # she blocked the bot (or unblocked: see `text`)


@dataclass(frozen=True, kw_only=True)
class Incoming:
    """One thing a user did, as every channel can describe it."""

    chat_id: int
    user_id: int
    kind: Kind
    chat_type: str = "private"
    text: str = ""
    command: str = ""  # without the slash, lower-case: "start"
    args: str = ""  # what follows the command: the /start payload
    data: str = ""  # a pressed button's data
    message_id: int | None = None  # the message a pressed button belongs to
    callback_id: str = ""  # the press itself, to acknowledge it
    source_message_id: int | None = None  # her own message, so a voice note or photo can be passed on
    media: str = ""  # "photo", "sticker", "voice" …
    language_code: str | None = None
    first_name: str | None = None

    @property
    def private(self) -> bool:
        return self.chat_type == "private"

    @property
    def words(self) -> str:
        """Everything she wrote in words, whatever the update carries: the safety check reads this first.

        A message, an edit or a caption is its text; a command is what follows it (``/sos I want to die``), except
        a ``/start`` link's code, which she did not write.
        """
        if self.kind is Kind.COMMAND:
            return "" if self.command == "start" and _LINK_CODE.fullmatch(self.args) else self.args
        if self.kind in (Kind.TEXT, Kind.EDITED, Kind.MEDIA):
            return self.text
        return ""


# What a t.me/…?start= link carries: Telegram's 1–64 of A-Za-z0-9_-, and ours are 8 or more characters or hold
# a digit, "_" or "-" (a bare word after /start, "/start suicide", is words and is checked).
_LINK_CODE = re.compile(r"(?=[A-Za-z0-9_-]{1,64}$)(?:[A-Za-z]{8,}|.*[0-9_-].*)")


@dataclass(frozen=True)
class Button:
    label: str
    data: str


Keyboard = tuple[tuple[Button, ...], ...]


def rows(*buttons: Button, per_row: int = 1) -> Keyboard:
    """Lay buttons out `per_row` to a row."""
    return tuple(tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row))


@dataclass(frozen=True, kw_only=True)
class Send:
    chat_id: int
    text: str
    buttons: Keyboard = ()
    html: bool = False  # Telegram HTML parse mode (lessons); plain text otherwise


@dataclass(frozen=True, kw_only=True)
class Edit:
    """Replace a message's text and buttons (a calendar turning its page, a question answered)."""

    chat_id: int
    message_id: int
    text: str
    buttons: Keyboard = ()


@dataclass(frozen=True, kw_only=True)
class ClearButtons:
    """Take the buttons off an answered question, so it cannot be answered twice."""

    chat_id: int
    message_id: int


@dataclass(frozen=True, kw_only=True)
class AnswerButton:
    """Acknowledge a button press so the client stops its spinner; `text` shows as a short toast."""

    callback_id: str
    text: str = ""


@dataclass(frozen=True, kw_only=True)
class LeaveChat:
    chat_id: int


@dataclass(frozen=True, kw_only=True)
class SendDocument:
    """A file for her to keep (her data as JSON)."""

    chat_id: int
    filename: str
    content: bytes
    caption: str = ""


Action = Send | Edit | ClearButtons | AnswerButton | LeaveChat | SendDocument


@dataclass
class Reply:
    """The actions answering one Incoming, in order."""

    actions: list[Action] = field(default_factory=list)

    def send(self, chat_id: int, text: str, buttons: Keyboard = (), *, html: bool = False) -> None:
        self.actions.append(Send(chat_id=chat_id, text=text, buttons=buttons, html=html))

    def edit(self, chat_id: int, message_id: int, text: str, buttons: Keyboard = ()) -> None:
        self.actions.append(Edit(chat_id=chat_id, message_id=message_id, text=text, buttons=buttons))


_ACTION_TYPES: dict[str, type[Action]] = {
    cls.__name__: cls for cls in (Send, Edit, ClearButtons, AnswerButton, LeaveChat, SendDocument)
}


def encode_actions(actions: list[Action]) -> list[dict[str, Any]]:
    """Replies as JSON-able data, kept with the inbox item until they are sent."""
    encoded = []
    for action in actions:
        fields = {f.name: getattr(action, f.name) for f in dataclasses.fields(action)}
        if isinstance(action, SendDocument):
            fields["content"] = base64.b64encode(action.content).decode("ascii")
        if "buttons" in fields:
            fields["buttons"] = [[[b.label, b.data] for b in row] for row in fields["buttons"]]
        encoded.append({"type": type(action).__name__, **fields})
    return encoded


def decode_actions(encoded: list[dict[str, Any]]) -> list[Action]:
    """The inverse of :func:`encode_actions`."""
    actions: list[Action] = []
    for item in encoded:
        fields = dict(item)
        cls = _ACTION_TYPES[fields.pop("type")]
        if cls is SendDocument:
            fields["content"] = base64.b64decode(fields["content"])
        if "buttons" in fields:
            fields["buttons"] = tuple(tuple(Button(label, data) for label, data in row) for row in fields["buttons"])
        actions.append(cls(**fields))
    return actions


_ID = re.compile(r"[0-9]{1,12}")


def parse_id(raw: str) -> int | None:
    """A record id from button data or a command argument: ASCII digits only, and small enough to be one.

    str.isdigit() accepts "²" and "٣", and a 40-digit number overflows the database: both come from users.
    """
    raw = raw.strip()
    return int(raw) if _ID.fullmatch(raw) else None
