"""The local sandbox: the real bot, the Bot API emulator and a terminal chat, in one process.

A newcomer can try Dodam with no Telegram account: she types as a mother (or as a staff member), and
inline buttons are shown as numbered choices.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from bot.config import Settings
from bot.db import transaction
from bot.domain.codes import start_link
from bot.domain.invites import create_invite
from bot.domain.staff import add_staff
from bot.emulator import Emulator, EmulatorClient
from bot.models import StaffRole, utcnow
from bot.runner import BotRunner

BANNER = """\
──────────────────────────────────────────────────────────────────────
 Dodam sandbox — the real bot, talking to a local Telegram emulator.
 Nothing leaves this machine. You are a mother with Telegram user id {user}.
 Type as she would. Buttons appear as [1] [2] …: type the number to press.
 :help lists sandbox commands (switch user, language, staff, restart, quit).
──────────────────────────────────────────────────────────────────────"""

HELP = """\
 :as ID [LANG]        act as Telegram user ID (e.g. :as 2001 ko); LANG is her Telegram app language
 :lang CODE           set this user's Telegram language code (ko, en-US, zh-hans, vi, tl …)
 :staff NAME ROLE     create a staff account (ROLE nurse|supervisor|admin) and print its /start link
 :invite NURSE_ID     create a mother invite link for a nurse
 :say TEXT            send TEXT literally (e.g. a number while buttons are shown)
 :photo / :sticker / :voice   send a photo, sticker or voice note
 :group TEXT          write TEXT in a group chat with the bot
 :later 9h | 2d       move the sandbox clock forward and run the scheduler now (lessons, check-ins)
 :screen ID           start a questionnaire now: epds, phq9, gad7 (the menu offers the programme's own)
 :restart             restart the bot (the conversation resumes where it was)
 :quit                leave"""


@dataclass
class _User:
    user_id: int
    language_code: str = "en"
    first_name: str = "Mina"


class SandboxClock:
    """Real time plus an offset the person at the terminal can move forward."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset


class Sandbox:
    def __init__(self, settings: Settings, *, emulator: Emulator, client: EmulatorClient) -> None:
        self.settings = settings
        self.emulator = emulator
        self.client = client
        self.runner: BotRunner | None = None
        self.clock = SandboxClock()
        self.user = _User(1001)
        self.seen: dict[int, dict[int, int]] = {}  # chat → message_id → edits already shown
        self.texts: dict[int, str] = {}  # message_id → text last shown

    async def start_bot(self) -> None:
        self.runner = BotRunner(self.settings, token=self.emulator.token, clock=self.clock)
        await self.runner.start()

    async def stop_bot(self) -> None:
        if self.runner is not None:
            await self.runner.stop()
            self.runner = None

    # ------------------------------------------------------------------ showing the chat
    async def show_new(self, chat_id: int, *, settle: float = 0.4, limit: float = 6.0) -> None:
        """Print bot messages new (or edited) since last time, once the bot has gone quiet."""
        loop = asyncio.get_running_loop()
        started = last_change = loop.time()
        seen = self.seen.setdefault(chat_id, {})
        snapshot: list[tuple[int, int]] = []
        while loop.time() - started < limit:
            msgs = await self.client.bot_messages(chat_id)
            current = [(m["message_id"], m.get("edits", 0)) for m in msgs]
            if current != snapshot:
                snapshot, last_change = current, loop.time()
            changed = any(seen.get(mid) != edits for mid, edits in snapshot)
            # Quiet for a moment after something arrived, or quiet for long with nothing at all.
            if loop.time() - last_change >= (settle if changed else settle * 3):
                break
            await asyncio.sleep(0.05)
        for message in self._unseen(chat_id, await self.client.bot_messages(chat_id)):
            print(render(message))

    def _unseen(self, chat_id: int, msgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """New messages, and edited ones whose text changed (an answered question only loses its buttons)."""
        seen = self.seen.setdefault(chat_id, {})
        fresh = []
        for m in msgs:
            key = m["message_id"]
            text = m.get("text") or m.get("caption") or ""
            if key not in seen or (seen[key] != m.get("edits", 0) and self.texts.get(key) != text):
                fresh.append(m)
            seen[key] = m.get("edits", 0)
            self.texts[key] = text
        return fresh

    # ------------------------------------------------------------------ input
    async def handle_line(self, line: str) -> bool:
        """Act on one typed line; False to quit."""
        line = line.strip()
        if not line:
            return True
        user = self.user
        if line.startswith(":"):
            return await self.sandbox_command(line)
        if line.isdigit() and await self._has_buttons(user.user_id):
            try:
                await self.client.press(user.user_id, int(line) - 1)
            except Exception:
                print("  (no such button)")
                return True
        else:
            await self.client.send_text(
                user.user_id, line, language_code=user.language_code, first_name=user.first_name
            )
        await self.show_new(user.user_id)
        return True

    async def _has_buttons(self, chat_id: int) -> bool:
        return any(m.get("reply_markup") for m in await self.client.bot_messages(chat_id))

    async def sandbox_command(self, line: str) -> bool:
        try:
            word, *rest = shlex.split(line[1:])
        except ValueError:
            word, rest = line[1:], []
        user = self.user
        if word in ("quit", "q", "exit"):
            return False
        if word == "help":
            print(HELP)
        elif word == "as" and rest:
            self.user = _User(
                int(rest[0]), rest[1] if len(rest) > 1 else user.language_code, first_name=f"User{rest[0]}"
            )
            print(f"  now acting as Telegram user {self.user.user_id} ({self.user.language_code})")
        elif word == "lang" and rest:
            user.language_code = rest[0]
            print(f"  Telegram language code is now {rest[0]}")
        elif word == "staff" and len(rest) >= 2:
            with transaction(self._sessions()) as session:
                created = add_staff(
                    session,
                    name=rest[0],
                    role=StaffRole(rest[1]),
                    language=rest[2] if len(rest) > 2 else "en",
                )
                print(f"  staff #{created.staff.id} created. As that person, send: /start {created.payload}")
        elif word == "invite" and rest:
            with transaction(self._sessions()) as session:
                invite = create_invite(session, nurse_id=int(rest[0]))
                print(f"  invite link: {start_link(self.settings.bot_username, invite.code)}")
                print(f"  as a new mother, send: /start {invite.code}")
        elif word == "say" and rest:
            await self.client.send_text(user.user_id, " ".join(rest), language_code=user.language_code)
            await self.show_new(user.user_id)
        elif word in ("photo", "sticker", "voice"):
            await self.client.send_media(user.user_id, word, language_code=user.language_code)
            await self.show_new(user.user_id)
        elif word == "group":
            group = -100000 - user.user_id
            await self.client.send_text(
                user.user_id,
                " ".join(rest) or "hello",
                chat_id=group,
                chat_type="group",
                language_code=user.language_code,
            )
            await self.show_new(group)
        elif word == "later" and rest:
            amount, unit = int(rest[0][:-1]), rest[0][-1]
            self.clock.offset += timedelta(days=amount) if unit == "d" else timedelta(hours=amount)
            local = self.clock().astimezone(self.settings.tz)
            print(f"  sandbox clock is now {local:%Y-%m-%d %H:%M} ({self.settings.timezone})")
            assert self.runner is not None
            await self.runner.plan()
            await self.runner.screening_reminders()
            await self.runner.escalate()
            sent = waiting = 0
            for _ in range(3):
                stats = await self.runner.dispatch()
                sent, waiting = sent + stats.sent, stats.deferred
            print(
                f"  scheduler: {sent} message(s) sent"
                + (
                    f", {waiting} waiting for her delivery time "
                    "(10:00 unless she changed it; none in quiet hours 21:00–08:00)"
                    if waiting
                    else ""
                )
            )
            await self.show_new(user.user_id)
        elif word == "screen" and rest:
            msgs = await self.client.bot_messages(user.user_id)
            if not msgs:
                print("  write to the bot first")
                return True
            await self.client.callback(user.user_id, msgs[-1]["message_id"], f"scr:offer:{rest[0]}")
            await self.show_new(user.user_id)
        elif word == "restart":
            await self.stop_bot()
            print("  bot stopped; starting again …")
            await self.start_bot()
            print("  bot restarted. Write to it: the conversation resumes where it was.")
        else:
            print("  unknown sandbox command; :help lists them")
        return True

    def _sessions(self):  # type: ignore[no-untyped-def]
        assert self.runner is not None
        return self.runner.conversation.sessions


def render(message: dict[str, Any]) -> str:
    text = message.get("text") or message.get("caption") or f"<{message.get('kind', 'message')}>"
    edited = " (updated)" if message.get("edits") else ""
    lines = [f"\nDodam{edited} › " + text.replace("\n", "\n        ")]
    markup = message.get("reply_markup") or {}
    keyboard = markup.get("inline_keyboard") or []
    index = 0
    for row in keyboard:
        cells = []
        for button in row:
            index += 1
            cells.append(f"[{index}] {button['text']}")
        lines.append("   " + "  ".join(cells))
    return "\n".join(lines)


async def _main(settings: Settings) -> None:
    # The terminal is the chat: library chatter would drown it.
    for name in ("telegram", "apscheduler", "httpx", "aiohttp", "alembic", "bot", "scheduler"):
        logging.getLogger(name).setLevel(logging.WARNING)
    emulator = Emulator(bot_username=settings.bot_username)
    await emulator.start()
    local = replace(settings, bot_api_base_url=emulator.base_url, bot_api_base_file_url=emulator.base_file_url)
    async with EmulatorClient(emulator.url) as client:
        sandbox = Sandbox(local, emulator=emulator, client=client)
        await sandbox.start_bot()
        print(BANNER.format(user=sandbox.user.user_id))
        print("Say hello, or send /start.")
        try:
            while True:
                try:
                    line = await asyncio.to_thread(input, f"\nyou ({sandbox.user.user_id}) › ")
                except EOFError:
                    break
                if not await sandbox.handle_line(line):
                    break
        finally:
            await sandbox.stop_bot()
            await emulator.stop()


def run_sandbox(settings: Settings) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(settings))
    return 0
