"""Run the emulator standalone: ``python -m bot.emulator --port 8081``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from bot.emulator.server import Emulator


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--token", default="123456:TEST-TOKEN")
    parser.add_argument("--bot-username", default="DodamBot")
    parser.add_argument("--rate-limit", type=float, default=None, help="global sends/edits per second")
    parser.add_argument("--per-chat-rate-limit", type=float, default=None, help="sends/edits per chat per second")
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    bot_id = int(args.token.split(":", 1)[0]) if args.token.split(":", 1)[0].isdigit() else 123456
    emulator = Emulator(
        token=args.token,
        bot_id=bot_id,
        bot_username=args.bot_username,
        host=args.host,
        port=args.port,
        rate_limit_per_second=args.rate_limit,
    )
    emulator.per_chat_per_second = args.per_chat_rate_limit
    await emulator.start()
    print(f"Telegram Bot API emulator on {emulator.url}", flush=True)
    print(f"  base_url      = {emulator.base_url}", flush=True)
    print(f"  base_file_url = {emulator.base_file_url}", flush=True)
    print(f"  token         = {emulator.token}", flush=True)
    print(f"  control API   = {emulator.url}/_emu/  (Ctrl-C to stop)", flush=True)
    stop = asyncio.Event()
    # Handle SIGTERM too (and SIGINT even when a non-interactive shell started us with it ignored),
    # so the server always shuts down cleanly.
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not available on Windows
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await emulator.stop()
        print("emulator stopped", flush=True)


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(_parse_args(argv)))


if __name__ == "__main__":
    main()
