"""``dodam screening score``: score a screen from the command line, exactly as the bot scores it.

``bot/cli.py`` adds the command with :func:`register`; ``python -m bot.screening.cli`` runs it on its own
with the same arguments as ``dodam``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.i18n import LANGUAGES
from bot.screening.instruments import INSTRUMENTS_DIR, Instrument, InstrumentError, load_instruments
from bot.screening.scoring import Result, Risk, score

# Exit codes: 2 is argparse's own code for a bad command line, so bad answers use it too.
EXIT_BAD_INPUT = 2
EXIT_BAD_CONTENT = 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``screening`` command to the ``dodam`` parser's subcommands."""
    screening = subparsers.add_parser("screening", help="screening questionnaires (EPDS, PHQ-9, GAD-7)")
    commands = screening.add_subparsers(dest="screening_command", required=True)
    parser = commands.add_parser(
        "score",
        help="score a set of answers as the bot would",
        description="Print the total, subscales and risk level for one set of answers.",
    )
    parser.add_argument("instrument", metavar="INSTRUMENT", help="epds, phq9, gad7 or phq2")
    # Required, not defaulted: the language selects the cut-off, and a silent default would score a Korean
    # mother's EPDS against the English cut-off.
    parser.add_argument("--lang", required=True, choices=LANGUAGES, help="language the questions were shown in")
    parser.add_argument(
        "answers",
        metavar="ANSWERS",
        help="comma-separated indexes of the chosen options in the order shown (0 = first shown), e.g. 0,1,2",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument(
        "--content",
        type=Path,
        default=INSTRUMENTS_DIR,
        metavar="DIR",
        help="instrument files to use (default: content/instruments)",
    )
    parser.set_defaults(func=cmd_screening_score)


def parse_answers(text: str) -> list[int]:
    """``"0, 1,2"`` → ``[0, 1, 2]``; ValueError naming the bad part otherwise."""
    parts = [part.strip() for part in text.split(",")]
    answers = []
    for position, part in enumerate(parts, start=1):
        if not part.isdigit() or not part.isascii():
            raise ValueError(
                f"ANSWERS must be comma-separated option indexes like 0,1,2; answer {position} is {part!r}"
            )
        answers.append(int(part))
    return answers


def result_json(result: Result) -> dict[str, Any]:
    """The ``--json`` output."""
    return {
        "instrument": result.instrument,
        "lang": result.language,
        "total": result.total,
        "risk": result.risk.value,
        "subscales": dict(result.subscales),
        "urgent_items": list(result.urgent_items),
        "rescreen_in_days": result.rescreen_in_days,
    }


def format_text(instrument: Instrument, result: Result) -> str:
    """The human-readable output."""
    rule = instrument.risk[result.language]
    lines = [
        f"{instrument.name} v{result.version}, language {result.language}",
        "Item scores: "
        + "  ".join(f"{item.number}:{s}" for item, s in zip(instrument.items, result.item_scores, strict=True)),
        f"Total: {result.total} / {instrument.max_total}",
    ]
    for subscale in instrument.subscales:
        flagged = "FLAGGED" if result.subscale_flags[subscale.id] else "not flagged"
        lines.append(
            f"Subscale {subscale.id} ({subscale.name}): {result.subscales[subscale.id]} "
            f"(flag at ≥ {subscale.flag_at}: {flagged})"
        )
    urgent = ", ".join(f"item {n}" for n in result.urgent_items) or "none"
    lines.append(f"Urgent items: {urgent}")
    lines.append(f"Risk: {_describe_risk(result)}")
    band = f"high ≥ {rule.high}"
    if rule.possible is not None and rule.possible < rule.high:
        band += f", borderline ≥ {rule.possible}"
    validated = "validated" if result.cutoff_validated else "NOT validated for this language"
    lines.append(f"Cut-offs ({result.language}): {band}; {validated} ({', '.join(rule.source)})")
    if rule.note:
        lines.append(f"  {rule.note}")
    translation = instrument.translations[result.language]
    lines.append("Translation: " + ("validated" if translation.validated else "NOT validated"))
    return "\n".join(lines)


def _describe_risk(result: Result) -> str:
    if result.risk is Risk.URGENT:
        return "URGENT — a self-harm item was answered above 0; assess at once, whatever the total"
    if result.risk is Risk.HIGH:
        return "high — at or above the high cut-off; the nurse should contact her"
    if result.risk is Risk.BORDERLINE:
        return f"borderline — between the cut-offs; rescreen in {result.rescreen_in_days} days"
    return "low — below the cut-offs"


def cmd_screening_score(args: argparse.Namespace, settings: object = None) -> int:
    """Run ``dodam screening score``. ``settings`` is accepted for ``bot/cli.py``'s calling convention."""
    try:
        instruments = load_instruments(args.content)
    except InstrumentError as exc:
        print(f"dodam screening: instrument files are broken: {exc}", file=sys.stderr)
        return EXIT_BAD_CONTENT
    instrument = instruments.get(args.instrument.lower())
    if instrument is None:
        print(
            f"dodam screening: unknown instrument {args.instrument!r}; choose one of {', '.join(sorted(instruments))}",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    try:
        result = score(instrument, args.lang, parse_answers(args.answers))
    except ValueError as exc:
        print(f"dodam screening: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.json:
        print(json.dumps(result_json(result), ensure_ascii=False))
    else:
        print(format_text(instrument, result))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point taking ``dodam``'s arguments, e.g. ``screening score epds --lang ko 0,1,…``."""
    parser = argparse.ArgumentParser(prog="dodam")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
