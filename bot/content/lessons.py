"""Lessons as the bot uses them: when each is due, for how long it stays relevant, and its text per language.

The YAML files under ``content/lessons/`` are parsed and validated by :mod:`bot.content.library`;
this module only holds the resulting values and the pure logic on them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from html import escape
from pathlib import Path
from typing import Final, Literal

from bot.content.markup import plain_text, telegram_length
from bot.months import add_months

__all__ = [
    "BUTTON_LIMIT_BYTES",
    "CAPTION_LIMIT",
    "DEFAULT_RELEVANT_FOR",
    "MESSAGE_LIMIT",
    "PLACEHOLDER",
    "Anchor",
    "Lesson",
    "Timing",
    "Translation",
    "button_length",
    "parse_relevant_for",
    "parse_timing",
    "placeholders",
    "render",
    "render_plain",
    "text_length",
    "text_limit",
]

Anchor = Literal["due", "birth"]
Unit = Literal["day", "week", "month"]

MESSAGE_LIMIT: Final = 4096
"""Telegram's limit for a text message, in UTF-16 units of visible text."""
CAPTION_LIMIT: Final = 1024
"""Telegram's limit for a photo caption: a lesson with an image is sent as one photo with the text below."""
BUTTON_LIMIT_BYTES: Final = 64
"""Longest button label we accept, in UTF-8 bytes."""
DEFAULT_RELEVANT_FOR: Final = timedelta(days=7)
PREGNANCY_WEEKS: Final = 40
PLACEHOLDER: Final = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

_WHEN: Final = re.compile(r"(pregnancy week|baby day|baby week|baby month)\s+(\d+)", re.IGNORECASE)
_RELEVANT_FOR: Final = re.compile(r"(\d+)\s+(day|days|week|weeks)", re.IGNORECASE)
# Pregnancy lessons come first, then the baby's, whatever the calendar.
_ANCHOR_ORDER: Final = {"due": 0, "birth": 1}
_UNIT_ORDER: Final = {"day": 0, "week": 1, "month": 2}


@dataclass(frozen=True)
class Timing:
    """When a lesson is due, relative to the due date (pregnancy) or to the birth date (baby).

    Attributes:
        anchor: ``"due"`` for "pregnancy week W", ``"birth"`` for "baby day/week/month N".
        unit: ``"week"`` for pregnancy; ``"day"``, ``"week"`` or ``"month"`` for the baby.
        amount: The W or N from the ``when`` field.
    """

    anchor: Anchor
    unit: Unit
    amount: int

    def due_on(self, anchor_date: date) -> date:
        """The day the lesson is due, given the due date (anchor "due") or the birth date (anchor "birth").

        Pregnancy week W is the day she completes W weeks of gestation: the due date minus (40 - W) weeks.
        Baby day D is D days after birth (day 0 is the birthday), week W is 7W days after birth, and month M
        is the same day of the month M calendar months later, clamped to the month's last day.
        """
        if self.anchor == "due":
            return anchor_date - timedelta(weeks=PREGNANCY_WEEKS - self.amount)
        if self.unit == "day":
            return anchor_date + timedelta(days=self.amount)
        if self.unit == "week":
            return anchor_date + timedelta(weeks=self.amount)
        return add_months(anchor_date, self.amount)

    @property
    def approximate_days(self) -> int:
        """Days from the anchor, with months counted as 30.44 days; only for ordering and summaries."""
        if self.anchor == "due":
            return -7 * (PREGNANCY_WEEKS - self.amount)
        if self.unit == "month":
            return round(self.amount * 365.25 / 12)
        return self.amount * (7 if self.unit == "week" else 1)

    @property
    def sort_key(self) -> tuple[int, int, int, int]:
        """Pregnancy before baby, then by (approximate) age, so "baby week 4" sorts before "baby month 1"."""
        return (_ANCHOR_ORDER[self.anchor], self.approximate_days, _UNIT_ORDER[self.unit], self.amount)

    def __str__(self) -> str:
        if self.anchor == "due":
            return f"pregnancy week {self.amount}"
        return f"baby {self.unit} {self.amount}"


def parse_timing(text: str) -> Timing:
    """Parse a ``when`` field: "pregnancy week 32", "baby day 3", "baby week 6" or "baby month 6".

    Raises:
        ValueError: The text is not one of those forms. Ranges are checked by the content checker.
    """
    match = _WHEN.fullmatch(" ".join(text.split()))
    if not match:
        raise ValueError(
            f"{text!r} is not a timing; write 'pregnancy week 32', 'baby day 3', 'baby week 6' or 'baby month 6'"
        )
    kind, amount = match.group(1).lower().split(), int(match.group(2))
    if kind[0] == "pregnancy":
        return Timing("due", "week", amount)
    unit: Unit = "day" if kind[1] == "day" else "week" if kind[1] == "week" else "month"
    return Timing("birth", unit, amount)


def parse_relevant_for(text: str) -> timedelta:
    """Parse a ``relevant_for`` field: "N days" or "N weeks" (N at least 1).

    Raises:
        ValueError: Any other form, or zero.
    """
    match = _RELEVANT_FOR.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a duration; write '7 days' or '2 weeks'")
    amount = int(match.group(1))
    if amount < 1:
        raise ValueError(f"{text!r}: a lesson must stay relevant for at least 1 day")
    return timedelta(days=amount) if match.group(2).lower().startswith("day") else timedelta(weeks=amount)


def placeholders(text: str) -> frozenset[str]:
    """The ``{names}`` used in a text."""
    return frozenset(PLACEHOLDER.findall(text))


@dataclass(frozen=True)
class Translation:
    """A lesson's text in one language.

    Attributes:
        language: One of :data:`bot.i18n.LANGUAGES`.
        reviewed: True once a native-speaking health professional has checked it; False for a draft.
        title: One line, shown in bold. Telegram HTML.
        body: Telegram HTML.
        button: Optional label for this lesson's "Tell me more" button, instead of the bot's default.
    """

    language: str
    reviewed: bool
    title: str
    body: str
    button: str | None = None


@dataclass(frozen=True)
class Lesson:
    """One lesson file, validated.

    Attributes:
        version: First 12 hex digits of the SHA-256 of the file's bytes. Every delivered message records it,
            so "what exactly did she read" stays answerable after the file is edited.
        relevant_for: After ``due + relevant_for`` the lesson is skipped rather than sent late.
        image: Path relative to the content folder, as written in the file (``library.root / image``).
    """

    slug: str
    topic: str
    timing: Timing
    relevant_for: timedelta
    source: str
    follow_up: str | None
    ask_helpful: bool
    image: Path | None
    texts: Mapping[str, Translation]
    version: str
    path: Path = field(compare=False)

    @property
    def sort_key(self) -> tuple[tuple[int, int, int, int], str]:
        return (self.timing.sort_key, self.slug)

    def due_on(self, anchor_date: date) -> date:
        return self.timing.due_on(anchor_date)

    def relevant_until(self, anchor_date: date) -> date:
        """First day on which the lesson is no longer sent (exclusive end of its window)."""
        return self.due_on(anchor_date) + self.relevant_for

    def is_relevant_on(self, anchor_date: date, day: date) -> bool:
        """Whether the lesson may be sent on `day`: due, and not yet past its relevance window."""
        return self.due_on(anchor_date) <= day < self.relevant_until(anchor_date)


def render(lesson: Lesson, language: str, values: Mapping[str, str] | None = None) -> str:
    """The message text she receives (Telegram HTML parse mode): bold title, blank line, body.

    Args:
        values: Placeholder values, e.g. ``{"baby_name": "Minjun"}``; HTML-escaped here. Placeholders
            without a value are left as written.

    Raises:
        KeyError: The lesson has no text in `language`.
    """
    translation = lesson.texts[language]
    text = f"<b>{translation.title.strip()}</b>\n\n{translation.body.strip()}"
    if values:
        text = PLACEHOLDER.sub(lambda m: escape(values[m.group(1)]) if m.group(1) in values else m.group(0), text)
    return text


def render_plain(lesson: Lesson, language: str, *, bold: tuple[str, str] = ("", "")) -> str:
    """The rendered text as plain text (tags stripped, entities decoded), for terminals and logs."""
    return plain_text(render(lesson, language), bold=bold)


def text_limit(lesson: Lesson) -> int:
    """The Telegram limit that applies: a caption when the lesson is sent as a photo, else a message."""
    return CAPTION_LIMIT if lesson.image is not None else MESSAGE_LIMIT


def text_length(lesson: Lesson, language: str) -> int:
    """Length of the rendered text as Telegram counts it against :func:`text_limit`."""
    return telegram_length(render(lesson, language))


def button_length(label: str) -> int:
    """Length of a button label in UTF-8 bytes, the unit of :data:`BUTTON_LIMIT_BYTES`."""
    return len(label.encode("utf-8"))
