"""Calendar arithmetic in whole months and years, one rule everywhere: a day that a shorter month lacks
clamps to that month's end (31 January + 1 month = 28 February; 29 February − 1 year = 28 February).

Lessons fall due, ages are told and date limits are drawn with it, so a baby born on the 31st or on a leap
day is "one month old" on the same day her one-month lesson arrives.
"""

from __future__ import annotations

import calendar
from datetime import MINYEAR, date


def add_months(start: date, months: int) -> date:
    """The same day ``months`` calendar months later (earlier if negative), clamped to the month's end."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    if year < MINYEAR:
        return date.min
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` years earlier (29 February falls back to 28 February)."""
    return add_months(day, -12 * years)


def whole_months(start: date, today: date) -> int:
    """Completed calendar months from ``start`` to ``today`` (0 if ``today`` is not after ``start``)."""
    months = (today.year - start.year) * 12 + today.month - start.month
    if months > 0 and add_months(start, months) > today:
        months -= 1
    return max(0, months)
