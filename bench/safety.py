"""Throughput and latency of the safety check: the lexicons alone, and the whole assessment with the model.

Usage: ``.venv/bin/python bench/safety.py [--rounds N] [--repeat R] [--min MSG_PER_S]``

Every message of the safety evaluation sets (regression and blind: half emergencies, half written to look like
them, so most reach the regexes and the model) and of the ordinary intent test set is checked ``repeat`` times
per round; the best round is reported (as ``timeit`` does on a shared machine), as wall-clock and CPU time.
Then each message is assessed once more alone, as a turn does, and the model's added latency per message is
reported as p50/p99 (the assessment with the model minus the floor alone, message by message).
Exits with status 1 if the whole assessment's best rate is below ``--min`` (default 2 000 msg/s).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlu.evaluation import load_safety_set, ordinary_messages, safety_sets  # noqa: E402
from nlu.safety import SafetyDetector  # noqa: E402
from nlu.safety.assess import Safety  # noqa: E402

TARGET = 2000.0


def _messages() -> list[tuple[str, str]]:
    messages = [m for name in safety_sets() for m in load_safety_set(name)] + ordinary_messages()
    return [(str(m["text"]), str(m["lang"])) for m in messages]


def _rate(check, messages: list[tuple[str, str]], rounds: int, repeat: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    best_wall = best_cpu = 0.0
    count = len(messages) * repeat
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(repeat):
            for text, language in messages:
                check(text, language)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        best_wall = max(best_wall, count / wall)
        best_cpu = max(best_cpu, count / cpu) if cpu > 0 else best_cpu
    return best_wall, best_cpu


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds; the best is reported")
    parser.add_argument("--repeat", type=int, default=2, help="passes over the messages per round")
    parser.add_argument("--min", type=float, default=TARGET, help="fail below this many messages/second")
    args = parser.parse_args()

    started = time.perf_counter()
    detector = SafetyDetector()
    lexicon_load = time.perf_counter() - started
    started = time.perf_counter()
    full = Safety(detector)
    model_load = time.perf_counter() - started
    floor = Safety(detector, use_model=False)
    messages = _messages()
    for text, language in messages:  # warm-up: regex caches, lazy imports
        full.assess(text, language)

    lexicon_rate, lexicon_cpu = _rate(detector.detect, messages, args.rounds, args.repeat)
    floor_rate, _ = _rate(floor.assess, messages, args.rounds, args.repeat)
    full_rate, full_cpu = _rate(full.assess, messages, args.rounds, args.repeat)
    added: list[float] = []
    for text, language in messages:
        t0 = time.perf_counter()
        floor.assess(text, language)
        t1 = time.perf_counter()
        full.assess(text, language)
        t2 = time.perf_counter()
        added.append(max(0.0, (t2 - t1) - (t1 - t0)))

    name = full.model.name if full.model else "none"
    print(f"lexicons loaded in {lexicon_load * 1000:.0f} ms; model ({name}) in {model_load * 1000:.0f} ms")
    print(f"{len(messages)} messages x {args.repeat} per round, best of {args.rounds} rounds")
    print(f"lexicons alone (detect): {lexicon_rate:,.0f} msg/s wall-clock, {lexicon_cpu:,.0f} msg/s CPU")
    print(f"floor (lexicons + facts + context): {floor_rate:,.0f} msg/s")
    print(f"whole assessment with the model: {full_rate:,.0f} msg/s wall-clock, {full_cpu:,.0f} msg/s CPU")
    print(
        f"added by the model per message: p50 {_percentile(added, 0.5) * 1000:.2f} ms, "
        f"p99 {_percentile(added, 0.99) * 1000:.2f} ms, max {max(added) * 1000:.2f} ms"
    )
    print(f"target: {args.min:,.0f} msg/s -> {'OK' if full_rate >= args.min else 'BELOW TARGET'}")
    return 0 if full_rate >= args.min else 1


if __name__ == "__main__":
    raise SystemExit(main())
