"""When a message may reach her: her delivery hour, quiet hours, her timezone."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo


@cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def at_hour(day: date, hour: int, tz: str) -> datetime:
    """`hour`:00 on `day` in her timezone, as an aware datetime."""
    return datetime.combine(day, time(hour), tzinfo=zone(tz))


def local_day(moment: datetime, tz: str) -> date:
    return moment.astimezone(zone(tz)).date()


def in_quiet_hours(moment: datetime, tz: str, *, start: int, end: int) -> bool:
    """Quiet hours wrap midnight (21–8 by default): nothing non-urgent is sent then."""
    hour = moment.astimezone(zone(tz)).hour
    return hour >= start or hour < end if start > end else start <= hour < end


def next_delivery(moment: datetime, tz: str, hour: int) -> datetime:
    """The first `hour`:00 in her timezone strictly after `moment`."""
    local = moment.astimezone(zone(tz))
    candidate = at_hour(local.date(), hour, tz)
    if candidate <= local:
        candidate = at_hour(local.date() + timedelta(days=1), hour, tz)
    return candidate
