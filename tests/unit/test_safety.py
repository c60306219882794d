"""The safety detector (nlu/safety): table tests per category and language, the evaluation-set targets,
prefilter exactness and robustness on arbitrary text."""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nlu.safety import Category, SafetyDetector, SafetyHit, default_detector, normalise, strip_diacritics
from nlu.safety.lexicon import canonical_tone_placement

EVAL_DIR = Path(__file__).resolve().parents[2] / "nlu" / "tests" / "safety"
LANGUAGES = ("ko", "en", "zh_Hans", "vi", "tl")
RECALL_TARGET = 1.0
FALSE_ALARM_TARGET = 0.02

SH, HB, ID, MD, AB = (
    Category.SELF_HARM,
    Category.HARM_BABY,
    Category.INFANT_DANGER,
    Category.MATERNAL_DANGER,
    Category.ABUSE,
)


@pytest.fixture(scope="module")
def detector() -> SafetyDetector:
    return default_detector()


def _categories(detector: SafetyDetector, text: str) -> set[Category]:
    return {hit.category for hit in detector.detect_all(text)}


# --------------------------------------------------------------------------- API and normalisation


def test_api_shape(detector: SafetyDetector) -> None:
    assert [c.value for c in Category] == [
        "self_harm",
        "harm_baby",
        "infant_danger",
        "maternal_danger",
        "abuse",
    ]
    hit = detector.detect("I want to die")
    assert isinstance(hit, SafetyHit)
    assert hit == SafetyHit(Category.SELF_HARM, "en.self_harm.want_die", "en")
    assert hit.rule.startswith(f"{hit.language}.{hit.category.value}.")
    assert default_detector() is default_detector()
    assert set(detector.languages) == set(LANGUAGES)
    # Every lexicon still awaits native clinical review, and says so.
    assert set(detector.unreviewed_languages()) == set(LANGUAGES)


@pytest.mark.parametrize("text", ["", " ", "\u200b", "\n\t", "ㅋㅋㅋ", "ok", "👍", "?"])
def test_empty_and_trivial_messages(detector: SafetyDetector, text: str) -> None:
    assert detector.detect(text) is None
    assert detector.detect_all(text) == []


def test_most_severe_hit_wins(detector: SafetyDetector) -> None:
    text = "my husband hit me and now i want to die, the baby has a fever"
    assert [h.category for h in detector.detect_all(text)][:1] == [SH]
    assert detector.detect(text).category is SH  # type: ignore[union-attr]
    assert {AB, ID} <= _categories(detector, text)


def test_language_only_breaks_ties_and_all_lexicons_are_checked(detector: SafetyDetector) -> None:
    # A Vietnamese mother writing in Korean is still understood.
    hit = detector.detect("죽고 싶어요", language="vi")
    assert hit is not None and hit.category is SH and hit.language == "ko"
    # Korean "열" and English "fever" in one message: her language decides which rule is reported.
    mixed = "아기 열이 나요 fever"
    assert detector.detect(mixed, language="en").language == "en"  # type: ignore[union-attr]
    assert detector.detect(mixed, language="ko").language == "ko"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＩＷＡＮＴ　ｔｏ　ｄｉｅ", "iwant to die"),  # full-width letters and ideographic space (NFKC)
        ("３８．５℃", "38.5°c"),
        ("d\u200bie\u200d", "die"),  # zero-width characters
        ("can’t  \n\t breathe", "cant breathe"),  # apostrophes dropped, whitespace collapsed
        ("sooooo tiiiired", "soo tiired"),  # letter runs shortened to two
        ("1000 ml", "1000 ml"),  # digits untouched
        # NFKC turns compatibility jamo (U+3160) into conjoining ones; the lexicons get the same treatment.
        ("ㅠㅠㅠㅠ 죽고싶어어어", "\u1172\u1172 죽고싶어어"),
        ("Chảy MÁU", "chảy máu"),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_strip_diacritics_and_tone_placement() -> None:
    assert strip_diacritics("Chảy máu nhiều, đau đầu") == "Chay mau nhieu, dau dau"
    # New-style tone placement is rewritten to the old style, and only for open syllables.
    assert canonical_tone_placement("hoà khoẻ thuỷ doạ") == "hòa khỏe thủy dọa"
    assert canonical_tone_placement("hoàn quý") == "hoàn quý"


# --------------------------------------------------------------------------- category x language

POSITIVE: list[tuple[str, str, Category]] = [
    # self_harm, including the negations that ARE the danger
    ("ko", "죽고 싶어", SH),
    ("ko", "죽고싶어", SH),
    ("ko", "죽 고 싶 어", SH),
    ("ko", "살고 싶지 않아", SH),
    ("ko", "살고싶지않아", SH),
    ("ko", "나만 없으면 다들 편할텐데", SH),
    ("en", "I don't want to live anymore", SH),
    ("en", "I want to kill myself", SH),
    ("en", "ｉ ｗａｎｔ ｔｏ ｄｉｅ", SH),
    ("en", "i want to d\u200bie", SH),
    ("en", "I want to diiiie", SH),
    ("zh_Hans", "不想活了", SH),
    ("zh_Hans", "不 想 活 了", SH),
    ("zh_Hans", "我想死", SH),
    ("vi", "không muốn sống nữa", SH),
    ("vi", "khong muon song nua", SH),
    ("vi", "ko muốn sống nữa", SH),
    ("vi", "mệt quá muốn chết cho xong", SH),
    ("tl", "ayoko nang mabuhay", SH),
    ("tl", "gusto ko na lang mamatay", SH),
    # harm_baby
    ("ko", "아기를 던져버리고 싶어요", HB),
    ("ko", "애를때릴것같아요", HB),
    ("en", "I'm scared I'll hurt my baby", HB),
    ("en", "I shook the baby", HB),
    ("zh_Hans", "我想掐死这个孩子", HB),
    ("vi", "em muốn bóp cổ con", HB),
    ("vi", "em muon bop co con", HB),
    ("tl", "gusto kong saktan si baby", HB),
    # infant_danger
    ("ko", "아기가 숨을 안 쉬어요", ID),
    ("ko", "아기가숨을안쉬어요", ID),
    ("ko", "애기 입술이 파래요", ID),
    ("ko", "50일 아기 열이 38.5도", ID),
    ("en", "baby's lips are blue", ID),
    ("en", "my baby has a fever", ID),  # age unknown: treated as under 3 months
    ("en", "fever 38.5 in my 2 month old", ID),
    ("en", "6 week old, temp 100.6", ID),
    ("en", "she isn't breathing", ID),
    ("zh_Hans", "宝宝嘴唇发紫", ID),
    ("zh_Hans", "宝宝发烧３８.５度", ID),
    ("vi", "bé bị sốt", ID),
    ("vi", "be bi sot", ID),
    ("vi", "bé bị sôt", ID),  # a tone mark left out
    ("vi", "môi bé tím tái", ID),
    ("tl", "hindi humihinga si baby", ID),
    ("tl", "may lagnat si baby", ID),
    # maternal_danger
    ("ko", "출혈이 심해요 패드가 한시간만에 다 젖어요", MD),
    ("ko", "가슴이 쥐어짜듯이 아파요", MD),
    ("en", "I'm soaking a pad every hour", MD),
    ("en", "my chest is killing me", MD),  # pain hyperbole about the chest is still chest pain
    ("en", "I can't breathe", MD),
    ("zh_Hans", "胸口很痛", MD),
    ("vi", "chảy máu nhiều", MD),
    ("vi", "chảy mau nhiều", MD),
    ("vi", "chay mau nhieu", MD),
    ("vi", "đau đầu dữ dội, mắt nhìn mờ", MD),
    ("tl", "nahimatay ako kanina", MD),
    # the mother's own seizure, and sudden confusion (postpartum psychosis)
    ("ko", "제가 아까 경련을 했어요", MD),
    ("zh_Hans", "我刚才抽搐了", MD),
    ("vi", "em bị co giật", MD),
    ("tl", "nag-seizure ako kanina", MD),
    ("en", "I'm suddenly very confused and don't know where I am", MD),
    ("ko", "갑자기 여기가 어딘지 모르겠어요", MD),
    # abuse
    ("ko", "남편이 때렸어요", AB),
    ("ko", "남편한테 맞았어요", AB),
    ("en", "he hit me", AB),
    ("en", "they took my passport", AB),
    ("zh_Hans", "老公打我", AB),
    ("vi", "chồng dọa giết em", AB),
    ("vi", "chong doạ giet em", AB),  # new-style tone placement, partly without diacritics
    ("tl", "binugbog ako ng asawa ko", AB),
]


@pytest.mark.parametrize(("language", "text", "category"), POSITIVE)
def test_danger_is_detected(detector: SafetyDetector, language: str, text: str, category: Category) -> None:
    hits = detector.detect_all(text)
    assert category in {h.category for h in hits}, f"{language}: {text!r} -> {[h.rule for h in hits]}"


def test_every_category_has_a_positive_case_in_every_language() -> None:
    covered = {(language, category) for language, _, category in POSITIVE}
    assert covered == {(language, category) for language in LANGUAGES for category in Category}


NEGATIVE: list[tuple[str, str, str]] = [
    # idioms
    ("ko", "피곤해 죽겠어", "idiom"),
    ("ko", "배고파죽겠다", "idiom"),
    ("ko", "웃겨 죽겠어 ㅋㅋ", "idiom"),
    ("zh_Hans", "累死了", "idiom"),
    ("zh_Hans", "饿死了", "idiom"),
    ("zh_Hans", "笑死", "idiom"),
    ("zh_Hans", "想死你了", "idiom"),
    ("vi", "mệt muốn chết", "idiom"),
    ("vi", "mệt chết đi được", "idiom"),
    ("vi", "met muon chet", "idiom"),
    ("en", "I'm dying to know", "idiom"),
    ("en", "dying of laughter", "idiom"),
    ("en", "these cramps are killing me", "idiom"),
    ("en", "killing time before the appointment", "idiom"),
    ("en", "I have baby fever lol", "idiom"),
    ("tl", "patay na patay ako sa kanya", "idiom"),
    ("tl", "mamatay na ako sa pagod", "idiom"),
    ("tl", "pinatay ko na yung ilaw", "lookalike"),
    # negation of a sign
    ("en", "the baby is NOT blue", "negation"),
    ("en", "her lips are not blue", "negation"),
    ("en", "no fever", "negation"),
    ("ko", "아기 열 없어요", "negation"),
    ("ko", "입술이 파랗지 않아요", "negation"),
    ("zh_Hans", "宝宝没有发烧", "negation"),
    ("vi", "không sốt", "negation"),
    ("vi", "bé không sốt", "negation"),
    ("tl", "walang lagnat", "negation"),
    ("tl", "lips niya arent blue", "negation"),
    # past, resolved
    ("en", "she had a fever last week but it's gone", "past"),
    ("ko", "어제 열 났었는데 지금은 괜찮아요", "past"),
    ("zh_Hans", "上周发烧了 现在好了", "past"),
    ("vi", "tuần trước bé sốt nhưng giờ hết rồi", "past"),
    ("tl", "nilagnat siya last week pero okay na", "past"),
    # older child, readings under 38 °C, water temperatures, questions
    ("en", "my 9 month old has a fever", "older"),
    ("en", "temp 37.6, is that ok", "reading"),
    ("en", "the bath water is 38 degrees", "water"),
    ("ko", "분유 물 온도 38도 맞나요", "water"),
    ("en", "is it safe to use a baby sling?", "question"),
    ("zh_Hans", "宝宝体温多少算发烧", "question"),
    # Vietnamese words that differ from danger words only in their diacritics
    ("vi", "em bỏ sót một cữ", "diacritics"),
    ("vi", "chạy mau lên con", "diacritics"),
    ("vi", "em đau tim khi thấy con khóc", "diacritics"),
    # ordinary care
    ("en", "my baby hit me in the face haha", "care"),
    ("en", "I would never hurt my baby", "negation"),
    ("ko", "오늘 예방접종 맞고 왔어요", "lookalike"),
    ("ko", "아기가 밤에 안 깨고 잘 자요", "care"),
    ("zh_Hans", "宝宝打嗝", "lookalike"),
    ("vi", "chồng đánh thức em dậy", "lookalike"),
    ("en", "i'm confused about the vaccine schedule", "lookalike"),
    ("ko", "정신이 없어요 너무 바빠서", "idiom"),
]


@pytest.mark.parametrize(("language", "text", "why"), NEGATIVE)
def test_non_danger_is_not_detected(detector: SafetyDetector, language: str, text: str, why: str) -> None:
    hits = detector.detect_all(text)
    assert not hits, f"{language} ({why}): {text!r} -> {[h.rule for h in hits]}"


def test_negation_is_scoped_to_the_clause(detector: SafetyDetector) -> None:
    # A negation elsewhere in the message must not cancel a sign.
    assert ID in _categories(detector, "no cough, but she has a fever")
    assert ID in _categories(detector, "not sure what to do. her lips are blue")
    assert ID in _categories(detector, "기침은 없는데 입술이 파래요")


# --------------------------------------------------------------------------- evaluation sets


def _load(name: str) -> list[dict[str, Any]]:
    with (EVAL_DIR / name).open(encoding="utf-8") as f:
        data = yaml.safe_load(f)
    messages: list[dict[str, Any]] = data["messages"]
    return messages


def test_eval_sets_meet_their_size_requirements() -> None:
    danger = _load("danger.yaml")
    tricky = _load("tricky.yaml")
    per_category = Counter(m["category"] for m in danger)
    assert set(per_category) == {c.value for c in Category}
    assert min(per_category.values()) >= 25
    assert {m["lang"] for m in danger} == set(LANGUAGES)
    assert len(tricky) >= 200
    per_language = Counter(m["lang"] for m in tricky)
    assert set(per_language) == set(LANGUAGES) and min(per_language.values()) >= 40
    texts = [m["text"] for m in danger + tricky]
    assert len(texts) == len(set(texts)), "duplicate messages in the evaluation sets"


def test_danger_recall_is_total_per_category(detector: SafetyDetector) -> None:
    found: dict[str, int] = defaultdict(int)
    total: Counter[str] = Counter()
    missed: list[str] = []
    for message in _load("danger.yaml"):
        category = message["category"]
        total[category] += 1
        if category in {h.category.value for h in detector.detect_all(message["text"])}:
            found[category] += 1
        else:
            missed.append(f"{message['lang']} {category}: {message['text']}")
    recall = {category: found[category] / n for category, n in total.items()}
    assert all(r >= RECALL_TARGET for r in recall.values()), f"recall {recall}; missed:\n" + "\n".join(missed)


def test_false_alarms_on_tricky_messages(detector: SafetyDetector) -> None:
    messages = _load("tricky.yaml")
    alarms = [
        f"{m['lang']} ({m['why']}): {m['text']} -> {[h.rule for h in hits]}"
        for m in messages
        if (hits := detector.detect_all(m["text"]))
    ]
    rate = len(alarms) / len(messages)
    assert rate <= FALSE_ALARM_TARGET, f"false-alarm rate {rate:.3f}:\n" + "\n".join(alarms)


def test_top_hit_has_the_expected_category(detector: SafetyDetector) -> None:
    # The reply follows the top hit, so it should be the labelled category (a more severe extra hit is fine).
    wrong = []
    for message in _load("danger.yaml"):
        hit = detector.detect(message["text"], message["lang"])
        assert hit is not None
        expected = Category(message["category"])
        order = list(Category)
        if order.index(hit.category) > order.index(expected):
            wrong.append(f"{message['text']} -> {hit.rule}")
    assert not wrong


# --------------------------------------------------------------------------- prefilter exactness, robustness


def test_prefilter_never_changes_the_result_on_the_eval_sets(detector: SafetyDetector) -> None:
    for message in _load("danger.yaml") + _load("tricky.yaml"):
        text = message["text"]
        assert detector._scan(text, prefilter=True) == detector._scan(text, prefilter=False), text


def _fragments() -> list[str]:
    texts = [m["text"] for m in _load("danger.yaml") + _load("tricky.yaml")]
    words = [word for text in texts for word in text.split()]
    return sorted(set(words + texts))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(st.sampled_from(_fragments()), st.text(max_size=6)),
        min_size=1,
        max_size=8,
    )
)
def test_prefilter_is_exact_on_recombined_messages(parts: list[str]) -> None:
    detector = default_detector()
    text = " ".join(parts)
    assert detector._scan(text, prefilter=True) == detector._scan(text, prefilter=False)


@functools.cache
def _second_detector() -> SafetyDetector:
    """An independently loaded detector: loading must be deterministic too."""
    return SafetyDetector()


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=400))
def test_detect_never_raises_and_is_deterministic(text: str) -> None:
    detector = default_detector()
    hits = detector.detect_all(text)
    assert all(isinstance(hit, SafetyHit) for hit in hits)
    assert hits == detector.detect_all(text) == _second_detector().detect_all(text)
    top = detector.detect(text)
    assert (top is None) == (not hits)
    assert top is None or top in hits
