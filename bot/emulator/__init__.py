"""Local Telegram Bot API emulator for tests, the terminal sandbox and benchmarks.

Run a real python-telegram-bot ``Application`` against :class:`Emulator` (``base_url`` /
``base_file_url``) and play the users with :class:`EmulatorClient`. No Telegram cloud access.
"""

from bot.emulator.client import EmulatorClient, EmulatorClientError
from bot.emulator.server import ApiError, Emulator

__all__ = ["ApiError", "Emulator", "EmulatorClient", "EmulatorClientError"]
