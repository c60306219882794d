"""Tests for bot.content.transfer: CSV/XLSX export, and all-or-nothing import that names the bad cell."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import openpyxl
import pytest
import yaml

from bot.content import transfer
from bot.content.library import inspect_content, load_library
from bot.content.transfer import COLUMNS, dump_lesson, export_file, import_file
from bot.i18n import LANGUAGES

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "content"
W6 = "baby-w6-peak-crying"
D0 = "baby-d0-first-feeds"


@pytest.fixture
def content(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(FIXTURE, root)
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "lessons").iterdir())}


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def write_csv(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(rows)


def find(rows: list[list[str]], slug: str, language: str, field: str) -> int:
    """Index in `rows` (0 = header) of a lesson's text; the spreadsheet row number is this + 1."""
    return next(i for i, r in enumerate(rows) if r[:3] == [slug, language, field])


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------


def test_csv_export_has_one_row_per_lesson_language_field(content: Path, tmp_path: Path) -> None:
    out = tmp_path / "lessons.csv"
    result = export_file(content, out, "csv")
    rows = read_csv(out)
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM, so Excel reads UTF-8
    assert rows[0] == list(COLUMNS)
    assert result.rows == len(rows) - 1 == 6 * len(LANGUAGES) * 2
    assert rows[1][:3] == ["pregnancy-w32-feeding-plan", "ko", "title"]  # timing order, then languages
    vi_body = rows[find(rows, W6, "vi", "body")]
    assert vi_body[3] == "false"
    assert vi_body[4].startswith("Khoảng sáu tuần tuổi") and "\n" in vi_body[4]
    assert vi_body[5] == load_library(content)[W6].texts["en"].body.rstrip("\n")  # English reference
    assert rows[find(rows, W6, "en", "title")][3] == "true"


def test_xlsx_export_keeps_text_that_looks_like_a_formula(content: Path, tmp_path: Path) -> None:
    path = content / "lessons" / f"{W6}.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace('title: "The peak of crying"', 'title: "=The peak of crying"'),
        encoding="utf-8",
    )
    out = tmp_path / "lessons.xlsx"
    export_file(content, out, "xlsx")
    sheet = openpyxl.load_workbook(out)["lessons"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == list(COLUMNS)
    row = next(r for r in rows if r[:3] == [W6, "en", "title"])
    assert row[3] is True and row[4] == "=The peak of crying"


# --------------------------------------------------------------------------------------------
# CSV import
# --------------------------------------------------------------------------------------------


def test_csv_round_trip_changes_only_the_edited_lesson(content: Path, tmp_path: Path) -> None:
    out = tmp_path / "lessons.csv"
    export_file(content, out, "csv")
    before = snapshot(content)
    old_version = load_library(content)[W6].version
    assert import_file(out, content).changed == ()  # an unedited export changes nothing

    rows = read_csv(out)
    new_body = "Khoảng sáu tuần tuổi, bé khóc nhiều nhất.\r\nRồi sẽ <b>đỡ hơn</b>.  "  # Excel line end, spaces
    rows[find(rows, W6, "vi", "body")][4] = new_body
    write_csv(out, rows)
    result = import_file(out, content)

    assert result.ok, result.errors
    assert result.changed == (content / "lessons" / f"{W6}.yaml",) and result.cells == 1
    after = snapshot(content)
    assert [name for name in before if before[name] != after[name]] == [f"{W6}.yaml"]
    lesson = load_library(content)[W6]
    assert lesson.texts["vi"].body == "Khoảng sáu tuần tuổi, bé khóc nhiều nhất.\nRồi sẽ <b>đỡ hơn</b>.\n"
    assert lesson.texts["en"] == load_library(FIXTURE)[W6].texts["en"]
    assert lesson.version != old_version
    # The file keeps the house layout.
    text = (content / "lessons" / f"{W6}.yaml").read_text(encoding="utf-8")
    assert text.startswith(f"slug: {W6}\ntopic: crying\nwhen: baby week 6\nrelevant_for: 8 weeks\nsource: ")
    assert '    title: "Giai đoạn bé khóc nhiều nhất"\n    body: |\n      Khoảng sáu' in text


def test_csv_import_with_one_bad_cell_changes_nothing(content: Path, tmp_path: Path) -> None:
    out = tmp_path / "lessons.csv"
    export_file(content, out, "csv")
    rows = read_csv(out)
    rows[find(rows, W6, "vi", "title")][4] = "Một tiêu đề mới, hợp lệ"  # a good edit…
    bad = find(rows, "baby-w2-cluster-feeding", "vi", "body")
    rows[bad][4] = "Nước & đồ ăn nhẹ"  # …and a bad one
    write_csv(out, rows)
    before = snapshot(content)

    result = import_file(out, content)

    assert not result.ok and result.changed == ()
    assert snapshot(content) == before
    assert [str(e).split(": ")[0] for e in result.errors] == [
        f"row {bad + 1}, column text (slug baby-w2-cluster-feeding, vi body)"
    ]
    assert "write a literal & as &amp;" in str(result.errors[0])


@pytest.mark.parametrize(
    ("column", "value", "named", "fragment"),
    [
        ("reviewed", "maybe", "column reviewed (slug baby-w6-peak-crying, vi body)", "must be true or false"),
        ("slug", "baby-w6-nope", "column slug", "no lesson 'baby-w6-nope'"),
        ("language", "fr", "column language", "'fr' is not one of"),
        ("field", "summary", "column field", "must be title or body"),
        ("text", "", "column text (slug baby-w6-peak-crying, vi body)", "the body is empty"),
    ],
)
def test_csv_bad_cells_are_named(
    content: Path, tmp_path: Path, column: str, value: str, named: str, fragment: str
) -> None:
    out = tmp_path / "lessons.csv"
    export_file(content, out, "csv")
    rows = read_csv(out)
    index = find(rows, W6, "vi", "body")
    rows[index][COLUMNS.index(column)] = value
    if column == "reviewed":
        rows[find(rows, W6, "vi", "title")][3] = value
    write_csv(out, rows)
    before = snapshot(content)
    result = import_file(out, content)
    assert snapshot(content) == before
    assert any(str(e).startswith(f"row {index + 1}, {named}") and fragment in str(e) for e in result.errors), (
        result.errors
    )


def test_problems_found_by_the_full_check_name_the_cell(content: Path, tmp_path: Path) -> None:
    out = tmp_path / "lessons.csv"
    export_file(content, out, "csv")
    rows = read_csv(out)
    index = find(rows, D0, "tl", "title")
    rows[index][4] = "Mga unang pagsuso ni baby"  # the {baby_name} placeholder is gone
    write_csv(out, rows)
    before = snapshot(content)
    result = import_file(out, content)
    assert snapshot(content) == before
    assert [str(e) for e in result.errors] == [
        f"row {index + 1}, column text (slug {D0}, tl title): text.tl.title: placeholders differ from 'en': "
        "missing {baby_name}"
    ]


def test_title_and_body_rows_must_agree_on_reviewed(content: Path, tmp_path: Path) -> None:
    out = tmp_path / "lessons.csv"
    export_file(content, out, "csv")
    rows = read_csv(out)
    rows[find(rows, W6, "vi", "body")][3] = "true"
    write_csv(out, rows)
    result = import_file(out, content)
    assert not result.ok and "title and body are reviewed together" in str(result.errors[0])
    rows[find(rows, W6, "vi", "title")][3] = "TRUE"
    write_csv(out, rows)
    assert import_file(out, content).ok
    assert load_library(content)[W6].texts["vi"].reviewed is True


def test_missing_column_is_reported(content: Path, tmp_path: Path) -> None:
    out = tmp_path / "lessons.csv"
    write_csv(out, [["slug", "language", "field", "text"], [W6, "vi", "body", "x"]])
    result = import_file(out, content)
    assert [str(e) for e in result.errors] == [
        "row 1: column 'reviewed' is missing; the header must be slug, language, field, reviewed, text, english"
    ]


def test_file_changed_by_someone_else_during_import_is_not_overwritten(
    content: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "lessons.csv"
    export_file(content, out, "csv")
    rows = read_csv(out)
    rows[find(rows, W6, "vi", "title")][4] = "Tiêu đề mới"
    write_csv(out, rows)
    path = content / "lessons" / f"{W6}.yaml"
    real_inspect = transfer.inspect_content

    def inspect_while_another_editor_saves(root: Path):  # type: ignore[no-untyped-def]
        path.write_text(
            path.read_text(encoding="utf-8").replace("It gets better.", "It gets easier."), encoding="utf-8"
        )
        return real_inspect(root)

    monkeypatch.setattr(transfer, "inspect_content", inspect_while_another_editor_saves)
    result = import_file(out, content)
    assert not result.ok and "the file changed while importing" in str(result.errors[0])
    assert "It gets easier." in path.read_text(encoding="utf-8")
    assert "Tiêu đề mới" not in path.read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------------
# XLSX import
# --------------------------------------------------------------------------------------------


def edit_xlsx(source: Path, target: Path, edits: dict[tuple[str, str, str], str]) -> dict[tuple[str, str, str], str]:
    """Set the text cell of some rows; returns each edited cell's A1 coordinate."""
    workbook = openpyxl.load_workbook(source)
    sheet = workbook["lessons"]
    coordinates = {}
    for row in sheet.iter_rows(min_row=2):
        key = (row[0].value, row[1].value, row[2].value)
        if key in edits:
            row[4].value = edits[key]
            coordinates[key] = row[4].coordinate
    workbook.save(target)
    return coordinates


def test_xlsx_round_trip(content: Path, tmp_path: Path) -> None:
    exported, edited = tmp_path / "lessons.xlsx", tmp_path / "edited.xlsx"
    export_file(content, exported, "xlsx")
    edit_xlsx(exported, edited, {(W6, "tl", "title"): "Ang pinakamaraming iyak"})
    before = snapshot(content)
    result = import_file(edited, content)
    assert result.ok, result.errors
    after = snapshot(content)
    assert [name for name in before if before[name] != after[name]] == [f"{W6}.yaml"]
    assert load_library(content)[W6].texts["tl"].title == "Ang pinakamaraming iyak"


def test_xlsx_bad_cell_changes_nothing_and_names_the_cell(content: Path, tmp_path: Path) -> None:
    exported, edited = tmp_path / "lessons.xlsx", tmp_path / "edited.xlsx"
    export_file(content, exported, "xlsx")
    cells = edit_xlsx(
        exported,
        edited,
        {
            (W6, "tl", "title"): "Ang pinakamaraming iyak",
            (W6, "ko", "body"): "잠시 쉬어도 <b>괜찮아요",
        },
    )
    before = snapshot(content)
    result = import_file(edited, content)
    assert snapshot(content) == before
    coordinate = cells[(W6, "ko", "body")]
    assert coordinate.startswith("E")
    assert [str(e) for e in result.errors] == [
        f"sheet lessons!{coordinate} (slug {W6}, ko body): line 1: <b> is never closed"
    ]


def test_xlsx_without_lessons_sheet(content: Path, tmp_path: Path) -> None:
    path = tmp_path / "other.xlsx"
    workbook = openpyxl.Workbook()
    assert workbook.active is not None
    workbook.active.title = "Sheet1"
    workbook.save(path)
    result = import_file(path, content)
    assert "no sheet named 'lessons' (found: Sheet1)" in str(result.errors[0])


# --------------------------------------------------------------------------------------------
# Writing lesson files
# --------------------------------------------------------------------------------------------


def test_dump_lesson_round_trips_every_fixture_lesson() -> None:
    for path in sorted((FIXTURE / "lessons").glob("*.yaml")):
        raw = yaml.safe_load(path.read_bytes())
        dumped = dump_lesson(raw)
        assert yaml.safe_load(dumped) == raw, path.name
        # The fixtures are written in the house layout, so the dump reproduces them byte for byte.
        assert dumped == path.read_text(encoding="utf-8"), path.name


def test_dump_lesson_orders_keys() -> None:
    raw = {
        "text": {"en": {"body": "b\n", "title": "t", "reviewed": False}},
        "source": "s",
        "when": "baby day 1",
        "slug": "x",
        "topic": "sleep",
    }
    assert dump_lesson(raw) == (
        'slug: x\ntopic: sleep\nwhen: baby day 1\nsource: "s"\ntext:\n  en:\n    reviewed: false\n'
        '    title: "t"\n    body: |\n      b\n'
    )


def test_import_result_leaves_content_valid(content: Path, tmp_path: Path) -> None:
    out = tmp_path / "lessons.csv"
    export_file(content, out, "csv")
    rows = read_csv(out)
    for language in LANGUAGES:
        rows[find(rows, "baby-m3-sleep-rhythm", language, "title")][3] = "true"
        rows[find(rows, "baby-m3-sleep-rhythm", language, "body")][3] = "true"
    write_csv(out, rows)
    result = import_file(out, content)
    assert result.ok and result.cells == len(LANGUAGES)
    report = inspect_content(content)
    assert report.problems == ()
    assert all(t.reviewed for t in load_library(content)["baby-m3-sleep-rhythm"].texts.values())
