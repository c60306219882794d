"""Choosing the danger model's thresholds by cross-validation on the training corpus, never on a blind set.

Usage: ``.venv/bin/python -m nlu.safety.tune [--folds 5]``

Each fold of ``nlu/safety/corpus/`` is scored by a model trained without it (plus everything else training
reads); the whole assessment (lexicons, facts, context, model) is then applied at each pair of thresholds.
Printed per pair: danger recall at any level, false alarms on the corpus's near-miss ``none`` messages
(crisis level and any level), and alarms on ordinary chat (the intent dev set ``nlu/dev/``, never trained
on). The figures are optimistic (the folds share writers with the training data); the blind sets tell the
truth.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import yaml

from nlu.evaluation import DEV, LANGUAGES, load_intent_tests
from nlu.safety.assess import Level, Safety
from nlu.safety.model import CORPUS_DIR, NONE, fit, training_data


@dataclass
class Scored:
    language: list[str]
    category: list[str]
    floor: list[Level | None]
    score: np.ndarray


def corpus() -> tuple[list[str], list[str], list[str]]:
    texts, labels, languages = [], [], []
    for path in sorted(CORPUS_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for message in data["messages"]:
            texts.append(str(message["text"]))
            labels.append(str(message["category"]))
            languages.append(str(data["language"]))
    return texts, labels, languages


def cross_validate(folds: int) -> tuple[Scored, np.ndarray, list[Level | None]]:
    texts, labels, languages = corpus()
    everything, all_labels, all_weights = training_data()
    rest = list(zip(everything, all_labels, all_weights, strict=True))[len(texts) :]  # the corpus comes first
    floor_only = Safety(use_model=False)
    floor = [floor_only.assess(text).level for text in texts]
    ordinary = [text for language in LANGUAGES for text, _ in load_intent_tests(language, DEV)]
    ordinary_floor = [floor_only.assess(text).level for text in ordinary]
    scores = np.zeros(len(texts))
    ordinary_scores = np.zeros(len(ordinary))
    order = np.random.RandomState(0).permutation(len(texts))
    for k in range(folds):
        held = set(order[k::folds].tolist())
        kept = [i for i in range(len(texts)) if i not in held]
        train_x = [texts[i] for i in kept] + [t for t, _, _ in rest]
        train_y = [labels[i] for i in kept] + [y for _, y, _ in rest]
        model = fit(train_x, train_y, [1.0] * len(kept) + [w for _, _, w in rest])
        held_sorted = sorted(held)
        for i, s in zip(held_sorted, model.score_many([texts[i] for i in held_sorted]), strict=True):
            scores[i] = s.danger
        ordinary_scores += np.array([s.danger for s in model.score_many(ordinary)]) / folds
        print(f"fold {k + 1}/{folds} done", file=sys.stderr, flush=True)
    return Scored(languages, labels, floor, scores), ordinary_scores, ordinary_floor


def table(scored: Scored, ordinary: np.ndarray, ordinary_floor: Sequence[Level | None]) -> None:
    label = np.array(scored.category)
    danger, near = label != NONE, label == NONE
    floor_crisis = np.array([f is Level.CRISIS for f in scored.floor])
    floor_any = np.array([f is not None for f in scored.floor])
    ordinary_any = np.array([f is not None for f in ordinary_floor])
    print(
        f"floor alone: recall {floor_any[danger].mean():.1%}, near-miss alarms crisis {floor_crisis[near].mean():.1%}"
    )
    print(f"{'crisis':>7}{'check':>7}{'recall':>9}{'crisis FA':>11}{'any FA':>9}{'ordinary':>10}")
    for crisis in (0.8, 0.9, 0.95):
        for check in (0.25, 0.3, 0.35, 0.4, 0.45, 0.5):
            is_crisis = floor_crisis | (scored.score >= crisis)
            is_any = floor_any | (scored.score >= check)
            ordinary_alarm = ordinary_any | (ordinary >= check)
            print(
                f"{crisis:>7.2f}{check:>7.2f}{is_any[danger].mean():>9.1%}{is_crisis[near].mean():>11.1%}"
                f"{is_any[near].mean():>9.1%}{ordinary_alarm.mean():>10.1%}"
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)
    scored, ordinary, ordinary_floor = cross_validate(args.folds)
    table(scored, ordinary, ordinary_floor)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
