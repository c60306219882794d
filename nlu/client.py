"""Asking the Rasa server what a message is about, with a short timeout and a keyword fallback.

The bot never imports rasa: it speaks HTTP (`POST /model/parse`) to a Rasa server in its own virtualenv.
If that server is slow or down, :meth:`NluClient.parse` answers from keywords instead of waiting.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx

from nlu.keywords import guess_topic
from nlu.loss import has_loss_cue

log = logging.getLogger(__name__)

INTENTS = (
    "breastfeeding",
    "crying",
    "sleep",
    "mood",
    "talk_to_nurse",
    "stop",
    "change_language",
    "greet",
    "thanks",
    "baby_loss",
    "nlu_fallback",
)


@dataclass(frozen=True)
class Understanding:
    intent: str
    confidence: float
    source: str  # "rasa" or "keywords"


class NluClient:
    """Synchronous client (the conversation runs in a worker thread); one pooled connection."""

    def __init__(self, url: str | None, *, timeout: float = 0.5) -> None:
        self.url = url.rstrip("/") if url else None
        self._http = httpx.Client(timeout=timeout) if url else None

    def parse(self, text: str) -> Understanding:
        if self._http is not None and self.url is not None:
            try:
                response = self._http.post(f"{self.url}/model/parse", json={"text": text})
                response.raise_for_status()
                body = response.json()
                name, confidence = _gated(text, body.get("intent") or {}, body.get("intent_ranking") or [])
                if name in INTENTS:
                    return Understanding(name, confidence, "rasa")
            except (httpx.HTTPError, ValueError) as exc:
                # The message itself is never logged: it may be health information.
                log.warning("NLU unavailable (%s); answering from keywords", type(exc).__name__)
        topic = guess_topic(text)
        return Understanding(topic or "nlu_fallback", 0.0, "keywords")

    def close(self) -> None:
        if self._http is not None:
            self._http.close()


def _gated(text: str, intent: dict[str, Any], ranking: list[dict[str, Any]]) -> tuple[str, float]:
    """Rasa's intent, except that ``baby_loss`` needs a loss word in the text: without one the next intent
    in Rasa's ranking answers (a wrong "did you lose your baby?" is cruel)."""
    candidates = [intent, *ranking]
    for candidate in candidates:
        name = str(candidate.get("name") or "nlu_fallback")
        if name == "baby_loss" and not has_loss_cue(text):
            continue
        if name == "out_of_scope":
            name = "nlu_fallback"
        return name, float(candidate.get("confidence") or 0.0)
    return "nlu_fallback", 0.0
