"""One month rule for lessons, ages and date limits (bot/months.py), checked on month ends and leap days."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.content.lessons import Timing
from bot.domain.ages import describe_baby_age
from bot.i18n import Translator
from bot.months import add_months, whole_months, years_before

EN = Translator("en")


@pytest.mark.parametrize(
    ("birth", "today", "age"),
    [
        (date(2023, 11, 30), date(2024, 2, 29), "3 months old"),  # the 3-month lesson is due that day
        (date(2024, 2, 29), date(2025, 2, 28), "12 months old"),  # a leap-day baby turns one on 28 Feb
        (date(2024, 2, 29), date(2025, 2, 27), "11 months old"),
        (date(2025, 8, 31), date(2025, 11, 30), "3 months old"),
        (date(2025, 12, 31), date(2026, 12, 30), "11 months old"),  # a year end is an ordinary day
        (date(2025, 12, 31), date(2026, 12, 31), "12 months old"),
    ],
)
def test_her_babys_age_turns_on_the_day_its_lesson_arrives(birth: date, today: date, age: str) -> None:
    assert describe_baby_age(birth, today, EN) == age


def test_years_before_a_leap_day() -> None:
    assert years_before(date(2028, 2, 29), 2) == date(2026, 2, 28)
    assert years_before(date(2028, 2, 29), 4) == date(2024, 2, 29)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.integers(0, 30))
def test_a_babys_whole_months_agree_with_month_lessons(birth: date, months: int) -> None:
    due = Timing("birth", "month", months).due_on(birth)
    assert whole_months(birth, due) == months
    assert whole_months(birth, due - timedelta(days=1)) == max(0, months - 1)
    assert add_months(birth, months) == due
