"""Working-time deadlines across year ends, leap days and lunar holidays (content/programme/escalation.yaml)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.domain.working_time import Holidays, public_holidays, rules
from bot.models import CasePriority

SEOUL = rules().working_time.tz


def seoul(*args: int) -> datetime:
    return datetime(*args, tzinfo=SEOUL)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("opened", "deadline"),
    [
        # Thursday 31 Dec 2026, 16:00: two hours that day, New Year's Day off, the weekend, then Monday.
        (seoul(2026, 12, 31, 16), seoul(2027, 1, 4, 11)),
        # Friday 5 Feb 2027, 17:00: Seollal (6–8 Feb) and its substitute day (9 Feb) pass no working time.
        (seoul(2027, 2, 5, 17), seoul(2027, 2, 10, 12)),
        # Tuesday 29 Feb 2028 (a leap day) is an ordinary working day.
        (seoul(2028, 2, 29, 16), seoul(2028, 3, 2, 11)),  # 1 March (Independence Movement Day) is off
        # Chuseok 2028 (2–4 Oct), National Foundation Day (3 Oct) and its substitute (5 Oct).
        (seoul(2028, 9, 29, 15), seoul(2028, 10, 6, 10)),
    ],
)
def test_high_priority_deadlines_skip_weekends_and_holidays_in_any_year(opened: datetime, deadline: datetime) -> None:
    assert rules().deadline(CasePriority.HIGH, opened) == deadline


def test_urgent_deadlines_run_on_the_clock_through_a_holiday() -> None:
    assert rules().deadline(CasePriority.URGENT, seoul(2027, 1, 1, 23, 50)) == seoul(2027, 1, 2, 0, 5)


def test_the_programme_can_add_and_remove_days() -> None:
    calendar = public_holidays({"country": "KR", "add": ["2027-03-02"], "remove": [date(2027, 3, 1)]})
    assert date(2027, 3, 2) in calendar and date(2027, 3, 1) not in calendar
    assert date(2031, 1, 1) in calendar  # no year runs out
    assert date(2027, 3, 3) not in Holidays("KR")
