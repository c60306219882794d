"""Tests for bot.content.library: every content check reports the right file and line.

Each test copies the valid fixture folder (tests/fixtures/content) and breaks one thing in it.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from bot.content.library import ContentError, Problem, check_content, inspect_content, load_library

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "content"
W6 = "baby-w6-peak-crying"  # no image, follow_up baby-m3-sleep-rhythm
D0 = "baby-d0-first-feeds"  # image, placeholders, follow_up


@pytest.fixture
def content(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(FIXTURE, root)
    return root


def lesson_path(root: Path, slug: str) -> Path:
    return root / "lessons" / f"{slug}.yaml"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} must occur exactly once in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def line_of(path: Path, needle: str, after: str | None = None) -> int:
    """1-based line of the first line containing `needle` (after the first line containing `after`)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = 0
    if after is not None:
        start = next(i for i, line in enumerate(lines) if after in line)
    return next(i for i, line in enumerate(lines[start:], start) if needle in line) + 1


def assert_problem(problems: list[Problem], file: Path, line: int, fragment: str, severity: str = "error") -> Problem:
    for problem in problems:
        if problem.file == file and problem.line == line and fragment in problem.message:
            assert problem.severity == severity, problem
            return problem
    listing = "\n".join(str(p) for p in problems) or "(no problems)"
    raise AssertionError(f"expected {severity} at {file.name}:{line} containing {fragment!r}; got:\n{listing}")


def test_fixture_is_valid() -> None:
    assert check_content(FIXTURE) == []
    library = load_library(FIXTURE)
    assert library.slugs == (
        "pregnancy-w32-feeding-plan",
        D0,
        "baby-w2-cluster-feeding",
        W6,
        "baby-m3-sleep-rhythm",
        "baby-m6-mother-wellbeing",
    )


def test_library_queries() -> None:
    library = load_library(FIXTURE)
    assert library.get("nope") is None
    assert library.get(W6) is library[W6]
    assert W6 in library and len(library) == 6
    # The image path is kept as written, relative to the content folder.
    assert library[D0].image == Path("images/first-feed.png") and (library.root / library[D0].image).is_file()
    assert library[W6].image is None
    assert [lesson.slug for lesson in library.by_topic("breastfeeding")] == [
        "pregnancy-w32-feeding-plan",
        D0,
        "baby-w2-cluster-feeding",
    ]
    assert [lesson.slug for lesson in library.lessons_for("due")] == ["pregnancy-w32-feeding-plan"]
    birth = date(2026, 1, 1)
    # Day 41 is the last of week 2's four relevant weeks; on day 42 the week 6 lesson takes over.
    assert [lesson.slug for lesson in library.lessons_for("birth", birth, on=date(2026, 2, 11))] == [
        "baby-w2-cluster-feeding"
    ]
    assert [lesson.slug for lesson in library.lessons_for("birth", birth, on=date(2026, 2, 12))] == [W6]
    assert library.lessons_for("birth", birth, on=date(2025, 12, 31)) == ()
    with pytest.raises(ValueError):
        library.lessons_for("birth", on=date(2026, 2, 15))


def test_version_is_sha256_prefix_of_file(content: Path) -> None:
    import hashlib

    path = lesson_path(content, W6)
    assert load_library(content)[W6].version == hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    edit(path, "It gets better.", "It does get better.")
    assert load_library(content)[W6].version == hashlib.sha256(path.read_bytes()).hexdigest()[:12]


# --------------------------------------------------------------------------------------------
# One file at a time
# --------------------------------------------------------------------------------------------


def test_yaml_syntax_error(content: Path) -> None:
    path = lesson_path(content, W6)
    edit(path, "when: baby week 6\n", "when: baby week 6\n  oops: 1\n")
    problem = assert_problem(check_content(content), path, line_of(path, "oops"), "YAML syntax")
    assert "mapping values are not allowed" in problem.message
    with pytest.raises(ContentError) as raised:
        load_library(content)
    assert problem in raised.value.problems


def test_empty_and_non_mapping_and_non_utf8(content: Path) -> None:
    empty, listing, latin = (content / "lessons" / f"{name}.yaml" for name in ("empty", "listing", "latin"))
    empty.write_text("", encoding="utf-8")
    listing.write_text("- a\n- b\n", encoding="utf-8")
    latin.write_bytes(b"slug: latin\ntopic: sleep\nsource: caf\xe9\n")
    problems = check_content(content)
    assert_problem(problems, empty, 1, "the file is empty")
    assert_problem(problems, listing, 1, "must be a mapping")
    assert_problem(problems, latin, 3, "not UTF-8")


def test_missing_required_field(content: Path) -> None:
    path = lesson_path(content, W6)
    edit(path, 'source: "Period of PURPLE Crying; ICON programme"\n', "")
    assert_problem(check_content(content), path, 1, "'source' is missing")


def test_topic_must_be_allowed(content: Path) -> None:
    path = lesson_path(content, W6)
    edit(path, "topic: crying", "topic: feeding")
    assert_problem(check_content(content), path, line_of(path, "topic:"), "topic 'feeding' is not one of")


def test_unknown_key_with_suggestion(content: Path) -> None:
    path = lesson_path(content, W6)
    edit(path, "relevant_for: 8 weeks", "relevent_for: 8 weeks")
    assert_problem(check_content(content), path, line_of(path, "relevent_for"), "did you mean 'relevant_for'")


def test_duplicate_key(content: Path) -> None:
    path = lesson_path(content, W6)
    edit(path, "topic: crying\n", "topic: crying\ntopic: sleep\n")
    assert_problem(check_content(content), path, line_of(path, "topic: sleep"), "appears twice (first on line 2)")


def test_slug_must_equal_file_name(content: Path) -> None:
    path = lesson_path(content, W6)
    edit(path, f"slug: {W6}", "slug: baby-w6-crying-peak")
    assert_problem(check_content(content), path, 1, "must equal the file name; this file is baby-w6-peak-crying")


def test_slug_format(content: Path) -> None:
    path = content / "lessons" / "Baby_W6.yaml"
    shutil.copy(lesson_path(content, W6), path)
    edit(path, f"slug: {W6}", "slug: Baby_W6")
    assert_problem(check_content(content), path, 1, "use lowercase letters, digits and single hyphens")


def test_duplicate_slugs(content: Path) -> None:
    copy = content / "lessons" / "baby-w6-peak-crying-2.yaml"
    shutil.copy(lesson_path(content, W6), copy)
    problems = check_content(content)
    assert_problem(problems, copy, 1, f"slug {W6!r} is also used by baby-w6-peak-crying.yaml")
    assert_problem(problems, lesson_path(content, W6), 1, f"slug {W6!r} is also used by {copy.name}")


def test_missing_language(content: Path) -> None:
    path = lesson_path(content, W6)
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("  tl:\n")], encoding="utf-8")
    assert_problem(check_content(content), path, line_of(path, "text:"), "text for 'tl' is missing")


def test_unknown_language(content: Path) -> None:
    path = lesson_path(content, W6)
    edit(path, "  zh_Hans:\n", "  zh:\n")
    problems = check_content(content)
    assert_problem(problems, path, line_of(path, "  zh:"), "unknown language 'zh'")
    assert_problem(problems, path, line_of(path, "text:"), "text for 'zh_Hans' is missing")


def test_missing_body_and_empty_title(content: Path) -> None:
    path = lesson_path(content, W6)
    edit(path, '    title: "Giai đoạn bé khóc nhiều nhất"\n', '    title: ""\n')
    edit(
        path,
        '    title: "Ang rurok ng pag-iyak"\n    body: |\n'
        "      Sa mga anim na linggo, pinakamadalas umiyak ang baby. Gagaan din ito.\n"
        "      Kung sobra na, ihiga si baby sa ligtas na lugar at <i>magpahinga sandali</i>.\n",
        '    title: "Ang rurok ng pag-iyak"\n',
    )
    problems = check_content(content)
    assert_problem(problems, path, line_of(path, 'title: ""'), "'text.vi.title' must be text, not empty")
    assert_problem(problems, path, line_of(path, "  tl:"), "text.tl.body is missing")


def test_reviewed_must_be_boolean(content: Path) -> None:
    path = lesson_path(content, W6)
    line = line_of(path, "reviewed:", after="  vi:")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[line - 1] = "    reviewed: maybe\n"
    path.write_text("".join(lines), encoding="utf-8")
    assert_problem(check_content(content), path, line, "'text.vi.reviewed' must be true or false")


def test_missing_reviewed_is_a_warning(content: Path) -> None:
    path = lesson_path(content, W6)
    line = line_of(path, "reviewed:", after="  vi:")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    del lines[line - 1]
    path.write_text("".join(lines), encoding="utf-8")
    assert_problem(check_content(content), path, line_of(path, "  vi:"), "counted as a draft", "warning")
    assert load_library(content)[W6].texts["vi"].reviewed is False  # warnings do not stop loading


def test_unknown_translation_key(content: Path) -> None:
    path = lesson_path(content, W6)
    edit(path, '    title: "The peak of crying"', '    titel: "The peak of crying"')
    problems = check_content(content)
    assert_problem(problems, path, line_of(path, "titel:"), "did you mean 'title'")
    assert_problem(problems, path, line_of(path, "  en:"), "text.en.title is missing")


def test_ask_helpful_must_be_boolean(content: Path) -> None:
    path = lesson_path(content, W6)
    edit(path, "follow_up:", "ask_helpful: sometimes\nfollow_up:")
    assert_problem(check_content(content), path, line_of(path, "ask_helpful"), "must be true or false")


@pytest.mark.parametrize(
    ("when", "fragment"),
    [
        ("baby week six", "is not a timing"),
        ("pregnancy week 3", "outside pregnancy weeks 4..42"),
        ("pregnancy week 43", "outside pregnancy weeks 4..42"),
        ("baby month 25", "beyond baby month 24"),
        ("baby week 105", "beyond baby week 104"),
    ],
)
def test_when_must_parse_and_be_in_range(content: Path, when: str, fragment: str) -> None:
    path = lesson_path(content, "pregnancy-w32-feeding-plan")
    edit(path, "when: pregnancy week 32", f"when: {when}")
    assert_problem(check_content(content), path, line_of(path, "when:"), fragment)


def test_edge_timings_are_accepted(content: Path) -> None:
    pregnancy = lesson_path(content, "pregnancy-w32-feeding-plan")
    edit(pregnancy, "when: pregnancy week 32", "when: pregnancy week 42")
    later = content / "lessons" / "baby-m24-two-years.yaml"
    shutil.copy(lesson_path(content, "baby-m6-mother-wellbeing"), later)
    edit(later, "slug: baby-m6-mother-wellbeing", "slug: baby-m24-two-years")
    edit(later, "when: baby month 6", "when: baby month 24")
    assert check_content(content) == []


@pytest.mark.parametrize(
    ("value", "fragment"),
    [("a week", "is not a duration"), ("0 days", "at least 1 day"), ("7", "must be text, not int 7")],
)
def test_relevant_for_must_parse(content: Path, value: str, fragment: str) -> None:
    path = lesson_path(content, W6)
    edit(path, "relevant_for: 8 weeks", f"relevant_for: {value}")
    assert_problem(check_content(content), path, line_of(path, "relevant_for:"), fragment)


def test_message_too_long(content: Path) -> None:
    path = lesson_path(content, W6)
    edit(
        path,
        "      Around six weeks, babies cry the most.",
        "      " + "x" * 4100 + " Around six weeks, babies cry the most.",
    )
    problem = assert_problem(
        check_content(content), path, line_of(path, "body:", after="  en:"), "a Telegram message allows 4096"
    )
    assert problem.key == "text.en.body"


def test_caption_too_long_with_image(content: Path) -> None:
    path = lesson_path(content, D0)
    edit(path, "      In the first days,", "      " + "x" * 1000 + " In the first days,")
    assert_problem(
        check_content(content),
        path,
        line_of(path, "body:", after="  en:"),
        "a Telegram photo caption allows 1024 (the lesson has an image)",
    )


def test_long_body_is_only_a_warning(content: Path) -> None:
    path = lesson_path(content, W6)
    edit(path, "      Around six weeks, babies cry the most.", "      " + "x" * 1300 + " Around six weeks.")
    assert_problem(check_content(content), path, line_of(path, "body:", after="  en:"), "aim for under 1200", "warning")
    assert len(load_library(content)) == 6


def test_button_label_limit(content: Path) -> None:
    path = lesson_path(content, W6)
    edit(
        path,
        '    title: "The peak of crying"\n',
        '    title: "The peak of crying"\n    button: "More about crying"\n',
    )
    assert check_content(content) == []
    edit(path, '    button: "More about crying"', '    button: "' + "울음" * 11 + '"')  # 66 bytes, 22 characters
    assert_problem(
        check_content(content), path, line_of(path, "button:"), "66 bytes; a button label may have at most 64"
    )


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        ("lay your baby down<br>somewhere safe", "<br> is not allowed"),
        ("lay your baby down somewhere safe and <b>take a break", "<b> is never closed"),
        ("lay your baby down somewhere safe & <i>take a break", "write a literal & as &amp;"),
        ("lay your baby down somewhere < safe and <i>take a break", "must be written as &lt;"),
        ("lay your baby down <a>somewhere</a> safe and <i>take a break", "needs an href"),
        ("lay your baby down&nbsp;somewhere safe and <i>take a break", "'&nbsp;'"),
    ],
)
def test_html_problems_point_at_the_body_line(content: Path, bad: str, fragment: str) -> None:
    path = lesson_path(content, W6)
    edit(path, "lay your baby down somewhere safe and <i>take a break", bad)
    # The problem is on the body's second line, not on the "body: |" line.
    problem = assert_problem(check_content(content), path, line_of(path, bad.split()[-1]), fragment)
    assert problem.line == line_of(path, "body:", after="  en:") + 2


def test_html_in_title(content: Path) -> None:
    path = lesson_path(content, W6)
    edit(path, '    title: "The peak of crying"', '    title: "The <u>peak of crying"')
    assert_problem(check_content(content), path, line_of(path, "The <u>peak"), "text.en.title: <u> is never closed")


def test_unknown_follow_up(content: Path) -> None:
    path = lesson_path(content, W6)
    edit(path, "follow_up: baby-m3-sleep-rhythm", "follow_up: baby-m3-sleep-rythm")
    assert_problem(
        check_content(content),
        path,
        line_of(path, "follow_up:"),
        "follow_up 'baby-m3-sleep-rythm' is not a lesson (did you mean 'baby-m3-sleep-rhythm'?)",
    )


def test_image_must_exist_inside_content(content: Path) -> None:
    path = lesson_path(content, D0)
    (content / "images" / "first-feed.png").unlink()
    assert_problem(check_content(content), path, line_of(path, "image:"), "does not exist")
    edit(path, "image: images/first-feed.png", "image: ../outside.png")
    (content.parent / "outside.png").write_bytes(b"png")
    assert_problem(check_content(content), path, line_of(path, "image:"), "must be a path inside the content folder")


def test_placeholders_must_match_across_languages(content: Path) -> None:
    path = lesson_path(content, D0)
    edit(path, 'title: "Những cữ bú đầu tiên của {baby_name}"', 'title: "Những cữ bú đầu tiên của {ten_be}"')
    problem = assert_problem(
        check_content(content),
        path,
        line_of(path, "{ten_be}"),
        "placeholders differ from 'en': missing {baby_name}; extra {ten_be}",
    )
    assert problem.key == "text.vi.title"


def test_yml_extension_is_an_error_and_other_files_a_warning(content: Path) -> None:
    yml = content / "lessons" / "baby-w9-extra.yml"
    yml.write_text("slug: baby-w9-extra\n", encoding="utf-8")
    notes = content / "lessons" / "notes.txt"
    notes.write_text("todo\n", encoding="utf-8")
    (content / "lessons" / ".baby-w6-peak-crying.yaml.swp").write_bytes(b"\0")
    problems = check_content(content)
    assert_problem(problems, yml, 0, "must end in .yaml")
    assert_problem(problems, notes, 0, "not a lesson file", "warning")
    assert len(problems) == 2


def test_missing_lessons_folder(tmp_path: Path) -> None:
    assert_problem(check_content(tmp_path), tmp_path, 0, "no lessons folder")


# --------------------------------------------------------------------------------------------
# Timing gaps over the baby's first 12 months
# --------------------------------------------------------------------------------------------


def test_timing_gaps_are_errors_on_the_content_folder(content: Path) -> None:
    # Without week 6 (relevant 8 weeks), nothing covers days 42..88; "baby month 3" starts on day 89..92
    # depending on the birth date, so week 12 (days 84..90) is a gap only for some babies.
    lesson_path(content, W6).unlink()
    problems = [p for p in check_content(content) if p.key == "coverage"]
    assert {p.file for p in problems} == {content} and {p.line for p in problems} == {0}
    weeks = [int(p.message.split("baby week ")[1].split()[0]) for p in problems]
    assert weeks == [6, 7, 8, 9, 10, 11, 12]
    assert "born on" not in problems[0].message
    assert "for a baby born on" in problems[-1].message


def test_relevance_window_closes_a_gap(content: Path) -> None:
    path = lesson_path(content, "baby-m6-mother-wellbeing")
    edit(path, "relevant_for: 30 weeks", "relevant_for: 20 weeks")
    weeks = [p.message for p in check_content(content) if p.key == "coverage"]
    # Month 6 is day 181..184; 20 weeks later is day 321..324, so weeks 46..51 are left uncovered.
    assert len(weeks) == 6 and "baby week 46 " in weeks[0] and "baby week 51 " in weeks[-1]
    edit(path, "relevant_for: 20 weeks", "relevant_for: 30 weeks")
    assert check_content(content) == []


def test_pregnancy_lessons_do_not_cover_baby_weeks(content: Path) -> None:
    path = lesson_path(content, "baby-w2-cluster-feeding")
    edit(path, "when: baby week 2", "when: pregnancy week 38")
    weeks = [p.message for p in check_content(content) if p.key == "coverage"]
    assert [w.split("baby week ")[1].split()[0] for w in weeks] == ["2", "3", "4", "5"]


def test_inspect_keeps_broken_files_for_coverage(content: Path) -> None:
    path = lesson_path(content, W6)
    edit(path, "topic: crying", "topic: feeding")
    report = inspect_content(content)
    assert report.library is None
    broken = next(f for f in report.files if f.path == path)
    assert broken.lesson is None and broken.slug == W6 and broken.statuses["en"] == "reviewed"
    # Its timing still counts, so one broken field does not also report timing gaps.
    assert [p for p in report.problems if p.key == "coverage"] == []
