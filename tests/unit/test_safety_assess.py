"""The one safety assessment (nlu/safety/assess.py): the floor holds, facts read numbers, the model only adds."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nlu.evaluation import load_safety_set
from nlu.loss import has_loss_cue
from nlu.safety.assess import Level, Safety, default_safety
from nlu.safety.detector import normalise
from nlu.safety.facts import age_in_days, detect_facts, temperatures
from nlu.safety.lexicon import Category

REGRESSION = load_safety_set("regression")
DANGER = [m for m in REGRESSION if m["category"] != "none"]


@pytest.fixture(scope="module")
def floor() -> Safety:
    return Safety(use_model=False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("6 week old is 38.4 under the arm", [38.4]),
        ("열이 38도 4부예요", [38.4]),
        ("宝宝三十八度五", [38.5]),
        ("bé sốt 38 độ 5", [38.5]),
        ("temp is 100.8 F", [38.2]),
        ("38,6 sa kilikili", [38.6]),
        ("I'm 38 weeks pregnant", []),
        ("she weighs 38.5 kg", []),
        ("목욕물 온도 38도면 괜찮아요?", []),  # bath water, not a baby
        ("奶粉冲到38度可以吗", []),
        ("38 degrees ba dapat ang tubig pampaligo", []),
        ("fever 38.5 and she won't take the bottle", [38.5]),  # the bottle is not what was measured
    ],
)
def test_temperatures_are_read_in_every_script(text: str, expected: list[float]) -> None:
    assert sorted(set(temperatures(normalise(text)))) == expected


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("my 6 week old", 42),
        ("생후 6주 아기", 42),
        ("宝宝六周大", 42),
        ("bé 6 tuần tuổi", 42),
        ("3 months old", 90),
        ("fever for 2 days", None),  # a duration, not an age
        ("born yesterday", 0),
        ("두돌 아기 열이 38도", 365),
        ("con 2 tuổi sốt 38 độ", 730),
        ("两岁的孩子发烧38度", 730),
    ],
)
def test_the_age_she_states(text: str, days: int | None) -> None:
    assert age_in_days(normalise(text)) == days


def test_a_fever_is_an_emergency_under_three_months_from_the_text_or_her_babys_record() -> None:
    reading = normalise("she is 38.3 under the arm, is that ok?")
    assert detect_facts(reading, baby_age_days=30) is not None
    assert detect_facts(reading, baby_age_days=None) is not None  # unknown age: fire
    assert detect_facts(reading, baby_age_days=200) is None  # an older baby: not this rule
    assert detect_facts(normalise("my 6 week old is 38.3"), baby_age_days=200) is not None  # the text wins
    assert detect_facts(normalise("she is 37.4"), baby_age_days=30) is None


def test_her_own_fever_and_a_pregnant_reading_are_hers() -> None:
    hit = detect_facts(normalise("I have 38.6 and my stitches hurt"), baby_age_days=10)
    assert hit is not None and hit.category is Category.MATERNAL_DANGER
    hit = detect_facts(normalise("38.5 since this morning"), baby_age_days=None, expecting=True)
    assert hit is not None and hit.category is Category.MATERNAL_DANGER


def test_yellow_on_the_first_day_is_an_emergency_later_it_is_not(floor: Safety) -> None:
    assert floor.assess("his skin looks yellow", "en", baby_age_days=0).level is Level.CRISIS
    assert detect_facts(normalise("his skin looks yellow"), baby_age_days=10) is None


def test_resolved_past_and_media_soften_a_lexicon_hit_to_a_check_never_to_nothing(floor: Safety) -> None:
    now = floor.assess("my baby has a fever of 38.5, she is 5 weeks", "en")
    past = floor.assess("my baby had a fever of 38.5 last month, she is fine now. can she get her shots?", "en")
    drama = floor.assess("in the drama last night the mother jumped off a bridge, i cried so much", "en")
    assert now.level is Level.CRISIS
    assert past.level is Level.CHECK and past.category is Category.INFANT_DANGER
    assert drama.level is Level.CHECK


@given(st.sampled_from(DANGER), st.text(max_size=40), st.text(max_size=40))
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_a_lexicon_hit_is_never_overruled(message: dict[str, object], before: str, after: str) -> None:
    text = f"{before} {message['text']} {after}"
    safety = default_safety()
    if safety.detector.detect(text) is not None:
        assert safety.assess(text, str(message["lang"])).level is not None


@pytest.mark.parametrize("message", DANGER[::7] + [m for m in REGRESSION if m["category"] == "none"][::7])
def test_the_model_only_adds(floor: Safety, message: dict[str, object]) -> None:
    text, language = str(message["text"]), str(message["lang"])
    without, with_model = floor.assess(text, language), default_safety().assess(text, language)
    rank = {None: 0, Level.CHECK: 1, Level.CRISIS: 2}
    assert rank[with_model.level] >= rank[without.level]


def test_without_the_model_the_floor_still_answers() -> None:
    safety = Safety(use_model=False)
    assert safety.model is None
    assert safety.assess("I want to kill myself", "en").level is Level.CRISIS
    assert safety.assess("how long should a feed take?", "en").level is None


@pytest.mark.parametrize(
    ("text", "loss"),
    [
        ("도움 많이 됐어요", False),  # "that helped a lot"
        ("아기가 젖을 제대로 못 물어요", False),  # "my baby can't latch properly"
        ("My baby's belly button is red and smelly", False),
        ("宝宝拉肚子", False),
        ("Bé bị vàng da", False),
        ("우리 아기가 하늘나라에 갔어요", True),
        ("I lost my baby at 20 weeks", True),
        ("宝宝没了", True),
        ("em bị sảy thai", True),
        ("nakunan ako", True),
    ],
)
def test_baby_loss_needs_a_loss_word(text: str, loss: bool) -> None:
    assert has_loss_cue(text) is loss


@pytest.mark.parametrize(
    "text",
    [
        "I want to k\u034fill myself",  # combining grapheme joiner
        "I want to \u2066kill\u2069 myself",  # bidi isolates
        "I want to ki\u202ell myself",  # right-to-left override
        "I want to kill\ufe0f myself",  # variation selector
        "죽\u3164고 싶어",  # Hangul filler
        "죽\u115f고 싶어",
        "I want to ki\U000e0041ll myself",  # tag character
        "I want to k\u0456ll myself",  # Cyrillic і
        "I want to k i l l myself",
        "I want to k.i.l.l myself",
        "我想自殺",  # Traditional Chinese
    ],
)
def test_hidden_characters_lookalikes_spelling_and_traditional_chinese_do_not_hide_danger(text: str) -> None:
    assert Safety(use_model=False).assess(text, "en").level is Level.CRISIS


def test_a_resolved_sentence_does_not_soften_a_danger_in_another(floor: Safety) -> None:
    past = "My son had a fever of 39 last month, he is fine now."
    assert floor.assess(f"{past} Can she get her shots?", "en").level is Level.CHECK
    now = floor.assess(f"{past} Today my 5 week old is not breathing properly and her lips are blue.", "en")
    assert now.level is Level.CRISIS and now.category is Category.INFANT_DANGER
