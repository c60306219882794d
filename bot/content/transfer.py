"""Lesson texts to and from a spreadsheet (CSV or XLSX), for translators and reviewers.

One row per lesson × language × field (title, body), with the English text beside each row as a reference.
An import is all or nothing: every cell is checked, the changes are applied to a copy of the content
folder, the copy gets the full content check, and only then are the lesson files replaced.
"""

from __future__ import annotations

import copy
import csv
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Final, Literal

import yaml
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from bot.content.library import FIELDS, TEXT_FIELDS, Problem, inspect_content
from bot.content.markup import check_markup
from bot.i18n import LANGUAGES

__all__ = [
    "COLUMNS",
    "SHEET",
    "ExportResult",
    "ImportIssue",
    "ImportResult",
    "dump_lesson",
    "export_file",
    "import_file",
]

Format = Literal["csv", "xlsx"]

COLUMNS: Final = ("slug", "language", "field", "reviewed", "text", "english")
REQUIRED_COLUMNS: Final = ("slug", "language", "field", "reviewed", "text")
TEXT_KEYS: Final = ("title", "body")
SHEET: Final = "lessons"
_TRUE: Final = frozenset({"true", "yes", "y", "1"})
_FALSE: Final = frozenset({"false", "no", "n", "0", ""})
_README_SHEET: Final = (
    "How to use this sheet",
    "",
    "Edit only the 'text' and 'reviewed' columns of the 'lessons' sheet; 'english' is there for reference.",
    "Keep the HTML tags (<b>…</b>, <i>…</i>) and the {placeholders} exactly as in the English text.",
    "Write a literal & < > as &amp; &lt; &gt;.",
    "Set reviewed to TRUE only after a native-speaking health professional has checked the text.",
    "Import with: dodam content import FILE.",
    "If any cell is wrong, nothing is imported and the message names the cell.",
)


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote; `skipped` names lesson files that could not be read at all."""

    path: Path | None
    rows: int
    skipped: tuple[str, ...]


def _read_raw(path: Path) -> dict[str, Any] | None:
    try:
        data = yaml.safe_load(path.read_bytes())
    except (yaml.YAMLError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _text_of(raw: dict[str, Any], language: str) -> dict[str, Any]:
    texts = raw.get("text")
    entry = texts.get(language) if isinstance(texts, dict) else None
    return entry if isinstance(entry, dict) else {}


def _export_rows(root: Path) -> tuple[list[tuple[str, str, str, bool, str, str]], list[str]]:
    """Rows in timing order; lessons that are broken but readable are exported too, so work can go on."""
    report = inspect_content(root)
    order = sorted(
        report.files,
        key=lambda f: (f.timing.sort_key if f.timing else (9, 0, 0, 0), f.path.stem),
    )
    rows: list[tuple[str, str, str, bool, str, str]] = []
    skipped: list[str] = []
    for lesson_file in order:
        raw = _read_raw(lesson_file.path)
        if raw is None:
            skipped.append(f"{lesson_file.path.name}: not readable YAML (see dodam content check)")
            continue
        slug = lesson_file.path.stem
        english = _text_of(raw, "en")
        for language in LANGUAGES:
            entry = _text_of(raw, language)
            for key in TEXT_KEYS:
                rows.append(
                    (
                        slug,
                        language,
                        key,
                        entry.get("reviewed") is True,
                        _cell_text(entry.get(key)),
                        _cell_text(english.get(key)),
                    )
                )
    return rows, skipped


def _cell_text(value: object) -> str:
    return value.rstrip("\n") if isinstance(value, str) else ""


def export_file(root: Path, out: Path | None, fmt: Format) -> ExportResult:
    """Write every lesson text to `out` as CSV or XLSX; CSV goes to standard output when `out` is None.

    CSV is written as UTF-8 with a byte-order mark: without it, Excel opens Korean and Vietnamese as mojibake.
    """
    rows, skipped = _export_rows(Path(root))
    if fmt == "csv":
        if out is None:
            import sys

            writer = csv.writer(sys.stdout)
            writer.writerow(COLUMNS)
            writer.writerows([[*row[:3], _bool_text(row[3]), *row[4:]] for row in rows])
        else:
            with out.open("w", encoding="utf-8-sig", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(COLUMNS)
                writer.writerows([[*row[:3], _bool_text(row[3]), *row[4:]] for row in rows])
    else:
        if out is None:
            raise ValueError("an XLSX export needs --out FILE")
        _write_xlsx(out, rows)
    return ExportResult(out, len(rows), tuple(skipped))


def _bool_text(value: bool) -> str:
    return "true" if value else "false"


def _write_xlsx(out: Path, rows: list[tuple[str, str, str, bool, str, str]]) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = SHEET
    sheet.append(list(COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        sheet.append(list(row))
        for cell in sheet[sheet.max_row]:
            cell.alignment = wrap
            # openpyxl stores any string starting with "=" as a formula; lesson text is never a formula.
            if isinstance(cell.value, str):
                cell.data_type = "s"
    for index, width in enumerate((28, 9, 7, 9, 70, 70), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    about = workbook.create_sheet("read me")
    for line in _README_SHEET:
        about.append([line])
    about.column_dimensions["A"].width = 110
    workbook.save(out)


# --------------------------------------------------------------------------------------------
# Import
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportIssue:
    """A reason the import was refused, naming the cell ("row 17, column text (slug …, vi body)")."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


@dataclass(frozen=True)
class ImportResult:
    """Outcome of :func:`import_file`: either files changed and no errors, or errors and nothing changed."""

    changed: tuple[Path, ...]
    cells: int
    errors: tuple[ImportIssue, ...]
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _Row:
    number: int
    cells: Mapping[str, object]
    locate: Callable[[str], str]  # column name → "row 17, column text" or "sheet lessons!E17"
    slug: str = ""
    language: str = ""
    field: str = ""

    def where(self, column: str) -> str:
        context = f" (slug {self.slug}, {self.language} {self.field})" if self.slug else ""
        return f"{self.locate(column)}{context}"


def _read_csv(path: Path, issues: list[ImportIssue]) -> list[_Row]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            records = list(csv.reader(handle))
    except UnicodeDecodeError:
        issues.append(ImportIssue(str(path), "not UTF-8 text; save the CSV as UTF-8"))
        return []
    except csv.Error as exc:
        issues.append(ImportIssue(str(path), f"not a readable CSV file: {exc}"))
        return []
    if not records:
        issues.append(ImportIssue(str(path), "the file is empty"))
        return []
    header = [name.strip().lower() for name in records[0]]
    columns = _check_header(header, lambda index: f"row 1, column {index + 1}", issues)
    rows = []
    for number, record in enumerate(records[1:], start=2):
        cells: dict[str, object] = {
            name: record[index] if index < len(record) else "" for name, index in columns.items()
        }
        rows.append(_Row(number, cells, partial(_csv_cell, number)))
    return rows


def _read_xlsx(path: Path, issues: list[ImportIssue]) -> list[_Row]:
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a file that is not a workbook
        issues.append(ImportIssue(str(path), f"not a readable XLSX workbook: {exc}"))
        return []
    try:
        if SHEET not in workbook.sheetnames:
            found = ", ".join(workbook.sheetnames)
            issues.append(ImportIssue(str(path), f"no sheet named {SHEET!r} (found: {found})"))
            return []
        records = [list(values) for values in workbook[SHEET].iter_rows(values_only=True)]
    finally:
        workbook.close()
    if not records:
        issues.append(ImportIssue(str(path), f"sheet {SHEET!r} is empty"))
        return []
    header = [str(name).strip().lower() if name is not None else "" for name in records[0]]
    columns = _check_header(header, lambda index: f"sheet {SHEET}!{get_column_letter(index + 1)}1", issues)
    rows = []
    for number, record in enumerate(records[1:], start=2):
        cells = {name: record[index] if index < len(record) else None for name, index in columns.items()}
        letters = {name: get_column_letter(index + 1) for name, index in columns.items()}
        rows.append(_Row(number, cells, partial(_xlsx_cell, letters, number)))
    return rows


def _csv_cell(number: int, column: str) -> str:
    return f"row {number}, column {column}"


def _xlsx_cell(letters: dict[str, str], number: int, column: str) -> str:
    return f"sheet {SHEET}!{letters[column]}{number}"


def _check_header(header: list[str], locate: Callable[[int], str], issues: list[ImportIssue]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        if name in columns:
            issues.append(ImportIssue(locate(index), f"column {name!r} appears twice"))
        elif name in COLUMNS:
            columns[name] = index
    for name in REQUIRED_COLUMNS:
        if name not in columns:
            expected = ", ".join(COLUMNS)
            issues.append(ImportIssue("row 1", f"column {name!r} is missing; the header must be {expected}"))
    return columns


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _as_bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    text = _as_text(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def _normalise(field: str, text: str) -> str:
    """Spreadsheets add \\r\\n and trailing spaces; YAML's literal block style cannot keep trailing spaces."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if field == "title":
        return text.strip()
    lines = [line.rstrip() for line in text.split("\n")]
    body = "\n".join(lines).strip("\n")
    return f"{body}\n" if body else ""


@dataclass(frozen=True)
class _Change:
    row: _Row
    reviewed: bool
    text: str


def _validate_rows(rows: list[_Row], lesson_paths: dict[str, Path], issues: list[ImportIssue]) -> list[_Change]:
    changes: list[_Change] = []
    seen: dict[tuple[str, str, str], int] = {}
    reviewed_seen: dict[tuple[str, str], tuple[bool, int]] = {}
    for row in rows:
        values = {name: _as_text(value).strip() for name, value in row.cells.items() if name != "text"}
        if not any(values.values()) and not _as_text(row.cells.get("text")).strip():
            continue  # blank line at the end of a sheet
        slug, language, field = values.get("slug", ""), values.get("language", ""), values.get("field", "")
        bad = False
        if slug not in lesson_paths:
            message = f"no lesson {slug!r} (looked for lessons/{slug}.yaml)"
            issues.append(ImportIssue(row.locate("slug"), message))
            bad = True
        if language not in LANGUAGES:
            message = f"{language!r} is not one of {', '.join(LANGUAGES)}"
            issues.append(ImportIssue(row.locate("language"), message))
            bad = True
        if field not in TEXT_KEYS:
            issues.append(ImportIssue(row.locate("field"), f"{field!r} must be title or body"))
            bad = True
        if bad:
            continue
        row.slug, row.language, row.field = slug, language, field
        key = (slug, language, field)
        if key in seen:
            issues.append(ImportIssue(row.where("slug"), f"the same text is also on row {seen[key]}"))
            continue
        seen[key] = row.number
        reviewed = _as_bool(row.cells.get("reviewed"))
        if reviewed is None:
            message = f"{row.cells.get('reviewed')!r} must be true or false"
            issues.append(ImportIssue(row.where("reviewed"), message))
            continue
        other = reviewed_seen.setdefault((slug, language), (reviewed, row.number))
        if other[0] != reviewed:
            message = (
                f"reviewed is {_bool_text(other[0])} on row {other[1]} for the same lesson and "
                "language; title and body are reviewed together"
            )
            issues.append(ImportIssue(row.where("reviewed"), message))
            continue
        text = _normalise(field, _as_text(row.cells.get("text")))
        for issue in check_markup(text):
            issues.append(ImportIssue(row.where("text"), f"line {issue.line}: {issue.message}"))
        if field == "title" and "\n" in text:
            issues.append(ImportIssue(row.where("text"), "a title is one line"))
        changes.append(_Change(row, reviewed, text))
    return changes


def import_file(path: Path, root: Path) -> ImportResult:
    """Apply the texts and review flags in a CSV or XLSX export to the lesson files under ``root/lessons``.

    All or nothing: any error, in a cell or in the content as it would be after the import, leaves every
    file untouched. Only lessons whose text or review flag actually changed are rewritten, each by an
    atomic rename.
    """
    path, root = Path(path), Path(root)
    issues: list[ImportIssue] = []
    if not path.is_file():
        return ImportResult((), 0, (ImportIssue(str(path), "no such file"),))
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        return ImportResult((), 0, (ImportIssue(str(path), "import needs a .csv or .xlsx file"),))
    rows = _read_csv(path, issues) if suffix == ".csv" else _read_xlsx(path, issues)
    if issues:
        return ImportResult((), 0, tuple(issues))
    lesson_paths = {p.stem: p for p in sorted((root / "lessons").glob("*.yaml"))}
    changes = _validate_rows(rows, lesson_paths, issues)
    if issues:
        return ImportResult((), 0, tuple(issues))

    originals: dict[str, bytes] = {}
    updated: dict[str, dict[str, Any]] = {}
    cells = 0
    for change in changes:
        slug = change.row.slug
        if slug not in updated:
            originals[slug] = lesson_paths[slug].read_bytes()
            raw = _read_raw(lesson_paths[slug])
            if raw is None or not isinstance(raw.get("text", {}), dict):
                issues.append(
                    ImportIssue(
                        change.row.where("slug"),
                        f"lessons/{slug}.yaml cannot be read; fix it first (dodam content check)",
                    )
                )
                continue
            updated[slug] = copy.deepcopy(raw)
        cells += _apply(updated[slug], change, issues)
    if issues:
        return ImportResult((), 0, tuple(issues))
    changed = {slug: raw for slug, raw in updated.items() if raw != _read_raw(lesson_paths[slug])}
    if not changed:
        unchanged = "nothing to change: every text and review flag is already as in the file"
        return ImportResult((), 0, (), (unchanged,))

    with tempfile.TemporaryDirectory(prefix="dodam-import-") as tmp:
        staged = Path(tmp) / "content"
        shutil.copytree(root, staged, symlinks=True)
        rendered = {slug: dump_lesson(raw) for slug, raw in changed.items()}
        for slug, text in rendered.items():
            (staged / "lessons" / f"{slug}.yaml").write_text(text, encoding="utf-8")
        report = inspect_content(staged)
        by_key = {(c.row.slug, c.row.language, c.row.field): c.row for c in changes}
        for problem in report.errors:
            issues.append(_locate_problem(problem, staged, root, by_key, set(changed)))
        warnings = tuple(str(_locate_problem(p, staged, root, by_key, set(changed))) for p in report.warnings)
    if issues:
        return ImportResult((), 0, tuple(issues), warnings)

    # Another editor may have saved a lesson meanwhile: refuse rather than overwrite their work.
    for slug in changed:
        if lesson_paths[slug].read_bytes() != originals[slug]:
            issues.append(
                ImportIssue(
                    f"lessons/{slug}.yaml",
                    "the file changed while importing; nothing was changed, import again",
                )
            )
    if issues:
        return ImportResult((), 0, tuple(issues), warnings)
    for slug, text in rendered.items():
        _atomic_write(lesson_paths[slug], text)
    return ImportResult(tuple(lesson_paths[slug] for slug in rendered), cells, (), warnings)


def _apply(raw: dict[str, Any], change: _Change, issues: list[ImportIssue]) -> int:
    """Set one cell's text and its language's review flag in a lesson's data; 1 if anything changed."""
    texts = raw.setdefault("text", {})
    entry = texts.get(change.row.language)
    if not isinstance(entry, dict):
        if not change.text:
            return 0  # an untranslated language left empty: nothing to do
        entry = texts[change.row.language] = {}
    if not change.text:
        issues.append(
            ImportIssue(
                change.row.where("text"),
                f"the {change.row.field} is empty; every translation needs a title and a body",
            )
        )
        return 0
    before = (entry.get("reviewed"), entry.get(change.row.field))
    current = entry.get(change.row.field)
    if isinstance(current, str) and _normalise(change.row.field, current) == change.text:  # noqa: SIM108
        text = current  # unchanged apart from whitespace the spreadsheet dropped: keep the file's exact text
    else:
        text = change.text
    entry["reviewed"] = change.reviewed
    entry[change.row.field] = text
    return int(before != (entry.get("reviewed"), entry.get(change.row.field)))


def _locate_problem(
    problem: Problem, staged: Path, root: Path, by_key: dict[tuple[str, str, str], _Row], changed: set[str]
) -> ImportIssue:
    """Name the spreadsheet cell behind a problem found in the staged copy, or else the file it is in."""
    parts = problem.key.split(".")
    slug = problem.file.stem
    if len(parts) == 3 and parts[0] == "text":
        language, key = parts[1], parts[2]
        field = key if key in TEXT_KEYS else "title"
        row = by_key.get((slug, language, field)) or by_key.get((slug, language, "body"))
        if row is not None:
            return ImportIssue(row.where("reviewed" if key == "reviewed" else "text"), problem.message)
    try:
        relative = problem.file.relative_to(staged)
    except ValueError:
        relative = problem.file
    shown = root / relative
    if slug in changed and relative.parent.name == "lessons":
        return ImportIssue(f"{shown} (as it would be after the import)", problem.message)
    where = f"{shown}:{problem.line}" if problem.line else str(shown)
    return ImportIssue(where, problem.message)


# --------------------------------------------------------------------------------------------
# Writing lesson files
# --------------------------------------------------------------------------------------------


class _Quoted(str):
    """A string written in double quotes, as the README writes titles and sources."""


class _Block(str):
    """A string written in literal block style (|), as the README writes bodies."""


class _LessonDumper(yaml.SafeDumper):
    pass


def _represent_quoted(dumper: yaml.SafeDumper, data: _Quoted) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(data), style='"')


def _represent_block(dumper: yaml.SafeDumper, data: _Block) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(data), style="|" if "\n" in data else None)


_LessonDumper.add_representer(_Quoted, _represent_quoted)
_LessonDumper.add_representer(_Block, _represent_block)


def _ordered(mapping: dict[str, Any], order: Iterable[str]) -> dict[str, Any]:
    order = list(order)
    keys = [k for k in order if k in mapping] + [k for k in mapping if k not in order]
    return {k: mapping[k] for k in keys}


def dump_lesson(raw: dict[str, Any]) -> str:
    """A lesson as YAML in the house layout: README key order, quoted titles and sources, | bodies."""
    lesson = _ordered(raw, FIELDS)
    if isinstance(lesson.get("source"), str):
        lesson["source"] = _Quoted(lesson["source"])
    texts = lesson.get("text")
    if isinstance(texts, dict):
        ordered_texts = {}
        for language, entry in _ordered(texts, LANGUAGES).items():
            if isinstance(entry, dict):
                entry = _ordered(entry, TEXT_FIELDS)
                for key, kind in (("title", _Quoted), ("button", _Quoted), ("body", _Block)):
                    if isinstance(entry.get(key), str):
                        entry[key] = kind(entry[key])
            ordered_texts[language] = entry
        lesson["text"] = ordered_texts
    return yaml.dump(
        lesson,
        Dumper=_LessonDumper,
        sort_keys=False,
        allow_unicode=True,
        width=1_000_000,
        default_flow_style=False,
        indent=2,
    )


def _atomic_write(path: Path, text: str) -> None:
    """Replace `path` so that a reader (the running bot) sees the old file or the new one, never half."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
