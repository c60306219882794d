"""The test suite's one clock.

Every date a test uses derives from ``NOW``: 10:00 in Seoul on the test day. The day is fixed (25 November 2026)
so that runs are reproducible, and ``DODAM_TEST_DAY=YYYY-MM-DD`` moves it, to check that nothing depends on the
calendar (a year end, a leap day, a baby turning one). With ``DODAM_TEST_DAY`` set, the system clock as every
Python process of the run sees it (this one, and the ``dodam run`` processes the tests start) is moved to the
same instant, so code that reads the real clock agrees with the frozen one: see :func:`shift_system_clock`.
"""

from __future__ import annotations

import os
import time as _time
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

SEOUL = ZoneInfo("Asia/Seoul")
DEFAULT_DAY = date(2026, 11, 25)
TODAY: date = date.fromisoformat(os.environ.get("DODAM_TEST_DAY") or DEFAULT_DAY.isoformat())
NOW: datetime = datetime.combine(TODAY, time(10), SEOUL).astimezone(UTC)  # 10:00 in Seoul

# Children find the shift through these: the offset (seconds) from the real clock, and a sitecustomize hook.
OFFSET_VARIABLE = "DODAM_TEST_CLOCK_OFFSET"
HOOK_DIR = Path(__file__).resolve().parent / "clockshift"


def days_ago(days: int) -> date:
    """The date ``days`` before the test day (negative: after it)."""
    return TODAY - timedelta(days=days)


def weeks_ago(weeks: int) -> date:
    return TODAY - timedelta(weeks=weeks)


def at_seoul(hour: int, minute: int = 0, *, days: int = 0) -> datetime:
    """That local time in Seoul, ``days`` after the test day, as UTC."""
    return datetime.combine(TODAY + timedelta(days=days), time(hour, minute), SEOUL).astimezone(UTC)


def working_morning(day: date = TODAY) -> datetime:
    """10:00 in Seoul on the first working day (programme calendar) on or after ``day``: for tests of
    working-hour deadlines, which read differently on a weekend or a holiday."""
    from bot.domain.working_time import rules

    while not rules().working_time.is_working_day(day):
        day += timedelta(days=1)
    return datetime.combine(day, time(10), SEOUL).astimezone(UTC)


def shift_system_clock() -> None:
    """With ``DODAM_TEST_DAY`` set, move this process's clock (and, through the environment, its Python
    children's) so that the real clock reads ``NOW`` at the start of the run and then ticks on."""
    if not os.environ.get("DODAM_TEST_DAY"):
        return
    offset = os.environ.get(OFFSET_VARIABLE)
    if offset is None:
        offset = str(NOW.timestamp() - _time.time())
        os.environ[OFFSET_VARIABLE] = offset
        path = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = f"{HOOK_DIR}{os.pathsep}{path}" if path else str(HOOK_DIR)
    travel(float(offset))


def travel(offset: float) -> None:
    import time_machine

    # tick=True: the clock runs on from there; only the wall clock moves, monotonic time (timeouts) does not.
    time_machine.travel(datetime.fromtimestamp(_time.time() + offset, UTC), tick=True).start()
