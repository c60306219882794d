"""An inline-keyboard calendar, for mothers who would rather tap a date than type it."""

from __future__ import annotations

import calendar
from datetime import date

from babel.dates import format_skeleton, get_day_names

from bot.domain.messages import Button, Keyboard
from bot.i18n import babel_locale

NOOP = "noop"


def month_of(value: str) -> date | None:
    """Parse the ``YYYY-MM`` of a ``cal:`` button; None if malformed."""
    try:
        year, month = (int(part) for part in value.split("-", 1))
        return date(year, month, 1)
    except ValueError:
        return None


def shift_month(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_keyboard(first: date, *, language: str, earliest: date, latest: date) -> Keyboard:
    """Days of one month as buttons; days outside [earliest, latest] are shown but inert."""
    locale = babel_locale(language)
    title = format_skeleton("yMMMM", first, locale=locale)
    narrow = get_day_names("narrow", locale=locale)
    header = tuple(Button(narrow[i], NOOP) for i in range(7))  # Monday first
    grid: list[tuple[Button, ...]] = []
    for week in calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month):
        row = []
        for day in week:
            if day.month != first.month:
                row.append(Button(" ", NOOP))
            elif earliest <= day <= latest:
                row.append(Button(str(day.day), f"day:{day.isoformat()}"))
            else:
                row.append(Button("·", NOOP))
        grid.append(tuple(row))
    prev_month, next_month = shift_month(first, -1), shift_month(first, 1)
    nav = (
        Button("‹", f"cal:{prev_month:%Y-%m}") if prev_month >= earliest.replace(day=1) else Button(" ", NOOP),
        Button(title, NOOP),
        Button("›", f"cal:{next_month:%Y-%m}") if next_month <= latest else Button(" ", NOOP),
    )
    return (nav, header, *grid)
