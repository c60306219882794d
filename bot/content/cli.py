"""``dodam content …``: check, preview, translate and reload lessons, without a database.

Wire into the ``dodam`` command with ``register(sub)`` in ``bot.cli.build_parser``; it also runs alone as
``python -m bot.content.cli check``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

import bot
from bot.content.checks import check_data_files, data_files
from bot.content.lessons import CAPTION_LIMIT, MESSAGE_LIMIT, render_plain, text_length, text_limit
from bot.content.library import Problem, inspect_content
from bot.content.reloader import RELOAD_REQUEST_FILE
from bot.content.transfer import export_file, import_file
from bot.i18n import LANGUAGES

__all__ = [
    "DEFAULT_ROOT",
    "cmd_check",
    "cmd_coverage",
    "cmd_export",
    "cmd_import",
    "cmd_preview",
    "cmd_reload",
    "main",
    "register",
]

DEFAULT_ROOT: Final = Path(bot.__file__).resolve().parent.parent / "content"
Handler = Callable[[argparse.Namespace], int]


def _shown(path: Path) -> str:
    """A path as an editor would type it: relative to the current folder when it is inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _problem_line(problem: Problem) -> str:
    return f"{_shown(problem.file)}:{problem.line}: {problem.severity}: {problem.message}"


def cmd_check(args: argparse.Namespace) -> int:
    """Print every problem as ``file:line: severity: message``; exit 1 when there is any error."""
    report = inspect_content(args.root)
    data_problems = check_data_files()
    for problem in [*report.problems, *data_problems]:
        print(_problem_line(problem))
    errors, warnings = len(report.errors) + len(data_problems), len(report.warnings)
    lessons = len(report.files)
    if errors:
        print(
            f"{errors} error(s), {warnings} warning(s) in {lessons} lesson file(s) and the data files "
            "(crisis lines, escalation, instruments, screening schedule, safety data); the bot will not start on this"
        )
        return 1
    print(f"content OK: {lessons} lesson(s), {len(data_files())} data files, {warnings} warning(s)")
    return 0


def cmd_coverage(args: argparse.Namespace) -> int:
    """A table of lessons × languages (reviewed / draft / missing), with totals per language."""
    report = inspect_content(args.root)
    files = sorted(report.files, key=lambda f: (f.timing.sort_key if f.timing else (9, 0, 0, 0), f.path.stem))
    width = max([len("lesson"), *(len(f.path.stem) for f in files)])
    columns = [max(len(language), len("reviewed")) for language in LANGUAGES]
    header = "  ".join(
        [f"{'lesson':<{width}}", f"{'when':<18}"] + [f"{lang:<{w}}" for lang, w in zip(LANGUAGES, columns, strict=True)]
    )
    print(header.rstrip())
    print("-" * len(header))
    totals = {language: {"reviewed": 0, "draft": 0, "missing": 0} for language in LANGUAGES}
    for lesson_file in files:
        cells = []
        for language, column in zip(LANGUAGES, columns, strict=True):
            status = lesson_file.statuses.get(language, "missing")
            totals[language][status] += 1
            cells.append(f"{status:<{column}}")
        when = str(lesson_file.timing) if lesson_file.timing else "?"
        print("  ".join([f"{lesson_file.path.stem:<{width}}", f"{when:<18}", *cells]).rstrip())
    print("-" * len(header))
    for status in ("reviewed", "draft", "missing"):
        cells = [f"{totals[lang][status]:<{w}}" for lang, w in zip(LANGUAGES, columns, strict=True)]
        print("  ".join([f"{'total ' + status:<{width}}", " " * 18, *cells]).rstrip())
    if report.errors:
        print(f"\nnote: the content has {len(report.errors)} error(s); run `dodam content check`")
    return 0


def cmd_preview(args: argparse.Namespace) -> int:
    """Show a lesson as the mother would get it in one language: text, image, buttons, version."""
    report = inspect_content(args.root)
    lesson_file = next((f for f in report.files if f.path.stem == args.slug or f.slug == args.slug), None)
    if lesson_file is None:
        print(f"no lesson {args.slug!r} under {_shown(args.root / 'lessons')}", file=sys.stderr)
        return 1
    lesson = lesson_file.lesson
    if lesson is None:
        print(f"{args.slug} cannot be previewed until its errors are fixed:", file=sys.stderr)
        for problem in lesson_file.problems:
            if problem.is_error:
                print(_problem_line(problem), file=sys.stderr)
        return 1
    translation = lesson.texts[args.lang]
    state = "reviewed" if translation.reviewed else "DRAFT, not reviewed"
    bold = ("\033[1m", "\033[0m") if sys.stdout.isatty() else ("", "")
    rule = "─" * 60
    print(f"{lesson.slug}  [{args.lang}, {state}]  version {lesson.version}")
    print(f"when: {lesson.timing}, relevant for {lesson.relevant_for.days} days · topic: {lesson.topic}")
    print(f"source: {lesson.source}")
    if lesson.image is not None:
        print(f"image: {_shown(args.root / lesson.image)} (sent as a photo, the text as its caption)")
    print(rule)
    print(render_plain(lesson, args.lang, bold=bold))
    print(rule)
    if lesson.follow_up:
        label = translation.button or "Tell me more"
        print(f"[ {label} ]  → opens {lesson.follow_up}")
    if lesson.ask_helpful:
        print("Was this helpful?  [ Yes ]  [ No ]")
    kind = "caption" if text_limit(lesson) == CAPTION_LIMIT else "message"
    print(
        f"{text_length(lesson, args.lang)} / {text_limit(lesson)} characters ({kind}; messages allow {MESSAGE_LIMIT})"
    )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write all lesson texts to a CSV or XLSX file for translators."""
    out = args.out
    if out is None:
        out = Path(f"lessons.{args.format}")
    elif str(out) == "-":
        out = None
    result = export_file(args.root, out, args.format)
    for skipped in result.skipped:
        print(f"skipped {skipped}", file=sys.stderr)
    if result.path is not None:
        print(f"wrote {result.rows} rows to {result.path}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Import a CSV or XLSX export: all cells apply, or (on any error) none do."""
    result = import_file(args.file, args.root)
    for warning in result.warnings:
        print(f"warning: {warning}")
    if not result.ok:
        for error in result.errors:
            print(f"error: {error}")
        print(f"{len(result.errors)} error(s); nothing was changed")
        return 1
    for path in result.changed:
        print(f"updated {_shown(path)}")
    print(f"imported {result.cells} changed cell(s) into {len(result.changed)} lesson file(s)")
    if result.changed:
        print("run `dodam content reload` to have the running bot pick them up")
    return 0


def cmd_reload(args: argparse.Namespace) -> int:
    """Validate the content and, if valid, ask the running bot to reload it by touching the request file."""
    report = inspect_content(args.root)
    for problem in report.problems:
        print(_problem_line(problem))
    if report.library is None:
        print(f"not reloading: {len(report.errors)} error(s); the bot keeps its current lessons")
        return 1
    request: Path = args.request_file
    request.parent.mkdir(parents=True, exist_ok=True)
    request.touch()
    os.utime(request)  # touch() keeps the time of an existing file on some filesystems; be explicit
    print(f"content OK ({len(report.library)} lessons); asked the running bot to reload by touching {_shown(request)}")
    return 0


def _with_settings_ignored(handler: Handler) -> Callable[..., int]:
    """``bot.cli.main`` calls ``func(args, settings)``; these commands need no settings (and no database)."""

    def run(args: argparse.Namespace, *_settings: object) -> int:
        return handler(args)

    run.__doc__ = handler.__doc__
    return run


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``content`` and its subcommands to a ``dodam`` argument parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--root",
        type=Path,
        default=DEFAULT_ROOT,
        help=f"the content folder (default: {_shown(DEFAULT_ROOT)})",
    )
    content = subparsers.add_parser("content", help="lessons: check, preview, translate, reload")
    sub = content.add_subparsers(dest="content_command", required=True)

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        parser.set_defaults(func=_with_settings_ignored(handler))
        return parser

    add("check", cmd_check, "check every lesson file; exit 1 on any error")
    add("coverage", cmd_coverage, "which lessons are reviewed, draft or missing in each language")
    preview = add("preview", cmd_preview, "show a lesson as a mother would get it")
    preview.add_argument("slug")
    preview.add_argument("--lang", default="en", choices=LANGUAGES)
    export = add("export", cmd_export, "write all texts to a spreadsheet for translators")
    export.add_argument("--format", choices=("csv", "xlsx"), required=True)
    export.add_argument("--out", type=Path, help="output file (default: lessons.FORMAT; '-': CSV to stdout)")
    importer = add("import", cmd_import, "apply a translated spreadsheet (all cells or none)")
    importer.add_argument("file", type=Path)
    reload = add("reload", cmd_reload, "check the content and ask the running bot to reload it")
    reload.add_argument(
        "--request-file",
        type=Path,
        default=RELOAD_REQUEST_FILE,
        help=f"the file the bot watches (default: {_shown(RELOAD_REQUEST_FILE)})",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``dodam content`` on its own: ``python -m bot.content.cli check``."""
    parser = argparse.ArgumentParser(prog="dodam")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["content", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
