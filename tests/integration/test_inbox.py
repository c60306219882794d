"""The inbox on SQLite and PostgreSQL: what is stored, what a repeat does, what a reused id does."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from bot.config import Settings
from bot.db import make_engine, make_session_factory, migrate
from bot.domain.conversation import Conversation
from bot.domain.messages import Button, Incoming, Kind, Send, SendDocument, decode_actions, encode_actions
from bot.inbox import MAX_ATTEMPTS, Inbox
from bot.models import ChatMessage, InboxItem, utcnow


def make(database_url: str) -> Inbox:
    migrate(database_url)
    return Inbox(make_session_factory(make_engine(database_url)))


def message(update_id: int, text: str) -> dict:  # type: ignore[type-arg]
    return {"update_id": update_id, "message": {"message_id": 1, "text": text, "chat": {"id": 7, "type": "private"}}}


def test_a_repeat_is_ignored_and_a_reused_id_is_a_new_update(database_url: str) -> None:
    inbox = make(database_url)
    inbox.store([(1, 7, message(1, "hello"))])
    inbox.store([(1, 7, message(1, "hello"))])  # the same update again: nothing changes
    assert inbox.waiting() == 1
    inbox.forget(1)
    inbox.store([(1, 7, message(1, "hello"))])  # a repeat after it was answered: still answered
    assert inbox.waiting() == 0
    inbox.store([(1, 7, message(1, "a new message under an old id"))])  # a new emulator, or ids reused
    assert inbox.waiting() == 1
    with inbox.sessions() as s:
        item = s.get_one(InboxItem, 1)
        assert item.payload["message"]["text"] == "a new message under an old id" and item.answered_at is None


def test_answered_items_keep_no_text_and_are_purged(database_url: str) -> None:
    inbox = make(database_url)
    inbox.store([(5, 7, message(5, "my baby has a rash"))])
    inbox.forget(5)
    with inbox.sessions() as s:
        item = s.get_one(InboxItem, 5)
        assert item.payload == {} and item.replies is None
    assert inbox.purge_answered(utcnow() - timedelta(days=1)) == 0
    assert inbox.purge_answered(utcnow() + timedelta(seconds=1)) == 1


def test_an_update_that_always_fails_is_dropped_after_its_attempts(database_url: str) -> None:
    inbox = make(database_url)
    inbox.store([(9, 7, message(9, "x")), (10, 7, message(10, "y"))])
    later = utcnow() + timedelta(seconds=1)
    for _ in range(MAX_ATTEMPTS):
        assert [i for i, _ in inbox.due_again(older_than=later, exclude={10})] == [9]
    assert inbox.due_again(older_than=later, exclude={10}) == []  # dropped, not retried for ever
    assert [i for i, _ in inbox.due_again(older_than=later, exclude=set())] == [10]


def test_a_turn_runs_once_per_stored_update(database_url: str) -> None:
    inbox = make(database_url)
    conversation = Conversation(replace(Settings(), database_url=database_url), inbox.sessions)
    incoming = Incoming(chat_id=7, user_id=7, kind=Kind.TEXT, text="hello", language_code="en")
    inbox.store([(3, 7, message(3, "hello"))])
    first = conversation.handle(incoming, receipt=3)
    again = conversation.handle(incoming, receipt=3)  # a crash before the replies went out: the same replies
    assert first and again == first
    with inbox.sessions() as s:
        assert len(s.scalars(select(ChatMessage)).all()) <= 1  # her text recorded at most once
    inbox.forget(3)
    assert conversation.handle(incoming, receipt=3) == []  # answered: nothing at all


def test_replies_survive_encoding() -> None:
    actions = [
        Send(chat_id=1, text="héllo 👶", buttons=((Button("Yes", "a:1"), Button("No", "a:0")),), html=True),
        SendDocument(chat_id=1, filename="my-data.json", content=b'{"x": 1}\x00\xff', caption="yours"),
    ]
    assert decode_actions(encode_actions(actions)) == actions
