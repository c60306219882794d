"""The lesson dispatcher against a flood-limited Bot API: achieved rate, 429s, exactly-once delivery.

A Bot API emulator enforcing Telegram's global flood limit (`Emulator(rate_limit_per_second=30)`, run as
`python -m bot.emulator --rate-limit 30` in its own process, answering 429 beyond it) and a fresh SQLite
database holding N mothers, each with one due lesson in the outbox (planned, due now, expiring tomorrow;
lessons and languages cycle through the library). Every mother first writes to the bot through the
emulator, which only knows chats that wrote to it; each is enrolled as the dispatcher requires (a baby,
the current privacy notice accepted). Then the real `Dispatcher` — real python-telegram-bot
`Bot` over HTTP, `TelegramMessageSender`, `RateLimiter(--rate)`, quiet hours off — ticks back to back (no
sleep between ticks) until no row is left to send now. The emulator's record then says how fast it went, how
many 429s it answered, and whether every chat got exactly one lesson.

    .venv/bin/python bench/dispatch.py [--messages 3000] [--rate 25] [--emulator-limit 30] [--tick-every 0]

`--tick-every 1` paces ticks like the bot's scheduler does instead (a tick every second, skipped while the
previous one still runs), to see what that cadence costs.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402
from telegram import Bot  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.content.library import ContentLibrary, load_library  # noqa: E402
from bot.db import make_engine, make_session_factory, migrate, transaction  # noqa: E402
from bot.delivery.dispatcher import Dispatcher, DispatchStats  # noqa: E402
from bot.delivery.planner import lesson_key  # noqa: E402
from bot.delivery.ratelimit import RateLimiter  # noqa: E402
from bot.emulator import EmulatorClient  # noqa: E402
from bot.models import Baby, ConsentRecord, Mother, OutboxKind, OutboxMessage, OutboxStatus, utcnow  # noqa: E402
from bot.telegram.sender import TelegramMessageSender  # noqa: E402

LANGUAGES = ("ko", "en", "zh_Hans", "vi", "tl")
FIRST_USER = 500_000_000
SEND_METHODS = frozenset({"sendMessage", "sendPhoto"})
TARGET_SHARE = 0.95


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_emulator(client: EmulatorClient) -> None:
    for _ in range(200):
        try:
            if await client.health():
                return
        except Exception:
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError("the emulator did not start")


def seed_database(url: str, library: ContentLibrary, messages: int) -> dict[int, tuple[str, str]]:
    """N enrolled mothers (active, a baby, the current privacy notice accepted), each with one lesson due now.

    Returns:
        chat id -> (lesson slug, language)
    """
    migrate(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    now = utcnow()
    lessons = library.lessons
    expected: dict[int, tuple[str, str]] = {}
    mothers: list[dict[str, Any]] = []
    babies: list[dict[str, Any]] = []
    consents: list[dict[str, Any]] = []
    version = Settings().consent_version
    born = (now - timedelta(days=60)).date()
    rows: list[dict[str, Any]] = []
    for i in range(1, messages + 1):
        chat_id = FIRST_USER + i
        language, lesson = LANGUAGES[i % len(LANGUAGES)], lessons[i % len(lessons)]
        expected[chat_id] = (lesson.slug, language)
        mothers.append(
            {
                "id": i,
                "telegram_user_id": chat_id,
                "chat_id": chat_id,
                "language": language,
                "status": "active",
                "timezone": "Asia/Seoul",
                "delivery_hour": 10,
                "enrolled_at": now - timedelta(days=30),
            }
        )
        babies.append({"mother_id": i, "status": "born", "birth_date": born, "created_at": now})
        consents.append({"mother_id": i, "version": version, "accepted": True, "language": language})
        rows.append(
            {
                "mother_id": i,
                "kind": OutboxKind.LESSON.value,
                "lesson_slug": lesson.slug,
                "dedupe_key": lesson_key(lesson.slug),
                "due_at": now - timedelta(minutes=1),
                "expires_at": now + timedelta(days=1),
                "status": OutboxStatus.PLANNED.value,
                "attempts": 0,
                "created_at": now,
            }
        )
    with transaction(sessions) as session:
        session.execute(insert(Mother), mothers)
        session.execute(insert(Baby), babies)
        session.execute(insert(ConsentRecord), consents)
        session.execute(insert(OutboxMessage), rows)
    engine.dispose()
    return expected


async def introduce(client: EmulatorClient, chat_ids: list[int]) -> None:
    """Each mother writes once, so the emulator knows her chat (it answers "chat not found" otherwise)."""
    gate = asyncio.Semaphore(32)

    async def hello(chat_id: int) -> None:
        async with gate:
            await client.send_text(chat_id, "hi")

    await asyncio.gather(*(hello(chat_id) for chat_id in chat_ids))


def pending(sessions: Any) -> int:
    """Rows to send soon: claimed, or due now (retries included); not those deferred to a later day."""
    soon = utcnow() + timedelta(minutes=1)
    with sessions() as session:
        waiting = OutboxMessage.status.in_((OutboxStatus.PLANNED, OutboxStatus.SENDING))
        query = select(func.count()).select_from(OutboxMessage).where(waiting, OutboxMessage.due_at <= soon)
        return int(session.scalar(query) or 0)


def plain(text: str) -> str:
    """Telegram HTML as the recipient sees it."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def max_in_window(times: list[float], span: float = 1.0) -> int:
    """The most events in any window of `span` seconds (what a sliding-window flood limit sees)."""
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= span:
            start += 1
        best = max(best, end - start + 1)
    return best


def start_emulator(port: int, token: str, limit: float) -> subprocess.Popen[bytes]:
    """`Emulator(rate_limit_per_second=limit)` in its own process, so the dispatcher does not slow it down."""
    command = [
        sys.executable, "-m", "bot.emulator", "--port", str(port), "--token", token,
        "--rate-limit", str(limit),
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=dict(os.environ), stdout=subprocess.DEVNULL)


async def run(args: argparse.Namespace, url: str, token: str) -> None:
    library = load_library(ROOT / "content")
    with tempfile.TemporaryDirectory(prefix="dodam-dispatch-") as tmp:
        db_url = f"sqlite:///{tmp}/dispatch.sqlite3"
        expected = seed_database(db_url, library, args.messages)
        async with EmulatorClient(url, timeout=30) as client:
            await wait_emulator(client)
            started = time.perf_counter()
            await introduce(client, list(expected))
            print(f"{len(expected):,} mothers wrote to the bot in {time.perf_counter() - started:.1f} s")
            settings = replace(
                Settings(),
                database_url=db_url,
                quiet_start_hour=0,
                quiet_end_hour=0,
                send_rate_per_second=args.rate,
                content_dir=ROOT / "content",
            )
            engine = make_engine(db_url)
            sessions = make_session_factory(engine)
            async with Bot(token, base_url=f"{url}/bot") as bot:
                dispatcher = Dispatcher(
                    settings,
                    sessions,
                    lambda: library,
                    TelegramMessageSender(bot),
                    limiter=RateLimiter(args.rate),
                    worker_id="bench-dispatch",
                )
                totals, ticks, elapsed = await drive(dispatcher, sessions, args)
            with sessions() as session:
                status = OutboxMessage.status
                by_status = dict(session.execute(select(status, func.count()).group_by(status)).all())
            engine.dispose()
            log = await client.log()
            received = await received_lessons(client, list(expected))
    report(args, library, expected, totals, ticks, elapsed, by_status, log, received)


async def drive(
    dispatcher: Dispatcher,
    sessions: Any,
    args: argparse.Namespace,
) -> tuple[DispatchStats, int, float]:
    """Tick until nothing is left to send (or the deadline); returns the summed stats, ticks and seconds."""
    totals = DispatchStats()
    ticks = 0
    deadline = time.perf_counter() + args.messages / args.rate * 3 + 60
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        stats = await dispatcher.tick()
        ticks += 1
        for name in ("claimed", "sent", "deferred", "skipped", "failed", "retried"):
            setattr(totals, name, getattr(totals, name) + getattr(stats, name))
        for reason, count in stats.reasons.items():
            totals.reasons[reason] = totals.reasons.get(reason, 0) + count
        if stats.claimed == 0:
            if await asyncio.to_thread(pending, sessions) == 0:
                break
            await asyncio.sleep(0.05)  # retries waiting for their time: do not spin on the database
        if args.tick_every:
            # APScheduler's interval trigger with max_instances=1: the next run is the next grid point.
            since = time.perf_counter() - started
            await asyncio.sleep(args.tick_every - since % args.tick_every)
    return totals, ticks, time.perf_counter() - started


async def received_lessons(client: EmulatorClient, chat_ids: list[int]) -> dict[int, list[str]]:
    """Each chat's bot messages (their text), from the emulator's record."""
    gate = asyncio.Semaphore(32)
    result: dict[int, list[str]] = {}

    async def fetch(chat_id: int) -> None:
        async with gate:
            messages = await client.bot_messages(chat_id)
            result[chat_id] = [str(m.get("text") or m.get("caption") or "") for m in messages]

    await asyncio.gather(*(fetch(chat_id) for chat_id in chat_ids))
    return result


def report(
    args: argparse.Namespace,
    library: ContentLibrary,
    expected: dict[int, tuple[str, str]],
    totals: DispatchStats,
    ticks: int,
    elapsed: float,
    by_status: dict[str, int],
    log: dict[str, Any],
    received: dict[int, list[str]],
) -> None:
    sends = [c for c in log["calls"] if c["method"] in SEND_METHODS]
    accepted = sorted(c["time"] for c in sends if c["status"] == 200)
    too_many = sum(1 for c in sends if c["status"] == 429)
    other_errors = Counter(c["status"] for c in sends if c["status"] not in (200, 429))
    per_chat_log = Counter(c["chat_id"] for c in sends if c["status"] == 200)

    missing = [chat for chat in expected if not received.get(chat)]
    duplicates = sum(len(texts) - 1 for texts in received.values() if len(texts) > 1)
    titles = {chat: plain(library[slug].texts[lang].title) for chat, (slug, lang) in expected.items()}
    wrong = [chat for chat, texts in received.items() if len(texts) == 1 and titles[chat] not in texts[0]]
    unexpected = sorted(set(per_chat_log) - set(expected))
    log_duplicates = sum(n - 1 for n in per_chat_log.values() if n > 1)

    delivered = len(accepted)
    wall_rate = delivered / elapsed if elapsed else 0.0
    span = accepted[-1] - accepted[0] if len(accepted) > 1 else 0.0
    paced_rate = (delivered - 1) / span if span else 0.0
    burst = max_in_window(accepted)

    print()
    print(
        f"dispatch benchmark: {args.messages:,} due lessons, one per mother, SQLite; emulator flood limit "
        f"{args.emulator_limit:g}/s (429 beyond); RateLimiter({args.rate:g}); ticks "
        + (f"every {args.tick_every:g} s (scheduler cadence)" if args.tick_every else "back to back")
    )
    print(f"{'measure':<44}{'value':>14}  target")
    lines: list[tuple[str, str, str]] = [
        ("lessons accepted by the emulator", f"{delivered:,}", f"{args.messages:,}"),
        ("wall time, first claim to last commit (s)", f"{elapsed:.2f}", ""),
        ("ticks", f"{ticks}", ""),
        ("achieved rate, wall clock (msg/s)", f"{wall_rate:.2f}", f">= {TARGET_SHARE * args.rate:.2f}"),
        ("  as a share of the configured rate", f"{wall_rate / args.rate:.1%}", f">= {TARGET_SHARE:.0%}"),
        ("rate between first and last send (msg/s)", f"{paced_rate:.2f}", ""),
        ("most sends in any 1 s window", f"{burst}", f"<= {args.emulator_limit:g}"),
        ("429 answered (emulator log: rate_limited)", f"{log['rate_limited']}", "0"),
        ("429 on send calls", f"{too_many}", "0"),
        ("other send errors", f"{sum(other_errors.values())}", "0"),
        ("chats with no lesson (missing)", f"{len(missing)}", "0"),
        ("extra lessons (duplicates), chat record", f"{duplicates}", "0"),
        ("extra lessons (duplicates), call log", f"{log_duplicates}", "0"),
        ("lessons with the wrong text", f"{len(wrong)}", "0"),
        ("sends to chats outside the benchmark", f"{len(unexpected)}", "0"),
    ]
    for name, value, target in lines:
        print(f"{name:<44}{value:>14}  {target}")
    print(
        f"dispatcher stats: claimed {totals.claimed}, sent {totals.sent}, deferred {totals.deferred}, "
        f"skipped {totals.skipped}, retried {totals.retried}, failed {totals.failed}"
        + (f", reasons {totals.reasons}" if totals.reasons else "")
    )
    print(f"outbox rows by status: {by_status}")
    if too_many and accepted:
        moments = [c["time"] - accepted[0] for c in sends if c["status"] == 429][:10]
        print("429s at (s after the first send): " + ", ".join(f"{m:.2f}" for m in moments))
    print("load average (1, 5, 15 min) at the end: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    exactly_once = not missing and not duplicates and not log_duplicates and not wrong and not unexpected
    ok = wall_rate >= TARGET_SHARE * args.rate and log["rate_limited"] == 0 and exactly_once
    print(
        f"verdict: rate {'met' if wall_rate >= TARGET_SHARE * args.rate else 'MISSED'}, "
        f"429s {'none' if log['rate_limited'] == 0 else 'SOME'}, "
        f"exactly once {'yes' if exactly_once else 'NO'} — {'OK' if ok else 'TARGET MISSED'}"
    )


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=25.0, help="the dispatcher's rate limit (msg/s)")
    parser.add_argument("--emulator-limit", type=float, default=30.0, help="its flood limit (msg/s)")
    parser.add_argument(
        "--tick-every", type=float, default=0.0, help="pace ticks like the scheduler (s); 0: back to back"
    )
    args = parser.parse_args()
    port, token = free_port(), "123456:BENCH-DISPATCH"
    emulator = start_emulator(port, token, args.emulator_limit)
    try:
        asyncio.run(run(args, f"http://127.0.0.1:{port}", token))
    finally:
        emulator.terminate()
        try:
            emulator.wait(timeout=15)
        except subprocess.TimeoutExpired:
            emulator.kill()


if __name__ == "__main__":
    main()
