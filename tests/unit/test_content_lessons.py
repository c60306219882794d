"""Tests for bot.content.lessons and bot.content.markup: timing, rendering, Telegram HTML and lengths."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.content.lessons import (
    Timing,
    parse_relevant_for,
    parse_timing,
    placeholders,
    render,
    render_plain,
    text_length,
    text_limit,
)
from bot.content.library import load_library
from bot.content.markup import check_markup, plain_text, telegram_length

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "content"


@pytest.fixture
def content(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(FIXTURE, root)
    return root


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timing", "anchor", "expected"),
    [
        # Pregnancy week W: due date minus (40 - W) weeks.
        (Timing("due", "week", 32), date(2026, 6, 30), date(2026, 5, 5)),
        (Timing("due", "week", 40), date(2026, 6, 30), date(2026, 6, 30)),
        (Timing("due", "week", 4), date(2026, 6, 30), date(2025, 10, 21)),  # 252 days before
        # Baby day D and week W: plain day counts from birth.
        (Timing("birth", "day", 0), date(2026, 3, 5), date(2026, 3, 5)),
        (Timing("birth", "day", 3), date(2026, 3, 5), date(2026, 3, 8)),
        (Timing("birth", "week", 6), date(2026, 3, 5), date(2026, 4, 16)),
        (Timing("birth", "week", 1), date(2026, 12, 28), date(2027, 1, 4)),
        # Baby month M: same day of the month, clamped to the end of a shorter month.
        (Timing("birth", "month", 0), date(2026, 1, 31), date(2026, 1, 31)),
        (Timing("birth", "month", 1), date(2026, 3, 5), date(2026, 4, 5)),
        (Timing("birth", "month", 1), date(2025, 1, 31), date(2025, 2, 28)),
        (Timing("birth", "month", 1), date(2024, 1, 31), date(2024, 2, 29)),
        (Timing("birth", "month", 1), date(2026, 3, 31), date(2026, 4, 30)),
        (Timing("birth", "month", 3), date(2025, 11, 30), date(2026, 2, 28)),
        (Timing("birth", "month", 12), date(2024, 2, 29), date(2025, 2, 28)),
        (Timing("birth", "month", 24), date(2024, 2, 29), date(2026, 2, 28)),
        (Timing("birth", "month", 6), date(2026, 8, 31), date(2027, 2, 28)),
    ],
)
def test_due_on(timing: Timing, anchor: date, expected: date) -> None:
    assert timing.due_on(anchor) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pregnancy week 32", Timing("due", "week", 32)),
        ("baby day 3", Timing("birth", "day", 3)),
        ("baby week 6", Timing("birth", "week", 6)),
        ("baby month 6", Timing("birth", "month", 6)),
        ("  Baby   Week  6 ", Timing("birth", "week", 6)),
    ],
)
def test_parse_timing(text: str, expected: Timing) -> None:
    assert parse_timing(text) == expected
    assert str(expected) == " ".join(text.lower().split())


@pytest.mark.parametrize("text", ["week 6", "baby year 1", "baby week six", "pregnancy day 200", "baby week -1", ""])
def test_parse_timing_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="is not a timing"):
        parse_timing(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7 days", timedelta(days=7)),
        ("1 day", timedelta(days=1)),
        ("2 weeks", timedelta(weeks=2)),
        ("1 week", timedelta(weeks=1)),
        (" 14 Days ", timedelta(days=14)),
    ],
)
def test_parse_relevant_for(text: str, expected: timedelta) -> None:
    assert parse_relevant_for(text) == expected


@pytest.mark.parametrize("text", ["a week", "7", "7 months", "0 days", "-1 days"])
def test_parse_relevant_for_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_relevant_for(text)


def test_sort_key_orders_pregnancy_then_baby_age() -> None:
    timings = [
        parse_timing(t)
        for t in (
            "baby week 5",
            "baby month 1",
            "pregnancy week 40",
            "baby week 4",
            "baby day 0",
            "pregnancy week 12",
        )
    ]
    ordered = [str(t) for t in sorted(timings, key=lambda t: t.sort_key)]
    assert ordered == [
        "pregnancy week 12",
        "pregnancy week 40",
        "baby day 0",
        "baby week 4",
        "baby month 1",
        "baby week 5",
    ]


# --------------------------------------------------------------------------------------------
# Lessons as she gets them
# --------------------------------------------------------------------------------------------


def test_render_bold_title_blank_line_body(content: Path) -> None:
    lesson = load_library(content)["baby-w6-peak-crying"]
    assert render(lesson, "en") == (
        "<b>The peak of crying</b>\n\n"
        "Around six weeks, babies cry the most. It gets better.\n"
        "If it is too much, lay your baby down somewhere safe and <i>take a break</i>."
    )


def test_render_fills_placeholders_escaped(content: Path) -> None:
    lesson = load_library(content)["baby-d0-first-feeds"]
    assert render(lesson, "en").startswith("<b>{baby_name}'s first feeds</b>")
    assert render(lesson, "en", {"baby_name": "Min & Jun"}).startswith("<b>Min &amp; Jun's first feeds</b>")


def test_render_plain_strips_tags_and_decodes(content: Path) -> None:
    lesson = load_library(content)["baby-w2-cluster-feeding"]
    text = render_plain(lesson, "en")
    assert text.startswith("Evenings of cluster feeding\n\n")
    assert "Keep water & a snack nearby." in text
    assert "<" not in text and "&amp;" not in text


def test_text_limit_is_caption_with_image(content: Path) -> None:
    library = load_library(content)
    assert text_limit(library["baby-d0-first-feeds"]) == 1024  # has an image
    assert text_limit(library["baby-w6-peak-crying"]) == 4096
    # "<b>" and "</b>" do not count; the title, the blank line and the body do.
    lesson = library["baby-w6-peak-crying"]
    expected = len("The peak of crying\n\n") + len(lesson.texts["en"].body.strip()) - len("<i></i>")
    assert text_length(lesson, "en") == expected


def test_relevance_window(content: Path) -> None:
    lesson = load_library(content)["baby-w6-peak-crying"]  # week 6, relevant for 8 weeks
    birth = date(2026, 3, 5)
    due = birth + timedelta(weeks=6)
    assert not lesson.is_relevant_on(birth, due - timedelta(days=1))
    assert lesson.is_relevant_on(birth, due)
    assert lesson.is_relevant_on(birth, due + timedelta(weeks=8) - timedelta(days=1))
    assert not lesson.is_relevant_on(birth, due + timedelta(weeks=8))


def test_placeholders() -> None:
    assert placeholders("Hi {baby_name}, {n} {baby_name} {not valid} {1x}") == {"baby_name", "n"}


# --------------------------------------------------------------------------------------------
# Telegram HTML
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "plain text",
        "<b>bold</b> <strong>s</strong> <i>i</i> <em>e</em> <u>u</u>",
        "<ins>i</ins> <s>s</s> <strike>s</strike>",
        '<del>d</del> <tg-spoiler>x</tg-spoiler> <span class="tg-spoiler">x</span>',
        '<a href="https://example.org/?a=1&amp;b=2">link</a>',
        "<b>bold <i>and italic</i></b>",
        '<pre><code class="language-python">x = 1</code></pre> <code>y</code>',
        "<blockquote>q</blockquote> <blockquote expandable>q</blockquote>",
        "1 &lt; 2 &gt; 0 &amp; &quot;q&quot; &#39; &#x1F600;",
    ],
)
def test_markup_accepts_telegram_html(text: str) -> None:
    assert check_markup(text) == []


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("one<br>two", 1, "<br> is not allowed"),
        ("a\n<div>x</div>", 2, "<div> is not allowed"),
        ("a\nb\n<b>never closed", 3, "<b> is never closed"),
        ("<b>a <i>b</b></i>", 1, "while <i> inside it is still open"),
        ("x</i>", 1, "never opened"),
        ("fish & chips", 1, "write a literal & as &amp;"),
        ("a\n&nbsp;", 2, "'&nbsp;'"),
        ("1 < 2", 1, "must be written as &lt;"),
        ("2 > 1", 1, "must be written as &gt;"),
        ("<a>no link</a>", 1, "needs an href"),
        ('<span class="red">x</span>', 1, 'only allowed as <span class="tg-spoiler">'),
        ('<b class="x">x</b>', 1, 'does not take the attribute "class"'),
        ("<b/>", 1, "self-closing"),
        ("<!-- note -->", 1, "comments are not allowed"),
        ("<code><b>x</b></code>", 1, "cannot be inside <code>"),
        ('<a href="x"><a href="y">x</a></a>', 1, "cannot be inside another <a>"),
    ],
)
def test_markup_rejects(text: str, line: int, fragment: str) -> None:
    issues = check_markup(text)
    assert any(issue.line == line and fragment in issue.message for issue in issues), issues


def test_plain_text_and_length() -> None:
    assert plain_text('<b>Hi</b> &amp; <a href="https://x.org">see</a>') == "Hi & see <https://x.org>"
    assert plain_text("<b>Hi</b>", bold=("[", "]")) == "[Hi]"
    # Telegram counts UTF-16 code units of the visible text: an emoji counts twice, tags not at all.
    assert telegram_length("<b>ab</b> &amp; 😀") == len("ab & ") + 2
    assert telegram_length("한국어") == 3
