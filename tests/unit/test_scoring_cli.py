"""``dodam screening score`` prints exactly what :func:`bot.screening.score` computes."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.i18n import LANGUAGES
from bot.screening import Instrument, Result, load_instruments, score
from bot.screening.cli import main

ROOT = Path(__file__).resolve().parents[2]
JSON_KEYS = {"instrument", "lang", "total", "risk", "subscales", "urgent_items", "rescreen_in_days"}


@cache
def instruments() -> dict[str, Instrument]:
    return load_instruments()


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse's own rejections
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def expected_json(result: Result) -> dict[str, object]:
    # Built field by field from the Result, independently of the CLI's own conversion.
    return {
        "instrument": result.instrument,
        "lang": result.language,
        "total": result.total,
        "risk": str(result.risk),
        "subscales": result.subscales,
        "urgent_items": list(result.urgent_items),
        "rescreen_in_days": result.rescreen_in_days,
    }


@pytest.mark.parametrize("instrument_id", ["epds", "phq9", "gad7", "phq2"])
@pytest.mark.parametrize("language", LANGUAGES)
@settings(max_examples=25)  # each example parses the YAML files again, as a real command does
@given(data=st.data())
def test_cli_json_equals_score(instrument_id: str, language: str, data: st.DataObject) -> None:
    inst = instruments()[instrument_id]
    answers = [data.draw(st.integers(0, len(item.options) - 1)) for item in inst.items]

    code, out, err = run("screening", "score", instrument_id, "--lang", language, ",".join(map(str, answers)), "--json")

    assert (code, err) == (0, "")
    printed = json.loads(out)
    assert set(printed) == JSON_KEYS
    assert printed == expected_json(score(inst, language, answers))


def test_cli_through_a_real_process() -> None:
    answers = "0,1,2,3,0,0,0,0,0,0"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.screening.cli",
            "screening",
            "score",
            "epds",
            "--lang",
            "ko",
            answers,
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == expected_json(score(instruments()["epds"], "ko", [0, 1, 2, 3] + [0] * 6))


def test_cli_text_output() -> None:
    code, out, _ = run("screening", "score", "epds", "--lang", "en", "3,3,2,3,2,3,3,3,3,3")
    assert code == 0
    assert "Total: 11 / 30" in out
    assert "Subscale anxiety (EPDS-3A anxiety subscale): 5 (flag at ≥ 5: FLAGGED)" in out
    assert "Urgent items: none" in out
    assert "Risk: borderline" in out and "rescreen in 14 days" in out


def test_cli_accepts_spaces_and_upper_case_id() -> None:
    code, out, _ = run("screening", "score", "PHQ2", "--lang", "tl", "1, 2", "--json")
    assert code == 0
    assert json.loads(out)["risk"] == "high"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["epds", "--lang", "en", "0,0,0"], "needs 10 answers"),
        (["epds", "--lang", "en", "0,0,0,0,0,0,0,0,0,4"], "answer 10 (item 10) is 4"),
        (["epds", "--lang", "en", "0,0,a,0,0,0,0,0,0,0"], "answer 3 is 'a'"),
        (["epds", "--lang", "en", "0,,0"], "answer 2 is ''"),
        (["bdi", "--lang", "en", "0"], "unknown instrument 'bdi'; choose one of epds, gad7, phq2, phq9"),
        (["epds", "--lang", "fr", "0"], "invalid choice: 'fr'"),
        (["epds", "0,0"], "--lang"),
    ],
)
def test_cli_bad_input_exits_2(argv: list[str], message: str) -> None:
    code, out, err = run("screening", "score", *argv)
    assert code == 2
    assert out == ""
    assert message in err


def test_cli_broken_content_exits_1(tmp_path: Path) -> None:
    (tmp_path / "epds.yaml").write_text("id: epds\n", encoding="utf-8")
    code, _, err = run("screening", "score", "epds", "--lang", "en", "0", "--content", str(tmp_path))
    assert code == 1
    assert "missing field" in err
