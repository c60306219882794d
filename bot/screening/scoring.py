"""Scoring a completed screen. The bot and the ``dodam screening score`` command both call :func:`score`, so
the two can never disagree."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.screening.instruments import Instrument


class Risk(StrEnum):
    """Risk levels, declared from least to most serious.

    ``rank`` gives the order, and the comparison operators use it: a plain StrEnum would compare the words
    alphabetically, where "low" > "high" — exactly the mistake a safety check must not make.
    """

    LOW = "low"
    BORDERLINE = "borderline"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        return _ORDER.index(self)

    def _rank_of(self, other: object) -> int:
        if not isinstance(other, Risk):
            raise TypeError(f"cannot order Risk against {type(other).__name__}")
        return other.rank

    def __lt__(self, other: object) -> bool:
        return self.rank < self._rank_of(other)

    def __le__(self, other: object) -> bool:
        return self.rank <= self._rank_of(other)

    def __gt__(self, other: object) -> bool:
        return self.rank > self._rank_of(other)

    def __ge__(self, other: object) -> bool:
        return self.rank >= self._rank_of(other)


_ORDER: tuple[Risk, ...] = tuple(Risk)


@dataclass(frozen=True)
class Result:
    """Everything a result record needs to keep.

    ``answers`` are the option indexes as shown (0 = first option); ``item_scores`` the scores they carry,
    in item order. ``urgent_items`` lists the item numbers that made the result urgent.
    """

    instrument: str
    version: str
    language: str
    answers: tuple[int, ...]
    item_scores: tuple[int, ...]
    total: int
    subscales: dict[str, int]
    subscale_flags: dict[str, bool]
    urgent_items: tuple[int, ...]
    risk: Risk
    rescreen_in_days: int | None
    cutoff_validated: bool
    translation_validated: bool

    def as_record(self) -> dict[str, Any]:
        """A JSON-ready dict of every field, for storing the result."""
        return {
            "instrument": self.instrument,
            "version": self.version,
            "language": self.language,
            "answers": list(self.answers),
            "item_scores": list(self.item_scores),
            "total": self.total,
            "subscales": dict(self.subscales),
            "subscale_flags": dict(self.subscale_flags),
            "urgent_items": list(self.urgent_items),
            "risk": self.risk.value,
            "rescreen_in_days": self.rescreen_in_days,
            "cutoff_validated": self.cutoff_validated,
            "translation_validated": self.translation_validated,
        }


def score(instrument: Instrument, language: str, answers: Sequence[int]) -> Result:
    """Score a completed screen.

    Args:
        instrument: from :func:`bot.screening.instruments.load_instruments`.
        language: the language the questions were shown in; it selects the cut-offs.
        answers: one per item, in item order: the index of the chosen option in display order (0 = first
            option shown). Indexes, not scores, because reverse-scored items make the two differ.

    Raises:
        ValueError: unknown language, wrong number of answers, or an index that is not an option.
    """
    rule = instrument.risk.get(language)
    if rule is None:
        raise ValueError(f"{instrument.id} has no language {language!r}; choose one of {', '.join(instrument.risk)}")
    if isinstance(answers, str | bytes):
        raise ValueError("answers must be a sequence of option indexes, not text")
    count = len(instrument.items)
    if len(answers) != count:
        raise ValueError(f"{instrument.id} needs {count} answers, one per item; got {len(answers)}")

    scores: dict[int, int] = {}
    for position, (item, answer) in enumerate(zip(instrument.items, answers, strict=True), start=1):
        if not isinstance(answer, int) or isinstance(answer, bool):
            raise ValueError(f"answer {position} (item {item.number}) must be an option index, got {answer!r}")
        if not 0 <= answer < len(item.options):
            raise ValueError(
                f"answer {position} (item {item.number}) is {answer}; its options are numbered "
                f"0–{len(item.options) - 1} in the order shown"
            )
        scores[item.number] = item.options[answer].score

    total = sum(scores.values())
    subscales = {s.id: sum(scores[n] for n in s.items) for s in instrument.subscales}
    flags = {s.id: subscales[s.id] >= s.flag_at for s in instrument.subscales}
    urgent = tuple(u.item for u in instrument.urgent_items if scores[u.item] > u.above)

    # A self-harm answer outranks any total: the nurse must act on it whatever the rest says.
    if urgent:
        risk = Risk.URGENT
    elif total >= rule.high:
        risk = Risk.HIGH
    elif rule.possible is not None and total >= rule.possible:
        risk = Risk.BORDERLINE
    else:
        risk = Risk.LOW

    return Result(
        instrument=instrument.id,
        version=instrument.version,
        language=language,
        answers=tuple(answers),
        item_scores=tuple(scores[item.number] for item in instrument.items),
        total=total,
        subscales=subscales,
        subscale_flags=flags,
        urgent_items=urgent,
        risk=risk,
        rescreen_in_days=rule.rescreen_in_days if risk is Risk.BORDERLINE else None,
        cutoff_validated=rule.cutoff_validated,
        translation_validated=instrument.translations[language].validated,
    )
