"""Working time: deadlines that count only the programme's working hours, days and holidays."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

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
    holidays: frozenset[date] = field(default_factory=frozenset)

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
        holidays=frozenset(d if isinstance(d, date) else date.fromisoformat(str(d)) for d in data["holidays"]),
    )
    deadlines = data["deadlines"]
    return EscalationRules(
        working_time=working,
        urgent_minutes=float(deadlines["urgent"]["minutes"]),
        high_working_hours=float(deadlines["high"]["working_hours"]),
        routine_working_days=float(deadlines["routine"]["working_days"]),
    )
