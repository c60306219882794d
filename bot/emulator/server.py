"""An in-process Telegram Bot API emulator served over real HTTP.

The real python-telegram-bot ``Application`` talks to it exactly as it talks to
``api.telegram.org`` (``ApplicationBuilder().base_url(emu.base_url)``), so tests exercise PTB's own
request encoding, error mapping, polling loop and webhook handling instead of a mock of them.

Two HTTP surfaces share one state:

* ``/bot{token}/{method}`` and ``/file/bot{token}/{path}``: the Bot API subset a PTB bot uses.
* ``/_emu/...``: a JSON control API for playing the *users* (injecting updates), inspecting what
  the bot did (chats, call log) and injecting faults. :class:`bot.emulator.EmulatorClient` wraps
  it, so tests, the terminal sandbox and benchmarks in other processes drive it the same way.

Everything runs on one event loop and state is only touched from that loop, so no locks are
needed; :meth:`Emulator.start_in_thread` gives the emulator a loop of its own for callers that
cannot share theirs.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import logging
import math
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from bot.emulator._formatting import ParseError, render, utf16_len
from bot.emulator._media import CAPTIONED_KINDS, USER_MEDIA_KINDS, photo_sizes, user_media

__all__ = ["ApiError", "Emulator"]

JSON = dict[str, Any]
Params = dict[str, Any]
MethodHandler = Callable[[Params], Awaitable[Any]]

_log = logging.getLogger(__name__)

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
CHAT_NOT_FOUND = "Bad Request: chat not found"
BLOCKED = "Forbidden: bot was blocked by the user"

# PTB sends every parameter as a form field and JSON-encodes all non-string values (see
# telegram/request/_requestparameter.py: ``json_value``). Strings are sent verbatim, so a text of
# "123" must *not* be decoded into an int. Everything not listed here is JSON-decoded when possible.
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "url",
        "secret_token",
        "ip_address",
        "callback_query_id",
        "inline_message_id",
        "action",
        "emoji",
        "language_code",
        "question",
        "title",
        "performer",
        "description",
        "short_description",
        "name",
        "file_id",
        "photo",
        "document",
        "voice",
        "sticker",
        "video",
        "audio",
        "animation",
        "video_note",
        "thumbnail",
        "phone_number",
        "first_name",
        "last_name",
        "vcard",
        "address",
        "business_connection_id",
        "message_effect_id",
        "game_short_name",
        "custom_emoji_id",
        "payload",
        "currency",
        "provider_token",
        "start_parameter",
        "invite_link",
        "filename",
    }
)
# Telegram only delivers these when explicitly listed in allowed_updates.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_FAULT_KINDS = frozenset({"429", "500", "502", "403", "400", "stall", "reset"})
_FAULT_DEFAULTS = {
    "400": "Bad Request: emulated fault",
    "403": BLOCKED,
    "500": "Internal Server Error",
}
_BAD_GATEWAY_HTML = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
_BUTTON_ACTIONS = frozenset(
    {
        "callback_data",
        "url",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
_CONTENT_KEYS = (
    "text",
    "entities",
    "caption",
    "caption_entities",
    "photo",
    "document",
    "voice",
    "sticker",
    "video",
    "audio",
    "animation",
    "video_note",
    "location",
    "contact",
    "poll",
    "dice",
)
_SENDABLE_MEDIA = ("photo", "document", "voice", "sticker", "video", "audio", "animation", "video_note")
_MEDIA_MIME = {
    "photo": "image/jpeg",
    "voice": "audio/ogg",
    "sticker": "image/webp",
    "video": "video/mp4",
    "audio": "audio/mpeg",
    "animation": "video/mp4",
    "video_note": "video/mp4",
    "document": "application/octet-stream",
}
_MAX_TEXT = 4096
_MAX_CAPTION = 1024
_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{1,64})?(?=\s|$)")
_BOT_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_MEMBER_STATUSES = frozenset({"member", "administrator", "left", "kicked"})


class ApiError(Exception):
    """A Bot API error answer (``ok: false``)."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        """The JSON body Telegram would answer with."""
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


class ControlError(Exception):
    """An error of the ``/_emu`` control API (a caller mistake, not a Bot API answer)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Upload:
    """A file part of a ``multipart/form-data`` request."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class StoredFile:
    """A file known to the emulator, downloadable through ``getFile``."""

    file_id: str
    file_unique_id: str
    file_path: str
    size: int
    data: bytes | None = None
    file_name: str | None = None
    mime_type: str | None = None

    def content(self) -> bytes:
        """The bytes served for a download; synthetic files get a deterministic placeholder."""
        if self.data is not None:
            return self.data
        return f"emulated file {self.file_id}".encode()


@dataclass
class StoredMessage:
    """One message in a chat, from a user or from the bot."""

    message_id: int
    from_bot: bool
    from_id: int | None
    kind: str
    api: JSON
    """The Bot API ``Message`` object, kept current across edits."""
    raw: str | None = None
    """Text or caption exactly as sent, before ``parse_mode`` was applied."""
    reply_markup: JSON | None = None
    """Markup as sent, including reply keyboards (which Telegram never echoes back in a Message)."""
    parse_mode: str | None = None
    edits: int = 0
    deleted: bool = False
    file_name: str | None = None

    def view(self) -> JSON:
        """The control API representation."""
        data: JSON = {
            "message_id": self.message_id,
            "from_bot": self.from_bot,
            "from_id": self.from_id,
            "kind": self.kind,
            "text": self.api.get("text"),
            "caption": self.api.get("caption"),
            "raw": self.raw,
            "parse_mode": self.parse_mode,
            "reply_markup": copy.deepcopy(self.reply_markup),
            "edits": self.edits,
            "deleted": self.deleted,
            "date": self.api["date"],
        }
        if self.file_name is not None:
            data["file_name"] = self.file_name
        if "reply_to_message" in self.api:
            data["reply_to_message_id"] = self.api["reply_to_message"]["message_id"]
        return data


@dataclass
class ChatState:
    """A chat and its full history."""

    chat: JSON
    messages: list[StoredMessage] = field(default_factory=list)
    by_id: dict[int, StoredMessage] = field(default_factory=dict)
    next_message_id: int = 1


@dataclass
class Fault:
    """A queued failure for the next matching Bot API call(s)."""

    method: str
    kind: str
    times: int = 1
    retry_after: int = 1
    seconds: float = 1.0
    description: str | None = None
    chat_id: str | None = None  # only calls for this chat (as the call names it), e.g. one mother's chat

    @classmethod
    def from_json(cls, data: JSON) -> Fault:
        """Validate a fault description from the control API.

        Raises:
            ValueError: Unknown kind or malformed values.
        """
        kind = str(data.get("kind", ""))
        if kind not in _FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {sorted(_FAULT_KINDS)}, got {kind!r}")
        times = int(data.get("times", 1))
        if times < 1:
            raise ValueError("fault times must be >= 1")
        description = data.get("description")
        return cls(
            method=str(data.get("method", "*")),
            kind=kind,
            times=times,
            retry_after=int(data.get("retry_after", 1)),
            seconds=float(data.get("seconds", 1.0)),
            description=None if description is None else str(description),
            chat_id=None if data.get("chat_id") is None else str(data["chat_id"]),
        )

    def matches(self, method: str, chat_id: object = None) -> bool:
        """Whether this fault applies to a call of ``method`` (canonical name) for ``chat_id``."""
        if self.chat_id is not None and str(chat_id) != self.chat_id:
            return False
        if self.method == "*":
            # The poller calls getUpdates continuously in the background; letting a wildcard hit it
            # would make which call fails a race. Fault getUpdates by naming it explicitly.
            return method != "getUpdates"
        return self.method.lower() == method.lower()


class _SlidingWindow:
    """Admits at most ``rate`` events per second, measured over a sliding window."""

    def __init__(self) -> None:
        self._times: deque[float] = deque()

    def wait_time(self, rate: float, now: float) -> int | None:
        """Seconds to wait before another event is allowed (Telegram's retry_after), or ``None``."""
        # A rate below 1/s is modelled as one event per 1/rate seconds.
        capacity = max(1, math.floor(rate))
        span = capacity / rate
        while self._times and now - self._times[0] >= span:
            self._times.popleft()
        if len(self._times) >= capacity:
            return max(1, math.ceil(span - (now - self._times[0])))
        return None

    def record(self, now: float) -> None:
        """Count an admitted event."""
        self._times.append(now)


def _decode_param(key: str, value: Any) -> Any:
    if not isinstance(value, str) or key in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # e.g. chat_id="@channelusername"


def _is_flood_limited(method: str) -> bool:
    # Telegram's flood control counts messages sent or edited, not chat actions or reads.
    return method != "sendChatAction" and method.startswith(("send", "copy", "forward", "edit"))


def _update_type(update: JSON) -> str:
    return next((key for key in update if key != "update_id"), "")


def _as_int(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise ApiError(400, f"Bad Request: invalid {what} specified")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Bad Request: invalid {what} specified") from None


def _req_int(p: Params, key: str) -> int:
    if p.get(key) in (None, ""):
        raise ApiError(400, f"Bad Request: {key} is empty")
    return _as_int(p[key], key)


def _check_markup(markup: Any) -> JSON | None:
    """Validate ``reply_markup`` the way Telegram rejects common mistakes."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError(400, "Bad Request: can't parse inline keyboard button: InlineKeyboardButton must be an Object")
    for button in itertools.chain.from_iterable(rows):
        if not isinstance(button, dict) or not button.get("text"):
            raise ApiError(400, "Bad Request: can't parse inline keyboard button: Text buttons are unallowed")
        if not _BUTTON_ACTIONS.intersection(button):
            raise ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
        if "callback_data" in button:
            data = str(button["callback_data"]).encode()
            if not 1 <= len(data) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    return markup


def _inline_only(markup: JSON | None) -> JSON | None:
    # A sent Message only ever carries inline keyboards; reply keyboards are not echoed back.
    return markup if markup is not None and "inline_keyboard" in markup else None


def _command_entities(text: str) -> list[JSON]:
    match = _COMMAND_RE.match(text)
    if match is None:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group())}]


class Emulator:
    """A Telegram Bot API emulator serving real HTTP.

    Args:
        token: The only token accepted; others get ``401 Unauthorized``.
        bot_id: The bot's user id (Telegram tokens start with it).
        bot_username: Returned by getMe; matters for ``/cmd@username`` commands.
        host: Interface to listen on.
        port: TCP port; 0 picks a free one.
        rate_limit_per_second: Global flood limit for sending/editing methods, ``None`` for none.

    Attributes:
        per_chat_per_second: Optional per-chat flood limit (settable via the control API).
        webhook_max_attempts: Delivery attempts per update before it is dropped.
        webhook_retry_delay: First delay between webhook attempts; doubles each attempt.
    """

    def __init__(
        self,
        *,
        token: str = "123456:TEST-TOKEN",
        bot_id: int = 123456,
        bot_username: str = "DodamBot",
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit_per_second: float | None = None,
    ) -> None:
        self.token = token
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.bot_first_name = "Dodam"
        self.host = host
        self.port = port
        self.rate_limit_per_second = rate_limit_per_second
        self.per_chat_per_second: float | None = None
        self.webhook_max_attempts = 3
        self.webhook_retry_delay = 0.05

        self._runner: web.AppRunner | None = None
        self._bound_port: int | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._thread_loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        # Re-created in start(): asyncio primitives bind to the loop that first uses them.
        self._updates_cond = asyncio.Condition()
        self._messages_cond = asyncio.Condition()
        self._closing_event = asyncio.Event()

        self._blocked: set[int] = set()
        self._webhook: JSON | None = None
        self._allowed_updates: frozenset[str] | None = None
        # Never reset: a running bot remembers its offset, so ids must keep increasing or it would
        # silently "confirm" (skip) every update injected after a reset.
        self._next_update_id = 1
        self._poll_generation = 0
        self._handlers = self._method_table()
        self._reset_state()

    # ----------------------------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:8081``."""
        if self._bound_port is None:
            raise RuntimeError("Emulator is not started")
        # A wildcard bind address is not something clients can connect to; loopback always works.
        host = "127.0.0.1" if self.host in ("", "0.0.0.0", "::") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self._bound_port}"

    @property
    def base_url(self) -> str:
        """What ``ApplicationBuilder.base_url`` wants (PTB appends the token)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """What ``ApplicationBuilder.base_file_url`` wants."""
        return f"{self.url}/file/bot"

    async def start(self) -> None:
        """Start serving on the running event loop."""
        if self._runner is not None:
            raise RuntimeError("Emulator already started")
        self._closing = False
        self._updates_cond = asyncio.Condition()
        self._messages_cond = asyncio.Condition()
        self._closing_event = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024, middlewares=[self._control_errors])
        self._add_routes(app)
        # A short shutdown timeout: parked long polls are woken on stop, nothing else runs long.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._bound_port = int(runner.addresses[0][1])
        self._runner = runner
        self._webhook_task = asyncio.create_task(self._webhook_loop(), name="emulator-webhook")
        _log.info("Telegram Bot API emulator listening on %s", self.url)

    async def stop(self) -> None:
        """Stop serving; pending long polls return immediately."""
        if self._runner is None:
            return
        self._closing = True
        self._closing_event.set()
        await self._notify()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        await self._runner.cleanup()
        self._runner = None
        self._bound_port = None

    def start_in_thread(self) -> None:
        """Run the emulator on its own event loop in a daemon thread; returns once listening."""
        if self._thread is not None:
            raise RuntimeError("Emulator thread already running")
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        thread = threading.Thread(target=run, name="telegram-emulator", daemon=True)
        thread.start()
        ready.wait(10)
        if failure:
            thread.join()
            raise failure[0]
        self._thread, self._thread_loop = thread, loop

    def stop_thread(self) -> None:
        """Stop an emulator started with :meth:`start_in_thread`."""
        thread, loop = self._thread, self._thread_loop
        if thread is None or loop is None:
            return
        asyncio.run_coroutine_threadsafe(self.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._thread = self._thread_loop = None

    # ------------------------------------------------------------------------- in-process accessors

    def messages(self, chat_id: int) -> list[JSON]:
        """Snapshot of a chat's messages (same shape as ``GET /_emu/chats/{id}``).

        Only call this from the emulator's loop; other threads and processes use the control API.
        """
        chat = self._chats.get(chat_id)
        return [m.view() for m in chat.messages] if chat else []

    def log(self) -> JSON:
        """Snapshot of the call log (same shape as ``GET /_emu/log``)."""
        return {
            "calls": [dict(c) for c in self._calls],
            "counters": dict(self._counters),
            "rate_limited": self._rate_limited,
            "left_chats": list(self._left_chats),
            "callback_answers": [dict(a) for a in self._callback_answers],
            "webhook": {
                "url": self._webhook["url"] if self._webhook else "",
                "delivered": self._webhook_delivered,
                "failed": self._webhook_failed,
                "last_error_message": self._webhook_last_error[1] if self._webhook_last_error else None,
            },
        }

    def add_faults(self, *faults: JSON) -> None:
        """Queue faults (see :class:`Fault` for the fields)."""
        self._faults.extend(Fault.from_json(f) for f in faults)

    def clear_faults(self) -> None:
        """Drop all queued faults."""
        self._faults.clear()

    # ---------------------------------------------------------------------------------- internals

    def _reset_state(self) -> None:
        self._chats: dict[int, ChatState] = {}
        self._users: dict[int, JSON] = {}
        self._updates: list[JSON] = []
        self._calls: list[JSON] = []
        self._call_seq = 0
        self._counters: Counter[str] = Counter()
        self._rate_limited = 0
        self._left_chats: list[int] = []
        self._absent_chats: dict[int, str] = {}
        self._callback_answers: list[JSON] = []
        self._callbacks: dict[str, JSON] = {}
        self._faults: list[Fault] = []
        self._global_window = _SlidingWindow()
        self._chat_windows: dict[str, _SlidingWindow] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._menu_buttons: dict[int | None, JSON] = {}
        self._bot_texts: dict[tuple[str, str], str] = {}
        self._seq = 0
        self._webhook_delivered = 0
        self._webhook_failed = 0
        self._webhook_last_error: tuple[int, str] | None = None

    async def _notify(self) -> None:
        """Wake everything waiting for state changes (long polls, webhook sender, chat waits)."""
        for cond in (self._updates_cond, self._messages_cond):
            async with cond:
                cond.notify_all()

    async def _sleep(self, seconds: float) -> None:
        """Sleep that ends early when the emulator stops."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing_event.wait(), seconds)

    def _bot_user(self) -> JSON:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _store_file(
        self, kind: str, file_name: str | None, size: int, data: bytes | None = None, mime: str | None = None
    ) -> StoredFile:
        n = self._next_seq()
        ext = (file_name or "").rpartition(".")[2] if file_name and "." in file_name else "bin"
        stored = StoredFile(
            file_id=f"EMU-{kind}-{n:06d}",
            file_unique_id=f"EMUU{n:06d}",
            file_path=f"{kind}s/file_{n}.{ext}",
            size=size,
            data=data,
            file_name=file_name,
            mime_type=mime,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _new_file(self, kind: str, file_name: str, size: int) -> tuple[str, str]:
        stored = self._store_file(kind, file_name, size)
        return stored.file_id, stored.file_unique_id

    def _enqueue(self, update: JSON) -> JSON:
        """Queue an update (deep-copied, so later edits don't rewrite history) and return it."""
        update = copy.deepcopy(update)
        if "update_id" not in update:
            update = {"update_id": self._next_update_id, **update}
        self._next_update_id = max(self._next_update_id, int(update["update_id"]) + 1)
        self._updates.append(update)
        return update

    def _is_allowed(self, update: JSON) -> bool:
        kind = _update_type(update)
        if self._allowed_updates:
            return kind in self._allowed_updates
        return kind not in _OPT_IN_UPDATES

    def _deliverable(self) -> list[JSON]:
        # Telegram never generates updates of types the bot did not subscribe to.
        self._updates = [u for u in self._updates if self._is_allowed(u)]
        return self._updates

    # ------------------------------------------------------------------------------ HTTP plumbing

    def _add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_route("*", "/bot{token}/{method}", self._handle_api)
        r.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        r.add_get("/_emu/health", self._ctl_health)
        r.add_post("/_emu/updates/message", self._ctl_message)
        r.add_post("/_emu/updates/callback", self._ctl_callback)
        r.add_post("/_emu/updates/press", self._ctl_press)
        r.add_post("/_emu/updates/my_chat_member", self._ctl_my_chat_member)
        r.add_post("/_emu/updates/raw", self._ctl_raw)
        r.add_get("/_emu/chats/{chat_id}", self._ctl_chat)
        r.add_get("/_emu/chats/{chat_id}/wait", self._ctl_wait)
        r.add_get("/_emu/log", self._ctl_log)
        r.add_post("/_emu/faults", self._ctl_add_faults)
        r.add_delete("/_emu/faults", self._ctl_clear_faults)
        r.add_post("/_emu/config", self._ctl_config)
        r.add_post("/_emu/reset", self._ctl_reset)

    @web.middleware
    async def _control_errors(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if not request.path.startswith("/_emu/"):
            return await handler(request)
        try:
            return await handler(request)
        except ControlError as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=exc.status)
        except ApiError as exc:
            return web.json_response({"ok": False, "error": exc.description}, status=exc.code)
        except (ValueError, TypeError, KeyError) as exc:
            return web.json_response({"ok": False, "error": f"bad request: {exc!r}"}, status=400)

    @staticmethod
    async def _read_params(request: web.Request) -> Params:
        raw: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.body_exists:
            ctype = request.content_type
            if ctype == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise ApiError(400, "Bad Request: can't parse JSON encoded request parameters") from None
                if not isinstance(body, dict):
                    raise ApiError(400, "Bad Request: request parameters must be a JSON object")
                raw.update(body)
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        raw[key] = Upload(value.filename, value.content_type, value.file.read())
                    else:
                        raw[key] = value
        return {key: _decode_param(key, value) for key, value in raw.items()}

    def _take_fault(self, method: str, chat_id: object = None) -> Fault | None:
        for index, fault in enumerate(self._faults):
            if fault.matches(method, chat_id):
                fault.times -= 1
                if fault.times <= 0:
                    del self._faults[index]
                return fault
        return None

    def _check_rate(self, method: str, params: Params) -> None:
        if not _is_flood_limited(method):
            return
        now = time.monotonic()
        checks: list[tuple[_SlidingWindow, float]] = []
        if self.per_chat_per_second:
            window = self._chat_windows.setdefault(str(params.get("chat_id")), _SlidingWindow())
            checks.append((window, self.per_chat_per_second))
        if self.rate_limit_per_second:
            checks.append((self._global_window, self.rate_limit_per_second))
        for window, rate in checks:
            wait = window.wait_time(rate, now)
            if wait is not None:
                # Rejected calls are not charged to any window, as with Telegram's flood control.
                raise ApiError(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})
        for window, _ in checks:
            window.record(now)

    def _record_call(self, method: str, params: Params, status: int, result: Any, error: str | None) -> None:
        self._call_seq += 1
        message_id = params.get("message_id")
        if message_id is None and isinstance(result, dict):
            message_id = result.get("message_id")
        self._calls.append(
            {
                "seq": self._call_seq,
                "method": method,
                "chat_id": params.get("chat_id"),
                "message_id": message_id,
                "time": time.time(),
                "status": status,
                "error": error,
            }
        )
        if status == 429:
            self._rate_limited += 1

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        entry = self._handlers.get(request.match_info["method"].lower())
        if entry is None:
            return web.json_response(ApiError(404, "Not Found").body(), status=404)
        method, handler = entry
        try:
            params = await self._read_params(request)
        except ApiError as exc:
            self._record_call(method, {}, exc.code, None, exc.description)
            return web.json_response(exc.body(), status=exc.code)
        self._counters[method] += 1

        fault = self._take_fault(method, params.get("chat_id"))
        if fault is not None and fault.kind == "stall":
            await self._sleep(fault.seconds)
        elif fault is not None and fault.kind == "reset":
            self._record_call(method, params, 0, None, "connection reset (fault)")
            if request.transport is not None:
                request.transport.abort()
            # Never delivered: aiohttp quietly drops a response whose connection is gone (raising
            # here instead would log a traceback for an intended fault).
            return web.Response(status=500)
        elif fault is not None:
            return self._fault_response(method, params, fault)

        try:
            self._check_rate(method, params)
            result = await handler(params)
        except ApiError as exc:
            self._record_call(method, params, exc.code, None, exc.description)
            await self._notify()
            return web.json_response(exc.body(), status=exc.code)
        self._record_call(method, params, 200, result, None)
        response = web.json_response({"ok": True, "result": result})
        await self._notify()
        return response

    def _fault_response(self, method: str, params: Params, fault: Fault) -> web.Response:
        code = int(fault.kind)
        if code == 502:
            self._record_call(method, params, 502, None, "Bad Gateway (fault)")
            return web.Response(status=502, text=_BAD_GATEWAY_HTML, content_type="text/html")
        if code == 429:
            error = ApiError(
                429,
                fault.description or f"Too Many Requests: retry after {fault.retry_after}",
                {"retry_after": fault.retry_after},
            )
        else:
            error = ApiError(code, fault.description or _FAULT_DEFAULTS[fault.kind])
        self._record_call(method, params, code, None, error.description)
        return web.json_response(error.body(), status=code)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        stored = self._files_by_path.get(request.match_info["path"])
        if stored is None:
            return web.json_response(ApiError(404, "Not Found").body(), status=404)
        return web.Response(body=stored.content(), content_type=stored.mime_type or "application/octet-stream")

    # ------------------------------------------------------------------------------ chat helpers

    def _resolve_chat(self, ref: Any) -> ChatState:
        if isinstance(ref, str) and ref.startswith("@"):
            for candidate in self._chats.values():
                if candidate.chat.get("username", "").lower() == ref[1:].lower():
                    return candidate
            raise ApiError(400, CHAT_NOT_FOUND)
        if isinstance(ref, bool) or not isinstance(ref, int):
            raise ApiError(400, CHAT_NOT_FOUND)
        chat = self._chats.get(ref)
        if chat is None:
            raise ApiError(400, CHAT_NOT_FOUND)
        return chat

    def _target_chat(self, p: Params, key: str = "chat_id") -> ChatState:
        """The chat a sending/editing call addresses, checked for blocks and membership."""
        if p.get(key) in (None, ""):
            raise ApiError(400, f"Bad Request: {key} is empty")
        chat = self._resolve_chat(p[key])
        chat_id = chat.chat["id"]
        if chat.chat["type"] == "private" and chat_id in self._blocked:
            raise ApiError(403, BLOCKED)
        if chat_id in self._absent_chats:
            raise ApiError(403, self._absent_chats[chat_id])
        return chat

    def _add_message(
        self,
        chat: ChatState,
        *,
        from_bot: bool,
        sender: JSON | None,
        kind: str,
        content: JSON,
        raw: str | None = None,
        markup: JSON | None = None,
        parse_mode: str | None = None,
        file_name: str | None = None,
        reply_to: StoredMessage | None = None,
    ) -> StoredMessage:
        message_id = chat.next_message_id
        chat.next_message_id += 1
        api: JSON = {"message_id": message_id, "date": int(time.time()), "chat": dict(chat.chat)}
        if chat.chat["type"] == "channel":
            # Channel posts are signed by the channel itself, not by a user.
            api["sender_chat"] = dict(chat.chat)
        elif sender is not None:
            api["from"] = sender
        if reply_to is not None:
            replied = {k: v for k, v in reply_to.api.items() if k != "reply_to_message"}
            api["reply_to_message"] = copy.deepcopy(replied)
        api.update(content)
        inline = _inline_only(markup)
        if inline is not None:
            api["reply_markup"] = inline
        message = StoredMessage(
            message_id=message_id,
            from_bot=from_bot,
            from_id=self.bot_id if from_bot else (sender or {}).get("id"),
            kind=kind,
            api=api,
            raw=raw,
            reply_markup=markup,
            parse_mode=parse_mode,
            file_name=file_name,
        )
        chat.messages.append(message)
        chat.by_id[message_id] = message
        return message

    def _formatted(self, p: Params, key: str, *, limit: int, required: bool) -> tuple[str, list[JSON]]:
        """Text or caption after ``parse_mode``/explicit entities, validated like Telegram."""
        value = p.get(key)
        raw = "" if value is None else str(value)
        entities_key = "entities" if key == "text" else "caption_entities"
        explicit = p.get(entities_key)
        if isinstance(explicit, list):
            plain, entities = raw, explicit
        else:
            try:
                plain, entities = render(raw, p.get("parse_mode"))
            except ParseError as exc:
                raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
        if required and not plain.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(plain) > limit:
            what = "message" if key == "text" else "message caption"
            raise ApiError(400, f"Bad Request: {what} is too long")
        return plain, entities

    def _reply_target(self, chat: ChatState, p: Params) -> StoredMessage | None:
        params = p.get("reply_parameters")
        allow_missing = bool(p.get("allow_sending_without_reply", False))
        message_id: Any = None
        if isinstance(params, dict):
            message_id = params.get("message_id")
            allow_missing = bool(params.get("allow_sending_without_reply", False))
        elif p.get("reply_to_message_id") is not None:
            message_id = p["reply_to_message_id"]
        if message_id is None:
            return None
        target = chat.by_id.get(_as_int(message_id, "reply message identifier"))
        if target is None or target.deleted:
            if allow_missing:
                return None
            raise ApiError(400, "Bad Request: message to be replied not found")
        return target

    def _file_from_param(self, kind: str, value: Any) -> StoredFile:
        if isinstance(value, Upload):
            # Telegram re-encodes media, so only documents keep the uploader's MIME type.
            mime = (value.content_type or _MEDIA_MIME[kind]) if kind == "document" else _MEDIA_MIME[kind]
            return self._store_file(kind, value.filename, len(value.data), value.data, mime)
        if isinstance(value, str) and value:
            known = self._files.get(value)
            if known is not None:
                return known
            # A URL or a file_id from elsewhere: accepted as an (empty) file, never fetched.
            name = value.rstrip("/").rpartition("/")[2] or kind
            return self._store_file(kind, name, 0, None, _MEDIA_MIME[kind])
        raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    # ------------------------------------------------------------------------ Bot API methods

    def _method_table(self) -> dict[str, tuple[str, MethodHandler]]:
        handlers: dict[str, MethodHandler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "copyMessage": self._copy_message,
            "forwardMessage": self._forward_message,
            "leaveChat": self._leave_chat,
            "getChat": self._get_chat,
            "getFile": self._get_file,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "close": self._true,
            "logOut": self._true,
        }
        for kind in _SENDABLE_MEDIA:
            name = "send" + "".join(part.title() for part in kind.split("_"))
            handlers[name] = self._media_sender(kind)
        for field_name in ("name", "description", "short_description"):
            camel = "".join(part.title() for part in field_name.split("_"))
            handlers[f"setMy{camel}"] = self._bot_text_setter(field_name)
            handlers[f"getMy{camel}"] = self._bot_text_getter(field_name)
        return {name.lower(): (name, handler) for name, handler in handlers.items()}

    async def _true(self, p: Params) -> bool:
        return True

    async def _get_me(self, p: Params) -> JSON:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, p: Params) -> list[JSON]:
        if self._webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _as_int(p["offset"], "offset") if p.get("offset") is not None else 0
        limit = min(100, max(1, _as_int(p.get("limit") or 100, "limit")))
        timeout = max(0.0, float(p.get("timeout") or 0))
        if p.get("allowed_updates") is not None:
            allowed = p["allowed_updates"]
            self._allowed_updates = frozenset(allowed) if isinstance(allowed, list) and allowed else None
        # Telegram forgets every update below a positive offset; a negative offset keeps the last N.
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        self._poll_generation += 1
        generation = self._poll_generation

        def ready() -> bool:
            return (
                self._closing
                or self._webhook is not None
                or generation != self._poll_generation
                or bool(self._deliverable())
            )

        if timeout > 0 and not ready():
            async with self._updates_cond:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._updates_cond.wait_for(ready)
        if generation != self._poll_generation:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
            )
        if self._webhook is not None:
            raise ApiError(409, "Conflict: terminated by setWebhook request")
        return copy.deepcopy(self._deliverable()[:limit])

    async def _set_webhook(self, p: Params) -> bool:
        url = str(p.get("url") or "")
        if not url:
            # Telegram treats an empty url as removing the webhook.
            return await self._delete_webhook(p)
        if not url.startswith(("http://", "https://")):
            raise ApiError(400, "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        secret = p.get("secret_token")
        if secret is not None and not _SECRET_RE.fullmatch(str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if p.get("drop_pending_updates"):
            self._updates.clear()
        if p.get("allowed_updates") is not None:
            allowed = p["allowed_updates"]
            self._allowed_updates = frozenset(allowed) if isinstance(allowed, list) and allowed else None
        self._webhook = {
            "url": url,
            "secret_token": None if secret is None else str(secret),
            "max_connections": int(p.get("max_connections") or 40),
        }
        return True

    async def _delete_webhook(self, p: Params) -> bool:
        if p.get("drop_pending_updates"):
            self._updates.clear()
        self._webhook = None
        return True

    async def _get_webhook_info(self, p: Params) -> JSON:
        info: JSON = {
            "url": self._webhook["url"] if self._webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._deliverable()),
        }
        if self._webhook:
            info["max_connections"] = self._webhook["max_connections"]
            if self._allowed_updates:
                info["allowed_updates"] = sorted(self._allowed_updates)
            if self._webhook_last_error:
                info["last_error_date"], info["last_error_message"] = self._webhook_last_error
        return info

    async def _send_message(self, p: Params) -> JSON:
        chat = self._target_chat(p)
        text, entities = self._formatted(p, "text", limit=_MAX_TEXT, required=True)
        markup = _check_markup(p.get("reply_markup"))
        reply_to = self._reply_target(chat, p)
        content: JSON = {"text": text}
        if entities:
            content["entities"] = entities
        message = self._add_message(
            chat,
            from_bot=True,
            sender=self._bot_user(),
            kind="text",
            content=content,
            raw=str(p["text"]),
            markup=markup,
            parse_mode=p.get("parse_mode"),
            reply_to=reply_to,
        )
        return copy.deepcopy(message.api)

    def _media_sender(self, kind: str) -> MethodHandler:
        async def send(p: Params) -> JSON:
            return await self._send_media(kind, p)

        return send

    def _media_object(self, kind: str, stored: StoredFile, p: Params) -> JSON:
        base: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
        }
        duration = int(p.get("duration") or 1)
        if kind == "photo":
            return {"photo": photo_sizes(self._new_file, largest=(stored.file_id, stored.file_unique_id))}
        if kind == "sticker":
            sticker = {**base, "type": "regular", "width": 512, "height": 512, "is_animated": False}
            sticker["is_video"] = False
            if p.get("emoji"):
                sticker["emoji"] = p["emoji"]
            return {"sticker": sticker}
        named = {**base, "file_name": stored.file_name, "mime_type": stored.mime_type}
        if kind == "document":
            return {"document": named}
        if kind == "voice":
            return {"voice": {**base, "duration": duration, "mime_type": stored.mime_type}}
        if kind == "video":
            size = {"width": int(p.get("width") or 640), "height": int(p.get("height") or 360)}
            return {"video": {**named, **size, "duration": duration}}
        if kind == "audio":
            extra = {k: p[k] for k in ("title", "performer") if p.get(k)}
            return {"audio": {**named, "duration": duration, **extra}}
        if kind == "animation":
            size = {"width": int(p.get("width") or 320), "height": int(p.get("height") or 240)}
            return {"animation": {**named, **size, "duration": duration}, "document": named}
        return {"video_note": {**base, "length": int(p.get("length") or 240), "duration": duration}}

    async def _send_media(self, kind: str, p: Params) -> JSON:
        chat = self._target_chat(p)
        if p.get(kind) in (None, ""):
            raise ApiError(400, f"Bad Request: there is no {kind} in the request")
        stored = self._file_from_param(kind, p[kind])
        content = self._media_object(kind, stored, p)
        raw = None
        if kind in CAPTIONED_KINDS and p.get("caption") is not None:
            caption, entities = self._formatted(p, "caption", limit=_MAX_CAPTION, required=False)
            raw = str(p["caption"])
            if caption:
                content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        markup = _check_markup(p.get("reply_markup"))
        reply_to = self._reply_target(chat, p)
        message = self._add_message(
            chat,
            from_bot=True,
            sender=self._bot_user(),
            kind=kind,
            content=content,
            raw=raw,
            markup=markup,
            parse_mode=p.get("parse_mode"),
            file_name=stored.file_name,
            reply_to=reply_to,
        )
        return copy.deepcopy(message.api)

    def _editable(self, p: Params) -> StoredMessage:
        if p.get("inline_message_id"):
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        chat = self._target_chat(p)
        message = chat.by_id.get(_req_int(p, "message_id"))
        if message is None or message.deleted:
            raise ApiError(400, "Bad Request: message to edit not found")
        if not message.from_bot:
            raise ApiError(400, "Bad Request: message can't be edited")
        return message

    @staticmethod
    def _apply_edit(message: StoredMessage, fields: JSON, markup: JSON | None) -> JSON:
        """Replace content fields (a ``None`` value removes the field) and the inline keyboard."""
        for key, value in fields.items():
            if value is None:
                message.api.pop(key, None)
            else:
                message.api[key] = value
        if markup is None:
            # Telegram drops the inline keyboard when an edit does not repeat it.
            message.api.pop("reply_markup", None)
        else:
            message.api["reply_markup"] = markup
        message.reply_markup = markup
        message.api["edit_date"] = int(time.time())
        message.edits += 1
        return copy.deepcopy(message.api)

    @staticmethod
    def _edit_markup(p: Params) -> JSON | None:
        markup = _check_markup(p.get("reply_markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise ApiError(400, "Bad Request: inline keyboard expected")
        return markup

    async def _edit_message_text(self, p: Params) -> JSON:
        message = self._editable(p)
        text, entities = self._formatted(p, "text", limit=_MAX_TEXT, required=True)
        markup = self._edit_markup(p)
        if message.kind != "text":
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        current = (message.api.get("text"), message.api.get("entities", []), message.api.get("reply_markup"))
        if current == (text, entities, markup):
            raise ApiError(400, NOT_MODIFIED)
        message.raw, message.parse_mode = str(p["text"]), p.get("parse_mode")
        return self._apply_edit(message, {"text": text, "entities": entities or None}, markup)

    async def _edit_message_caption(self, p: Params) -> JSON:
        message = self._editable(p)
        caption, entities = self._formatted(p, "caption", limit=_MAX_CAPTION, required=False)
        markup = self._edit_markup(p)
        if message.kind not in CAPTIONED_KINDS:
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        current = (
            message.api.get("caption", ""),
            message.api.get("caption_entities", []),
            message.api.get("reply_markup"),
        )
        if current == (caption, entities, markup):
            raise ApiError(400, NOT_MODIFIED)
        message.raw, message.parse_mode = p.get("caption"), p.get("parse_mode")
        fields = {"caption": caption or None, "caption_entities": entities or None}
        return self._apply_edit(message, fields, markup)

    async def _edit_message_reply_markup(self, p: Params) -> JSON:
        message = self._editable(p)
        markup = self._edit_markup(p)
        if message.api.get("reply_markup") == markup:
            raise ApiError(400, NOT_MODIFIED)
        return self._apply_edit(message, {}, markup)

    async def _delete_message(self, p: Params) -> bool:
        chat = self._resolve_chat(p.get("chat_id"))
        message = chat.by_id.get(_req_int(p, "message_id"))
        if message is None or message.deleted:
            raise ApiError(400, "Bad Request: message to delete not found")
        message.deleted = True
        return True

    async def _delete_messages(self, p: Params) -> bool:
        chat = self._resolve_chat(p.get("chat_id"))
        ids = p.get("message_ids")
        if not isinstance(ids, list) or not ids:
            raise ApiError(400, "Bad Request: message_ids is empty")
        for message_id in ids:
            message = chat.by_id.get(_as_int(message_id, "message identifier"))
            if message is not None:
                message.deleted = True
        return True

    async def _answer_callback_query(self, p: Params) -> bool:
        query_id = str(p.get("callback_query_id") or "")
        query = self._callbacks.get(query_id)
        if query is None or query["answered"]:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        query["answered"] = True
        self._callback_answers.append(
            {
                "callback_query_id": query_id,
                "data": query["data"],
                "chat_id": query["chat_id"],
                "message_id": query["message_id"],
                "text": p.get("text"),
                "show_alert": bool(p.get("show_alert", False)),
                "url": p.get("url"),
                "cache_time": p.get("cache_time"),
                "time": time.time(),
            }
        )
        return True

    async def _send_chat_action(self, p: Params) -> bool:
        self._target_chat(p)
        if not p.get("action"):
            raise ApiError(400, "Bad Request: action is empty")
        return True

    def _source_message(self, p: Params, verb: str) -> StoredMessage:
        source_chat = self._resolve_chat(p.get("from_chat_id"))
        source = source_chat.by_id.get(_req_int(p, "message_id"))
        if source is None or source.deleted:
            raise ApiError(400, f"Bad Request: message to {verb} not found")
        return source

    async def _copy_message(self, p: Params) -> JSON:
        chat = self._target_chat(p)
        source = self._source_message(p, "copy")
        content = {k: copy.deepcopy(source.api[k]) for k in _CONTENT_KEYS if k in source.api}
        raw = source.raw
        if p.get("caption") is not None and source.kind in CAPTIONED_KINDS:
            caption, entities = self._formatted(p, "caption", limit=_MAX_CAPTION, required=False)
            content.pop("caption_entities", None)
            content["caption"], raw = caption, str(p["caption"])
            if entities:
                content["caption_entities"] = entities
        markup = _check_markup(p.get("reply_markup"))
        message = self._add_message(
            chat,
            from_bot=True,
            sender=self._bot_user(),
            kind=source.kind,
            content=content,
            raw=raw,
            markup=markup,
            file_name=source.file_name,
            reply_to=self._reply_target(chat, p),
        )
        return {"message_id": message.message_id}

    async def _forward_message(self, p: Params) -> JSON:
        chat = self._target_chat(p)
        source = self._source_message(p, "forward")
        content = {k: copy.deepcopy(source.api[k]) for k in _CONTENT_KEYS if k in source.api}
        origin: JSON
        if "from" in source.api:
            origin = {"type": "user", "date": source.api["date"], "sender_user": source.api["from"]}
        else:
            origin = {
                "type": "channel",
                "date": source.api["date"],
                "chat": source.api["chat"],
                "message_id": source.message_id,
            }
        content["forward_origin"] = origin
        message = self._add_message(
            chat,
            from_bot=True,
            sender=self._bot_user(),
            kind=source.kind,
            content=content,
            raw=source.raw,
            file_name=source.file_name,
        )
        return copy.deepcopy(message.api)

    async def _leave_chat(self, p: Params) -> bool:
        chat = self._resolve_chat(p.get("chat_id"))
        chat_id, chat_type = chat.chat["id"], chat.chat["type"]
        if chat_type == "private":
            raise ApiError(400, "Bad Request: chat member status can't be changed in private chats")
        if chat_id in self._absent_chats:
            raise ApiError(403, self._absent_chats[chat_id])
        self._left_chats.append(chat_id)
        self._absent_chats[chat_id] = f"Forbidden: bot is not a member of the {chat_type} chat"
        return True

    async def _get_chat(self, p: Params) -> JSON:
        chat = self._resolve_chat(p.get("chat_id"))
        return {
            **chat.chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }

    async def _get_file(self, p: Params) -> JSON:
        stored = self._files.get(str(p.get("file_id") or ""))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content()),
            "file_path": stored.file_path,
        }

    @staticmethod
    def _commands_key(p: Params) -> tuple[str, str]:
        scope = p.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(p.get("language_code") or "")

    async def _set_my_commands(self, p: Params) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not _BOT_COMMAND_RE.fullmatch(str(command.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[self._commands_key(p)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def _get_my_commands(self, p: Params) -> list[JSON]:
        return copy.deepcopy(self._commands.get(self._commands_key(p), []))

    async def _delete_my_commands(self, p: Params) -> bool:
        self._commands.pop(self._commands_key(p), None)
        return True

    async def _set_chat_menu_button(self, p: Params) -> bool:
        chat_id = p.get("chat_id")
        if chat_id is not None:
            chat_id = self._resolve_chat(chat_id).chat["id"]
        button = p.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or "type" not in button:
            raise ApiError(400, "Bad Request: can't parse menu button JSON object")
        self._menu_buttons[chat_id] = button
        return True

    async def _get_chat_menu_button(self, p: Params) -> JSON:
        chat_id = p.get("chat_id")
        button = self._menu_buttons.get(chat_id) or self._menu_buttons.get(None)
        return copy.deepcopy(button) if button else {"type": "default"}

    def _bot_text_setter(self, field_name: str) -> MethodHandler:
        async def setter(p: Params) -> bool:
            self._bot_texts[(field_name, str(p.get("language_code") or ""))] = str(p.get(field_name) or "")
            return True

        return setter

    def _bot_text_getter(self, field_name: str) -> MethodHandler:
        async def getter(p: Params) -> JSON:
            value = self._bot_texts.get((field_name, str(p.get("language_code") or "")))
            if value is None:
                value = self._bot_texts.get((field_name, ""), self.bot_first_name if field_name == "name" else "")
            return {field_name: value}

        return getter

    # -------------------------------------------------------------------------- webhook delivery

    async def _webhook_loop(self) -> None:
        """Deliver queued updates to the webhook one at a time, oldest first (Telegram's order)."""
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            while not self._closing:
                async with self._updates_cond:
                    await self._updates_cond.wait_for(
                        lambda: self._closing or (self._webhook is not None and bool(self._deliverable()))
                    )
                webhook = self._webhook
                if self._closing or webhook is None:
                    continue
                update = self._deliverable()[0]
                outcome = await self._deliver(session, webhook, update)
                if outcome is not None:
                    # Delivered, or given up on: either way Telegram forgets the update.
                    self._updates = [u for u in self._updates if u["update_id"] != update["update_id"]]
                    await self._notify()

    async def _deliver(self, session: aiohttp.ClientSession, webhook: JSON, update: JSON) -> bool | None:
        """POST one update with retries. ``None`` means the webhook changed: keep the update."""
        headers = {}
        if webhook["secret_token"]:
            headers["X-Telegram-Bot-Api-Secret-Token"] = webhook["secret_token"]
        for attempt in range(self.webhook_max_attempts):
            if self._closing or self._webhook is not webhook:
                return None
            try:
                async with session.post(webhook["url"], json=update, headers=headers) as response:
                    await response.read()
                    if 200 <= response.status < 300:
                        self._webhook_delivered += 1
                        return True
                    error = f"Wrong response from the webhook: {response.status} {response.reason}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = f"Connection failed: {exc.__class__.__name__}: {exc}"
            self._webhook_last_error = (int(time.time()), error)
            _log.debug("webhook delivery of update %s failed: %s", update["update_id"], error)
            if attempt + 1 < self.webhook_max_attempts:
                await self._sleep(self.webhook_retry_delay * 2**attempt)
        self._webhook_failed += 1
        return False

    # ------------------------------------------------------------------------------ control API

    @staticmethod
    async def _body(request: web.Request) -> JSON:
        if not request.body_exists:
            return {}
        body = await request.json()
        if not isinstance(body, dict):
            raise ControlError(400, "body must be a JSON object")
        return body

    @staticmethod
    def _body_int(body: JSON, key: str) -> int:
        value = body.get(key)
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ControlError(400, f"{key} (int) is required")
        return int(value)

    def _remember_user(self, user_id: int, body: JSON) -> JSON:
        known = self._users.get(user_id, {})
        user: JSON = {
            "id": user_id,
            "is_bot": False,
            "first_name": body.get("first_name") or known.get("first_name"),
        }
        user["first_name"] = user["first_name"] or "Test"
        for key in ("last_name", "username", "language_code"):
            value = body[key] if key in body else known.get(key)
            if value is not None:
                user[key] = value
        self._users[user_id] = user
        return user

    def _ensure_chat(self, chat_id: int, chat_type: str, user: JSON, title: str | None = None) -> ChatState:
        existing = self._chats.get(chat_id)
        if chat_type == "private":
            chat_obj: JSON = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
            for key in ("last_name", "username"):
                if key in user:
                    chat_obj[key] = user[key]
        else:
            if chat_type not in ("group", "supergroup", "channel"):
                raise ControlError(400, f"unknown chat_type {chat_type!r}")
            old_title = existing.chat.get("title") if existing else None
            chat_obj = {
                "id": chat_id,
                "type": chat_type,
                "title": title or old_title or f"Emulated {chat_type}",
            }
        if existing is None:
            existing = self._chats[chat_id] = ChatState(chat=chat_obj)
        else:
            existing.chat = chat_obj
        return existing

    def _chat_for(self, body: JSON, user_id: int) -> tuple[int, str]:
        chat_id = self._body_int(body, "chat_id") if body.get("chat_id") is not None else user_id
        known = self._chats.get(chat_id)
        default_type = known.chat["type"] if known else ("private" if chat_id == user_id else "group")
        chat_type = str(body.get("chat_type") or default_type)
        if chat_type == "private" and chat_id != user_id:
            raise ControlError(400, "a private chat's id must equal the user's id (pass chat_type='group' for a group)")
        return chat_id, chat_type

    def inject_message(self, body: JSON) -> JSON:
        """Create a user message (``POST /_emu/updates/message``) and queue its update.

        Call from the emulator's loop only; waiters are woken by the HTTP handler.
        """
        user_id = self._body_int(body, "user_id")
        chat_id, chat_type = self._chat_for(body, user_id)
        user = self._remember_user(user_id, body)
        chat = self._ensure_chat(chat_id, chat_type, user, body.get("chat_title"))
        prefix = "channel_post" if chat_type == "channel" else "message"
        if body.get("edited"):
            return self._edit_user_message(chat, user, body, f"edited_{prefix}")
        kind = str(body.get("kind") or "text")
        if kind not in USER_MEDIA_KINDS:
            raise ControlError(400, f"unknown kind {kind!r}; expected one of {', '.join(USER_MEDIA_KINDS)}")
        content: JSON = {}
        raw: str | None = None
        if kind == "text":
            text = body.get("text")
            if not isinstance(text, str) or not text:
                raise ControlError(400, "text is required for kind 'text'")
            raw, content["text"] = text, text
            if entities := _command_entities(text):
                content["entities"] = entities
        else:
            content.update(user_media(kind, self._next_seq(), self._new_file, user=user))
            if isinstance(body.get("media"), dict) and isinstance(content.get(kind), dict):
                content[kind].update(body["media"])
            caption = body.get("caption")
            if caption:
                if kind not in CAPTIONED_KINDS:
                    raise ControlError(400, f"a {kind} message has no caption")
                raw, content["caption"] = str(caption), str(caption)
                if entities := _command_entities(str(caption)):
                    content["caption_entities"] = entities
        reply_to = None
        if body.get("reply_to_message_id") is not None:
            reply_to = chat.by_id.get(self._body_int(body, "reply_to_message_id"))
            if reply_to is None:
                raise ControlError(404, "reply_to_message_id not found in the chat")
        message = self._add_message(
            chat, from_bot=False, sender=user, kind=kind, content=content, raw=raw, reply_to=reply_to
        )
        return self._enqueue({prefix: message.api})

    def _edit_user_message(self, chat: ChatState, user: JSON, body: JSON, update_key: str) -> JSON:
        target = next(
            (m for m in reversed(chat.messages) if not m.from_bot and m.from_id == user["id"] and not m.deleted),
            None,
        )
        if target is None:
            raise ControlError(404, "the user has no message in this chat to edit")
        text = body.get("text") if body.get("text") is not None else body.get("caption")
        if not isinstance(text, str) or not text:
            raise ControlError(400, "text (or caption) is required to edit")
        key = "text" if target.kind == "text" else "caption"
        if key == "caption" and target.kind not in CAPTIONED_KINDS:
            raise ControlError(400, f"a {target.kind} message cannot be edited")
        entities = _command_entities(text)
        entities_key = "entities" if key == "text" else "caption_entities"
        target.api[key] = target.raw = text
        if entities:
            target.api[entities_key] = entities
        else:
            target.api.pop(entities_key, None)
        target.api["edit_date"] = int(time.time())
        target.edits += 1
        return self._enqueue({update_key: target.api})

    def _callback_update(self, user: JSON, chat: ChatState, message: StoredMessage, data: str) -> JSON:
        query_id = str(4_000_000_000_000_000_000 + self._next_seq())
        self._callbacks[query_id] = {
            "answered": False,
            "data": data,
            "chat_id": chat.chat["id"],
            "message_id": message.message_id,
        }
        query = {
            "id": query_id,
            "from": user,
            "message": message.api,
            # Telegram's chat_instance is an opaque per-chat id; derive a stable one.
            "chat_instance": str(abs(chat.chat["id"]) * 7_919 + 17),
            "data": data,
        }
        return self._enqueue({"callback_query": query})

    def _message_for_callback(self, body: JSON, user_id: int) -> tuple[ChatState, StoredMessage | None]:
        chat_id, _ = self._chat_for(body, user_id)
        chat = self._chats.get(chat_id)
        if chat is None:
            raise ControlError(404, f"chat {chat_id} has no messages")
        if body.get("message_id") is None:
            return chat, None
        message = chat.by_id.get(self._body_int(body, "message_id"))
        if message is None or message.deleted:
            raise ControlError(404, f"message {body['message_id']} not found in chat {chat_id}")
        return chat, message

    def inject_callback(self, body: JSON) -> JSON:
        """``POST /_emu/updates/callback``: a callback query with arbitrary data."""
        user_id = self._body_int(body, "user_id")
        chat, message = self._message_for_callback(body, user_id)
        if message is None:
            raise ControlError(400, "message_id is required")
        if not isinstance(body.get("data"), str):
            raise ControlError(400, "data (str) is required")
        return self._callback_update(self._remember_user(user_id, {}), chat, message, body["data"])

    def inject_press(self, body: JSON) -> JSON:
        """``POST /_emu/updates/press``: press an inline button by label or flattened index."""
        user_id = self._body_int(body, "user_id")
        chat, message = self._message_for_callback(body, user_id)
        if message is None:
            message = next(
                (m for m in reversed(chat.messages) if m.from_bot and not m.deleted and "reply_markup" in m.api),
                None,
            )
            if message is None:
                raise ControlError(404, f"no bot message with an inline keyboard in chat {chat.chat['id']}")
        buttons = list(itertools.chain.from_iterable(message.api.get("reply_markup", {}).get("inline_keyboard", [])))
        wanted = body.get("button")
        if isinstance(wanted, bool) or not isinstance(wanted, int | str):
            raise ControlError(400, "button must be a label (str) or a 0-based index (int)")
        if isinstance(wanted, int):
            button = buttons[wanted] if 0 <= wanted < len(buttons) else None
        else:
            button = next((b for b in buttons if b.get("text") == wanted), None)
        if button is None:
            labels = [b.get("text") for b in buttons]
            raise ControlError(404, f"button {wanted!r} not found in message {message.message_id}; buttons: {labels}")
        if "callback_data" not in button:
            raise ControlError(400, f"button {wanted!r} has no callback_data (it is not a callback button)")
        return self._callback_update(self._remember_user(user_id, {}), chat, message, str(button["callback_data"]))

    def _chat_member(self, status: str) -> JSON:
        member: JSON = {"status": status, "user": self._bot_user()}
        if status == "administrator":
            rights = (
                "can_manage_chat",
                "can_delete_messages",
                "can_manage_video_chats",
                "can_restrict_members",
                "can_change_info",
                "can_invite_users",
                "can_pin_messages",
            )
            member.update(dict.fromkeys(rights, True))
            member.update(
                can_be_edited=False,
                is_anonymous=False,
                can_promote_members=False,
                can_post_stories=False,
                can_edit_stories=False,
                can_delete_stories=False,
            )
        elif status == "kicked":
            member["until_date"] = 0
        return member

    def inject_my_chat_member(self, body: JSON) -> JSON:
        """``POST /_emu/updates/my_chat_member``: the bot's membership changed.

        In a private chat ``kicked`` means the user blocked the bot (and ``member`` unblocked it);
        in groups ``left``/``kicked`` mean the bot was removed and can no longer post there.
        """
        user_id = self._body_int(body, "user_id")
        chat_id, chat_type = self._chat_for(body, user_id)
        new_status = str(body.get("new_status") or "")
        if new_status not in _MEMBER_STATUSES:
            raise ControlError(400, f"new_status must be one of {sorted(_MEMBER_STATUSES)}")
        joined = new_status in ("member", "administrator")
        old_status = str(body.get("old_status") or ("left" if joined else "member"))
        if old_status not in _MEMBER_STATUSES:
            raise ControlError(400, f"old_status must be one of {sorted(_MEMBER_STATUSES)}")
        user = self._remember_user(user_id, body)
        chat = self._ensure_chat(chat_id, chat_type, user, body.get("chat_title"))
        if chat_type == "private":
            if new_status == "kicked":
                self._blocked.add(user_id)
            elif joined:
                self._blocked.discard(user_id)
        elif joined:
            self._absent_chats.pop(chat_id, None)
        else:
            verb = "was kicked from" if new_status == "kicked" else "is not a member of"
            self._absent_chats[chat_id] = f"Forbidden: bot {verb} the {chat_type} chat"
        update = {
            "my_chat_member": {
                "chat": chat.chat,
                "from": user,
                "date": int(time.time()),
                "old_chat_member": self._chat_member(old_status),
                "new_chat_member": self._chat_member(new_status),
            }
        }
        return self._enqueue(update)

    def inject_raw(self, body: JSON) -> JSON:
        """``POST /_emu/updates/raw``: queue an update as-is; chats and users in it become known."""
        update = body.get("update")
        if not isinstance(update, dict) or not _update_type(update):
            raise ControlError(400, "update (a non-empty object) is required")
        chat_keys = (
            "message",
            "edited_message",
            "channel_post",
            "edited_channel_post",
            "callback_query",
            "my_chat_member",
        )
        for key in chat_keys:
            payload = update.get(key)
            if not isinstance(payload, dict):
                continue
            message = payload.get("message", payload) if key == "callback_query" else payload
            chat = message.get("chat") if isinstance(message, dict) else None
            if isinstance(chat, dict) and isinstance(chat.get("id"), int) and chat["id"] not in self._chats:
                self._chats[chat["id"]] = ChatState(chat=dict(chat))
            sender = payload.get("from")
            if isinstance(sender, dict) and isinstance(sender.get("id"), int):
                self._users.setdefault(sender["id"], dict(sender))
            if key == "callback_query" and "id" in payload:
                self._callbacks[str(payload["id"])] = {
                    "answered": False,
                    "data": payload.get("data"),
                    "chat_id": chat.get("id") if isinstance(chat, dict) else None,
                    "message_id": message.get("message_id") if isinstance(message, dict) else None,
                }
        return self._enqueue(update)

    async def _reply_update(self, update: JSON) -> web.Response:
        await self._notify()
        return web.json_response(update)

    async def _ctl_health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def _ctl_message(self, request: web.Request) -> web.Response:
        return await self._reply_update(self.inject_message(await self._body(request)))

    async def _ctl_callback(self, request: web.Request) -> web.Response:
        return await self._reply_update(self.inject_callback(await self._body(request)))

    async def _ctl_press(self, request: web.Request) -> web.Response:
        return await self._reply_update(self.inject_press(await self._body(request)))

    async def _ctl_my_chat_member(self, request: web.Request) -> web.Response:
        return await self._reply_update(self.inject_my_chat_member(await self._body(request)))

    async def _ctl_raw(self, request: web.Request) -> web.Response:
        return await self._reply_update(self.inject_raw(await self._body(request)))

    @staticmethod
    def _path_chat_id(request: web.Request) -> int:
        try:
            return int(request.match_info["chat_id"])
        except ValueError:
            raise ControlError(400, "chat_id must be an integer") from None

    async def _ctl_chat(self, request: web.Request) -> web.Response:
        chat_id = self._path_chat_id(request)
        chat = self._chats.get(chat_id)
        return web.json_response({"chat": chat.chat if chat else None, "messages": self.messages(chat_id)})

    async def _ctl_wait(self, request: web.Request) -> web.Response:
        chat_id = self._path_chat_id(request)
        query = request.query
        count = int(query.get("count", "1"))
        timeout = float(query.get("timeout", "5"))
        from_bot = query.get("from_bot", "1").lower() not in ("0", "false", "no")
        edits_of = int(query["message_id"]) if "message_id" in query else None
        min_edits = int(query.get("edits", "1"))

        def satisfied() -> bool:
            chat = self._chats.get(chat_id)
            if chat is None:
                return False
            if edits_of is not None:
                message = chat.by_id.get(edits_of)
                return message is not None and message.edits >= min_edits
            return sum(1 for m in chat.messages if m.from_bot or not from_bot) >= count

        if not satisfied():
            async with self._messages_cond:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._messages_cond.wait_for(lambda: self._closing or satisfied())
        return web.json_response({"messages": self.messages(chat_id), "timed_out": not satisfied()})

    async def _ctl_log(self, request: web.Request) -> web.Response:
        return web.json_response(self.log())

    async def _ctl_add_faults(self, request: web.Request) -> web.Response:
        faults = (await self._body(request)).get("faults")
        if not isinstance(faults, list) or not all(isinstance(f, dict) for f in faults):
            raise ControlError(400, "faults must be a list of objects")
        self.add_faults(*faults)
        return web.json_response({"ok": True, "pending": len(self._faults)})

    async def _ctl_clear_faults(self, request: web.Request) -> web.Response:
        self.clear_faults()
        return web.json_response({"ok": True})

    async def _ctl_config(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if "rate_limit_per_second" in body:
            value = body["rate_limit_per_second"]
            self.rate_limit_per_second = None if value is None else float(value)
        if "per_chat_per_second" in body:
            value = body["per_chat_per_second"]
            self.per_chat_per_second = None if value is None else float(value)
        self._blocked.update(int(u) for u in body.get("blocked_users") or [])
        self._blocked.difference_update(int(u) for u in body.get("unblocked_users") or [])
        return web.json_response(
            {
                "ok": True,
                "rate_limit_per_second": self.rate_limit_per_second,
                "per_chat_per_second": self.per_chat_per_second,
                "blocked_users": sorted(self._blocked),
            }
        )

    async def _ctl_reset(self, request: web.Request) -> web.Response:
        self._reset_state()
        await self._notify()
        return web.json_response({"ok": True})
