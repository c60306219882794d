"""Tests for bot.dates: parsing typed due/birth dates in five languages and validating them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.dates import (
    MAX_BIRTH_AGE,
    MAX_DUE_AHEAD,
    DateAnswer,
    DateKind,
    DateProblem,
    parse_user_date,
    validate_date,
)

# A Wednesday late in the year, so year-less dates in spring resolve differently for due and birth.
TODAY = date(2026, 11, 25)
LOCALES = ("ko", "en", "zh_Hans", "vi", "tl")
DUE, BIRTH = DateKind.DUE, DateKind.BIRTH
# A valid due date and a valid birth date relative to TODAY, both 5 March.
DUE_MAR5 = date(2027, 3, 5)
BIRTH_MAR5 = date(2026, 3, 5)


def parse(text: str, kind: DateKind = DUE, locale: str = "en", today: date = TODAY) -> DateAnswer:
    return parse_user_date(text, kind=kind, today=today, locale=locale)


def ok(value: date) -> DateAnswer:
    return DateAnswer(value=value, problem=None)


# --------------------------------------------------------------------------------------------
# Year-first forms: the same in every locale
# --------------------------------------------------------------------------------------------

YEAR_FIRST_TEXTS = (
    "2027-03-05",
    "2027-3-5",
    "2027.3.5",
    "2027.03.05",
    "2027. 3. 5.",
    "2027/3/5",
    "2027/03/05",
    "20270305",
    "2027 3 5",
)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("text", YEAR_FIRST_TEXTS)
def test_year_first_forms_in_every_locale(text: str, locale: str) -> None:
    assert parse(text, DUE, locale) == ok(DUE_MAR5)


# --------------------------------------------------------------------------------------------
# Bare numbers: order depends on the locale
# --------------------------------------------------------------------------------------------

MONTH_FIRST_LOCALES = ("ko", "zh_Hans", "en")
DAY_FIRST_LOCALES = ("vi", "tl")


@pytest.mark.parametrize("text", ["3/5", "3.5", "3-5", "03/05", "3 / 5"])
@pytest.mark.parametrize(
    ("locale", "due", "birth"),
    [(loc, date(2027, 3, 5), date(2026, 3, 5)) for loc in MONTH_FIRST_LOCALES]
    + [(loc, date(2027, 5, 3), date(2026, 5, 3)) for loc in DAY_FIRST_LOCALES],
)
def test_numeric_without_year_follows_locale_order(text: str, locale: str, due: date, birth: date) -> None:
    assert parse(text, DUE, locale) == ok(due)
    assert parse(text, BIRTH, locale) == ok(birth)


@pytest.mark.parametrize("text", ["3/5/2027", "3.5.2027", "3-5-2027", "3/5/27", "03/05/27"])
@pytest.mark.parametrize(
    ("locale", "expected"),
    [(loc, date(2027, 3, 5)) for loc in MONTH_FIRST_LOCALES] + [(loc, date(2027, 5, 3)) for loc in DAY_FIRST_LOCALES],
)
def test_numeric_with_year_last_follows_locale_order(text: str, locale: str, expected: date) -> None:
    assert parse(text, DUE, locale) == ok(expected)


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [
        # The preferred order is impossible, so the only real reading wins.
        ("25/3", "en", date(2027, 3, 25)),
        ("25/3", "ko", date(2027, 3, 25)),
        ("3/25", "vi", date(2027, 3, 25)),
        ("3/25", "tl", date(2027, 3, 25)),
        ("25/3/2027", "en", date(2027, 3, 25)),
        ("3/25/2027", "vi", date(2027, 3, 25)),
        # Korean short year-first dates.
        ("27. 3. 5.", "ko", date(2027, 3, 5)),
        ("27.03.05", "ko", date(2027, 3, 5)),
        ("27.3.5", "zh_Hans", date(2027, 3, 5)),
    ],
)
def test_only_real_reading_is_taken(text: str, locale: str, expected: date) -> None:
    assert parse(text, DUE, locale) == ok(expected)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("vi_VN", date(2027, 5, 3)),
        ("fil", date(2027, 5, 3)),
        ("en-US", date(2027, 3, 5)),
        ("xx", date(2027, 3, 5)),
    ],
)
def test_locale_variants(locale: str, expected: date) -> None:
    assert parse("3/5", DUE, locale) == ok(expected)


# --------------------------------------------------------------------------------------------
# Language-specific forms (accepted in every locale)
# --------------------------------------------------------------------------------------------

KOREAN = (
    "3월 5일",
    "3월5일",
    "3 월 5 일",
    "2027년 3월 5일",
    "2027년3월5일",
    "27년 3월 5일",
    "3월 5일이요",
    "3월 5일쯤",
    "3월 5일 예정",
    "3월 5일입니다",
)
CHINESE = (
    "3月5日",
    "3月5号",
    "3月5號",
    "2027年3月5日",
    "27年3月5日",
    "三月五日",
    "三月五号",
    "二〇二七年三月五日",
)
ENGLISH = (
    "March 5",
    "march 5",
    "MARCH 5",
    "5 March",
    "Mar 5",
    "Mar. 5",
    "Mar 5 2027",
    "Mar 5, 2027",
    "5th of March",
    "the 5th of March",
    "March 5th",
    "march 5th, 2027",
    "5 March 2027",
    "on March 5",
    "March the 5th",
)
VIETNAMESE = (
    "ngày 5 tháng 3",
    "ngay 5 thang 3",
    "5 tháng 3",
    "5 tháng 3 năm 2027",
    "5 thang 3 nam 2027",
    "ngày 5 tháng 3 năm 2027",
    "ngày 05 tháng 03",
    "mùng 5 tháng 3",
    "vào ngày 5 tháng 3",
    "5 thg 3, 2027",
    "NGÀY 5 THÁNG 3",
)
FILIPINO = (
    "Marso 5",
    "marso 5",
    "Marso 5, 2027",
    "ika-5 ng Marso",
    "ika 5 ng Marso",
    "ika-5 ng Marso 2027",
    "ika-5 ng Marso, 2027",
    "5 Marso",
    "5 Marso 2027",
    "sa Marso 5",
    "March 5",
    "ika-5 ng March",
)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("text", KOREAN + CHINESE + ENGLISH + VIETNAMESE + FILIPINO)
def test_worded_forms_in_every_locale(text: str, locale: str) -> None:
    assert parse(text, DUE, locale) == ok(DUE_MAR5)


@pytest.mark.parametrize("text", ["3월 5일", "3月5日", "March 5", "ngày 5 tháng 3", "ika-5 ng Marso"])
def test_worded_forms_without_year_resolve_backwards_for_birth(text: str) -> None:
    assert parse(text, BIRTH) == ok(BIRTH_MAR5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("十二月二十五日", date(2026, 12, 25)),
        ("十月十日", date(2027, 10, 10)),
        ("一月三十一号", date(2027, 1, 31)),
        ("十二月二十日", date(2026, 12, 20)),
    ],
)
def test_chinese_numerals(text: str, expected: date) -> None:
    assert parse(text, DUE, "zh_Hans").value == expected


TAGALOG_MONTHS = (
    "Enero",
    "Pebrero",
    "Marso",
    "Abril",
    "Mayo",
    "Hunyo",
    "Hulyo",
    "Agosto",
    "Setyembre",
    "Oktubre",
    "Nobyembre",
    "Disyembre",
)
ENGLISH_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@pytest.mark.parametrize("names", [TAGALOG_MONTHS, ENGLISH_MONTHS, [name[:3] for name in ENGLISH_MONTHS]])
def test_every_month_name(names: tuple[str, ...]) -> None:
    for month, name in enumerate(names, start=1):
        # Only the value matters here; some of these dates are out of range for a due date.
        assert parse(f"{name} 1, 2027", DUE, "tl").value == date(2027, month, 1), name
        assert parse(f"ika-1 ng {name} 2027", DUE, "tl").value == date(2027, month, 1), name


# --------------------------------------------------------------------------------------------
# Relative words
# --------------------------------------------------------------------------------------------

RELATIVE = [
    ("today", 0),
    ("Today", 0),
    ("yesterday", -1),
    ("tomorrow", 1),
    ("day before yesterday", -2),
    ("the day after tomorrow", 2),
    ("오늘", 0),
    ("어제", -1),
    ("그저께", -2),
    ("그제", -2),
    ("내일", 1),
    ("모레", 2),
    ("今天", 0),
    ("昨天", -1),
    ("前天", -2),
    ("明天", 1),
    ("后天", 2),
    ("後天", 2),
    ("hôm nay", 0),
    ("hom nay", 0),
    ("hôm qua", -1),
    ("hom qua", -1),
    ("ngày mai", 1),
    ("ngay mai", 1),
    ("ngayon", 0),
    ("ngayong araw", 0),
    ("kahapon", -1),
    ("bukas", 1),
]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(("text", "offset"), RELATIVE)
def test_relative_words_in_every_locale(text: str, offset: int, locale: str) -> None:
    expected = TODAY + timedelta(days=offset)
    if offset <= 0:
        assert parse(text, BIRTH, locale) == ok(expected)
    if offset >= 0:
        assert parse(text, DUE, locale) == ok(expected)


@pytest.mark.parametrize(
    ("text", "kind", "problem"),
    [("yesterday", DUE, DateProblem.DUE_IN_PAST), ("내일", BIRTH, DateProblem.BIRTH_IN_FUTURE)],
)
def test_relative_words_are_validated(text: str, kind: DateKind, problem: DateProblem) -> None:
    answer = parse(text, kind)
    assert answer.problem is problem
    assert answer.value is not None


# --------------------------------------------------------------------------------------------
# Year resolution for dates typed without a year
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "today", "expected"),
    [
        # In November, a spring due date is next year; a spring birth date is this year.
        ("3/5", DUE, TODAY, ok(date(2027, 3, 5))),
        ("3/5", BIRTH, TODAY, ok(date(2026, 3, 5))),
        ("12/20", DUE, TODAY, ok(date(2026, 12, 20))),
        ("12/20", BIRTH, TODAY, ok(date(2025, 12, 20))),
        # In March, December is behind us for a birth, ahead for a due date.
        ("12/20", BIRTH, date(2026, 3, 10), ok(date(2025, 12, 20))),
        ("12/20", DUE, date(2026, 3, 10), ok(date(2026, 12, 20))),
        ("1/2", DUE, date(2026, 12, 30), ok(date(2027, 1, 2))),
        ("12/30", BIRTH, date(2027, 1, 2), ok(date(2026, 12, 30))),
        # Today itself resolves to today in both directions.
        ("11/25", DUE, TODAY, ok(TODAY)),
        ("11/25", BIRTH, TODAY, ok(TODAY)),
        ("11/26", BIRTH, TODAY, ok(date(2025, 11, 26))),
        # Still invalid after resolution: value kept, problem reported.
        ("11/24", DUE, TODAY, DateAnswer(date(2027, 11, 24), DateProblem.DUE_TOO_FAR)),
        ("2/29", DUE, TODAY, DateAnswer(date(2028, 2, 29), DateProblem.DUE_TOO_FAR)),
        ("2/29", BIRTH, TODAY, DateAnswer(date(2024, 2, 29), DateProblem.BIRTH_TOO_OLD)),
        ("2/29", BIRTH, date(2026, 1, 10), ok(date(2024, 2, 29))),
        ("2/29", DUE, date(2027, 6, 1), ok(date(2028, 2, 29))),
    ],
)
def test_year_resolution(text: str, kind: DateKind, today: date, expected: DateAnswer) -> None:
    assert parse(text, kind, "en", today) == expected


# --------------------------------------------------------------------------------------------
# Validation boundaries
# --------------------------------------------------------------------------------------------

BOUNDARIES = [
    (DUE, TODAY, TODAY, None),
    (DUE, TODAY, TODAY - timedelta(days=1), DateProblem.DUE_IN_PAST),
    (DUE, TODAY, TODAY + MAX_DUE_AHEAD, None),
    (DUE, TODAY, TODAY + MAX_DUE_AHEAD + timedelta(days=1), DateProblem.DUE_TOO_FAR),
    (DUE, TODAY, date(2027, 9, 22), None),
    (DUE, TODAY, date(2027, 9, 23), DateProblem.DUE_TOO_FAR),
    (BIRTH, TODAY, TODAY, None),
    (BIRTH, TODAY, TODAY + timedelta(days=1), DateProblem.BIRTH_IN_FUTURE),
    (BIRTH, TODAY, date(2024, 11, 25), None),
    (BIRTH, TODAY, date(2024, 11, 24), DateProblem.BIRTH_TOO_OLD),
    # Today is Feb 29: two years back has no Feb 29, so the boundary is Feb 28.
    (BIRTH, date(2028, 2, 29), date(2026, 2, 28), None),
    (BIRTH, date(2028, 2, 29), date(2026, 2, 27), DateProblem.BIRTH_TOO_OLD),
    # Born on Feb 29: still accepted on the calendar day two years later.
    (BIRTH, date(2026, 2, 28), date(2024, 2, 29), None),
    (BIRTH, date(2026, 3, 1), date(2024, 3, 1), None),
    (BIRTH, date(2026, 3, 1), date(2024, 2, 29), DateProblem.BIRTH_TOO_OLD),
]


@pytest.mark.parametrize(("kind", "today", "value", "problem"), BOUNDARIES)
def test_validate_date_boundaries(kind: DateKind, today: date, value: date, problem: DateProblem | None) -> None:
    assert validate_date(value, kind=kind, today=today) is problem


@pytest.mark.parametrize(("kind", "today", "value", "problem"), BOUNDARIES)
def test_parse_applies_validation(kind: DateKind, today: date, value: date, problem: DateProblem | None) -> None:
    # The understood date is echoed back even when it fails validation.
    assert parse(value.isoformat(), kind, "ko", today) == DateAnswer(value, problem)


def test_constants() -> None:
    assert timedelta(weeks=43) == MAX_DUE_AHEAD
    assert MAX_BIRTH_AGE == 2


# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "２０２７－０３－０５",
        "２０２７．３．５",
        "２０２７/３/５",
        "３/５",
        "３月５日",
        "２０２７年３月５日",
        "３월 ５일",
        "Ｍａｒｃｈ ５",
    ],
)
def test_full_width_characters(text: str) -> None:
    assert parse(text, DUE, "ko") == ok(DUE_MAR5)


@pytest.mark.parametrize(
    "text",
    [
        "3/5.",
        "3/5!",
        "3/5?",
        "3/5!!",
        "March 5!",
        "March 5th.",
        "2027-03-05?",
        "2027. 3. 5.",
        "3月5日。",
        "3月5日！",
        "3월 5일.",
        "3월 5일!!",
        "ngày 5 tháng 3.",
        "ika-5 ng Marso!",
        "  3/5  ",
        "March   5",
        "3월\t5일",
        "3/5 ...",
    ],
)
def test_punctuation_and_spacing(text: str) -> None:
    assert parse(text, DUE, "en") == ok(DUE_MAR5)


@pytest.mark.parametrize("text", ["today!", "Today.", "오늘!", "今天。", "hôm nay?", "ngayon!"])
def test_relative_with_punctuation(text: str) -> None:
    assert parse(text, DUE) == ok(TODAY)


# --------------------------------------------------------------------------------------------
# Rejections
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "?!",
        "hello",
        "3",
        "12",
        "my baby",
        "999/999",
        "2027/3",
        "2027",
        "March",
        "3/5/6",
        "1/2/3/4",
        "yesterday tomorrow",
        "3월",
        "5일",
        "3月",
        "the 5th",
        "march 52027",
        "五五月五日",
        "ngày",
        "thang 3",
        "x" * 500,
    ],
)
@pytest.mark.parametrize("locale", LOCALES)
def test_unreadable(text: str, locale: str) -> None:
    assert parse(text, DUE, locale) == DateAnswer(None, DateProblem.UNREADABLE)


@pytest.mark.parametrize(
    "text",
    [
        "2026-02-30",
        "2027-02-29",
        "2027-13-01",
        "2027-00-10",
        "0000-01-01",
        "20271301",
        "2/30",
        "13/13",
        "0/5",
        "31/31",
        "4/31/2027",
        "3월 32일",
        "13월 1일",
        "2월 30일",
        "2月30日",
        "March 32",
        "31 April",
        "ngày 32 tháng 3",
        "ika-31 ng Abril",
    ],
)
@pytest.mark.parametrize("locale", LOCALES)
def test_impossible(text: str, locale: str) -> None:
    assert parse(text, DUE, locale) == DateAnswer(None, DateProblem.IMPOSSIBLE)


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("2020-01-01", BIRTH, DateAnswer(date(2020, 1, 1), DateProblem.BIRTH_TOO_OLD)),
        ("2026-11-24", DUE, DateAnswer(date(2026, 11, 24), DateProblem.DUE_IN_PAST)),
        ("2030-01-01", DUE, DateAnswer(date(2030, 1, 1), DateProblem.DUE_TOO_FAR)),
        ("2027-03-05", BIRTH, DateAnswer(date(2027, 3, 5), DateProblem.BIRTH_IN_FUTURE)),
        ("5/3/20", BIRTH, DateAnswer(date(2020, 5, 3), DateProblem.BIRTH_TOO_OLD)),
    ],
)
def test_value_kept_with_validation_problem(text: str, kind: DateKind, expected: DateAnswer) -> None:
    assert parse(text, kind) == expected


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

todays = st.dates(min_value=date(2001, 1, 1), max_value=date(2098, 12, 31))


@given(day=st.dates(min_value=date(1000, 1, 1), max_value=date(9998, 12, 31)), today=todays)
def test_iso_round_trips_in_every_locale_and_kind(day: date, today: date) -> None:
    for locale in LOCALES:
        for kind in DateKind:
            answer = parse(day.isoformat(), kind, locale, today)
            assert answer == DateAnswer(day, validate_date(day, kind=kind, today=today))


@given(today=todays, data=st.data())
def test_iso_of_valid_dates_is_accepted(today: date, data: st.DataObject) -> None:
    due = data.draw(st.dates(min_value=today, max_value=today + MAX_DUE_AHEAD))
    birth = data.draw(st.dates(min_value=today - timedelta(days=730), max_value=today))
    for locale in LOCALES:
        assert parse(due.isoformat(), DUE, locale, today) == ok(due)
        assert parse(birth.isoformat(), BIRTH, locale, today) == ok(birth)


@given(day=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)), today=todays)
def test_year_less_dates_resolve_in_the_right_direction(day: date, today: date) -> None:
    for kind in DateKind:
        answer = parse(f"{day.month}/{day.day}", kind, "en", today)
        assert answer.value is not None
        assert (answer.value.month, answer.value.day) == (day.month, day.day)
        if kind is DUE:
            assert answer.value >= today
            assert answer.value.year - today.year <= (8 if day.month == 2 and day.day == 29 else 1)
        else:
            assert answer.value <= today
            assert today.year - answer.value.year <= (8 if day.month == 2 and day.day == 29 else 1)


@given(text=st.text(), today=st.dates(), locale=st.sampled_from([*LOCALES, "", "xx"]))
def test_never_raises_on_arbitrary_text(text: str, today: date, locale: str) -> None:
    for kind in DateKind:
        answer = parse(text, kind, locale, today)
        assert isinstance(answer, DateAnswer)
        # value is missing exactly when the text was not understood as a real date.
        assert (answer.value is None) == (answer.problem in {DateProblem.UNREADABLE, DateProblem.IMPOSSIBLE})
        if answer.value is not None:
            assert answer.problem is validate_date(answer.value, kind=kind, today=today)


@given(
    text=st.from_regex(r"\s*[0-9０-９]{1,4}\s*[-./年월月]?\s*[0-9０-９]{1,3}\s*[-./일日号]?\s*[0-9]{0,4}[.!?。]?\s*"),
    today=st.dates(),
)
def test_never_raises_on_date_like_text(text: str, today: date) -> None:
    for locale in LOCALES:
        for kind in DateKind:
            assert isinstance(parse(text, kind, locale, today), DateAnswer)
