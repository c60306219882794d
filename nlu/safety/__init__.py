"""Safety detection: does a mother's free-text message signal an emergency?

Deterministic and independent of the NLU service, so it runs on every message even when Rasa is down.
See :mod:`nlu.safety.detector` for how matching works and ``lexicons/README.md`` for the data.
"""

from nlu.safety.detector import (
    Category,
    LexiconError,
    SafetyDetector,
    SafetyHit,
    default_detector,
    normalise,
    strip_diacritics,
)

__all__ = [
    "Category",
    "LexiconError",
    "SafetyDetector",
    "SafetyHit",
    "default_detector",
    "normalise",
    "strip_diacritics",
]
