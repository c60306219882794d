"""Evaluating NLU and the safety detector on held-out data that training never sees.

``nlu/tests/`` is the test set: written blind (its authors saw neither the training data nor the model's
errors), and never used to choose anything. ``nlu/dev/`` is the development set: the earlier held-out set,
used to compare models and tune thresholds, so its scores are a little optimistic. Neither is trained on.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from nlu.safety import SafetyDetector

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
    recall: dict[str, tuple[int, int]]  # category → (found, total)
    false_alarms: int
    negatives: int
    missed: list[tuple[str, str, str]]  # (lang, category, text) — shown only in the local report

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarms / self.negatives if self.negatives else 0.0


def score_safety(detector: SafetyDetector, root: Path = TESTS / "safety") -> SafetyScores:
    danger = yaml.safe_load((root / "danger.yaml").read_text(encoding="utf-8"))["messages"]
    tricky = yaml.safe_load((root / "tricky.yaml").read_text(encoding="utf-8"))["messages"]
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    missed = []
    for message in danger:
        hits = {h.category.value for h in detector.detect_all(message["text"])}
        counts = found[message["category"]]
        counts[1] += 1
        if message["category"] in hits:
            counts[0] += 1
        else:
            missed.append((message["lang"], message["category"], message["text"]))
    alarms = sum(1 for message in tricky if detector.detect(message["text"]) is not None)
    return SafetyScores({k: (v[0], v[1]) for k, v in found.items()}, alarms, len(tricky), missed)
