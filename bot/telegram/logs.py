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
