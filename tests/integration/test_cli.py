"""The `dodam` command line: staff accounts and invite links, on a real database."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from bot.cli import main
from bot.db import make_engine, make_session_factory
from bot.models import InviteCode, Staff


@pytest.fixture
def db_env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    monkeypatch.setenv("DODAM_DATABASE_URL", database_url)
    monkeypatch.setenv("DODAM_BOT_USERNAME", "DodamTestBot")
    return database_url


def test_staff_add_prints_a_one_time_link(db_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["staff", "add", "--name", "Kim Minji", "--role", "nurse", "--district", "Gangbuk"]) == 0
    out = capsys.readouterr().out
    match = re.search(r"https://t\.me/DodamTestBot\?start=(staff-[A-Za-z0-9_-]+)", out)
    assert match, out
    assert f"/start {match.group(1)}" in out
    with make_session_factory(make_engine(db_env))() as s:
        staff = s.scalars(select(Staff)).one()
        assert (staff.name, staff.role, staff.district) == ("Kim Minji", "nurse", "Gangbuk")
        assert staff.bind_code_hash and match.group(1).removeprefix("staff-") not in staff.bind_code_hash


def test_staff_add_refuses_an_unknown_role(db_env: str) -> None:
    with pytest.raises(SystemExit):
        main(["staff", "add", "--name", "X", "--role", "janitor"])


def test_invite_create_prints_link_and_writes_qr(
    db_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["staff", "add", "--name", "Kim", "--role", "nurse"])
    capsys.readouterr()
    png = tmp_path / "invite.png"
    assert main(["invite", "create", "--nurse", "1", "--qr", str(png), "--max-uses", "30"]) == 0
    out = capsys.readouterr().out
    code = re.search(r"https://t\.me/DodamTestBot\?start=([A-Za-z0-9_-]+)", out)
    assert code, out
    with Image.open(png) as image:
        assert image.size[0] > 100 and image.size[0] == image.size[1]
    with make_session_factory(make_engine(db_env))() as s:
        invite = s.scalars(select(InviteCode)).one()
        assert (invite.code, invite.nurse_id, invite.max_uses) == (code.group(1), 1, 30)


def test_invite_for_a_missing_nurse_is_a_clear_error(db_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["invite", "create", "--nurse", "42"]) == 2
    assert "no active staff member with id 42" in capsys.readouterr().err
