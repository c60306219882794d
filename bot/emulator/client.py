"""Async client of the emulator's ``/_emu`` control API.

It works from any event loop, thread or process, which is what the terminal sandbox and
benchmarks need; tests use it too so they exercise the same path.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx

__all__ = ["EmulatorClient", "EmulatorClientError"]

JSON = dict[str, Any]


class EmulatorClientError(RuntimeError):
    """The control API rejected a request (bad arguments, unknown chat/message/button)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"emulator answered {status}: {message}")
        self.status = status


class EmulatorClient:
    """Play users and inspect the bot through a running :class:`~bot.emulator.Emulator`.

    Args:
        url: The emulator's root URL (``Emulator.url``), e.g. ``http://127.0.0.1:8081``.
        timeout: Per-request timeout in seconds (``wait_for`` extends it by its own timeout).

    Example::

        async with EmulatorClient(emu.url) as users:
            await users.send_text(42, "/start")
            [reply] = await users.wait_for(42, 1)
    """

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self._timeout = timeout
        self._http = httpx.AsyncClient(base_url=url.rstrip("/") + "/_emu", timeout=timeout)

    async def __aenter__(self) -> EmulatorClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the underlying HTTP connections."""
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._http.request(method, path, **kwargs)
        if response.is_error:
            try:
                message = str(response.json().get("error", response.text))
            except ValueError:
                message = response.text
            raise EmulatorClientError(response.status_code, message)
        return response.json()

    # ------------------------------------------------------------------------------- users

    async def send_text(
        self,
        user_id: int,
        text: str,
        *,
        language_code: str | None = "en",
        first_name: str = "Test",
        chat_id: int | None = None,
        chat_type: str = "private",
        **extra: Any,
    ) -> JSON:
        """Send a text message as a user; returns the queued update.

        ``extra`` is passed through, e.g. ``username``, ``chat_title``, ``reply_to_message_id``.
        """
        body = {
            "user_id": user_id,
            "text": text,
            "language_code": language_code,
            "first_name": first_name,
            "chat_id": chat_id,
            "chat_type": chat_type,
            **extra,
        }
        result: JSON = await self._call("POST", "/updates/message", json=body)
        return result

    async def send_media(
        self,
        user_id: int,
        kind: str,
        *,
        caption: str | None = None,
        language_code: str | None = "en",
        chat_id: int | None = None,
        **extra: Any,
    ) -> JSON:
        """Send a photo/sticker/voice/... message (``kind`` as in the control API) as a user."""
        body = {
            "user_id": user_id,
            "kind": kind,
            "caption": caption,
            "language_code": language_code,
            "chat_id": chat_id,
            **extra,
        }
        result: JSON = await self._call("POST", "/updates/message", json=body)
        return result

    async def edit_last(self, user_id: int, text: str, *, chat_id: int | None = None) -> JSON:
        """Edit the user's latest message in the chat (an ``edited_message`` update)."""
        body = {"user_id": user_id, "text": text, "chat_id": chat_id, "edited": True}
        result: JSON = await self._call("POST", "/updates/message", json=body)
        return result

    async def press(
        self, user_id: int, button: str | int, *, chat_id: int | None = None, message_id: int | None = None
    ) -> JSON:
        """Press an inline button by label or 0-based flattened index on the latest keyboard."""
        body = {"user_id": user_id, "button": button, "chat_id": chat_id, "message_id": message_id}
        result: JSON = await self._call("POST", "/updates/press", json=body)
        return result

    async def callback(self, user_id: int, message_id: int, data: str, *, chat_id: int | None = None) -> JSON:
        """Send a callback query with arbitrary ``data`` for a message."""
        body = {"user_id": user_id, "message_id": message_id, "data": data, "chat_id": chat_id}
        result: JSON = await self._call("POST", "/updates/callback", json=body)
        return result

    async def my_chat_member(
        self,
        user_id: int,
        new_status: str,
        *,
        old_status: str | None = None,
        chat_id: int | None = None,
        chat_type: str | None = None,
        chat_title: str | None = None,
    ) -> JSON:
        """Change the bot's membership (``kicked`` in a private chat = the user blocked the bot)."""
        body = {
            "user_id": user_id,
            "new_status": new_status,
            "old_status": old_status,
            "chat_id": chat_id,
            "chat_type": chat_type,
            "chat_title": chat_title,
        }
        result: JSON = await self._call("POST", "/updates/my_chat_member", json=body)
        return result

    async def raw(self, update: JSON) -> JSON:
        """Queue an arbitrary update (``update_id`` is assigned if missing)."""
        result: JSON = await self._call("POST", "/updates/raw", json={"update": update})
        return result

    # ---------------------------------------------------------------------------- inspection

    async def messages(self, chat_id: int) -> list[JSON]:
        """All messages of a chat in order (user and bot)."""
        data = await self._call("GET", f"/chats/{chat_id}")
        messages: list[JSON] = data["messages"]
        return messages

    async def bot_messages(self, chat_id: int) -> list[JSON]:
        """The bot's messages in a chat, in order."""
        return [m for m in await self.messages(chat_id) if m["from_bot"]]

    # The server does the waiting, so the timeout must be a parameter it receives, not a caller-side
    # asyncio.timeout (hence the ASYNC109 exemptions).
    async def wait_for(self, chat_id: int, count: int, timeout: float = 5.0) -> list[JSON]:  # noqa: ASYNC109
        """Wait until the chat holds at least ``count`` bot messages and return the bot messages.

        Raises:
            TimeoutError: Fewer messages arrived; the message lists what did arrive.
        """
        params = {"count": count, "timeout": timeout, "from_bot": 1}
        data = await self._call("GET", f"/chats/{chat_id}/wait", params=params, timeout=timeout + self._timeout)
        bot_messages = [m for m in data["messages"] if m["from_bot"]]
        if data["timed_out"]:
            arrived = [m.get("text") or m.get("caption") or f"<{m['kind']}>" for m in bot_messages]
            raise TimeoutError(
                f"expected {count} bot message(s) in chat {chat_id} within {timeout}s, "
                f"got {len(bot_messages)}: {arrived!r}"
            )
        return bot_messages

    async def wait_for_edit(
        self,
        chat_id: int,
        message_id: int,
        edits: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> JSON:
        """Wait until a message has been edited at least ``edits`` times and return it.

        Raises:
            TimeoutError: It was not edited often enough in time.
        """
        params = {"message_id": message_id, "edits": edits, "timeout": timeout}
        data = await self._call("GET", f"/chats/{chat_id}/wait", params=params, timeout=timeout + self._timeout)
        message = next((m for m in data["messages"] if m["message_id"] == message_id), None)
        if data["timed_out"] or message is None:
            raise TimeoutError(
                f"message {message_id} in chat {chat_id} was not edited {edits} time(s) within {timeout}s: {message!r}"
            )
        return message

    async def log(self) -> JSON:
        """The call log, per-method counters, 429 count, left chats and callback answers."""
        result: JSON = await self._call("GET", "/log")
        return result

    # ---------------------------------------------------------------------------- control

    async def add_faults(self, *faults: JSON) -> None:
        """Queue faults, e.g. ``{"method": "sendMessage", "kind": "429", "retry_after": 3}``."""
        await self._call("POST", "/faults", json={"faults": list(faults)})

    async def clear_faults(self) -> None:
        """Drop all queued faults."""
        await self._call("DELETE", "/faults")

    async def configure(self, **settings: Any) -> JSON:
        """Set ``rate_limit_per_second``, ``per_chat_per_second``, ``blocked_users``, ``unblocked_users``."""
        result: JSON = await self._call("POST", "/config", json=settings)
        return result

    async def reset(self) -> None:
        """Forget chats, updates, the log and faults (configuration is kept)."""
        await self._call("POST", "/reset")

    async def health(self) -> bool:
        """Whether the emulator answers."""
        data = await self._call("GET", "/health")
        return bool(data.get("ok"))
