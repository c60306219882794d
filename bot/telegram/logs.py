"""Keep updates out of the logs: PTB itself logs a whole update (her text, her name) in a few error paths,
e.g. "Error while building CallbackContext for update %s" at critical level."""

from __future__ import annotations

import logging

from telegram import Update


class RedactUpdates(logging.Filter):
    """Replaces any Update passed as a log argument by its id."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, Update) for a in record.args):
            record.args = tuple(f"#{a.update_id}" if isinstance(a, Update) else a for a in record.args)
        elif isinstance(record.msg, Update):
            record.msg = f"update #{record.msg.update_id}"
        return True


def redact_updates_in(logger: logging.Logger) -> None:
    """Put the filter on the logger's handlers, so it also sees records coming up from child loggers."""
    for handler in logger.handlers:
        handler.addFilter(RedactUpdates())


# Libraries that, below INFO, write what must never be logged: python-telegram-bot logs every API call's
# parameters (her text, names, one-time staff codes), httpx and httpcore every URL (the bot token in it).
_TALKATIVE = ("telegram", "httpx", "httpcore", "hpack", "aiohttp.access", "apscheduler")


def keep_libraries_quiet(level: int) -> str | None:
    """Hold those libraries at INFO or above (httpx at WARNING), whatever the configured level.

    Returns:
        A sentence for the operator when ``level`` asked for more than that (DEBUG), else None.
    """
    for name in _TALKATIVE:
        logging.getLogger(name).setLevel(max(level, logging.INFO))
    # httpx logs every request URL at INFO, and the URL holds the bot token.
    logging.getLogger("httpx").setLevel(max(level, logging.WARNING))
    if level < logging.INFO:
        return (
            "DEBUG applies to Dodam's own logs only: python-telegram-bot, httpx and httpcore stay at INFO or above, "
            "because below it they write message text, names, one-time codes and the bot token."
        )
    return None
