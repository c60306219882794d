"""Lessons as data that content editors own: load, check, reload and translate ``content/lessons/*.yaml``.

Framework-free on purpose: nothing here imports Telegram, so the checker, the CLI and the tests run
anywhere, and the bot's delivery code depends on this package rather than the other way round.
"""

from bot.content.lessons import Lesson, Timing, Translation, render
from bot.content.library import ContentError, ContentLibrary, Problem, check_content, load_library
from bot.content.reloader import ContentStore

__all__ = [
    "ContentError",
    "ContentLibrary",
    "ContentStore",
    "Lesson",
    "Problem",
    "Timing",
    "Translation",
    "check_content",
    "load_library",
    "render",
]
