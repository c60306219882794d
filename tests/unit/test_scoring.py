"""Scoring of EPDS, PHQ-9, PHQ-2 and GAD-7: reverse-scored items, cut-offs at their edges per language, the
self-harm rules, subscales, and properties that must hold for any answers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.i18n import LANGUAGES
from bot.screening import Instrument, Risk, load_instruments, score


@cache
def instruments() -> dict[str, Instrument]:
    return load_instruments()


def instrument(instrument_id: str) -> Instrument:
    return instruments()[instrument_id]


def answers_for(inst: Instrument, scores: Sequence[int]) -> list[int]:
    """Option indexes (as shown) that give these item scores."""
    assert len(scores) == len(inst.items)
    return [[o.score for o in item.options].index(s) for item, s in zip(inst.items, scores, strict=True)]


def answers_for_total(inst: Instrument, total: int) -> list[int]:
    """Answers reaching ``total`` without touching a self-harm item, filling items from the first."""
    urgent = {rule.item for rule in inst.urgent_items}
    scores: list[int] = []
    for item in inst.items:
        s = 0 if item.number in urgent else min(item.max_score, total - sum(scores))
        scores.append(s)
    assert sum(scores) == total, "total not reachable without a self-harm item"
    return answers_for(inst, scores)


# --- EPDS item direction (Cox 1987): items 1, 2, 4 score 0→3 from the top; 3 and 5–10 score 3→0. ---------

EPDS_TOP_OPTION_SCORE = {1: 0, 2: 0, 3: 3, 4: 0, 5: 3, 6: 3, 7: 3, 8: 3, 9: 3, 10: 3}


@pytest.mark.parametrize("number", range(1, 11))
@pytest.mark.parametrize("position", ["top", "bottom"])
def test_epds_each_item_scores_in_its_direction(number: int, position: str) -> None:
    epds = instrument("epds")
    # Everything else at the option scoring 0, so the total is this item's score alone.
    answers = answers_for(epds, [0] * 10)
    answers[number - 1] = 0 if position == "top" else 3
    expected = EPDS_TOP_OPTION_SCORE[number] if position == "top" else 3 - EPDS_TOP_OPTION_SCORE[number]

    result = score(epds, "en", answers)

    assert result.item_scores[number - 1] == expected
    assert result.total == expected
    assert epds.item(number).reverse_scored is (EPDS_TOP_OPTION_SCORE[number] == 3)


@pytest.mark.parametrize("language", LANGUAGES)
def test_epds_middle_options_step_by_one(language: str) -> None:
    epds = instrument("epds")
    for index in range(4):
        result = score(epds, language, [index] * 9 + [3])  # item 10 at "never"
        forward = index * 3  # items 1, 2, 4
        reverse = (3 - index) * 6  # items 3, 5–9
        assert result.total == forward + reverse


# --- EPDS cut-offs at their edges, per language --------------------------------------------------------

EPDS_EDGES = [
    # language, total, risk, rescreen_in_days
    ("en", 9, Risk.LOW, None),
    ("en", 10, Risk.BORDERLINE, 14),
    ("en", 12, Risk.BORDERLINE, 14),
    ("en", 13, Risk.HIGH, None),
    ("ko", 9, Risk.LOW, None),
    ("ko", 10, Risk.HIGH, None),  # K-EPDS 9/10 (Kim 2008): no borderline band
    ("ko", 12, Risk.HIGH, None),
    ("zh_Hans", 9, Risk.LOW, None),
    ("zh_Hans", 10, Risk.HIGH, None),  # Lee 1998: 9/10
    ("zh_Hans", 12, Risk.HIGH, None),
    ("vi", 9, Risk.LOW, None),
    ("vi", 10, Risk.BORDERLINE, 14),
    ("vi", 12, Risk.BORDERLINE, 14),
    ("vi", 13, Risk.HIGH, None),
    ("tl", 9, Risk.LOW, None),
    ("tl", 10, Risk.BORDERLINE, 14),
    ("tl", 12, Risk.BORDERLINE, 14),
    ("tl", 13, Risk.HIGH, None),
    ("en", 0, Risk.LOW, None),
    ("en", 27, Risk.HIGH, None),
]


@pytest.mark.parametrize(("language", "total", "risk", "rescreen"), EPDS_EDGES)
def test_epds_cutoffs(language: str, total: int, risk: Risk, rescreen: int | None) -> None:
    result = score(instrument("epds"), language, answers_for_total(instrument("epds"), total))
    assert result.total == total
    assert result.urgent_items == ()
    assert result.risk is risk
    assert result.rescreen_in_days == rescreen


@pytest.mark.parametrize(
    ("language", "high", "possible", "cutoff_validated"),
    [
        ("en", 13, 10, True),
        ("ko", 10, 10, True),
        ("zh_Hans", 10, 10, True),
        ("vi", 13, 10, False),
        ("tl", 13, 10, False),
    ],
)
def test_epds_rule_per_language(language: str, high: int, possible: int, cutoff_validated: bool) -> None:
    rule = instrument("epds").risk[language]
    assert (rule.high, rule.possible, rule.cutoff_validated) == (high, possible, cutoff_validated)
    result = score(instrument("epds"), language, answers_for_total(instrument("epds"), 0))
    assert result.cutoff_validated is cutoff_validated
    assert result.language == language
    # Only the English text is the published instrument; the others are working translations.
    assert result.translation_validated is (language == "en")
    if not cutoff_validated:
        assert rule.note


def test_vietnamese_rule_carries_the_tran_2011_note() -> None:
    rule = instrument("epds").risk["vi"]
    assert "tran2011" in rule.source
    assert rule.note is not None and "Tran" in rule.note


# --- The self-harm items outrank any total --------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_epds_item_10_hardly_ever_alone_is_urgent(language: str) -> None:
    epds = instrument("epds")
    answers = answers_for(epds, [0] * 10)
    answers[9] = 2  # the third option shown: "Hardly ever", score 1
    assert epds.item(10).options[2].text["en"] == "Hardly ever"

    result = score(epds, language, answers)

    assert result.item_scores == (0,) * 9 + (1,)
    assert result.total == 1
    assert result.urgent_items == (10,)
    assert result.risk is Risk.URGENT
    assert result.rescreen_in_days is None


def test_epds_item_10_never_is_not_urgent() -> None:
    result = score(instrument("epds"), "en", answers_for_total(instrument("epds"), 27))
    assert result.risk is Risk.HIGH
    assert result.urgent_items == ()


@pytest.mark.parametrize("index", [1, 2, 3])
@pytest.mark.parametrize("language", LANGUAGES)
def test_phq9_item_9_above_zero_is_urgent(language: str, index: int) -> None:
    phq9 = instrument("phq9")
    answers = [0] * 8 + [index]
    result = score(phq9, language, answers)
    assert result.total == index
    assert result.urgent_items == (9,)
    assert result.risk is Risk.URGENT


def test_phq9_item_9_not_at_all_is_not_urgent() -> None:
    result = score(instrument("phq9"), "en", [3] * 8 + [0])
    assert result.urgent_items == ()
    assert result.risk is Risk.HIGH


# --- PHQ-9, GAD-7, PHQ-2 cut-offs -----------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("instrument_id", "total", "risk"),
    [
        ("phq9", 0, Risk.LOW),
        ("phq9", 4, Risk.LOW),
        ("phq9", 5, Risk.BORDERLINE),  # Kroenke 2001 "mild" 5–9
        ("phq9", 9, Risk.BORDERLINE),
        ("phq9", 10, Risk.HIGH),
        ("phq9", 24, Risk.HIGH),
        ("gad7", 4, Risk.LOW),
        ("gad7", 5, Risk.BORDERLINE),  # Spitzer 2006 "mild" 5–9
        ("gad7", 9, Risk.BORDERLINE),
        ("gad7", 10, Risk.HIGH),
        ("gad7", 21, Risk.HIGH),
        ("phq2", 0, Risk.LOW),
        ("phq2", 2, Risk.LOW),
        ("phq2", 3, Risk.HIGH),  # Kroenke 2003
        ("phq2", 6, Risk.HIGH),
    ],
)
def test_phq_gad_cutoffs(instrument_id: str, total: int, risk: Risk, language: str) -> None:
    inst = instrument(instrument_id)
    result = score(inst, language, answers_for_total(inst, total))
    assert result.total == total
    assert result.risk is risk
    assert result.rescreen_in_days == (14 if risk is Risk.BORDERLINE else None)
    assert result.cutoff_validated is (language == "en")


def test_phq2_is_the_first_two_phq9_items() -> None:
    phq2, phq9 = instrument("phq2"), instrument("phq9")
    assert [item.number for item in phq2.items] == [1, 2]
    assert phq2.items == phq9.items[:2]
    assert phq2.parent == "phq9"
    assert phq2.urgent_items == ()  # it never asks item 9
    result = score(phq2, "ko", [3, 3])
    assert (result.instrument, result.version, result.total) == ("phq2", phq9.version, 6)


# --- Subscales ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("anxiety", "flagged"), [(0, False), (4, False), (5, True), (9, True)])
def test_epds_anxiety_subscale(anxiety: int, flagged: bool) -> None:
    epds = instrument("epds")
    s3 = min(3, anxiety)
    s4 = min(3, anxiety - s3)
    s5 = anxiety - s3 - s4
    result = score(epds, "en", answers_for(epds, [0, 0, s3, s4, s5, 0, 0, 0, 0, 0]))
    assert result.subscales == {"anxiety": anxiety}
    assert result.subscale_flags == {"anxiety": flagged}
    # Reported alongside; it does not change the risk level by itself.
    assert result.risk is (Risk.LOW if anxiety < 10 else Risk.BORDERLINE)


def test_epds_anxiety_subscale_reads_items_3_4_5_only() -> None:
    epds = instrument("epds")
    result = score(epds, "en", answers_for(epds, [3, 3, 0, 0, 0, 3, 3, 3, 3, 0]))
    assert result.subscales["anxiety"] == 0
    assert result.total == 18


@pytest.mark.parametrize(("gad2", "flagged"), [(2, False), (3, True)])
def test_gad2_core_flag(gad2: int, flagged: bool) -> None:
    result = score(instrument("gad7"), "en", [min(gad2, 3), max(gad2 - 3, 0), 0, 0, 0, 0, 0])
    assert result.subscales == {"gad2": gad2}
    assert result.subscale_flags == {"gad2": flagged}


# --- Input validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ([0] * 9, "needs 10 answers"),
        ([0] * 11, "needs 10 answers"),
        ([0] * 9 + [4], "answer 10 (item 10) is 4"),
        ([-1] + [0] * 9, "answer 1 (item 1) is -1"),
        ([0.0] + [0] * 9, "must be an option index"),
        ([True] + [0] * 9, "must be an option index"),
        ("0000000000", "not text"),
    ],
)
def test_bad_answers_raise_clear_errors(answers: Sequence[int], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        score(instrument("epds"), "en", answers)


def test_unknown_language_raises() -> None:
    with pytest.raises(ValueError, match="no language 'fr'"):
        score(instrument("epds"), "fr", [0] * 10)


def test_result_keeps_what_the_record_needs() -> None:
    epds = instrument("epds")
    result = score(epds, "ko", [0, 1, 2, 3, 0, 0, 0, 0, 0, 0])
    assert result.answers == (0, 1, 2, 3, 0, 0, 0, 0, 0, 0)
    assert result.item_scores == (0, 1, 1, 3, 3, 3, 3, 3, 3, 3)
    assert result.total == 23
    assert result.risk is Risk.URGENT
    record = result.as_record()
    assert record["instrument"] == "epds" and record["version"] == epds.version and record["risk"] == "urgent"
    assert record["answers"] == [0, 1, 2, 3, 0, 0, 0, 0, 0, 0]


# --- Risk ordering --------------------------------------------------------------------------------------


def test_risk_is_ordered_by_seriousness_not_alphabet() -> None:
    assert [r.rank for r in (Risk.LOW, Risk.BORDERLINE, Risk.HIGH, Risk.URGENT)] == [0, 1, 2, 3]
    assert Risk.LOW < Risk.BORDERLINE < Risk.HIGH < Risk.URGENT
    assert Risk.HIGH >= Risk.HIGH and not Risk.LOW >= Risk.HIGH  # alphabetically "low" > "high"
    assert max([Risk.HIGH, Risk.LOW, Risk.URGENT, Risk.BORDERLINE]) is Risk.URGENT
    assert Risk("high") is Risk.HIGH and Risk.HIGH == "high"
    with pytest.raises(TypeError):
        _ = Risk.LOW < "high"


# --- Properties, for every instrument in every language -------------------------------------------------

ALL = [(i, lang) for i in ("epds", "phq9", "gad7", "phq2") for lang in LANGUAGES]


def any_answers(inst: Instrument) -> st.SearchStrategy[list[int]]:
    return st.tuples(*(st.integers(0, len(item.options) - 1) for item in inst.items)).map(list)


@pytest.mark.parametrize(("instrument_id", "language"), ALL)
@given(data=st.data())
def test_totals_stay_in_range(instrument_id: str, language: str, data: st.DataObject) -> None:
    inst = instrument(instrument_id)
    result = score(inst, language, data.draw(any_answers(inst)))
    assert 0 <= result.total <= inst.max_total
    assert result.total == sum(result.item_scores)
    assert all(0 <= s <= 3 for s in result.item_scores)
    for subscale in inst.subscales:
        assert 0 <= result.subscales[subscale.id] <= 3 * len(subscale.items)
    assert (result.risk is Risk.URGENT) == bool(result.urgent_items)
    assert (result.rescreen_in_days is not None) == (result.risk is Risk.BORDERLINE)


@pytest.mark.parametrize(("instrument_id", "language"), ALL)
@given(data=st.data())
def test_raising_one_answer_never_lowers_risk(instrument_id: str, language: str, data: st.DataObject) -> None:
    inst = instrument(instrument_id)
    answers = data.draw(any_answers(inst))
    position = data.draw(st.integers(0, len(inst.items) - 1))
    options = inst.items[position].options
    current = options[answers[position]].score
    # Choose by score, not by index: on a reverse-scored item a higher score is an option further up.
    higher = [i for i, o in enumerate(options) if o.score >= current]
    raised = list(answers)
    raised[position] = data.draw(st.sampled_from(higher))

    before, after = score(inst, language, answers), score(inst, language, raised)

    assert after.total >= before.total
    assert after.risk >= before.risk
    assert after.risk.rank >= before.risk.rank
