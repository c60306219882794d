"""`dodam run` without a token: a person enrols and binds a staff account in the terminal."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from bot.i18n import Translator

ROOT = Path(__file__).resolve().parents[2]


def run_sandbox(lines: list[str], db: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("DODAM_TELEGRAM_TOKEN", "TELEGRAM_BOT_TOKEN")}
    env["DODAM_DATABASE_URL"] = f"sqlite:///{db}"
    env["DODAM_NLU_URL"] = "off"
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"],
        input="\n".join([*lines, ":quit"]) + "\n",
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def test_sandbox_enrolment_in_korean_then_staff_binding(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.sqlite3"
    out = run_sandbox(["/start", "1", "1", "2", "어제", "1", ":staff 김간호사 nurse ko"], db)
    assert "No Telegram token is set" in out and "sandbox" in out
    assert "[1] 한국어" in out
    ko = Translator("ko")
    assert ko("Main menu") in out and "Main menu" not in out
    payload = re.search(r"/start (staff-[A-Za-z0-9_-]+)", out)
    assert payload, out
    # Same database, a second run: the nurse binds her account; the mother's menu still answers.
    out = run_sandbox([":as 2001 ko", f"/start {payload.group(1)}", ":as 1001 ko", "/menu"], db)
    ko = Translator("ko")
    assert "김간호사" in out and ko("nurse") in out
    assert ko("Main menu") in out


def test_sandbox_resumes_mid_onboarding_after_restart(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.sqlite3"
    run_sandbox(["/start", "4", "1"], db)  # Vietnamese, agreed; now asked pregnant or born
    out = run_sandbox(["xin chào"], db)
    assert Translator("vi")("Are you pregnant now, or is your baby already born?") in out
