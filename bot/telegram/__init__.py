"""The python-telegram-bot adapter."""

import os

# Opt in now to PTB's coming behaviour (durations as timedelta), which bot.telegram.sender handles.
os.environ.setdefault("PTB_TIMEDELTA", "1")
