"""The learned danger model: recall beyond the lexicons, for danger said the way people really say it.

The lexicons (``detector.py``) are the deterministic floor and are never overruled; this model only adds
recall. It is a TF-IDF model over character n-grams (1–4, word-bounded) of the normalised, diacritic-free
text, with a multinomial logistic regression over six classes: ``none`` and the five danger categories.
Character n-grams see inside unspaced Korean and Chinese and survive typos and missing diacritics; the
comparison with other models that chose it is in the README ("Understanding free text").

A message is scored whole and sentence by sentence, and the highest danger probability counts, so that a
danger buried in a long routine message is not diluted by the rest of it.

It runs in the bot's own process (scikit-learn), so it works whether or not Rasa is up. ``dodam nlu train``
trains it (seconds) into ``var/safety-model/``, named by a hash of its data and settings; a process that finds
no model for the current data trains one at first use rather than go without.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import yaml

from nlu.safety.detector import normalise
from nlu.safety.lexicon import Category, strip_diacritics

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CORPUS_DIR = HERE / "corpus"
SETTINGS_FILE = HERE / "model.yaml"
INTENT_DATA = ROOT / "nlu" / "rasa" / "data"  # ordinary chat, the "none" every mother writes most
REGRESSION_DIR = ROOT / "nlu" / "tests" / "safety"
MODEL_DIR = ROOT / "var" / "safety-model"
NONE = "none"
CATEGORIES = tuple(c.value for c in Category)
# Sentence ends in every script the mothers write, and line breaks.
_SENTENCE = re.compile(r"[!?。！？;；\n…]+|\.+(?!\d)")  # "38.5" is a reading, not two sentences
_MIN_SENTENCE = 4  # characters; shorter pieces ("ok", "ㅠㅠ") say nothing on their own
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class ModelScore:
    """How likely a message signals danger, and of which kind.

    Attributes:
        danger: Probability that it is any danger (1 − P(none)), the highest over the whole and its sentences.
        category: The most likely danger category of that part (None for a message the model does not read).
    """

    danger: float
    category: Category | None


def view(text: str) -> str:
    """What the model reads: the detector's normalisation, without diacritics (Vietnamese typed bare)."""
    return strip_diacritics(normalise(text))


def sentences(text: str) -> list[str]:
    """The parts of a message worth scoring alone (none if it is one sentence)."""
    parts = [part.strip() for part in _SENTENCE.split(text)]
    parts = [part for part in parts if len(part) >= _MIN_SENTENCE]
    return parts if len(parts) > 1 else []


def settings() -> dict[str, Any]:
    """``model.yaml``: features, regularisation and the two thresholds, each with why."""
    return check_settings(SETTINGS_FILE)


def check_settings(path: Path) -> dict[str, Any]:
    """Read and check ``model.yaml``: a check threshold above the crisis one, or a missing key, is refused."""
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    model, levels = data["model"], data["levels"]
    low, high = (int(n) for n in model["char_ngrams"])
    if not 1 <= low <= high <= 8 or float(model["C"]) <= 0 or float(model["ordinary_weight"]) <= 0:
        raise ValueError("model: char_ngrams must be 1 <= low <= high <= 8, C and ordinary_weight positive")
    if not 0 < float(levels["check"]) < float(levels["crisis"]) <= 1:
        raise ValueError("levels: need 0 < check < crisis <= 1")
    return data


class DangerModel:
    """A fitted pipeline, scored without scikit-learn's per-call overhead. Immutable; thread-safe.

    scikit-learn's ``predict_proba`` spends about a millisecond per call on input checks and sparse-matrix
    building, which alone would halve the bot's safety throughput. The same arithmetic is done here on the
    fitted parts (the vectorizer's analyzer, vocabulary and idf; the regression's weights): TF-IDF with
    sublinear tf and L2 norm, then a softmax over the classes. ``tests/unit/test_danger_model.py`` checks it
    agrees with ``predict_proba``.
    """

    def __init__(self, pipeline: Any, name: str) -> None:
        self._pipeline = pipeline
        self.name = name
        vectorizer, regression = pipeline.steps[0][1], pipeline.steps[-1][1]
        self._analyzer = vectorizer.build_analyzer()
        self._vocabulary: dict[str, int] = vectorizer.vocabulary_
        self._idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        self._weights = np.ascontiguousarray(regression.coef_.T, dtype=np.float64)  # (features, classes)
        self._intercept = np.asarray(regression.intercept_, dtype=np.float64)
        classes = [str(c) for c in pipeline.classes_]
        self._none = classes.index(NONE)
        self._categories = [(i, Category(c)) for i, c in enumerate(classes) if c != NONE]

    def probabilities(self, text: str) -> np.ndarray:
        """Class probabilities of one text, in ``pipeline.classes_`` order."""
        counts: dict[int, int] = {}
        vocabulary = self._vocabulary
        for gram in self._analyzer(text):
            index = vocabulary.get(gram)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        logits = self._intercept.copy()
        if counts:
            indices = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            values = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))) * self._idf[
                indices
            ]
            values /= np.sqrt(values @ values)
            logits += values @ self._weights[indices]
        logits -= logits.max()
        exp = np.exp(logits)
        return np.asarray(exp / exp.sum())

    def score(self, text: str) -> ModelScore:
        """The danger score of one message (whole and per sentence, the highest counts)."""
        return self.score_many([text])[0]

    def score_many(self, texts: Sequence[str]) -> list[ModelScore]:
        """Scores of many messages (each scored whole and per sentence)."""
        parts: list[str] = []
        owners: list[int] = []
        for n, text in enumerate(texts):
            if not _LETTER.search(text):
                continue  # digits and signs alone ("2027.3.5", "10:00"): readings are the facts' job
            for part in (text, *sentences(text)):
                parts.append(part)
                owners.append(n)
        best: list[ModelScore | None] = [None] * len(texts)
        for owner, part in zip(owners, parts, strict=True):
            row = self.probabilities(part)
            danger = float(1.0 - row[self._none])
            current = best[owner]
            if current is None or danger > current.danger:
                _, category = max(self._categories, key=lambda pair: row[pair[0]])
                best[owner] = ModelScore(danger, category)
        return [score if score is not None else ModelScore(0.0, None) for score in best]


def training_files() -> list[Path]:
    """Everything training reads, in a stable order (the model's name hashes them)."""
    files = sorted(CORPUS_DIR.glob("*.yaml"))
    files += sorted(INTENT_DATA.glob("nlu_*.yml"))
    files += [REGRESSION_DIR / "danger.yaml", REGRESSION_DIR / "tricky.yaml"]
    return files


def data_hash() -> str:
    digest = hashlib.sha256()
    # The detector's normalise() is part of what the model reads (view): a change there is a new model.
    for path in [*training_files(), SETTINGS_FILE, Path(__file__), HERE / "detector.py"]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def model_path() -> Path:
    return MODEL_DIR / f"danger-{data_hash()}.joblib"


def training_data() -> tuple[list[str], list[str], list[float]]:
    """(texts, labels, weights): the danger corpus, the earlier regression sets and the intents' ordinary chat
    (weighted by ``ordinary_weight``: what mothers write most must weigh most against a false alarm)."""
    texts: list[str] = []
    labels: list[str] = []
    for path in sorted(CORPUS_DIR.glob("*.yaml")):
        for message in yaml.safe_load(path.read_text(encoding="utf-8"))["messages"]:
            texts.append(str(message["text"]))
            labels.append(str(message["category"]))
    for name, label in (("danger.yaml", None), ("tricky.yaml", NONE)):
        for message in yaml.safe_load((REGRESSION_DIR / name).read_text(encoding="utf-8"))["messages"]:
            texts.append(str(message["text"]))
            labels.append(label or str(message["category"]))
    weights = [1.0] * len(texts)
    ordinary = ordinary_chat(sorted(INTENT_DATA.glob("nlu_*.yml")))
    texts += ordinary
    labels += [NONE] * len(ordinary)
    weights += [float(settings()["model"]["ordinary_weight"])] * len(ordinary)
    unknown = set(labels) - {NONE, *CATEGORIES}
    if unknown:
        raise ValueError(f"danger corpus: unknown categories {sorted(unknown)}")
    return texts, labels, weights


def ordinary_chat(paths: Iterable[Path]) -> list[str]:
    """The example lines of Rasa NLU files (every intent there is ordinary chat)."""
    texts = []
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu", []):
            for line in str(block.get("examples", "")).splitlines():
                line = line.strip()
                if line.startswith("- "):
                    texts.append(line[2:].strip())
    return texts


def build_pipeline(config: dict[str, Any]) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    low, high = config["char_ngrams"]
    return make_pipeline(
        TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(int(low), int(high)),
            sublinear_tf=True,
            min_df=int(config["min_df"]),
            preprocessor=view,
            dtype=np.float32,
        ),
        LogisticRegression(C=float(config["C"]), max_iter=5000, random_state=0),
    )


def fit(
    texts: Sequence[str], labels: Sequence[str], weights: Sequence[float] | None = None, name: str = "unsaved"
) -> DangerModel:
    pipeline = build_pipeline(settings()["model"])
    fit_params = {} if weights is None else {"logisticregression__sample_weight": np.asarray(weights)}
    pipeline.fit(list(texts), list(labels), **fit_params)
    return DangerModel(pipeline, name)


def train(*, force: bool = False) -> Path:
    """Train unless a model for exactly this data exists; returns its path."""
    target = model_path()
    if target.exists() and not force:
        log.info("danger model is up to date: %s", target.name)
        return target
    started = time.monotonic()
    texts, labels, weights = training_data()
    model = fit(texts, labels, weights, target.stem)
    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.stem}.{os.getpid()}.partial")
    joblib.dump(model._pipeline, partial)
    partial.replace(target)  # a reader never sees half a file
    for old in MODEL_DIR.glob("danger-*.joblib"):
        if old != target:
            old.unlink()
    log.info("trained %s on %d messages in %.0f s", target.name, len(texts), time.monotonic() - started)
    return target


def load(path: Path) -> DangerModel:
    return DangerModel(joblib.load(path), path.stem)


@cache
def default_model() -> DangerModel:
    """The model for the current data, loaded once per process (trained first if it is missing)."""
    path = model_path()
    if not path.exists():
        log.warning("no danger model for the current data: training one now")
        path = train()
    return load(path)
