"""Bad input, property-based: every kind of update the Bot API sends, through the real bot.

Hypothesis generates sequences of 5–25 updates — messages with any text (up to 4096), commands with and
without a ``bot_command`` entity, media of every kind, service messages, edits, button presses (her real
buttons, the same with their numbers forged, or arbitrary data; on her messages, inaccessible ones, inline
ones, in groups), blocks and unblocks, group, supergroup and channel traffic, update types Dodam ignores, and
time passing (so lessons and check-ins fall due) — from a small pool of users with odd names and language
codes, some of whom really enrol. Each update is queued in the emulator as Bot API JSON
(``EmulatorClient.raw``; membership changes through the emulator's own ``my_chat_member`` so that it also
starts answering 403 / lets the bot post again) and the real python-telegram-bot Application of ``BotRunner``
polls it over HTTP. A sequence is played step by step, or as one burst (updates of many chats at once).
One bot serves every example; nothing is reset between examples.

After each sequence the bot must have survived everything (no ERROR logged, /help still answered), answered
every private message, refused and left every group and channel, answered every button press, sent nothing
to a chat that blocked it, erased a mother who asked for it, and kept the database's invariants (consent
before outbox rows, cases with their "opened" event, no lesson after a loss, no group state, no message text
in the audit log). The explicit examples are regressions for what this test found first.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
import time
import traceback
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import select
from telegram import Update
from telegram.ext import ContextTypes, TypeHandler

from bot.db import make_engine, make_session_factory
from bot.domain.messages import Action, Incoming, Kind
from bot.i18n import LANGUAGES, Translator
from bot.models import (
    AuditEvent,
    Baby,
    BabyStatus,
    Case,
    CaseEvent,
    ConsentRecord,
    ConversationState,
    Mother,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
)
from tests.clock import TODAY  # the harness clock: 10:00 in Seoul on this day
from tests.e2e.conftest import Harness

JSON = dict[str, Any]

USERS = tuple(range(810_001, 810_007))  # six mothers-to-be, shared by every example
BORN = TODAY - timedelta(weeks=5)  # a baby five weeks old
DUE = TODAY + timedelta(weeks=12)
BOT_USERNAME = "DodamTestBot"

SENDS = frozenset(
    {"sendMessage", "sendPhoto", "sendDocument", "sendVoice", "sendVideo", "sendAudio", "sendSticker", "copyMessage"}
)
WRITES = SENDS | {"editMessageText", "editMessageReplyMarkup", "editMessageCaption", "forwardMessage"}
QUIET_SECONDS = 0.5
PROJECT_CODE = str(Path(__file__).resolve().parents[2] / "bot")

# ------------------------------------------------------------------------------------------ strategies

LANGUAGE_CODES = st.one_of(
    st.none(),
    st.sampled_from(
        ["en", "ko", "vi", "zh-hans", "zh-CN", "fil", "tl", "zz", "zh-Hant-TW", "", "EN", "en-US", "pt-br", "und"]
    ),
    st.text(max_size=12),
)
FIRST_NAMES = st.one_of(
    st.sampled_from(["Test", "", "민지", "Lan", "A" * 64, "<b>Mi</b>", "Robert'); DROP TABLE mothers;--"]),
    st.text(max_size=64),
)
USERNAMES = st.one_of(st.none(), st.from_regex(r"[A-Za-z][A-Za-z0-9_]{4,31}", fullmatch=True))


@dataclass(frozen=True)
class Profile:
    """How a user's Telegram account looks in one update (users rename themselves, switch app language)."""

    language_code: str | None
    first_name: str
    username: str | None


PROFILES = st.builds(Profile, LANGUAGE_CODES, FIRST_NAMES, USERNAMES)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Bot API lengths and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, limit: int = 4096) -> str:
    """Trimmed as Telegram trims, cut to ``limit`` UTF-16 units, never empty."""
    text = text.strip()
    while utf16_len(text) > limit:
        text = text[: max(1, len(text) - (utf16_len(text) - limit))]
    return text.strip() or "?"


KNOWN_TEXTS = [
    "/start",
    "/start hello",
    "/start staff-AAAAAAAAAAAA",
    "/start " + "x" * 64,
    "/help",
    "/menu",
    "/cancel",
    "/language",
    "/stop",
    "/mydata",
    "/deletemydata",
    "/dance",
    f"/help@{BOT_USERNAME}",
    "/start@OtherBot",
    "/",
    "//",
    "/ start",
    BORN.isoformat(),
    "21/10",
    BORN.strftime("%d/%m/%Y"),
    DUE.isoformat(),
    "2026-13-45",
    "0000-00-00",
    "yesterday",
    "어제",
    "English",
    "Tiếng Việt",
    "한국어",
    "my baby won't sleep",
    "how do I breastfeed",
    "my baby keeps crying",
    "I feel sad all the time",
    "thank you",
    "hello",
    "I want to talk to my nurse",
    "change language",
    "stop",
    "my baby died",
    "I don't want to live anymore",
    "my baby is not breathing",
]
COMMAND_WORDS = st.one_of(
    st.sampled_from(["start", "help", "menu", "cancel", "language", "stop", "mydata", "deletemydata", "START"]),
    st.from_regex(r"[A-Za-z0-9_]{1,40}", fullmatch=True),
    st.text(min_size=1, max_size=12).filter(lambda s: not any(c.isspace() for c in s)),
)
COMMAND_TEXTS = st.builds(
    lambda word, mention, args: f"/{word}{mention}{(' ' + args) if args else ''}",
    COMMAND_WORDS,
    st.sampled_from(["", "", f"@{BOT_USERNAME}", "@OtherBot"]),
    st.one_of(st.just(""), st.text(max_size=80)),
)
LONG_TEXTS = st.builds(lambda piece, n: piece * n, st.text(min_size=1, max_size=30), st.integers(40, 1400))
TEXTS = st.one_of(
    st.sampled_from(KNOWN_TEXTS),
    st.sampled_from(KNOWN_TEXTS),
    st.sampled_from(KNOWN_TEXTS),
    st.text(min_size=1),
    COMMAND_TEXTS,
    LONG_TEXTS,
    st.text(min_size=3000, max_size=4096),
).map(_fit)

FORGED_DATA = [
    "lang:xx",
    "lang:",
    "lang:en",
    "lang:ko",
    "consent:yes",
    "consent:no",
    "sa:1:2:3",
    "sa:1:1:0",
    "sa:x:y:z",
    "sb:1:2",
    "fb:1:1",
    "fb:1:0",
    "more:1",
    "more:",
    "c:ack:1",
    "c:msg:1",
    "c:res:1",
    "scr:start:1",
    "scr:later:1",
    "scr:offer",
    "scr:offer:phq9",
    "scr:resume:1",
    "lessons:topic:sleep",
    "lessons:topic:nope",
    "lessons:menu",
    "lessons:next",
    "lessons:pause",
    "lessons:resume",
    "lessons:time",
    "read:nope",
    "hour:10",
    "hour:99",
    "hour:",
    "stop:yes",
    "stop:no",
    "stop:ask",
    "loss:yes",
    "loss:no",
    "nurse:ask",
    "menu:born",
    "menu:language",
    "menu:help",
    "del:no",
    "del:yes",
    "day:2026-13-45",
    f"day:{BORN.isoformat()}",
    f"day:{(TODAY + timedelta(days=1)).isoformat()}",
    f"day:{DUE.isoformat()}",
    "day:0001-01-01",
    "cal:abc",
    f"cal:{TODAY:%Y-%m}",
    "cal:1-1",
    "cal:99999-1",
    "pick:calendar",
    "stage:born",
    "stage:pregnant",
    "stage:",
    "count:1",
    "count:2",
    "count:9",
    "count:x",
    "noop",
    "",
    ":",
    # digits Python's str.isdigit() accepts but int() refuses, and ids beyond a 64-bit column
    "more:²",
    "fb:²:1",
    "hour:²",
    "sa:1:²:0",
    "sb:²:2",
    "scr:start:²",
    "more:99999999999999999999",
    "fb:99999999999999999999:1",
    "scr:start:99999999999999999999",
    "sa:99999999999999999999:1:0",
    "hour:٠٨",
    "day:9999-12-31",
    "cal:9999-12",
    "cal:0001-01",
]
# Numbers a forged button may carry: digits str.isdigit() accepts but int() refuses, ids past 64 bits, …
EDGE_NUMBERS = ["²", "99999999999999999999", "0", "-1", "١٢", "", "1e3", "০"]
CALLBACK_DATA = st.one_of(
    st.sampled_from(FORGED_DATA),
    st.sampled_from(FORGED_DATA),
    st.text(max_size=64).filter(lambda s: len(s.encode()) <= 64),
    st.builds(
        lambda prefix, rest: f"{prefix}:{rest}",
        st.sampled_from(["sa", "sb", "fb", "more", "scr", "lessons", "hour", "cal", "day", "c", "read", "lang"]),
        st.text(max_size=20),
    ),
)
MEDIA_KINDS = [
    "photo",
    "sticker",
    "voice",
    "video",
    "document",
    "location",
    "contact",
    "animation",
    "video_note",
    "audio",
    "poll",
    "dice",
    "venue",
    "story",
]
CAPTIONED = frozenset({"photo", "video", "document", "voice", "animation", "audio"})
IGNORED_TYPES = [
    "inline_query",
    "chosen_inline_result",
    "poll",
    "poll_answer",
    "chat_join_request",
    "chat_member",
    "message_reaction",
    "message_reaction_count",
    "pre_checkout_query",
    "shipping_query",
    "purchased_paid_media",
    "business_message",
    "deleted_business_messages",
    "removed_chat_boost",
]


@dataclass(frozen=True)
class Step:
    """One thing that happens, before it is turned into Bot API JSON (some need the bot's messages)."""

    kind: str
    user: int
    profile: Profile  # how her Telegram account looks in this update (Telegram users change these)
    text: str = ""
    entity: bool = True  # a command gets its bot_command entity (Telegram adds one) or not
    media: str = ""
    data: str | None = None
    attach: str = "keyboard"  # callback: press | mutate | keyboard | any | inaccessible | inline | game
    pick: int = 0
    chat_type: str = "private"
    status: str = ""


users = st.sampled_from(USERS)
TEXT_STEP = st.builds(Step, kind=st.just("text"), user=users, profile=PROFILES, text=TEXTS, entity=st.booleans())
MEDIA_STEP = st.builds(
    Step,
    kind=st.just("media"),
    user=users,
    profile=PROFILES,
    media=st.sampled_from(MEDIA_KINDS),
    text=st.one_of(st.just(""), TEXTS.map(lambda t: _fit(t, 1024))),
)
EDIT_STEP = st.builds(
    Step,
    kind=st.just("edited"),
    user=users,
    profile=PROFILES,
    text=st.one_of(st.just(""), TEXTS),
    chat_type=st.sampled_from(["private", "private", "private", "group", "supergroup"]),
)
ATTACH = ["press"] * 4 + ["mutate"] * 3 + ["keyboard"] * 2 + ["any", "inaccessible", "inline", "game"]
CALLBACK_STEP = st.builds(
    Step,
    kind=st.just("callback"),
    user=users,
    profile=PROFILES,
    data=CALLBACK_DATA,
    # "press": a real button of her latest keyboard (deep into menus, lessons and checks); the rest: forged data
    # "mutate": the same, its numbers swapped for edge values (forged data shaped exactly like the bot's own)
    attach=st.sampled_from(ATTACH),
    pick=st.integers(0, 50),
    status=st.sampled_from(EDGE_NUMBERS),
    chat_type=st.sampled_from(["private"] * 10 + ["group", "supergroup"]),
)
ENROL_STEP = st.builds(
    Step,
    kind=st.just("enrol"),
    user=users,
    profile=PROFILES,
    text=st.sampled_from(LANGUAGES),
    data=st.sampled_from(["born", "born", "pregnant"]),
    entity=st.booleans(),  # the date typed, or picked from the buttons
)
ERASE_STEP = st.builds(Step, kind=st.just("erase"), user=users, profile=PROFILES)
# Time passes (mostly whole days, so 10:00 delivery stays in reach): lessons, check-ins and reminders fall due.
LATER_STEP = st.builds(Step, kind=st.just("later"), user=users, profile=PROFILES, pick=st.sampled_from([2, 24, 24, 72]))
MEMBER_STEP = st.builds(
    Step,
    kind=st.sampled_from(["block", "unblock"]),
    user=users,
    profile=PROFILES,
)
GROUP_STEP = st.builds(
    Step,
    kind=st.sampled_from(["group_message", "group_added", "group_removed", "channel_post", "edited_channel_post"]),
    user=users,
    profile=PROFILES,
    text=TEXTS,
    media=st.sampled_from(["", "", "photo", "sticker", "new_chat_members"]),
    chat_type=st.sampled_from(["group", "supergroup"]),
    status=st.sampled_from(["member", "administrator", "left", "kicked"]),
)
OTHER_STEP = st.builds(
    Step,
    kind=st.sampled_from(["ignored", "service"]),
    user=users,
    profile=PROFILES,
    media=st.sampled_from(IGNORED_TYPES),
    text=st.text(max_size=40),
)
# How often each kind of update comes (one_of alone would favour its first branches and short lists).
WEIGHTED = (
    [TEXT_STEP] * 6
    + [CALLBACK_STEP] * 6
    + [MEDIA_STEP] * 2
    + [ENROL_STEP] * 2
    + [GROUP_STEP] * 2
    + [EDIT_STEP, ERASE_STEP, MEMBER_STEP, OTHER_STEP, LATER_STEP]
)
STEPS = st.integers(0, len(WEIGHTED) - 1).flatmap(lambda i: WEIGHTED[i])
SEQUENCES = st.integers(5, 25).flatmap(lambda n: st.lists(STEPS, min_size=n, max_size=n))

# ------------------------------------------------------------------------------------------ the driver


@dataclass
class Sent:
    """An update as queued, and what the checks need to know about it."""

    update_id: int
    category: str  # private | callback | block | unblock | group | channel | removed | ignored | service
    chat_id: int
    injected_at: float
    texts: tuple[str, ...] = ()
    callback_id: str | None = None
    update: JSON = field(default_factory=dict)


class Driver:
    """Turns steps into updates, queues them, waits for the bot, and checks what it did."""

    def __init__(self, harness: Harness) -> None:
        self.h = harness
        self.client = harness.client
        self.processed: dict[int, float] = {}
        self.blocked: dict[int, int] = {}  # user -> her open interval in blocked_intervals
        self.blocked_intervals: list[tuple[int, int, float | None]] = []  # (chat, block update id, unblocked at)
        self.lessons_after_loss: dict[int, tuple[str, list[OutboxMessage]]] = {}
        self.all_texts: set[str] = set()
        self.records: list[logging.LogRecord] = []
        self.last_message: dict[int, int] = {}
        self.known_chats: set[int] = set()
        self.problems: list[str] = []  # found while playing (the erase step)
        self.turns: list[tuple[Incoming, list[Action]]] = []  # what the conversation decided, turn by turn
        self._message_ids = itertools.count(5_000_000)
        self._chat_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._fresh_users = itertools.count(899_000_001)
        self._ignored_ids = itertools.count(1)
        engine = make_engine(harness.settings.database_url)
        self.engine = engine
        self.sessions = make_session_factory(engine)

    # -------------------------------------------------------------------------------- the hook
    async def on_processed(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Group 1: runs right after the bot's own handler (group 0) is done with the update, errors included."""
        self.processed[update.update_id] = time.time()

    # ------------------------------------------------------------------------------ json shapes
    @staticmethod
    def user_json(user_id: int, profile: Profile) -> JSON:
        user: JSON = {"id": user_id, "is_bot": False, "first_name": profile.first_name}
        if profile.username is not None:
            user["username"] = profile.username
        if profile.language_code is not None:
            user["language_code"] = profile.language_code
        return user

    @staticmethod
    def private_chat(user_id: int, profile: Profile) -> JSON:
        chat: JSON = {"id": user_id, "type": "private", "first_name": profile.first_name}
        if profile.username is not None:
            chat["username"] = profile.username
        return chat

    def fresh_chat(self, chat_type: str) -> JSON:
        n = next(self._chat_ids)
        if chat_type == "group":
            return {"id": -700_000 - n, "type": "group", "title": f"Mothers {n}"}
        return {"id": -1_007_000_000_000 - n, "type": chat_type, "title": f"Room {n}"}

    def bot_json(self) -> JSON:
        return {"id": self.h.emulator.bot_id, "is_bot": True, "first_name": "Dodam", "username": BOT_USERNAME}

    @staticmethod
    def text_fields(text: str, *, entity: bool, caption: bool = False) -> JSON:
        key = "caption" if caption else "text"
        fields: JSON = {key: text}
        entities: list[JSON] = []
        token = text.split(maxsplit=1)[0] if text.split() else ""
        word = token[1:].split("@", 1)
        if (
            entity
            and not caption
            and token.startswith("/")
            and 1 <= len(word[0]) <= 32
            and all(c.isascii() and (c.isalnum() or c == "_") for c in word[0])
        ):
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(token)})
        elif entity and len(text) > 3:
            entities.append({"type": "bold", "offset": 0, "length": utf16_len(text[:3])})
        if entities:
            fields["caption_entities" if caption else "entities"] = entities
        return fields

    def media_fields(self, kind: str, user: JSON, seq: int) -> JSON:
        fid = f"FUZZ-{kind}-{seq}"
        uid = f"FUZZU{seq}"
        base = {"file_id": fid, "file_unique_id": uid}
        match kind:
            case "photo":
                return {"photo": [{**base, "width": 90, "height": 90}, {**base, "width": 800, "height": 800}]}
            case "sticker":
                sticker = {**base, "type": "regular", "width": 512, "height": 512, "is_animated": False}
                return {"sticker": {**sticker, "is_video": False, "emoji": "👍"}}
            case "voice":
                return {"voice": {**base, "duration": 3, "mime_type": "audio/ogg"}}
            case "video":
                return {"video": {**base, "width": 640, "height": 360, "duration": 5}}
            case "document":
                return {"document": {**base, "file_name": "scan.pdf", "mime_type": "application/pdf"}}
            case "animation":
                animation = {**base, "width": 320, "height": 240, "duration": 2}
                return {"animation": animation, "document": {**base, "file_name": "a.mp4"}}
            case "video_note":
                return {"video_note": {**base, "length": 240, "duration": 4}}
            case "audio":
                return {"audio": {**base, "duration": 30, "title": "Lullaby"}}
            case "location":
                return {"location": {"latitude": 37.5665, "longitude": 126.978}}
            case "venue":
                location = {"latitude": 37.5665, "longitude": 126.978}
                return {"location": location, "venue": {"location": location, "title": "Clinic", "address": "Seoul"}}
            case "contact":
                return {"contact": {"phone_number": "+821012345678", "first_name": user["first_name"] or "X"}}
            case "poll":
                return {"poll": self.poll_json(seq)}
            case "dice":
                return {"dice": {"emoji": "🎲", "value": seq % 6 + 1}}
            case "story":
                return {"story": {"chat": {"id": user["id"], "type": "private", "first_name": "S"}, "id": seq}}
        raise ValueError(kind)

    @staticmethod
    def poll_json(seq: int) -> JSON:
        return {
            "id": str(6_000_000 + seq),
            "question": "Sleep?",
            "options": [
                {"text": "Yes", "voter_count": 0, "persistent_id": "0"},
                {"text": "No", "voter_count": 0, "persistent_id": "1"},
            ],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
            "allows_revoting": False,
            "members_only": False,
        }

    def message(self, chat: JSON, user: JSON | None, **content: Any) -> JSON:
        message: JSON = {"message_id": next(self._message_ids), "date": int(time.time()), "chat": chat}
        if user is not None:
            message["from"] = user
        else:
            message["sender_chat"] = chat
        message.update(content)
        return message

    async def bot_message(self, chat: JSON, *, keyboard: bool, pick: int, numeric: bool = False) -> JSON | None:
        """One of the bot's real messages in the chat, as Telegram attaches it to a button press.

        ``keyboard``: her latest message with buttons; ``numeric``: any with a button whose data holds a number
        (lessons, questions, hours, days); otherwise any message at all.
        """
        mine = [m for m in await self.client.bot_messages(chat["id"]) if not m["deleted"]]
        with_buttons = [m for m in mine if m.get("reply_markup") and "inline_keyboard" in m["reply_markup"]]
        if numeric:
            mine = [m for m in with_buttons if re.search(r"\d", json.dumps(m["reply_markup"]["inline_keyboard"]))]
            chosen = mine[pick % len(mine)] if mine else (with_buttons[-1] if with_buttons else None)
        elif keyboard:
            chosen = with_buttons[-1] if with_buttons else None
        else:
            chosen = mine[pick % len(mine)] if mine else None
        if chosen is None:
            return None
        message: JSON = {
            "message_id": chosen["message_id"],
            "date": chosen["date"],
            "chat": chat,
            "from": self.bot_json(),
            "text": chosen.get("text") or chosen.get("caption") or "…",
        }
        if chosen.get("reply_markup") and "inline_keyboard" in chosen["reply_markup"]:
            message["reply_markup"] = chosen["reply_markup"]
        return message

    # ------------------------------------------------------------------------------- queueing
    async def queue(self, update: JSON, category: str, chat_id: int, texts: tuple[str, ...] = ()) -> Sent:
        at = time.time()
        queued = await self.client.raw(update)
        payload = next(iter(update.values()))
        message = payload.get("message", payload) if "callback_query" in update else payload
        chat = message.get("chat") if isinstance(message, dict) else None
        if isinstance(chat, dict) and chat.get("type") == "private":
            self.known_chats.add(chat["id"])  # the emulator has seen this chat now
        callback_id = update["callback_query"]["id"] if "callback_query" in update else None
        return Sent(queued["update_id"], category, chat_id, at, texts, callback_id, queued)

    async def membership(self, user_id: int, status: str, **kw: Any) -> Sent:
        """Through the emulator's own endpoint, so it also starts (or stops) answering 403 for that chat."""
        at = time.time()
        old = "kicked" if status == "member" and kw.get("chat_type") is None else None
        queued = await self.client.my_chat_member(user_id, status, old_status=old, **kw)
        chat_id = kw.get("chat_id") or user_id
        self.known_chats.add(chat_id)
        if kw.get("chat_type") is None:
            category = "block" if status == "kicked" else "unblock"
        else:
            category = "group" if status in ("member", "administrator") else "removed"
        return Sent(queued["update_id"], category, chat_id, at, (), None, queued)

    async def callback(self, step: Step, user: JSON, chat: JSON, data: str | None) -> Sent:
        query: JSON = {"id": str(7_000_000_000 + next(self._callback_ids)), "from": user}
        query["chat_instance"] = str(abs(chat["id"]) * 31 + 7)
        if step.attach == "inline" and chat["id"] in self.known_chats:
            # A button under an inline-mode message: no message, no chat; Dodam answers in her private chat.
            query["inline_message_id"] = f"inline-{step.pick}"
        elif step.attach in ("inaccessible", "inline") or chat["type"] != "private":
            # Older than 48 hours (date 0), or, in a group, a message the emulator never saw.
            query["message"] = (
                {"chat": chat, "message_id": step.pick + 1, "date": 0}
                if chat["type"] == "private"
                else self.message(chat, self.bot_json(), text="…")
            )
        else:
            keyboard = step.attach in ("press", "keyboard", "game")
            attached = await self.bot_message(chat, keyboard=keyboard, pick=step.pick, numeric=step.attach == "mutate")
            query["message"] = attached or {"chat": chat, "message_id": step.pick + 1, "date": 0}
            buttons = [b for row in (attached or {}).get("reply_markup", {}).get("inline_keyboard", []) for b in row]
            buttons = [b["callback_data"] for b in buttons if "callback_data" in b]
            if step.attach == "mutate":
                buttons = [b for b in buttons if re.search(r"\d", b)] or buttons
            if step.attach in ("press", "mutate") and buttons:
                data = buttons[step.pick % len(buttons)]
                if step.attach == "mutate":
                    data = re.sub(r"\d+", lambda _: step.status, data, count=1 + step.pick % 3)
        if step.attach == "game":
            query["game_short_name"] = "lullaby"
        elif data is not None:
            query["data"] = data
        category = "callback" if chat["type"] == "private" else "group"
        return await self.queue({"callback_query": query}, category, chat["id"])

    async def unblock_first(self, user_id: int, sent: list[Sent]) -> None:
        """A user who blocked the bot can only write again after unblocking it (Telegram sends that first)."""
        if user_id in self.blocked:
            await self.unblock(user_id, sent)

    async def block(self, user_id: int, sent: list[Sent]) -> None:
        await self.wait_processed(sent)  # what she said before blocking is answered first,
        await self.quiet(0.3)  # and a lesson already on its way has arrived (it could not know)
        block = await self.membership(user_id, "kicked")
        sent.append(block)
        self.blocked[user_id] = len(self.blocked_intervals)
        self.blocked_intervals.append((user_id, block.update_id, None))

    async def unblock(self, user_id: int, sent: list[Sent]) -> None:
        await self.wait_processed(sent)
        unblock = await self.membership(user_id, "member")
        sent.append(unblock)
        index = self.blocked.pop(user_id)
        chat_id, block_id, _ = self.blocked_intervals[index]
        self.blocked_intervals[index] = (chat_id, block_id, unblock.injected_at)

    async def play(self, step: Step, sent: list[Sent], burst: bool) -> None:
        user = self.user_json(step.user, step.profile)
        private = self.private_chat(step.user, step.profile)
        from_her = step.kind in ("text", "media", "service", "enrol", "erase") or (
            step.kind in ("edited", "callback") and (step.chat_type == "private" or step.attach == "inline")
        )
        if from_her:
            await self.unblock_first(step.user, sent)
        match step.kind:
            case "text":
                msg = self.message(private, user, **self.text_fields(step.text, entity=step.entity))
                self.last_message[step.user] = msg["message_id"]
                sent.append(await self.queue({"message": msg}, "private", step.user, (step.text,)))
            case "media":
                seq = next(self._ignored_ids)
                content = self.media_fields(step.media, user, seq)
                if step.text and step.media in CAPTIONED:
                    content.update(self.text_fields(step.text, entity=step.entity, caption=True))
                msg = self.message(private, user, **content)
                self.last_message[step.user] = msg["message_id"]
                texts = (step.text,) if step.text and step.media in CAPTIONED else ()
                sent.append(await self.queue({"message": msg}, "private", step.user, texts))
            case "edited":
                chat = private if step.chat_type == "private" else self.fresh_chat(step.chat_type)
                msg = self.message(chat, user, edit_date=int(time.time()))
                msg["message_id"] = self.last_message.get(step.user, msg["message_id"])
                if step.text:
                    msg.update(self.text_fields(step.text, entity=step.entity))
                else:  # a photo whose caption was removed: an edit with no text at all
                    msg.update(self.media_fields("photo", user, next(self._ignored_ids)))
                category = "private" if chat["type"] == "private" else "group"
                texts = (step.text,) if step.text else ()
                sent.append(await self.queue({"edited_message": msg}, category, chat["id"], texts))
            case "callback":
                in_private = step.chat_type == "private" or step.attach == "inline"
                chat = private if in_private else self.fresh_chat(step.chat_type)
                sent.append(await self.callback(step, user, chat, step.data))
            case "enrol":
                await self.enrol(step, user, private, sent, burst)
            case "erase":
                await self.erase(step, user, private, sent)
            case "later":
                await self.later(step.pick, sent)
            case "block":
                if step.user not in self.blocked:
                    await self.block(step.user, sent)
            case "unblock":
                if step.user in self.blocked:
                    await self.unblock(step.user, sent)
            case "group_message":
                chat = self.fresh_chat(step.chat_type)
                if step.media == "new_chat_members":
                    said: JSON = {"new_chat_members": [self.bot_json()]}
                elif step.media:
                    said = self.media_fields(step.media, user, next(self._ignored_ids))
                else:
                    said = self.text_fields(step.text, entity=True)
                texts = (step.text,) if not step.media else ()
                sent.append(await self.queue({"message": self.message(chat, user, **said)}, "group", chat["id"], texts))
            case "group_added" | "group_removed":
                chat = self.fresh_chat(step.chat_type)
                status = step.status if step.kind == "group_added" else "left"
                if step.kind == "group_added" and status in ("left", "kicked"):
                    status = "member"
                if step.kind == "group_removed" and status in ("member", "administrator"):
                    status = "kicked"
                sent.append(await self.membership(step.user, status, chat_id=chat["id"], chat_type=step.chat_type))
            case "channel_post" | "edited_channel_post":
                chat = self.fresh_chat("channel")
                post = self.message(chat, None, **self.text_fields(step.text, entity=False))
                # The post comes first (the emulator's raw endpoint learns channels from channel_post only).
                sent.append(await self.queue({"channel_post": post}, "channel", chat["id"], (step.text,)))
                if step.kind == "edited_channel_post":
                    edited = {**post, "edit_date": int(time.time()), "text": _fit(step.text[::-1])}
                    sent.append(await self.queue({step.kind: edited}, "channel", chat["id"], (edited["text"],)))
            case "service":
                # Setting a self-destruct timer in the chat with the bot: a message with no content at all.
                msg = self.message(private, user, message_auto_delete_timer_changed={"message_auto_delete_time": 86400})
                sent.append(await self.queue({"message": msg}, "service", step.user))
            case "ignored":
                sent.append(await self.queue(self.ignored(step, user, private), "ignored", step.user))
        if not burst and sent:
            await self.wait_processed(sent)

    async def enrol(self, step: Step, user: JSON, private: JSON, sent: list[Sent], burst: bool) -> None:
        """The whole sign-up, as she would do it: /start, language, consent, stage, date, one baby."""
        born = step.data == "born"
        day = BORN if born else DUE

        async def press(data: str) -> None:
            if not burst:
                await self.wait_processed(sent)
            attach = Step(kind="callback", user=step.user, profile=step.profile, attach="keyboard")
            sent.append(await self.callback(attach, user, private, data))

        start = self.message(private, user, **self.text_fields("/start", entity=True))
        sent.append(await self.queue({"message": start}, "private", step.user, ("/start",)))
        await press(f"lang:{step.text}")
        await press("consent:yes")
        await press(f"stage:{step.data}")
        if step.entity:
            await press(f"day:{day.isoformat()}")
        else:
            if not burst:
                await self.wait_processed(sent)
            typed = self.message(private, user, text=day.isoformat())
            sent.append(await self.queue({"message": typed}, "private", step.user, (day.isoformat(),)))
        await press("count:1")

    async def later(self, hours: int, sent: list[Sent]) -> None:
        """Move the bot's clock on, plan, invite to checks, and give the 1 s dispatcher tick time to send."""
        await self.wait_processed(sent)
        runner = self.h.runner
        assert runner is not None
        self.h.clock.now += timedelta(hours=hours)
        await runner.plan()
        await runner.screening_reminders()
        await asyncio.sleep(1.2)  # the dispatcher's own tick (calling it here too could claim rows twice)

    async def erase(self, step: Step, user: JSON, private: JSON, sent: list[Sent]) -> None:
        """/deletemydata, then "Yes, erase my data": whatever step she is at, her data must be gone."""
        await self.wait_processed(sent)
        ask = self.message(private, user, **self.text_fields("/deletemydata", entity=True))
        sent.append(await self.queue({"message": ask}, "private", step.user, ("/deletemydata",)))
        await self.wait_processed(sent)
        with self.sessions() as s:
            mother = s.scalars(select(Mother).where(Mother.telegram_user_id == step.user)).one_or_none()
            state = s.get(ConversationState, step.user)
            where = f"{state.flow}/{state.step}" if state is not None else "no conversation state"
        question = await self.bot_message(private, keyboard=True, pick=0)
        buttons = [b for row in (question or {}).get("reply_markup", {}).get("inline_keyboard", []) for b in row]
        if mother is None or question is None or not buttons or buttons[0].get("callback_data") != "del:yes":
            return
        press = Step(kind="callback", user=step.user, profile=step.profile, attach="keyboard")
        sent.append(await self.callback(press, user, private, "del:yes"))
        await self.wait_processed(sent)
        with self.sessions() as s:
            if s.get(Mother, mother.id).telegram_user_id is not None:  # type: ignore[union-attr]
                replies = [m.get("text") for m in (await self.client.bot_messages(step.user))[-2:]]
                self.problems.append(
                    f"mother {mother.id} (at {where}) pressed {buttons[0]['text']!r} (del:yes) under the erase "
                    f"question and was not erased; the bot said {replies!r}"
                )

    def ignored(self, step: Step, user: JSON, private: JSON) -> JSON:
        """Update types Dodam has nothing to say to; they must pass without a reply or an error."""
        n = next(self._ignored_ids)
        group = self.fresh_chat("supergroup")
        now = int(time.time())
        match step.media:
            case "inline_query":
                return {"inline_query": {"id": str(n), "from": user, "query": step.text, "offset": ""}}
            case "chosen_inline_result":
                return {"chosen_inline_result": {"result_id": str(n), "from": user, "query": step.text}}
            case "poll":
                return {"poll": self.poll_json(n)}
            case "poll_answer":
                answer = {"poll_id": str(n), "user": user, "option_ids": [0], "option_persistent_ids": ["0"]}
                return {"poll_answer": answer}
            case "chat_join_request":
                return {"chat_join_request": {"chat": group, "from": user, "user_chat_id": user["id"], "date": now}}
            case "chat_member":
                old = {"status": "left", "user": user}
                new = {"status": "member", "user": user}
                change = {"chat": group, "from": user, "date": now, "old_chat_member": old, "new_chat_member": new}
                return {"chat_member": change}
            case "message_reaction":
                reaction = {"chat": private, "message_id": 1, "user": user, "date": now, "old_reaction": []}
                return {"message_reaction": {**reaction, "new_reaction": [{"type": "emoji", "emoji": "👍"}]}}
            case "message_reaction_count":
                counts = [{"type": {"type": "emoji", "emoji": "❤"}, "total_count": 3}]
                return {"message_reaction_count": {"chat": group, "message_id": 1, "date": now, "reactions": counts}}
            case "pre_checkout_query":
                query = {"id": str(n), "from": user, "currency": "KRW", "total_amount": 1000}
                return {"pre_checkout_query": {**query, "invoice_payload": step.text or "p"}}
            case "shipping_query":
                address = {
                    "country_code": "KR",
                    "state": "",
                    "city": "Seoul",
                    "street_line1": "1",
                    "street_line2": "",
                    "post_code": "04524",
                }
                query = {"id": str(n), "from": user, "invoice_payload": "p", "shipping_address": address}
                return {"shipping_query": query}
            case "purchased_paid_media":
                return {"purchased_paid_media": {"from": user, "paid_media_payload": step.text or "p"}}
            case "business_message":
                msg = self.message(private, user, text=step.text or "hi", business_connection_id="biz-1")
                return {"business_message": msg}
            case "deleted_business_messages":
                deleted = {"business_connection_id": "biz-1", "chat": private, "message_ids": [1, 2]}
                return {"deleted_business_messages": deleted}
            case "removed_chat_boost":
                source = {"source": "premium", "user": user}
                boost = {"chat": group, "boost_id": str(n), "remove_date": now, "source": source}
                return {"removed_chat_boost": boost}
        raise ValueError(step.media)

    # -------------------------------------------------------------------------------- waiting
    async def wait_processed(self, sent: list[Sent], timeout: float = 30.0) -> None:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while True:
            missing = [s.update_id for s in sent if s.update_id not in self.processed]
            if not missing:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the bot never finished updates {missing} (stuck, or PTB could not parse them)")
            await asyncio.sleep(0.01)

    async def quiet(self, seconds: float = QUIET_SECONDS) -> JSON:
        """The emulator's log once no Bot API call but getUpdates has come in for ``seconds``."""
        last, since = -1, time.monotonic()
        deadline = since + 15
        while True:
            log = await self.client.log()
            busy = sum(n for method, n in log["counters"].items() if method != "getUpdates")
            if busy != last:
                last, since = busy, time.monotonic()
            elif time.monotonic() - since >= seconds or time.monotonic() > deadline:
                return log
            await asyncio.sleep(0.1)

    # ---------------------------------------------------------------------------------- checks
    def check_errors(self, first_record: int) -> list[str]:
        """Every ERROR logged meanwhile, with where the exception came from in Dodam's code."""
        problems = []
        for record in self.records[first_record:]:
            where = f"{record.name}: {record.getMessage()}"
            if record.exc_info and record.exc_info[1] is not None:
                exc = record.exc_info[1]
                frames = [(f.filename, f.lineno) for f in traceback.extract_tb(exc.__traceback__)]
                ours = [f"{name}:{line}" for name, line in frames if name.startswith(PROJECT_CODE)]
                last = f"{frames[-1][0]}:{frames[-1][1]}" if frames else "?"
                where += f" — {type(exc).__name__}: {exc} (at {ours[-1] if ours else last}; raised in {last})"
            problems.append(f"ERROR logged: {where}")
        return problems

    def check_replies(self, sent: list[Sent], log: JSON) -> list[str]:
        problems = []
        calls = log["calls"]
        by_chat: dict[int, list[Sent]] = defaultdict(list)
        for s in sent:
            by_chat[s.chat_id].append(s)
        for chat_id, updates in by_chat.items():
            previous_done = 0.0
            for s in updates:
                done = self.processed.get(s.update_id, 0.0)
                start = max(s.injected_at, previous_done)
                previous_done = max(previous_done, done)
                if s.category != "private":
                    continue
                replies = [
                    c
                    for c in calls
                    if c["chat_id"] == chat_id
                    and c["method"] in SENDS
                    and c["status"] == 200
                    and start <= c["time"]
                    and c["time"] <= done
                ]
                if not replies:
                    failed = [
                        f"{c['method']} {c['status']} {c['error']}"
                        for c in calls
                        if c["chat_id"] == chat_id and start <= c["time"] <= done and c["method"] != "getUpdates"
                    ]
                    problems.append(
                        f"private message got no reply: update {s.update_id} {_short(s.update)}; calls meanwhile: "
                        f"{failed}"
                    )
        left = set(log["left_chats"])
        for s in sent:
            if s.category in ("group", "channel"):
                refused = [
                    c
                    for c in calls
                    if c["chat_id"] == s.chat_id and c["method"] == "sendMessage" and c["status"] == 200
                ]
                if s.category == "group" and not refused:
                    problems.append(f"group update {s.update_id} got no refusal: {_short(s.update)}")
                if s.chat_id not in left:
                    problems.append(f"{s.category} update {s.update_id}: the bot did not leave {s.chat_id}")
            if s.category == "removed":
                spoke = [c for c in calls if c["chat_id"] == s.chat_id and c["method"] in WRITES | {"leaveChat"}]
                if spoke:
                    problems.append(f"the bot wrote to {s.chat_id} after being removed from it: {spoke}")
        answered = {a["callback_query_id"] for a in log["callback_answers"]}
        for s in sent:
            if s.callback_id is not None and s.callback_id not in answered:
                problems.append(f"button press never answered (answerCallbackQuery): {_short(s.update)}")
        return problems

    def check_blocks(self, sent: list[Sent], log: JSON) -> list[str]:
        """Nothing goes to a chat from the block to the unblock: not as the answer to the block itself, and
        nothing (lessons, check-ins) once the bot knows, which the emulator's log shows, 403s included."""
        problems = []
        turns, self.turns = self.turns, []
        for incoming, actions in turns:
            if incoming.kind is Kind.BLOCKED and incoming.text == "blocked":
                spoken = [type(a).__name__ for a in actions if getattr(a, "chat_id", None) == incoming.chat_id]
                if spoken:
                    problems.append(f"the bot answered a block of chat {incoming.chat_id} with {spoken}")
        for chat_id, block_id, until in self.blocked_intervals:
            since = self.processed.get(block_id)
            if since is None:
                continue
            for c in log["calls"]:
                if c["chat_id"] == chat_id and c["method"] in WRITES and since < c["time"] < (until or float("inf")):
                    problems.append(
                        f"{c['method']} to {chat_id} (status {c['status']}) after she blocked the bot "
                        f"(block update {block_id})"
                    )
        return problems

    def check_database(self) -> list[str]:
        problems = []
        self.lessons_after_loss = {}
        with self.sessions() as s:
            consented = set(s.scalars(select(ConsentRecord.mother_id).where(ConsentRecord.accepted.is_(True))))
            for mother_id in s.scalars(select(OutboxMessage.mother_id).distinct()):
                if mother_id not in consented:
                    problems.append(f"mother {mother_id} has outbox rows but never accepted the privacy notice")
            events: dict[int, list[str]] = defaultdict(list)
            for case_id, kind in s.execute(select(CaseEvent.case_id, CaseEvent.kind)):
                events[case_id].append(kind)
            for case_id in s.scalars(select(Case.id)):
                if "opened" not in events[case_id]:
                    problems.append(f"case {case_id} has no 'opened' event (events: {events[case_id]})")
            living = set(s.scalars(select(Baby.mother_id).where(Baby.status != BabyStatus.LOST)))
            for mother in s.scalars(select(Mother)):
                if mother.id in living or mother.chat_id is None:
                    continue
                sent_lessons = list(
                    s.scalars(
                        select(OutboxMessage).where(
                            OutboxMessage.mother_id == mother.id,
                            OutboxMessage.kind == OutboxKind.LESSON,
                            OutboxMessage.status == OutboxStatus.SENT,
                        )
                    )
                )
                if sent_lessons:
                    self.lessons_after_loss[mother.chat_id] = (mother.language, sent_lessons)
            groups = list(s.scalars(select(ConversationState.chat_id).where(ConversationState.chat_id < 0)))
            if groups:
                problems.append(f"conversation state kept for group chats {groups}")
            details = [json.dumps(e.details, ensure_ascii=False) for e in s.scalars(select(AuditEvent))]
        blob = "\n".join(details)
        for text in self.all_texts:
            # A typed date could equal a date the audit log rightly holds (a trigger's time): not message text.
            if len(text) > 8 and text in blob and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                problems.append(f"message text in the audit log: {text[:60]!r}")
        return problems

    async def check_no_lesson_after_loss(self) -> list[str]:
        """A lesson row marked sent after the "I am deeply sorry for the loss" message went out is a bug."""
        problems = []
        for chat_id, (language, rows) in self.lessons_after_loss.items():
            sorry = Translator(language)(
                "I am deeply sorry for the loss of your baby. There is nothing you need to do here now. "
                "I will not send any more lessons or checks about your baby. Your nurse will contact you to "
                "see how you are, and you can talk to her whenever you want."
            )
            mine = await self.client.bot_messages(chat_id)
            losses = [m["message_id"] for m in mine if m.get("text") == sorry]
            if not losses:
                continue  # no loss: she has no living baby for another reason (not enrolled yet)
            for row in rows:
                if row.telegram_message_id is not None and row.telegram_message_id > max(losses):
                    problems.append(
                        f"lesson {row.lesson_slug} (outbox {row.id}) sent to chat {chat_id} after her baby's loss"
                    )
        return problems

    async def still_alive(self) -> list[str]:
        user_id = next(self._fresh_users)
        profile = Profile("en", "Fresh", None)
        msg = self.message(self.private_chat(user_id, profile), self.user_json(user_id, profile))
        msg.update(self.text_fields("/help", entity=True))
        await self.client.raw({"message": msg})
        try:
            await self.client.wait_for(user_id, 1, timeout=10)
        except TimeoutError as exc:
            return [f"the bot no longer answers /help: {exc}"]
        return []


def _short(update: JSON) -> str:
    text = json.dumps(update, ensure_ascii=False)
    return text if len(text) <= 400 else text[:400] + "…"


class _Collect(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(logging.ERROR)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
async def driver(harness: Harness) -> AsyncIterator[Driver]:
    runner = await harness.start_bot()
    assert runner.app is not None
    d = Driver(harness)
    runner.app.add_handler(TypeHandler(Update, d.on_processed), group=1)
    handle = runner.conversation.handle

    def recorded(incoming: Incoming, *, receipt: int | None = None) -> list[Action]:
        actions = handle(incoming, receipt=receipt)
        d.turns.append((incoming, actions))
        return actions

    runner.conversation.handle = recorded  # type: ignore[method-assign,assignment]
    handler = _Collect(d.records)
    loggers = [logging.getLogger(name) for name in ("bot", "telegram", "scheduler", "nlu", "aiohttp.server")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield d
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        d.engine.dispose()


_EN = Profile("en", "Mina", None)


def _press(user: int, data: str, chat_type: str = "private") -> Step:
    return Step(kind="callback", user=user, profile=_EN, data=data, attach="keyboard", chat_type=chat_type)


def _say(user: int, text: str) -> Step:
    return Step(kind="text", user=user, profile=_EN, text=text)


# Regressions, run before the generated sequences (each on the same, fresh bot).
FORGED_NUMBERS = [  # an enrolled mother's buttons with numbers int() or a 64-bit column cannot take
    Step(kind="enrol", user=USERS[0], profile=_EN, text="en", data="born", entity=True),
    _press(USERS[0], "more:²"),
    _press(USERS[0], "hour:²"),
    _press(USERS[0], "scr:start:99999999999999999999"),
    _say(USERS[0], "/help"),
]
ERASE_WHILE_SIGNING_UP = [  # she consented, then wants everything erased before giving her dates
    _say(USERS[1], "/start"),
    _press(USERS[1], "lang:en"),
    _press(USERS[1], "consent:yes"),
    Step(kind="erase", user=USERS[1], profile=_EN),
    _say(USERS[1], "hello"),
]
BUTTON_IN_A_GROUP = [  # a press under a message in a group: refused, left, and the press answered
    _press(USERS[2], "menu:help", chat_type="group"),
    _press(USERS[2], "lang:en", chat_type="supergroup"),
    _say(USERS[2], "/start"),
    _say(USERS[2], "hello"),
    _say(USERS[2], "thank you"),
]


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    phases=(Phase.explicit, Phase.generate),  # no shrinking: the bot and its database live across examples
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=False,
)
@given(steps=SEQUENCES, burst=st.booleans())
@example(steps=FORGED_NUMBERS, burst=False)
@example(steps=ERASE_WHILE_SIGNING_UP, burst=False)
@example(steps=BUTTON_IN_A_GROUP, burst=True)
async def test_any_sequence_of_updates_is_survived_and_answered(driver: Driver, steps: list[Step], burst: bool) -> None:
    first_record = len(driver.records)
    driver.problems.clear()
    sent: list[Sent] = []
    for step in steps:
        await driver.play(step, sent, burst)
    for s in sent:
        driver.all_texts.update(s.texts)
    await driver.wait_processed(sent)
    log = await driver.quiet()
    note(f"burst={burst}; updates as queued:\n" + "\n".join(f"  {s.category}: {_short(s.update)}" for s in sent))

    # One assertion per family, so Hypothesis reports failing examples of different families separately.
    crashed = driver.check_errors(first_record) + await driver.still_alive()
    unanswered = driver.check_replies(sent, log)
    blocked = driver.check_blocks(sent, log)
    stored = driver.check_database() + await driver.check_no_lesson_after_loss()
    assert not crashed, "the bot failed:\n" + "\n".join(crashed)
    assert not unanswered, "not answered as it must be:\n" + "\n".join(unanswered)
    assert not blocked, "wrote to a chat that blocked it:\n" + "\n".join(blocked)
    assert not stored, "database invariant broken:\n" + "\n".join(stored)
    assert not driver.problems, "wrong behaviour:\n" + "\n".join(driver.problems)
