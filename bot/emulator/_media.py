"""Bot API shaped media objects for messages the emulated *users* send.

Every object carries exactly the fields python-telegram-bot's ``de_json`` requires (e.g. a
``Sticker`` is rejected without ``type``/``is_animated``/``is_video``) plus the usual optional ones,
so handlers see what they would see from Telegram. Values are deterministic so tests are stable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

JSON = dict[str, Any]

# Allocates a synthetic file from (kind, file_name, size) and returns (file_id, file_unique_id).
FileFactory = Callable[[str, str, int], tuple[str, str]]

USER_MEDIA_KINDS = (
    "text",
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
)
CAPTIONED_KINDS = frozenset({"photo", "video", "document", "voice", "animation", "audio"})


def photo_sizes(new_file: FileFactory, *, largest: tuple[str, str] | None = None) -> list[JSON]:
    """A thumbnail plus a full size ``PhotoSize`` list, smallest first as Telegram orders them.

    Args:
        new_file: Allocates synthetic files.
        largest: ``(file_id, file_unique_id)`` of an uploaded file to use as the biggest size.
    """
    small_id, small_uid = new_file("photo", "thumb.jpg", 1_024)
    big_id, big_uid = largest or new_file("photo", "photo.jpg", 48_000)
    return [
        {"file_id": small_id, "file_unique_id": small_uid, "width": 90, "height": 90, "file_size": 1_024},
        {"file_id": big_id, "file_unique_id": big_uid, "width": 800, "height": 800, "file_size": 48_000},
    ]


def user_media(kind: str, seq: int, new_file: FileFactory, *, user: JSON) -> JSON:
    """Message fields (besides text/caption) for a user message of ``kind``.

    Args:
        kind: One of :data:`USER_MEDIA_KINDS` other than ``text``.
        seq: A per-emulator counter, used to vary values deterministically.
        new_file: Allocates synthetic files (so the bot can ``getFile`` and download them).
        user: The sending user (a contact shares the sender's own card).

    Raises:
        ValueError: Unknown kind.
    """
    if kind == "photo":
        return {"photo": photo_sizes(new_file)}
    if kind == "sticker":
        file_id, uid = new_file("sticker", "sticker.webp", 20_000)
        return {
            "sticker": {
                "file_id": file_id,
                "file_unique_id": uid,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": "👍",
                "set_name": "EmulatorStickers",
                "file_size": 20_000,
            }
        }
    if kind == "voice":
        file_id, uid = new_file("voice", "voice.oga", 9_000)
        return {
            "voice": {
                "file_id": file_id,
                "file_unique_id": uid,
                "duration": 3,
                "mime_type": "audio/ogg",
                "file_size": 9_000,
            }
        }
    if kind == "video":
        file_id, uid = new_file("video", "video.mp4", 300_000)
        return {
            "video": {
                "file_id": file_id,
                "file_unique_id": uid,
                "width": 640,
                "height": 360,
                "duration": 5,
                "mime_type": "video/mp4",
                "file_name": "video.mp4",
                "file_size": 300_000,
            }
        }
    if kind == "document":
        file_id, uid = new_file("document", "document.pdf", 12_000)
        return {
            "document": {
                "file_id": file_id,
                "file_unique_id": uid,
                "file_name": "document.pdf",
                "mime_type": "application/pdf",
                "file_size": 12_000,
            }
        }
    if kind == "animation":
        file_id, uid = new_file("animation", "animation.mp4", 80_000)
        animation = {
            "file_id": file_id,
            "file_unique_id": uid,
            "width": 320,
            "height": 240,
            "duration": 2,
            "file_name": "animation.mp4",
            "mime_type": "video/mp4",
            "file_size": 80_000,
        }
        # Telegram sends GIFs as both `animation` and `document` for backward compatibility.
        document = {k: animation[k] for k in ("file_id", "file_unique_id", "file_name", "mime_type", "file_size")}
        return {"animation": animation, "document": document}
    if kind == "video_note":
        file_id, uid = new_file("video_note", "video_note.mp4", 60_000)
        return {
            "video_note": {
                "file_id": file_id,
                "file_unique_id": uid,
                "length": 240,
                "duration": 4,
                "file_size": 60_000,
            }
        }
    if kind == "audio":
        file_id, uid = new_file("audio", "audio.mp3", 500_000)
        return {
            "audio": {
                "file_id": file_id,
                "file_unique_id": uid,
                "duration": 30,
                "performer": "Emulator",
                "title": "Lullaby",
                "file_name": "audio.mp3",
                "mime_type": "audio/mpeg",
                "file_size": 500_000,
            }
        }
    if kind == "location":
        return {"location": {"latitude": 37.5665, "longitude": 126.978}}
    if kind == "contact":
        contact: JSON = {
            "phone_number": f"+8210{seq:08d}",
            "first_name": user.get("first_name", "Test"),
            "user_id": user["id"],
        }
        return {"contact": contact}
    if kind == "poll":
        return {
            "poll": {
                "id": str(5_000_000_000 + seq),
                "question": "Emulated poll?",
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
        }
    if kind == "dice":
        return {"dice": {"emoji": "🎲", "value": seq % 6 + 1}}
    raise ValueError(f"unknown message kind {kind!r}; expected one of {', '.join(USER_MEDIA_KINDS)}")
