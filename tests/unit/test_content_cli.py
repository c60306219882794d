"""Tests for bot.content.cli: `dodam content check|coverage|preview|export|import|reload`."""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import shutil
from pathlib import Path

import pytest

from bot.content.cli import main, register
from bot.i18n import LANGUAGES

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "content"
W6 = "baby-w6-peak-crying"
D0 = "baby-d0-first-feeds"


@pytest.fixture
def content(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(FIXTURE, root)
    return root


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def break_topic(root: Path) -> Path:
    path = root / "lessons" / f"{W6}.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("topic: crying", "topic: feeding"), encoding="utf-8")
    return path


def test_register_adds_content_to_a_dodam_parser() -> None:
    parser = argparse.ArgumentParser(prog="dodam")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(["content", "check", "--root", str(FIXTURE)])
    assert args.root == FIXTURE
    # bot.cli.main calls func(args, settings); the content commands ignore the settings.
    assert args.func(args, object()) == 0
    assert args.func(args) == 0


def test_check_valid_content(content: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "--root", str(content))
    assert code == 0
    assert out.strip() == "content OK: 6 lesson(s), 8 data files, 0 warning(s)"


def test_check_prints_file_line_and_fails_on_errors(content: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = break_topic(content)
    code, out, _ = run(capsys, "check", "--root", str(content))
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == f"{path}:2: error: topic 'feeding' is not one of breastfeeding, crying, sleep, wellbeing"
    assert lines[-1].startswith("1 error(s), 0 warning(s) in 6 lesson file(s)")


def test_check_warnings_do_not_fail(content: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (content / "lessons" / "notes.txt").write_text("todo\n", encoding="utf-8")
    code, out, _ = run(capsys, "check", "--root", str(content))
    assert code == 0
    assert "notes.txt:0: warning: not a lesson file" in out
    assert out.splitlines()[-1] == "content OK: 6 lesson(s), 8 data files, 1 warning(s)"


def test_check_relative_paths_from_the_current_folder(
    content: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    break_topic(content)
    monkeypatch.chdir(content.parent)
    _, out, _ = run(capsys, "check", "--root", "content")
    assert out.startswith(f"content/lessons/{W6}.yaml:2: error:")


def test_coverage_table(content: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = content / "lessons" / f"{W6}.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("  tl:\n")], encoding="utf-8")  # tl missing in one lesson
    code, out, _ = run(capsys, "coverage", "--root", str(content))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["lesson", "when", *LANGUAGES]
    row = next(line for line in lines if line.startswith(W6)).split()
    assert row == [W6, "baby", "week", "6", "draft", "reviewed", "draft", "draft", "missing"]
    first = next(line for line in lines if line.startswith("pregnancy-w32")).split()
    assert first[-5:] == ["reviewed", "reviewed", "draft", "draft", "draft"]
    totals = {line.split()[1]: line.split()[2:] for line in lines if line.startswith("total ")}
    assert totals == {
        "reviewed": ["2", "4", "1", "0", "0"],
        "draft": ["4", "2", "5", "6", "5"],
        "missing": ["0", "0", "0", "0", "1"],
    }
    assert "the content has 1 error(s)" in out


def test_preview_shows_what_she_gets(content: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "preview", D0, "--lang", "vi", "--root", str(content))
    assert code == 0
    version = hashlib.sha256((content / "lessons" / f"{D0}.yaml").read_bytes()).hexdigest()[:12]
    assert out.splitlines()[0] == f"{D0}  [vi, DRAFT, not reviewed]  version {version}"
    assert f"image: {content / 'images' / 'first-feed.png'}" in out
    assert "Những cữ bú đầu tiên của {baby_name}\n\nNhững ngày đầu, bé bú 8 lần" in out
    assert "[ Tell me more ]  → opens baby-w2-cluster-feeding" in out
    assert "Was this helpful?  [ Yes ]  [ No ]" in out
    assert "/ 1024 characters (caption" in out


def test_preview_strips_html_and_omits_absent_buttons(content: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "preview", "pregnancy-w32-feeding-plan", "--lang", "en", "--root", str(content))
    assert code == 0
    assert "Tell the hospital now that you would like skin-to-skin time." in out
    assert "<b>" not in out and "Tell me more" not in out and "Was this helpful" not in out
    assert "image:" not in out
    _, out, _ = run(capsys, "preview", "baby-w2-cluster-feeding", "--lang", "en", "--root", str(content))
    assert "Keep water & a snack nearby." in out


def test_preview_unknown_or_broken_lesson(content: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "preview", "nope", "--root", str(content))
    assert code == 1 and "no lesson 'nope'" in err
    break_topic(content)
    code, _, err = run(capsys, "preview", W6, "--root", str(content))
    assert code == 1 and "topic 'feeding'" in err


def test_export_and_import_commands(content: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "texts.csv"
    code, stdout, _ = run(capsys, "export", "--format", "csv", "--out", str(out), "--root", str(content))
    assert code == 0 and stdout.strip() == f"wrote 60 rows to {out}"
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    index = next(i for i, r in enumerate(rows) if r[:3] == [W6, "vi", "title"])
    rows[index][4] = "Tiêu đề mới"
    with out.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(rows)
    code, stdout, _ = run(capsys, "import", str(out), "--root", str(content))
    assert code == 0 and "imported 1 changed cell(s) into 1 lesson file(s)" in stdout

    rows[index][4] = "Tiêu đề <i>mới"
    with out.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(rows)
    code, stdout, _ = run(capsys, "import", str(out), "--root", str(content))
    assert code == 1
    assert f"error: row {index + 1}, column text (slug {W6}, vi title): line 1: <i> is never closed" in stdout
    assert stdout.splitlines()[-1] == "1 error(s); nothing was changed"

    xlsx = tmp_path / "texts.xlsx"
    code, stdout, _ = run(capsys, "export", "--format", "xlsx", "--out", str(xlsx), "--root", str(content))
    assert code == 0 and xlsx.stat().st_size > 0


def test_export_csv_to_stdout(content: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "export", "--format", "csv", "--out", "-", "--root", str(content))
    assert code == 0 and out.startswith("slug,language,field,reviewed,text,english")


def test_reload_touches_the_request_file_only_when_valid(
    content: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request = tmp_path / "var" / "content-reload"
    code, out, _ = run(capsys, "reload", "--root", str(content), "--request-file", str(request))
    assert code == 0 and request.exists()
    assert f"content OK (6 lessons); asked the running bot to reload by touching {request}" in out
    os.utime(request, ns=(1_000_000_000, 1_000_000_000))

    break_topic(content)
    code, out, _ = run(capsys, "reload", "--root", str(content), "--request-file", str(request))
    assert code == 1 and "not reloading: 1 error(s)" in out
    assert request.stat().st_mtime_ns == 1_000_000_000  # not touched

    (tmp_path / "fresh").mkdir()
    missing = tmp_path / "fresh" / "content-reload"
    run(capsys, "reload", "--root", str(content), "--request-file", str(missing))
    assert not missing.exists()
