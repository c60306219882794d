"""Property: a danger phrase gets the crisis lines in any update, any position, any disguise and any state.

Each example is a real Telegram update (JSON parsed by python-telegram-bot, turned into an ``Incoming`` by the
adapter's converter) handled by the conversation on a real database (SQLite, and PostgreSQL in CI): a message,
an edit, a photo's caption, or the text after a command; the phrase alone or in the middle of a long routine
message; with invisible characters, look-alike letters or a NUL byte; from a stranger, a mother signing up, an
enrolled mother, one mid-questionnaire or after /stop, a nurse, or a nurse's former account.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from telegram import Update

from bot.domain.conversation import Conversation
from bot.domain.messages import Send
from bot.domain.staff import add_staff, new_binding_code
from bot.models import Case, Mother, StaffRole
from bot.telegram.convert import to_incoming
from nlu.evaluation import DEV, LANGUAGES, load_intent_tests, load_safety_set
from nlu.safety.assess import Level, Safety
from tests.clock import weeks_ago
from tests.integration.chat import Chat

FLOOR = Safety(use_model=False)
# Danger phrases the deterministic floor alone answers as a crisis: the guarantee must not lean on the model.
PHRASES = [
    (str(m["lang"]), str(m["text"]))
    for m in load_safety_set("regression")
    if m["category"] != "none" and FLOOR.assess(str(m["text"]), str(m["lang"])).level is Level.CRISIS
]
ROUTINE = [text for language in LANGUAGES for text, _ in load_intent_tests(language, DEV)][::3]
HIDDEN = ["\u200b", "\u034f", "\u2066", "\u2069", "\u202e", "\ufe0f", "\U000e0041", "\u00ad", "\u3164", "\x00"]
LOOKALIKE = {"a": "а", "e": "е", "o": "о", "i": "і", "c": "с", "p": "р"}
STATES = ("stranger", "language", "consent", "dates", "menu", "screening", "stopped", "staff", "former_staff")
_ids = itertools.count(1)


@st.composite
def disguised(draw: st.DrawFn) -> tuple[str, str]:
    language, phrase = draw(st.sampled_from(PHRASES))
    chars = list(phrase)
    if draw(st.booleans()):  # look-alike letters
        chars = [LOOKALIKE.get(c, c) if draw(st.booleans()) else c for c in chars]
    for _ in range(draw(st.integers(0, 3))):  # invisible characters anywhere
        chars.insert(draw(st.integers(0, len(chars))), draw(st.sampled_from(HIDDEN)))
    text = "".join(chars)
    if draw(st.booleans()):  # buried in a long routine message
        before = " ".join(draw(st.lists(st.sampled_from(ROUTINE), max_size=4)))
        after = " ".join(draw(st.lists(st.sampled_from(ROUTINE), max_size=4)))
        text = ". ".join(part for part in (before, text, after) if part)
    return language, text


def update(kind: str, user: int, text: str) -> dict[str, Any]:
    """The Bot API's JSON for this kind of update carrying ``text``."""
    sender = {"id": user, "is_bot": False, "first_name": "Mina", "language_code": "en"}
    chat = {"id": user, "type": "private"}
    message: dict[str, Any] = {"message_id": next(_ids), "date": 0, "chat": chat, "from": sender}
    if kind == "command":
        command = "/sos"
        message.update(text=f"{command} {text}", entities=[{"type": "bot_command", "offset": 0, "length": 4}])
    elif kind == "start":
        message.update(text=f"/start {text}", entities=[{"type": "bot_command", "offset": 0, "length": 6}])
    elif kind == "caption":
        message.update(photo=[{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}], caption=text)
    else:
        message.update(text=text)
    key = "edited_message" if kind == "edit" else "message"
    if kind == "edit":
        message["edit_date"] = 1
    return {"update_id": next(_ids), key: message}


class People:
    """One user per state, set up once per database."""

    def __init__(self, conversation: Conversation, sessions: sessionmaker[Session]) -> None:
        self.conversation, self.sessions = conversation, sessions
        self.users: dict[str, int] = {}
        base = 600_000 + next(_ids) * 100
        for n, state in enumerate(STATES):
            self.users[state] = user = base + n
            self._put(state, Chat(conversation, user))

    def _put(self, state: str, chat: Chat) -> None:
        if state == "stranger":
            return
        if state in ("staff", "former_staff"):
            with self.sessions.begin() as s:
                created = add_staff(s, name="Kim", role=StaffRole.NURSE)
                staff_id, payload = created.staff.id, created.payload
            chat.command("start", payload)
            chat.command("cases")  # a staff state of her own, which a former account keeps
            if state == "former_staff":
                with self.sessions.begin() as s:
                    relinked = new_binding_code(s, staff_id).payload
                Chat(self.conversation, chat.user_id + 50).command("start", relinked)
            return
        chat.command("start")
        if state == "language":
            return
        chat.data("lang:en")
        if state == "consent":
            return
        chat.data("consent:yes")
        chat.data("stage:born")
        if state == "dates":
            return
        chat.data(f"day:{weeks_ago(5).isoformat()}")
        chat.data("count:1")
        if state == "screening":
            chat.data("scr:offer:epds")
            sid = int(chat.keyboard[0][0].data.split(":")[2])
            chat.data(f"scr:start:{sid}")
            chat.data(f"sa:{sid}:1:0")
        elif state == "stopped":
            chat.command("stop")
            chat.data("stop:yes")

    def cases_of(self, user: int) -> int:
        with self.sessions() as s:
            mother = s.scalars(select(Mother).where(Mother.telegram_user_id == user)).one_or_none()
            if mother is None:
                return -1
            case = s.scalars(select(Case).where(Case.mother_id == mother.id).order_by(Case.id.desc())).first()
            if case is None:
                return 0
            return sum(1 for item in case.triggers.get("items", []) if item.get("kind") == "safety")


@pytest.fixture
def people(conversation: Conversation, sessions: sessionmaker[Session]) -> People:
    return People(conversation, sessions)


@given(
    phrase=disguised(),
    kind=st.sampled_from(["text", "edit", "caption", "command", "start"]),
    state=st.sampled_from(STATES),
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_danger_phrase_gets_the_crisis_lines_in_any_update_and_state(
    people: People, phrase: tuple[str, str], kind: str, state: str
) -> None:
    _, text = phrase
    user = people.users[state]
    before = people.cases_of(user)
    incoming = to_incoming(Update.de_json(update(kind, user, text), None))
    assert incoming is not None
    replies = [a.text for a in people.conversation.handle(incoming) if isinstance(a, Send) and a.chat_id == user]
    assert replies and "☎️" in replies[0], (state, kind, text)  # what to do now, and whom to call, first
    if before >= 0:  # she has given consent: her nurse has a case with this message on it
        assert people.cases_of(user) == before + 1, (state, kind, text)
