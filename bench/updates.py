"""Updates per second and reply latency: Dodam vs a bare PTB echo bot, both real processes, one emulator.

Many simulated mothers write at once through the Bot API emulator; each waits for her reply before
writing again. Dodam runs as `dodam run` on a fresh SQLite file; the echo bot is bench/echo_bot.py.

    .venv/bin/python bench/updates.py [--mothers 50] [--messages 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.emulator import Emulator, EmulatorClient  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def wait_ready(client: EmulatorClient, user_id: int, text: str, limit: float = 60.0) -> None:
    """Write until the bot answers: it is up and polling."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = len(await client.bot_messages(user_id))
        await client.send_text(user_id, text)
        try:
            await client.wait_for(user_id, before + 1, timeout=2)
            return
        except TimeoutError:
            continue
    raise RuntimeError("the bot did not answer within a minute")


async def conversation(
    client: EmulatorClient,
    user_id: int,
    steps: list[tuple[str | int, int]],
    latencies: list[float],
    *,
    measured: bool,
    think: float = 0.0,
) -> None:
    """Send each step (text, or an int: press that button) and wait for its replies (how many: the int)."""
    before = len(await client.bot_messages(user_id))
    for step, replies in steps:
        if think:
            # A person reads and types: pause 0.5–1.5× the mean think time.
            await asyncio.sleep(think * random.uniform(0.5, 1.5))
        started = time.perf_counter()
        if isinstance(step, int):
            await client.press(user_id, step)
        else:
            await client.send_text(user_id, step, language_code="en")
        await client.wait_for(user_id, before + replies, timeout=30)
        before += replies
        if measured:
            latencies.append(time.perf_counter() - started)


async def run_load(
    client: EmulatorClient, mothers: int, messages: int, *, enrol: bool, think: float
) -> dict[str, float]:
    base = 100_000
    if enrol:
        # Enrol everyone first (not timed): /start, English, agree, born, a date, one baby.
        steps: list[tuple[str | int, int]] = [("/start", 1), (1, 2), (0, 2), (1, 1), ("yesterday", 2), (0, 2)]
        await asyncio.gather(*(conversation(client, base + i, steps, [], measured=False) for i in range(mothers)))
    latencies: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(
        *(
            conversation(client, base + i, [("/menu", 1)] * messages, latencies, measured=True, think=think)
            for i in range(mothers)
        )
    )
    elapsed = time.perf_counter() - started
    return {
        "updates": len(latencies),
        "seconds": elapsed,
        "per_second": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


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


def start_process(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


async def bench(mothers: int, messages: int, think: float) -> None:
    results: dict[str, dict[str, float]] = {}
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("echo", "dodam"):
            # The emulator gets its own process, so the load generator does not slow it down.
            port = free_port()
            emulator = Emulator(port=port)  # only for its URLs and token
            emu_proc = start_process(
                [python, "-m", "bot.emulator", "--port", str(port), "--token", emulator.token],
                dict(os.environ),
            )
            url = f"http://127.0.0.1:{port}"
            base_url = f"{url}/bot"
            env = {
                **os.environ,
                "DODAM_TELEGRAM_TOKEN": emulator.token,
                "DODAM_BOT_API_BASE_URL": base_url,
                "DODAM_BOT_API_BASE_FILE_URL": f"{url}/file/bot",
                "DODAM_DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
                "DODAM_LOG_LEVEL": "WARNING",
                "DODAM_NLU_URL": "off",  # this benchmark measures the update path, not Rasa
            }
            if name == "echo":
                proc = start_process(
                    [python, "bench/echo_bot.py", "--token", emulator.token, "--base-url", base_url], env
                )
            else:
                proc = start_process([python, "-m", "bot.cli", "run"], env)
            try:
                async with EmulatorClient(url) as client:
                    await wait_emulator(client)
                    await wait_ready(client, 1, "/help")
                    results[f"{name} saturated"] = await run_load(
                        client, mothers, messages, enrol=name == "dodam", think=0.0
                    )
                    results[f"{name} paced"] = await run_load(client, mothers, messages, enrol=False, think=think)
            finally:
                stop_process(proc)
                stop_process(emu_proc)
    print(f"updates benchmark: {mothers} concurrent mothers x {messages} messages each, SQLite")
    print("saturated: each mother writes again as soon as she has her reply (throughput);")
    print(f"paced: each mother pauses ~{think:.1f} s between messages, as a person does (latency)")
    print(f"{'run':<18}{'updates':>9}{'upd/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for name, r in results.items():
        print(f"{name:<18}{r['updates']:>9.0f}{r['per_second']:>10.1f}{r['p50_ms']:>10.1f}{r['p99_ms']:>10.1f}")
    ratio = results["dodam saturated"]["per_second"] / results["echo saturated"]["per_second"]
    p99 = results["dodam paced"]["p99_ms"]
    print(
        f"dodam/echo throughput: {ratio:.0%} (target >= 50%); dodam p99 at {mothers} paced mothers: "
        f"{p99:.1f} ms (target < 100 ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mothers", type=int, default=50)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between a mother's messages (s)")
    args = parser.parse_args()
    asyncio.run(bench(args.mothers, args.messages, args.think))


if __name__ == "__main__":
    main()
