"""One-time codes carried in ``/start`` links (Telegram allows 1–64 of ``A-Za-z0-9_-``)."""

from __future__ import annotations

import hashlib
import re
import secrets

STAFF_PREFIX = "staff-"
_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def new_code(nbytes: int = 12) -> str:
    return secrets.token_urlsafe(nbytes)


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def valid_payload(payload: str) -> bool:
    return bool(_PAYLOAD.match(payload))


def start_link(bot_username: str, payload: str) -> str:
    return f"https://t.me/{bot_username}?start={payload}"
