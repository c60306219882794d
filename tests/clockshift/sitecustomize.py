"""Moves a child process's clock by the test run's offset (see tests/clock.py); nothing without it."""

import os

_offset = os.environ.get("DODAM_TEST_CLOCK_OFFSET")
if _offset:
    try:
        import time
        from datetime import UTC, datetime

        import time_machine
    except ImportError:  # another virtualenv (Rasa's): its clock does not matter to the tests
        pass
    else:
        time_machine.travel(datetime.fromtimestamp(time.time() + float(_offset), UTC), tick=True).start()
