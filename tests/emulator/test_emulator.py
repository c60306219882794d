"""The Telegram Bot API emulator, exercised by a real python-telegram-bot Application over HTTP."""

from __future__ import annotations

import asyncio
import datetime as dtm
import time
import warnings
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.emulator import Emulator, EmulatorClient
from bot.emulator._formatting import ParseError, render
from bot.emulator.client import EmulatorClientError

# PTB itself reads RetryAfter.retry_after while building the exception, which warns in 22.x.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

USER = 1001
KEYBOARD = InlineKeyboardMarkup(
    [
        [InlineKeyboardButton("Alpha", callback_data="a"), InlineKeyboardButton("Beta", callback_data="b")],
        [InlineKeyboardButton("Gamma", callback_data="c")],
    ]
)


# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    emulator = Emulator()
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


@pytest.fixture
async def users(emu: Emulator) -> AsyncIterator[EmulatorClient]:
    async with EmulatorClient(emu.url) as client:
        yield client


@pytest.fixture
async def bot(emu: Emulator) -> AsyncIterator[Bot]:
    """A bare PTB Bot for API-level checks (no polling)."""
    async with Bot(emu.token, base_url=emu.base_url, base_file_url=emu.base_file_url) as ptb_bot:
        yield ptb_bot


async def _start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(f"start:{' '.join(context.args or [])}", reply_markup=KEYBOARD)


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(f"echo:{update.effective_message.text}")


async def _edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.edited_message is not None
    await context.bot.send_message(update.edited_message.chat_id, f"edited:{update.edited_message.text}")


async def _photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    largest = update.effective_message.photo[-1]
    data = await (await largest.get_file()).download_as_bytearray()
    await update.effective_message.reply_text(f"photo:{update.effective_message.caption}:{len(data)}")


async def _pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer(f"got {query.data}")
    await query.edit_message_text(f"pressed:{query.data}")


@pytest.fixture
async def app(emu: Emulator) -> AsyncIterator[Application]:
    """A polling echo bot built exactly like production builds its Application."""
    application = Application.builder().token(emu.token).base_url(emu.base_url).base_file_url(emu.base_file_url).build()
    application.add_handler(CommandHandler("start", _start))
    application.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE & filters.TEXT, _edited))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _echo))
    application.add_handler(MessageHandler(filters.PHOTO, _photo))
    application.add_handler(CallbackQueryHandler(_pressed))
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=1)
        yield application
        await application.updater.stop()
        await application.stop()


def _retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns about the int -> timedelta transition
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


# ------------------------------------------------------------------------- with a polling bot


async def test_initialize_calls_get_me(emu: Emulator, app: Application, users: EmulatorClient) -> None:
    assert app.bot.username == "DodamBot"
    assert app.bot.id == emu.bot_id
    log = await users.log()
    assert log["counters"]["getMe"] == 1
    assert log["counters"]["getUpdates"] >= 1


async def test_echo_roundtrip(app: Application, users: EmulatorClient) -> None:
    update = await users.send_text(USER, "hello")
    assert update["message"]["from"]["language_code"] == "en"
    [reply] = await users.wait_for(USER, 1)
    assert reply["text"] == "echo:hello"
    messages = await users.messages(USER)
    assert [(m["from_bot"], m["text"]) for m in messages] == [(False, "hello"), (True, "echo:hello")]


async def test_start_command_with_payload(app: Application, users: EmulatorClient) -> None:
    update = await users.send_text(USER, "/start abc")
    assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    await users.send_text(USER, "/start@DodamBot xyz")
    first, second = await users.wait_for(USER, 2)
    assert (first["text"], second["text"]) == ("start:abc", "start:xyz")
    assert first["reply_markup"]["inline_keyboard"][1][0] == {"text": "Gamma", "callback_data": "c"}


async def test_press_by_label_and_by_index(app: Application, users: EmulatorClient) -> None:
    await users.send_text(USER, "/start")
    [menu] = await users.wait_for(USER, 1)
    update = await users.press(USER, "Beta")
    assert update["callback_query"]["data"] == "b"
    assert update["callback_query"]["message"]["message_id"] == menu["message_id"]
    edited = await users.wait_for_edit(USER, menu["message_id"])
    assert edited["text"] == "pressed:b"
    assert edited["reply_markup"] is None  # editing without reply_markup drops the keyboard

    await users.send_text(USER, "/start")
    second = (await users.wait_for(USER, 2))[1]
    await users.press(USER, 2)
    assert (await users.wait_for_edit(USER, second["message_id"]))["text"] == "pressed:c"
    answers = (await users.log())["callback_answers"]
    assert [(a["data"], a["text"]) for a in answers] == [("b", "got b"), ("c", "got c")]

    with pytest.raises(EmulatorClientError, match=r"(?i)not found"):
        await users.press(USER, "Nope", message_id=second["message_id"])


async def test_edited_message_update(app: Application, users: EmulatorClient) -> None:
    await users.send_text(USER, "first")
    await users.wait_for(USER, 1)
    update = await users.edit_last(USER, "second")
    assert update["edited_message"]["text"] == "second"
    replies = await users.wait_for(USER, 2)
    assert replies[1]["text"] == "edited:second"
    assert (await users.messages(USER))[0]["edits"] == 1


async def test_user_photo_can_be_downloaded(app: Application, users: EmulatorClient) -> None:
    await users.send_media(USER, "photo", caption="look")
    [reply] = await users.wait_for(USER, 1)
    assert reply["text"].startswith("photo:look:")
    assert int(reply["text"].rsplit(":", 1)[1]) > 0


async def test_wait_for_times_out_with_details(users: EmulatorClient) -> None:
    await users.send_text(USER, "nobody answers")
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"got 0: \[\]"):
        await users.wait_for(USER, 1, timeout=0.2)
    assert time.monotonic() - started < 2


# ---------------------------------------------------------------------------- Bot API semantics


async def test_edit_with_same_text_is_not_modified(bot: Bot, users: EmulatorClient) -> None:
    await users.send_text(USER, "hi")
    sent = await bot.send_message(USER, "v1", reply_markup=KEYBOARD)
    assert sent.reply_markup == KEYBOARD
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_text("v1", chat_id=USER, message_id=sent.message_id, reply_markup=KEYBOARD)
    edited = await bot.edit_message_text("v2", chat_id=USER, message_id=sent.message_id, reply_markup=KEYBOARD)
    assert isinstance(edited, type(sent)) and edited.text == "v2"
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_reply_markup(chat_id=USER, message_id=sent.message_id, reply_markup=KEYBOARD)
    [stored] = await users.bot_messages(USER)
    assert (stored["text"], stored["edits"]) == ("v2", 1)


async def test_parse_mode_is_applied_and_validated(bot: Bot, users: EmulatorClient) -> None:
    await users.send_text(USER, "hi")
    sent = await bot.send_message(USER, "<b>Hi</b> there", parse_mode="HTML")
    assert sent.text == "Hi there"
    assert sent.entities[0].type == "bold" and sent.entities[0].length == 2
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(USER, "<b>unclosed", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)reserved"):
        await bot.send_message(USER, "Price 1.5!", parse_mode="MarkdownV2")
    with pytest.raises(BadRequest, match=r"(?i)too long"):
        await bot.send_message(USER, "x" * 4097)
    [stored] = await users.bot_messages(USER)
    assert (stored["text"], stored["raw"], stored["parse_mode"]) == ("Hi there", "<b>Hi</b> there", "HTML")


async def test_unknown_chat_and_blocked_user(bot: Bot, users: EmulatorClient) -> None:
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(424242, "hello?")
    await users.send_text(USER, "hi")
    await users.configure(blocked_users=[USER])
    with pytest.raises(Forbidden, match=r"(?i)blocked by the user"):
        await bot.send_message(USER, "reminder")
    await users.configure(unblocked_users=[USER])
    await bot.send_message(USER, "welcome back")
    update = await users.my_chat_member(USER, "kicked")
    assert update["my_chat_member"]["new_chat_member"]["status"] == "kicked"
    with pytest.raises(Forbidden, match=r"(?i)blocked"):
        await bot.send_message(USER, "reminder")
    assert [m["text"] for m in await users.bot_messages(USER)] == ["welcome back"]


async def test_leave_chat_is_recorded(bot: Bot, users: EmulatorClient) -> None:
    group = -100777
    update = await users.my_chat_member(USER, "member", chat_id=group, chat_type="supergroup", chat_title="Moms")
    assert update["my_chat_member"]["chat"] == {"id": group, "type": "supergroup", "title": "Moms"}
    await bot.send_message(group, "hello group")
    assert await bot.leave_chat(group) is True
    log = await users.log()
    assert log["left_chats"] == [group]
    assert log["calls"][-1]["method"] == "leaveChat"
    with pytest.raises(Forbidden, match=r"(?i)not a member"):
        await bot.send_message(group, "still here?")


async def test_send_photo_upload_is_recorded(bot: Bot, users: EmulatorClient) -> None:
    await users.send_text(USER, "hi")
    payload = b"\x89PNG\r\n\x1a\nfake-image-bytes"
    message = await bot.send_photo(USER, photo=payload, caption="<i>pic</i>", parse_mode="HTML", filename="pic.png")
    assert message.caption == "pic" and message.photo
    document = await bot.send_document(USER, document=b"report", filename="report.txt")
    assert document.document is not None and document.document.file_name == "report.txt"
    voice = await bot.send_voice(USER, voice=b"OggS....", duration=2)
    assert voice.voice is not None and voice.voice.mime_type == "audio/ogg"
    sticker = await bot.send_sticker(USER, sticker=message.photo[-1].file_id)
    assert sticker.sticker is not None
    downloaded = await (await bot.get_file(message.photo[-1].file_id)).download_as_bytearray()
    assert bytes(downloaded) == payload
    kinds = [(m["kind"], m["caption"], m.get("file_name")) for m in await users.bot_messages(USER)]
    assert kinds[:2] == [("photo", "pic", "pic.png"), ("document", None, "report.txt")]
    assert [k for k, _, _ in kinds[2:]] == ["voice", "sticker"]


async def test_misc_methods(bot: Bot, users: EmulatorClient) -> None:
    await users.send_text(USER, "original")
    await bot.send_chat_action(USER, "typing")
    copied = await bot.copy_message(USER, from_chat_id=USER, message_id=1)
    forwarded = await bot.forward_message(USER, from_chat_id=USER, message_id=1)
    assert forwarded.forward_origin is not None
    assert await bot.delete_message(USER, copied.message_id) is True
    with pytest.raises(BadRequest, match=r"(?i)not found"):
        await bot.delete_message(USER, copied.message_id)
    chat = await bot.get_chat(USER)
    assert chat.first_name == "Test" and chat.type == "private"
    await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("help", "Help")], language_code="ko")
    assert [c.command for c in await bot.get_my_commands(language_code="ko")] == ["start", "help"]
    assert await bot.get_my_commands() == ()
    assert await bot.set_chat_menu_button() is True
    views = await users.bot_messages(USER)
    assert [(v["text"], v["deleted"]) for v in views] == [("original", True), ("original", False)]
    counters = (await users.log())["counters"]
    assert counters["sendChatAction"] == 1 and counters["setMyCommands"] == 1


async def test_media_kinds_parse_in_ptb(bot: Bot, users: EmulatorClient) -> None:
    kinds = ["photo", "sticker", "voice", "video", "document", "location", "contact"]
    kinds += ["animation", "video_note", "audio", "poll", "dice"]
    for kind in kinds:
        await users.send_media(USER, kind)
    updates = await bot.get_updates(timeout=0)
    assert len(updates) == len(kinds)
    for kind, update in zip(kinds, updates, strict=True):
        assert update.message is not None
        assert getattr(update.message, kind), kind
        assert update.message.effective_attachment, kind


async def test_get_updates_offset_and_long_poll(bot: Bot, users: EmulatorClient) -> None:
    for text in ("one", "two", "three"):
        await users.send_text(USER, text)
    updates = await bot.get_updates(timeout=0)
    assert [u.message.text for u in updates if u.message] == ["one", "two", "three"]
    assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0) == ()

    async def later() -> None:
        await asyncio.sleep(0.2)
        await users.send_text(USER, "four")

    task = asyncio.create_task(later())
    started = time.monotonic()
    polled = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=3)
    await task
    assert [u.message.text for u in polled if u.message] == ["four"]
    assert 0.15 < time.monotonic() - started < 2


async def test_params_as_json_query_and_form(emu: Emulator, users: EmulatorClient) -> None:
    await users.send_text(USER, "hi")
    async with httpx.AsyncClient(base_url=f"{emu.base_url}{emu.token}") as http:
        json_reply = (await http.post("/sendMessage", json={"chat_id": USER, "text": "123"})).json()
        query_reply = (await http.get("/SENDMESSAGE", params={"chat_id": str(USER), "text": "42"})).json()
        form_reply = (await http.post("/sendMessage", data={"chat_id": str(USER), "text": "true"})).json()
        unknown = await http.post("/noSuchMethod")
        wrong = await http.post(f"{emu.url}/bot1:WRONG/getMe")
    assert [r["result"]["text"] for r in (json_reply, query_reply, form_reply)] == ["123", "42", "true"]
    assert unknown.status_code == 404 and unknown.json()["description"] == "Not Found"
    assert wrong.status_code == 401 and wrong.json() == {
        "ok": False,
        "error_code": 401,
        "description": "Unauthorized",
    }


async def test_wrong_token_is_invalid_token(emu: Emulator) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("999:WRONG", base_url=emu.base_url):
            pass


# ---------------------------------------------------------------------------------- faults


async def test_429_fault_raises_retry_after_and_records_nothing(bot: Bot, users: EmulatorClient) -> None:
    await users.send_text(USER, "hi")
    await users.add_faults({"method": "sendMessage", "kind": "429", "retry_after": 7})
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER, "nope")
    assert _retry_seconds(caught.value) == 7
    assert await users.bot_messages(USER) == []
    await bot.send_message(USER, "yes")
    log = await users.log()
    assert log["rate_limited"] == 1
    assert [c["status"] for c in log["calls"] if c["method"] == "sendMessage"] == [429, 200]


async def test_server_error_faults_raise_network_error(bot: Bot, users: EmulatorClient) -> None:
    await users.send_text(USER, "hi")
    await users.add_faults(
        {"method": "*", "kind": "500", "times": 2},
        {"method": "sendmessage", "kind": "502"},
        {"method": "sendMessage", "kind": "reset"},
    )
    for _ in range(4):
        with pytest.raises(NetworkError):
            await bot.send_message(USER, "boom")
    assert await users.bot_messages(USER) == []
    await bot.send_message(USER, "recovered")
    statuses = [c["status"] for c in (await users.log())["calls"] if c["method"] == "sendMessage"]
    assert statuses == [500, 500, 502, 0, 200]


async def test_403_and_400_faults(bot: Bot, users: EmulatorClient) -> None:
    await users.send_text(USER, "hi")
    await users.add_faults({"kind": "403"}, {"kind": "400", "description": "Bad Request: custom"})
    with pytest.raises(Forbidden):
        await bot.send_message(USER, "x")
    with pytest.raises(BadRequest, match=r"(?i)custom"):
        await bot.send_message(USER, "x")


async def test_stall_fault_delays_but_applies(bot: Bot, users: EmulatorClient) -> None:
    await users.send_text(USER, "hi")
    await users.add_faults({"method": "sendMessage", "kind": "stall", "seconds": 0.4})
    started = time.monotonic()
    await bot.send_message(USER, "slow")
    assert time.monotonic() - started >= 0.35
    started = time.monotonic()
    await bot.send_message(USER, "fast")
    assert time.monotonic() - started < 0.3
    assert [m["text"] for m in await users.bot_messages(USER)] == ["slow", "fast"]


async def test_rate_limit_answers_429_beyond_cap(bot: Bot, users: EmulatorClient) -> None:
    await users.send_text(USER, "hi")
    await users.configure(rate_limit_per_second=3)
    for i in range(3):
        await bot.send_message(USER, f"m{i}")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER, "m3")
    assert _retry_seconds(caught.value) == 1
    await bot.send_chat_action(USER, "typing")  # not flood-limited
    assert (await users.log())["rate_limited"] == 1
    assert len(await users.bot_messages(USER)) == 3
    await users.configure(rate_limit_per_second=None, per_chat_per_second=1)
    await users.send_text(USER + 1, "other chat")
    await bot.send_message(USER + 1, "first in its chat")  # per-chat windows are independent
    with pytest.raises(RetryAfter):
        await bot.send_message(USER + 1, "second in its chat")


# --------------------------------------------------------------------------------- webhook


async def test_webhook_delivery_with_secret_and_retry(bot: Bot, users: EmulatorClient) -> None:
    received: list[tuple[str | None, dict[str, object]]] = []
    arrived = asyncio.Event()
    failures = [1]  # answer the first delivery with 500 to exercise the retry

    async def receive(request: web.Request) -> web.Response:
        if failures:
            failures.pop()
            return web.Response(status=500)
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        if len(received) == 2:
            arrived.set()
        return web.Response(text="ok")

    receiver = web.Application()
    receiver.router.add_post("/hook", receive)
    runner = web.AppRunner(receiver)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret-token")
        info = await bot.get_webhook_info()
        assert info.url.endswith("/hook")
        with pytest.raises(Conflict):
            await bot.get_updates(timeout=0)
        await users.send_text(USER, "first")
        await users.send_text(USER, "second")
        await asyncio.wait_for(arrived.wait(), 5)
        assert [secret for secret, _ in received] == ["s3cret-token", "s3cret-token"]
        assert [u["message"]["text"] for _, u in received] == ["first", "second"]  # type: ignore[index]
        webhook_log = (await users.log())["webhook"]
        assert webhook_log["delivered"] == 2 and webhook_log["last_error_message"]
        assert await bot.delete_webhook()
        assert await bot.get_updates(timeout=0) == ()
    finally:
        await runner.cleanup()


async def test_set_webhook_terminates_pending_long_poll(bot: Bot, emu: Emulator) -> None:
    async with Bot(emu.token, base_url=emu.base_url) as other:
        poll = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.1)
        await other.set_webhook("http://127.0.0.1:9/unused")
        with pytest.raises(Conflict, match="terminated by setWebhook"):
            await asyncio.wait_for(poll, 2)


@pytest.mark.parametrize(
    ("text", "mode", "plain", "entities"),
    [
        ("😀<b>x</b>", "HTML", "😀x", [{"type": "bold", "offset": 2, "length": 1}]),
        (
            "&lt;<a href='https://e.x'>l</a>",
            "HTML",
            "<l",
            [{"type": "text_link", "offset": 1, "length": 1, "url": "https://e.x"}],
        ),
        ("*b* 1\\.5\\!", "MarkdownV2", "b 1.5!", [{"type": "bold", "offset": 0, "length": 1}]),
        ("`x_y`", "MarkdownV2", "x_y", [{"type": "code", "offset": 0, "length": 3}]),
        ("*b* 1.5!", "Markdown", "b 1.5!", [{"type": "bold", "offset": 0, "length": 1}]),
        ("<b>raw</b>", None, "<b>raw</b>", []),
    ],
)
def test_render_parse_modes(text: str, mode: str | None, plain: str, entities: list[dict[str, object]]) -> None:
    assert render(text, mode) == (plain, entities)


@pytest.mark.parametrize(
    ("text", "mode", "error"),
    [
        ("<div>x</div>", "HTML", 'Unsupported start tag "div"'),
        ("<b>x</i>", "HTML", "Unmatched end tag"),
        ("Hello!", "MarkdownV2", "Character '!' is reserved"),
        ("_open", "MarkdownV2", "Can't find end of Italic entity"),
        ("snake_case", "Markdown", "Can't find end of the entity"),
    ],
)
def test_render_rejects_like_telegram(text: str, mode: str, error: str) -> None:
    with pytest.raises(ParseError, match=error):
        render(text, mode)


# ------------------------------------------------------------------------------- control API


async def test_raw_callback_and_reset(bot: Bot, users: EmulatorClient) -> None:
    update = await users.raw(
        {"message": {"message_id": 5, "date": 1, "chat": {"id": 77, "type": "private", "first_name": "R"}}}
    )
    assert update["update_id"] >= 1
    await bot.send_message(77, "raw chats become known")
    sent = await bot.send_message(77, "menu", reply_markup=KEYBOARD)
    callback = await users.callback(77, sent.message_id, "custom-data")
    query_id = callback["callback_query"]["id"]
    assert await bot.answer_callback_query(query_id, text="ok")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query_id)
    await users.reset()
    assert await users.messages(77) == []
    log = await users.log()
    assert log["calls"] == [] and log["callback_answers"] == []
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(77, "forgotten")
    # Update ids keep increasing across a reset so a running poller's offset stays valid.
    after = await users.send_text(USER, "after reset")
    assert after["update_id"] > update["update_id"]


async def test_start_in_thread_with_client_in_another_loop() -> None:
    emulator = Emulator()
    emulator.start_in_thread()
    try:
        async with EmulatorClient(emulator.url) as client:
            assert await client.health()
            await client.send_text(USER, "from another loop")
            async with Bot(emulator.token, base_url=emulator.base_url) as ptb_bot:
                assert (await ptb_bot.get_me()).username == "DodamBot"
                await ptb_bot.send_message(USER, "reply")
            assert [m["text"] for m in await client.bot_messages(USER)] == ["reply"]
    finally:
        emulator.stop_thread()
    with pytest.raises(RuntimeError):
        _ = emulator.url
