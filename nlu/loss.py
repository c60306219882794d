"""The deterministic gate before "did you lose your baby?": a loss word must be in the text (loss_cues.yaml)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import yaml

from nlu.safety.detector import normalise
from nlu.safety.lexicon import strip_diacritics

CUES_FILE = Path(__file__).resolve().parent / "loss_cues.yaml"


def load_cues(path: Path = CUES_FILE) -> tuple[re.Pattern[str], ...]:
    """The compiled loss words of every language (raises on a malformed file or pattern)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return tuple(re.compile(str(cue)) for cues in data["cues"].values() for cue in cues)


@cache
def _patterns() -> tuple[re.Pattern[str], ...]:
    return load_cues()


def has_loss_cue(text: str) -> bool:
    """Whether the message says, in any language, that a baby died (or a pregnancy was lost)."""
    plain = normalise(text)
    views = {plain, plain.replace(" ", ""), strip_diacritics(plain), strip_diacritics(plain).replace(" ", "")}
    return any(pattern.search(view) for pattern in _patterns() for view in views)
