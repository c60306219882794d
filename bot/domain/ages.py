"""How far along she is: pregnancy week or the baby's age, in words she reads."""

from __future__ import annotations

from datetime import date

from bot.i18n import Translator
from bot.months import whole_months

PREGNANCY_DAYS = 280  # 40 weeks from the last menstrual period to the due date


def pregnancy_week(due: date, today: date) -> int:
    """Completed weeks of pregnancy (gestational age) on `today`, for a pregnancy due on `due`."""
    return max(0, (PREGNANCY_DAYS - (due - today).days) // 7)


def baby_age_days(birth: date, today: date) -> int:
    return max(0, (today - birth).days)


def describe_baby_age(birth: date, today: date, t: Translator) -> str:
    """Days for the first two weeks, weeks until about three months, then months."""
    days = baby_age_days(birth, today)
    if days < 14:
        return t.plural("{n} day old", "{n} days old", days)
    if days < 13 * 7:
        return t.plural("{n} week old", "{n} weeks old", days // 7)
    months = whole_months(birth, today)
    return t.plural("{n} month old", "{n} months old", months)
