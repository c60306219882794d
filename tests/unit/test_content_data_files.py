"""The data files the crisis reply depends on are checked like lessons: file:line, no start on a broken one, and
a running bot keeps its last good version (bot/content/checks.py)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from bot.content.checks import DataFile, check_data_files, data_files, take_up_valid_edits
from bot.content.cli import cmd_check
from bot.domain import crisis


def copies(tmp_path: Path) -> dict[str, DataFile]:
    """Every data file copied under tmp_path, keyed by what it is."""
    out = {}
    for data in data_files():
        target = tmp_path / data.path.name
        if data.path.is_dir():
            shutil.copytree(data.path, target)
        else:
            shutil.copy(data.path, target)
        out[data.what] = replace(data, path=target)
    return out


def test_the_shipped_data_files_load() -> None:
    assert check_data_files() == []


@pytest.mark.parametrize(
    ("what", "edit", "line"),
    [
        ("crisis lines", lambda text: text + "  broken: [unclosed\n", 0),
        ("escalation rules", lambda text: text.replace("urgent: {minutes: 15}", "urgent: [15"), 4),
        ("escalation rules", lambda text: text.replace("urgent: {minutes: 15}", "urgent: {minutes: -15}"), None),
        ("danger model settings", lambda text: text.replace("check: 0.35", "check: 0.95"), None),
        ("loss words", lambda text: text.replace("'没了|", "'没了(|"), None),
    ],
)
def test_a_broken_data_file_is_reported_with_its_file_and_line(
    tmp_path: Path,
    what: str,
    edit,
    line: int | None,  # type: ignore[no-untyped-def]
) -> None:
    files = copies(tmp_path)
    broken = files[what]
    broken.path.write_text(edit(broken.path.read_text(encoding="utf-8")), encoding="utf-8")
    problems = check_data_files(list(files.values()))
    assert [p.file for p in problems] == [broken.path]
    if line == 0:
        assert problems[0].line == len(broken.path.read_text(encoding="utf-8").splitlines())
    elif line is not None:
        assert problems[0].line == line


def test_content_check_fails_on_a_broken_crisis_file(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    broken = tmp_path / "resources.yaml"
    broken.write_text(crisis.LINES_FILE.read_text(encoding="utf-8") + "  broken: [unclosed\n", encoding="utf-8")
    monkeypatch.setattr(crisis, "LINES_FILE", broken)
    args = type("Args", (), {"root": Path(__file__).resolve().parents[2] / "content"})()
    assert cmd_check(args) == 1  # type: ignore[arg-type]
    assert f"{broken}:" in capsys.readouterr().out


def test_the_bot_will_not_start_on_a_broken_crisis_file(tmp_path: Path, monkeypatch, sqlite_url: str) -> None:  # type: ignore[no-untyped-def]
    from bot.config import Settings
    from bot.content.library import ContentError
    from bot.runner import BotRunner

    broken = tmp_path / "resources.yaml"
    broken.write_text("countries: [", encoding="utf-8")
    monkeypatch.setattr(crisis, "LINES_FILE", broken)
    with pytest.raises(ContentError):
        BotRunner(replace(Settings(), database_url=sqlite_url), token="1:x", nlu=False)


def test_a_running_bot_keeps_the_last_good_crisis_lines(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    before = crisis.directory()
    edited = tmp_path / "resources.yaml"
    edited.write_text(crisis.LINES_FILE.read_text(encoding="utf-8") + "  broken: [unclosed\n", encoding="utf-8")
    monkeypatch.setattr(crisis, "LINES_FILE", edited)
    assert take_up_valid_edits()  # refused, loudly
    assert crisis.directory() is before
    edited.write_text(crisis.LINES_FILE.read_text(encoding="utf-8").replace("  broken: [unclosed\n", ""), "utf-8")
    assert take_up_valid_edits() == []
    crisis.directory.cache_clear()
