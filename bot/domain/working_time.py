"""Working time: deadlines that count only the programme's working hours, days and holidays."""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays as holiday_calendars
import yaml

from bot.models import CasePriority

CONFIG_FILE = Path(__file__).resolve().parents[2] / "content" / "programme" / "escalation.yaml"
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class WorkingTime:
    tz: ZoneInfo
    start: int  # hour
    end: int
    weekdays: frozenset[int]  # Monday = 0
    holidays: Container[date] = field(default_factory=frozenset)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.weekdays and day not in self.holidays

    def add(self, moment: datetime, hours: float) -> datetime:
        """The moment `hours` of working time after `moment` (outside working time, the clock waits)."""
        remaining = timedelta(hours=hours)
        local = moment.astimezone(self.tz)
        while True:
            day = local.date()
            opens = datetime.combine(day, time(self.start), tzinfo=self.tz)
            closes = datetime.combine(day, time(self.end), tzinfo=self.tz)
            if self.is_working_day(day) and local < closes:
                begin = max(local, opens)
                if begin + remaining <= closes:
                    return begin + remaining
                remaining -= closes - begin
            local = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.tz)

    @property
    def day_length(self) -> float:
        return float(self.end - self.start)


@dataclass(frozen=True)
class EscalationRules:
    working_time: WorkingTime
    urgent_minutes: float
    high_working_hours: float
    routine_working_days: float

    def deadline(self, priority: str, start: datetime) -> datetime:
        """When a case of this priority must be acknowledged; also the interval between escalations."""
        if priority == CasePriority.URGENT:
            return start + timedelta(minutes=self.urgent_minutes)
        if priority == CasePriority.HIGH:
            return self.working_time.add(start, self.high_working_hours)
        return self.working_time.add(start, self.routine_working_days * self.working_time.day_length)


@cache
def rules(path: Path = CONFIG_FILE) -> EscalationRules:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    wt = data["working_time"]
    start, end = wt["hours"]
    working = WorkingTime(
        tz=ZoneInfo(wt["timezone"]),
        start=int(start),
        end=int(end),
        weekdays=frozenset(_DAYS.index(d) for d in wt["days"]),
        holidays=public_holidays(data["holidays"]),
    )
    if not (0 <= working.start < working.end <= 24) or not working.weekdays:
        raise ValueError(f"{path}: working_time needs hours [start, end] within 0-24 and at least one day")
    deadlines = data["deadlines"]
    for key, unit in (("urgent", "minutes"), ("high", "working_hours"), ("routine", "working_days")):
        if not isinstance(deadlines[key][unit], int | float) or deadlines[key][unit] <= 0:
            raise ValueError(f"{path}: deadlines.{key}.{unit} must be a positive number")
    return EscalationRules(
        working_time=working,
        urgent_minutes=float(deadlines["urgent"]["minutes"]),
        high_working_hours=float(deadlines["high"]["working_hours"]),
        routine_working_days=float(deadlines["routine"]["working_days"]),
    )


class Holidays:
    """A country's public holidays in every year, from the maintained ``holidays`` library (lunar-calendar and
    substitute holidays included), with the programme's own days off added and any it works removed.

    A hand-kept list of dates runs out at its last year and silently turns every later holiday into a working
    day; the library computes any year.
    """

    def __init__(self, country: str, *, add: Iterable[date] = (), remove: Iterable[date] = ()) -> None:
        self._calendar = holiday_calendars.country_holidays(country)
        self._add, self._remove = frozenset(add), frozenset(remove)

    def __contains__(self, day: object) -> bool:
        if not isinstance(day, date) or day in self._remove:
            return False
        return day in self._add or day in self._calendar


def public_holidays(config: dict[str, Any]) -> Holidays:
    """The ``holidays:`` section of escalation.yaml: ``country`` (ISO code), optional ``add`` and ``remove``."""
    return Holidays(
        str(config["country"]),
        add=(_as_date(d) for d in config.get("add") or ()),
        remove=(_as_date(d) for d in config.get("remove") or ()),
    )


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
