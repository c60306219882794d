"""The one answer to "is this message a danger?", used by every place that reads text from a mother.

Three layers, in this order:

1. **The floor** (deterministic): the lexicons (``detector.py``) and the facts (``facts.py``: a temperature
   and an age). A hit is a crisis: crisis lines at once and an urgent case. If the message also says the sign
   is over and resolved, happened to someone else, is in a drama or the news, or is asked about in general
   (``context.yaml``), it is a *check* instead: a caring, direct question and a case her nurse sees. Never
   nothing: a lexicon hit is never dropped.
2. **The learned model** (``model.py``) only adds: a confident score is a crisis, a middling one a check
   (thresholds in ``model.yaml``). It can raise a context-softened lexicon hit back to a crisis, never
   lower one.
3. Nothing else: below the check threshold and without a floor hit, the message is ordinary.

It never depends on Rasa, and if the model cannot be loaded the floor still answers (logged loudly).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

import yaml

from nlu.safety.detector import SafetyDetector, default_detector, normalise
from nlu.safety.facts import detect_facts
from nlu.safety.lexicon import SEVERITY, Category
from nlu.safety.model import DangerModel, default_model, sentences, settings, view

log = logging.getLogger(__name__)

CONTEXT_FILE = Path(__file__).resolve().parent / "context.yaml"
_SPACELESS = ("ko", "zh_Hans")


class Level(StrEnum):
    """How Dodam answers: crisis lines and an urgent case, or a caring check."""

    CRISIS = "crisis"
    CHECK = "check"


@dataclass(frozen=True)
class Assessment:
    """What to do with one message.

    Attributes:
        level: ``crisis``, ``check``, or None (an ordinary message).
        category: The kind of danger (None when ordinary).
        source: What decided: ``lexicon``, ``facts``, ``model`` (or ``lexicon+context``).
        rule: The lexicon entry or fact rule that fired, if any.
        score: The model's danger probability (0 when the model is unavailable).
    """

    level: Level | None
    category: Category | None
    source: str | None = None
    rule: str | None = None
    score: float = 0.0

    def __bool__(self) -> bool:
        return self.level is not None


ORDINARY = Assessment(None, None)


@dataclass(frozen=True)
class Context:
    """Per-language cue patterns that a danger sign is not happening now (``context.yaml``)."""

    patterns: tuple[tuple[str, re.Pattern[str]], ...]

    def kind(self, text: str) -> str | None:
        """``resolved``, ``elsewhere`` or ``general`` if the message carries such a cue."""
        plain = view(text)
        spaceless = plain.replace(" ", "")
        for key, pattern in self.patterns:
            language = key.split(".", 1)[0]
            if pattern.search(spaceless if language in _SPACELESS else plain):
                return key.split(".", 1)[1]
        return None


@cache
def default_context(path: Path = CONTEXT_FILE) -> Context:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    patterns = []
    for language, kinds in data["cues"].items():
        for kind, cues in kinds.items():
            for cue in cues:
                text = cue.replace(" ", "") if language in _SPACELESS else cue
                patterns.append((f"{language}.{kind}", re.compile(text)))
    return Context(tuple(patterns))


class Safety:
    """The lexicons, the facts and the model together. Immutable after construction; thread-safe."""

    def __init__(
        self,
        detector: SafetyDetector | None = None,
        model: DangerModel | None = None,
        *,
        use_model: bool = True,
        context: Context | None = None,
    ) -> None:
        self.detector = detector or default_detector()
        self.context = context or default_context()
        levels = settings()["levels"]
        self.crisis_threshold = float(levels["crisis"])
        self.check_threshold = float(levels["check"])
        self.model: DangerModel | None = model
        if self.model is None and use_model:
            try:
                self.model = default_model()
            except Exception:
                # The floor still answers every message; say loudly that recall is reduced.
                log.exception("danger model unavailable: the lexicons and facts alone check messages")

    def assess(
        self,
        text: str,
        language: str | None = None,
        *,
        baby_age_days: int | None = None,
        expecting: bool = False,
    ) -> Assessment:
        """Whether this message is a crisis, needs a check, or is ordinary.

        Args:
            text: The message as she typed it (any length, any script).
            language: Her chosen language (only breaks ties between lexicon hits).
            baby_age_days: Her baby's recorded age, for signs that depend on it (a fever under 3 months).
            expecting: She is pregnant and no baby is born yet (a temperature without an age is hers).
        """
        if not isinstance(text, str) or not text.strip():
            return ORDINARY
        floor = self._floor(text, language, baby_age_days=baby_age_days, expecting=expecting)
        score = self.model.score(text) if self.model is not None else None
        danger = score.danger if score is not None else 0.0
        if floor is not None and floor.level is Level.CRISIS:
            return Assessment(floor.level, floor.category, floor.source, floor.rule, danger)
        if score is not None and danger >= self.crisis_threshold:
            category = floor.category if floor is not None else score.category
            return Assessment(Level.CRISIS, category, "model", floor.rule if floor else None, danger)
        if floor is not None:
            return Assessment(floor.level, floor.category, floor.source, floor.rule, danger)
        if score is not None and score.category is not None and danger >= self.check_threshold:
            return Assessment(Level.CHECK, score.category, "model", None, danger)
        return Assessment(None, None, None, None, danger)

    def _floor(
        self, text: str, language: str | None, *, baby_age_days: int | None, expecting: bool
    ) -> Assessment | None:
        hit = self.detector.detect(text, language)
        fact = detect_facts(normalise(text), baby_age_days=baby_age_days, expecting=expecting)
        if hit is None and fact is None:
            return None
        if hit is not None and (fact is None or SEVERITY[hit.category] <= SEVERITY[fact.category]):
            category, rule, source = hit.category, hit.rule, "lexicon"
        else:
            assert fact is not None
            category, rule, source = fact.category, fact.rule, "facts"
        context = self.context.kind(text)
        if context is not None and self._bare_hit_elsewhere(text, language, baby_age_days, expecting):
            context = None
        if context is not None:
            return Assessment(Level.CHECK, category, f"{source}+{context}", rule)
        return Assessment(Level.CRISIS, category, source, rule)

    def _bare_hit_elsewhere(self, text: str, language: str | None, baby_age_days: int | None, expecting: bool) -> bool:
        """Whether some sentence has a floor hit and no context cue of its own: "he had a fever last month, fine
        now. today he is not breathing" is a crisis, whatever the first sentence says."""
        for part in sentences(text):
            hit = self.detector.detect(part, language) or detect_facts(
                normalise(part), baby_age_days=baby_age_days, expecting=expecting
            )
            if hit is not None and self.context.kind(part) is None:
                return True
        return False


@cache
def default_safety() -> Safety:
    """The process's safety check (lexicons, facts and the trained model), built once."""
    return Safety()
