"""PTB logs whole updates in some error paths; the filter `dodam` installs keeps only their ids."""

from __future__ import annotations

import io
import logging

from telegram import Update

from bot.telegram.logs import RedactUpdates

UPDATE = {
    "update_id": 42,
    "message": {
        "message_id": 7,
        "date": 0,
        "chat": {"id": 5, "type": "private", "first_name": "Mai"},
        "from": {"id": 5, "is_bot": False, "first_name": "Mai"},
        "text": "my baby has a fever",
    },
}


def test_an_update_logged_by_ptb_shows_only_its_id() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactUpdates())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        update = Update.de_json(UPDATE, None)
        # The very call PTB makes in Application.process_update when a context cannot be built.
        logging.getLogger("telegram.ext.Application").critical(
            "Error while building CallbackContext for update %s. Update will not be processed.", update
        )
        logging.getLogger("telegram.ext.Application").error(update)
    finally:
        root.removeHandler(handler)
    text = out.getvalue()
    assert "#42" in text and "update #42" in text
    assert "fever" not in text and "Mai" not in text
