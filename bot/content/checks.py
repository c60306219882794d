"""Every data file besides the lessons that the bot runs on, checked exactly as the bot loads it.

Crisis lines, escalation rules, instruments, the screening schedule and the safety data (lexicons, context
cues, loss words, the danger model's settings) were loaded only at first use: a typo in one took the crisis
reply down at the worst moment, while ``dodam content check`` said "content OK". Now ``content check`` reports
each problem as ``file:line``, the bot refuses to start on any of them, and a running bot that finds one after
an edit keeps the version it has, loudly; a valid edit is taken up at the next use.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.content.library import Problem
from bot.domain import crisis, screening_flow, working_time
from bot.screening.instruments import INSTRUMENTS_DIR, load_instruments
from nlu import loss
from nlu.safety import assess
from nlu.safety import model as danger_model
from nlu.safety.detector import LEXICON_DIR, SafetyDetector

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DataFile:
    """A file (or a folder of ``*.yaml``), how the bot loads it, and the cache to clear for a valid edit."""

    path: Path
    what: str
    load: Callable[[Path], object]
    forget: Callable[[], None] = lambda: None


def data_files() -> tuple[DataFile, ...]:
    return (
        DataFile(crisis.LINES_FILE, "crisis lines", crisis.directory.__wrapped__, crisis.directory.cache_clear),
        DataFile(
            working_time.CONFIG_FILE, "escalation rules", working_time.rules.__wrapped__, working_time.rules.cache_clear
        ),
        DataFile(
            screening_flow.SCHEDULE_FILE,
            "screening schedule",
            screening_flow.schedule.__wrapped__,
            screening_flow.schedule.cache_clear,
        ),
        DataFile(INSTRUMENTS_DIR, "instruments", load_instruments, screening_flow.instruments.cache_clear),
        DataFile(LEXICON_DIR, "safety lexicons", SafetyDetector),
        DataFile(assess.CONTEXT_FILE, "safety context cues", assess.default_context.__wrapped__),
        DataFile(loss.CUES_FILE, "loss words", loss.load_cues),
        DataFile(danger_model.SETTINGS_FILE, "danger model settings", danger_model.check_settings),
    )


def _yaml_problems(path: Path) -> list[Problem]:
    """Syntax errors, with their line, in one file or every ``*.yaml`` of a folder."""
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    problems = []
    for file in files:
        try:
            yaml.safe_load(file.read_text(encoding="utf-8"))
        except yaml.MarkedYAMLError as exc:
            # An unclosed "[" or "{" is reported where the file ends; the line that opened it is the one to fix.
            unclosed = exc.context_mark is not None and "flow" in str(exc.context or "")
            mark = exc.context_mark if unclosed else exc.problem_mark or exc.context_mark
            reason = " ".join(str(part) for part in (exc.context, exc.problem) if part)
            problems.append(Problem(file, mark.line + 1 if mark else 1, f"YAML syntax: {reason}"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            problems.append(Problem(file, 1, f"cannot be read: {exc}"))
    return problems


def check_data_files(files: Sequence[DataFile] | None = None) -> list[Problem]:
    """Every problem in the bot's data files (empty when all load)."""
    problems: list[Problem] = []
    for data in data_files() if files is None else files:
        syntax = _yaml_problems(data.path)
        if syntax:
            problems += syntax
            continue
        try:
            data.load(data.path)
        except Exception as exc:  # whatever the loader refuses, the bot would refuse at the worst moment
            problems.append(Problem(data.path, 0, f"{data.what}: {type(exc).__name__}: {exc}"))
    return problems


def take_up_valid_edits() -> list[Problem]:
    """For a running bot after an edit: if every data file loads, forget the cached versions (the next use
    reads the new ones); otherwise keep them all and return the problems."""
    problems = check_data_files()
    if problems:
        for problem in problems:
            log.error("content problem, the running bot keeps its last good version: %s", problem)
        return problems
    for data in data_files():
        data.forget()
    return []
