"""Telegram updates in, channel-neutral Incoming out."""

from __future__ import annotations

import dataclasses
from typing import Any

from telegram import Chat, ChatMember, MessageEntity, Update

from bot.domain.messages import Incoming, Kind

# Message attributes that make a message "media", in the order Telegram documents them.
_MEDIA = (
    "animation",
    "audio",
    "document",
    "photo",
    "sticker",
    "story",
    "video",
    "video_note",
    "voice",
    "contact",
    "dice",
    "game",
    "poll",
    "venue",
    "location",
    "invoice",
    "successful_payment",
)


def to_incoming(update: Update) -> Incoming | None:
    """Describe an update for the conversation; None for updates Dodam has nothing to say to.

    NUL characters are dropped from everything she typed: PostgreSQL text cannot hold them, and a message that
    cannot be stored is a message (perhaps a crisis) that is never answered.
    """
    incoming = _to_incoming(update)
    if incoming is None:
        return None
    cleaned: dict[str, Any] = {
        name: value.replace("\x00", "")
        for name in ("text", "args", "data", "first_name", "command")
        if isinstance(value := getattr(incoming, name), str) and "\x00" in value
    }
    return dataclasses.replace(incoming, **cleaned) if cleaned else incoming


def _to_incoming(update: Update) -> Incoming | None:
    if update.callback_query is not None:
        query = update.callback_query
        message = query.message
        chat = message.chat if message is not None else None
        user = query.from_user
        return Incoming(
            chat_id=chat.id if chat else user.id,
            user_id=user.id,
            kind=Kind.BUTTON,
            chat_type=chat.type if chat else Chat.PRIVATE,
            data=query.data or "",
            message_id=message.message_id if message is not None else None,
            callback_id=query.id,
            language_code=user.language_code,
            first_name=user.first_name,
        )
    if update.my_chat_member is not None:
        change = update.my_chat_member
        status = change.new_chat_member.status
        user = change.from_user
        if change.chat.type == Chat.PRIVATE:
            blocked = status in (ChatMember.BANNED, ChatMember.LEFT)
            return Incoming(
                chat_id=change.chat.id,
                user_id=user.id,
                kind=Kind.BLOCKED,
                text="blocked" if blocked else "unblocked",
            )
        if status in (ChatMember.MEMBER, ChatMember.ADMINISTRATOR):
            return Incoming(
                chat_id=change.chat.id,
                user_id=user.id,
                kind=Kind.JOINED,
                chat_type=change.chat.type,
                language_code=user.language_code,
            )
        return None
    if update.channel_post is not None or update.edited_channel_post is not None:
        post = update.channel_post or update.edited_channel_post
        assert post is not None
        return Incoming(chat_id=post.chat.id, user_id=0, kind=Kind.JOINED, chat_type=Chat.CHANNEL)
    if update.edited_message is not None:
        edited = update.edited_message
        if edited.from_user is None:
            return None
        return Incoming(
            chat_id=edited.chat.id,
            user_id=edited.from_user.id,
            kind=Kind.EDITED,
            text=edited.text or edited.caption or "",
            chat_type=edited.chat.type,
            language_code=edited.from_user.language_code,
        )
    message = update.message
    if message is None or message.from_user is None:
        return None
    user = message.from_user
    base = {
        "source_message_id": message.message_id,
        "chat_id": message.chat.id,
        "user_id": user.id,
        "chat_type": message.chat.type,
        "language_code": user.language_code,
        "first_name": user.first_name,
    }
    if message.chat.type != Chat.PRIVATE:
        # Service messages (members joining, the bot added) arrive here too: the group is left either way.
        return Incoming(kind=Kind.JOINED, **base)  # type: ignore[arg-type]
    text = message.text
    if text is not None:
        entity = message.entities[0] if message.entities else None
        if entity is not None and entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
            word = text[1 : entity.length].split("@", 1)[0].lower()
            args = text[entity.length :].strip()
            return Incoming(kind=Kind.COMMAND, command=word, args=args, text=text, **base)  # type: ignore[arg-type]
        return Incoming(kind=Kind.TEXT, text=text, **base)  # type: ignore[arg-type]
    media = next((name for name in _MEDIA if getattr(message, name, None)), None)
    if media is None:
        # A service message (she set an auto-delete timer, pinned something …): nothing she said to answer.
        return None
    return Incoming(kind=Kind.MEDIA, media=media, text=message.caption or "", **base)  # type: ignore[arg-type]
