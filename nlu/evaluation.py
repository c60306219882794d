"""Evaluating NLU and the safety detector on held-out data that training never sees.

``nlu/tests/`` is the test set: written blind (its authors saw neither the training data nor the model's
errors), and never used to choose anything. ``nlu/dev/`` is the development set: the earlier held-out set,
used to compare models and tune thresholds, so its scores are a little optimistic. Neither is trained on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from nlu.safety.assess import Level, Safety

TESTS = Path(__file__).resolve().parent / "tests"
DEV = Path(__file__).resolve().parent / "dev"
LANGUAGES = ("ko", "en", "zh_Hans", "vi", "tl")


def load_intent_tests(language: str, root: Path = TESTS) -> list[tuple[str, str]]:
    """(text, intent) pairs of one language's held-out file."""
    data = yaml.safe_load((root / f"nlu_{language}.yml").read_text(encoding="utf-8"))
    pairs = []
    for block in data["nlu"]:
        for line in block["examples"].splitlines():
            line = line.strip()
            if line.startswith("- "):
                pairs.append((line[2:].strip(), block["intent"]))
    return pairs


@dataclass
class IntentScores:
    language: str
    per_intent: dict[str, tuple[float, float, float, int]] = field(default_factory=dict)  # p, r, f1, support
    confusion: dict[tuple[str, str], int] = field(default_factory=dict)
    total: int = 0

    @property
    def macro_f1(self) -> float:
        values = [f1 for _, _, f1, _ in self.per_intent.values()]
        return sum(values) / len(values) if values else 0.0


def score_intents(language: str, pairs: Iterable[tuple[str, str]], predict: Callable[[str], str]) -> IntentScores:
    gold_pred = [(gold, predict(text)) for text, gold in pairs]
    confusion = Counter(gold_pred)
    labels = sorted({g for g, _ in gold_pred} | {p for _, p in gold_pred})
    result = IntentScores(language=language, confusion=dict(confusion), total=len(gold_pred))
    for label in sorted({g for g, _ in gold_pred}):
        tp = confusion[(label, label)]
        predicted = sum(confusion[(g, label)] for g in labels)
        actual = sum(confusion[(label, p)] for p in labels)
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        result.per_intent[label] = (precision, recall, f1, actual)
    return result


@dataclass
class SafetyScores:
    """Recall per (language, category) at any level and at crisis level, and alarms on non-danger messages.

    ``found`` counts danger messages answered with a crisis or a check, ``crisis`` those answered with a
    crisis; ``alarms`` counts non-danger messages per language and level.
    """

    total: Counter[tuple[str, str]] = field(default_factory=Counter)
    found: Counter[tuple[str, str]] = field(default_factory=Counter)
    crisis: Counter[tuple[str, str]] = field(default_factory=Counter)
    negatives: Counter[str] = field(default_factory=Counter)
    alarms: Counter[tuple[str, str]] = field(default_factory=Counter)  # (language, level)
    missed: list[tuple[str, str, str]] = field(default_factory=list)  # shown only in the local report

    def recall(self, language: str | None = None, category: str | None = None) -> tuple[int, int]:
        keys = [k for k in self.total if (language in (None, k[0])) and (category in (None, k[1]))]
        return sum(self.found[k] for k in keys), sum(self.total[k] for k in keys)

    def alarm_rate(self, level: str | None = None, language: str | None = None) -> tuple[int, int]:
        """(alarms, negatives): ``level`` "crisis", "check" or None for either."""
        languages = [language] if language else list(self.negatives)
        alarms = sum(n for (lang, lvl), n in self.alarms.items() if lang in languages and level in (None, lvl))
        return alarms, sum(self.negatives[lang] for lang in languages)


SAFETY_DIR = TESTS / "safety"


def load_safety_set(name: str) -> list[dict[str, object]]:
    """A safety evaluation set as messages with ``lang``, ``category`` (``none`` for non-danger) and ``text``.

    ``regression``: ``danger.yaml`` and ``tricky.yaml`` (the lexicons were fixed on them: a regression check).
    Any other name: the folder ``nlu/tests/safety/<name>/`` of blind files, one per language.
    """
    if name == "regression":
        danger = yaml.safe_load((SAFETY_DIR / "danger.yaml").read_text(encoding="utf-8"))["messages"]
        tricky = yaml.safe_load((SAFETY_DIR / "tricky.yaml").read_text(encoding="utf-8"))["messages"]
        return [*danger, *({**m, "category": "none"} for m in tricky)]
    messages: list[dict[str, object]] = []
    for path in sorted((SAFETY_DIR / name).glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        messages += [{**m, "lang": data["language"]} for m in data["messages"]]
    return messages


def safety_sets() -> list[str]:
    return ["regression", *sorted(p.name for p in SAFETY_DIR.iterdir() if p.is_dir())]


def score_safety(safety: Safety, messages: Iterable[dict[str, object]]) -> SafetyScores:
    """Every message through the same assessment the bot uses (with the baby's recorded age if given)."""
    scores = SafetyScores()
    for message in messages:
        language, category, text = str(message["lang"]), str(message["category"]), str(message["text"])
        weeks = message.get("baby_weeks")
        age = int(str(weeks)) * 7 if weeks is not None else None
        result = safety.assess(text, language, baby_age_days=age)
        if category == "none":
            scores.negatives[language] += 1
            if result.level is not None:
                scores.alarms[(language, result.level.value)] += 1
            continue
        scores.total[(language, category)] += 1
        if result.level is not None:
            scores.found[(language, category)] += 1
            if result.level is Level.CRISIS:
                scores.crisis[(language, category)] += 1
        else:
            scores.missed.append((language, category, text))
    return scores


def ordinary_messages(root: Path = TESTS) -> list[dict[str, object]]:
    """The intent test set as non-danger messages: what a mother writes most (feeding, sleep, mood...)."""
    return [
        {"lang": language, "category": "none", "text": text}
        for language in LANGUAGES
        for text, _ in load_intent_tests(language, root)
    ]
