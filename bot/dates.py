"""Parse and validate the due dates and birth dates that mothers type.

Mothers answer "When is your baby due?" or "When was your baby born?" in free text, in Korean,
English, Simplified Chinese, Vietnamese or Filipino/Tagalog, often mixing languages (a Vietnamese
mother may well type "today"). This module turns such an answer into a :class:`datetime.date`
and checks that it is plausible for the question asked.

Everything here is pure: "today" is always passed in, so the caller decides the time zone
(Asia/Seoul in production) and tests can pin the calendar.

Only the order of bare numbers ("3/5") depends on the locale; every other form (Korean 월/일,
Chinese 月/日, month names, relative words) is unambiguous and therefore accepted in every locale.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date, timedelta
from enum import StrEnum
from typing import Final

from bot.months import years_before

__all__ = [
    "MAX_BIRTH_AGE",
    "MAX_DUE_AHEAD",
    "DateAnswer",
    "DateKind",
    "DateProblem",
    "parse_user_date",
    "validate_date",
]

MAX_DUE_AHEAD: Final = timedelta(weeks=43)
"""Latest acceptable due date, counted from today (a pregnancy lasts at most ~42 weeks)."""

MAX_BIRTH_AGE: Final = 2
"""Oldest acceptable birth date, in calendar years before today (the programme covers infants)."""


class DateKind(StrEnum):
    """Which date the mother was asked for."""

    DUE = "due"  # expected due date of a pregnancy
    BIRTH = "birth"  # baby's birth date


class DateProblem(StrEnum):
    """Why an answer was not accepted."""

    UNREADABLE = "unreadable"  # could not understand the text as a date
    IMPOSSIBLE = "impossible"  # looks like a date but does not exist (2026-02-30, 13/13)
    DUE_IN_PAST = "due_in_past"  # due date before today
    DUE_TOO_FAR = "due_too_far"  # due date more than 43 weeks after today
    BIRTH_IN_FUTURE = "birth_in_future"
    BIRTH_TOO_OLD = "birth_too_old"  # more than 2 years before today


@dataclass(frozen=True)
class DateAnswer:
    """Result of :func:`parse_user_date`.

    Attributes:
        value: The date understood, or None when the text was unreadable or impossible. It is
            also set when the date fails validation, so the bot can echo what it understood
            ("You wrote 5 March 2024, that is more than two years ago").
        problem: None when the date is acceptable, otherwise the reason it is not.
    """

    value: date | None
    problem: DateProblem | None


# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------

# Phones and IMEs add these after an answer; they never change its meaning.
_TRAILING_PUNCTUATION: Final = ".!?。,;:~、 "

# Anything longer is not a date answer; the cap also bounds regex work on pasted text.
_MAX_INPUT_CHARS: Final = 100


def _normalise(text: str) -> str:
    """Reduce text to the canonical form the patterns below are written against.

    NFKC turns full-width digits and punctuation (common with CJK keyboards) into ASCII, casefold
    removes case, and stripping combining marks lets "ngày 5 tháng 3" and the equally common
    unaccented "ngay 5 thang 3" match one pattern. Hangul survives the NFD/NFC round trip intact.

    Args:
        text: Raw user input.

    Returns:
        The normalised text, possibly empty.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    decomposed = unicodedata.normalize("NFD", text)
    text = unicodedata.normalize("NFC", "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn"))
    # "đ" is a letter of its own, not d plus a mark, so NFD leaves it alone.
    text = text.replace("đ", "d")
    text = " ".join(text.split())
    return text.rstrip(_TRAILING_PUNCTUATION).strip()


# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

_RELATIVE_PHRASES: Final[dict[int, tuple[str, ...]]] = {
    -3: ("그끄저께", "그끄제", "大前天"),
    -2: (
        "the day before yesterday",
        "day before yesterday",
        "그저께",
        "그제",
        "前天",
        "hôm kia",
        "kamakalawa",
    ),
    -1: ("yesterday", "어제", "어저께", "昨天", "昨日", "hôm qua", "bữa qua", "ngày hôm qua", "kahapon"),
    0: (
        "today",
        "오늘",
        "今天",
        "今日",
        "hôm nay",
        "bữa nay",
        "ngày hôm nay",
        "ngayon",
        "ngayong araw",
        "ngayon araw",
        "ngayong araw na ito",
    ),
    # Common misspellings and chat shorthand are included because "tmr" is what people type.
    1: (
        "tomorrow",
        "tmr",
        "tmrw",
        "tomorow",
        "tommorow",
        "tommorrow",
        "내일",
        "明天",
        "明日",
        "ngày mai",
        "mai",
        "bukas",
    ),
    2: (
        "the day after tomorrow",
        "day after tomorrow",
        "모레",
        "后天",
        "後天",
        "ngày mốt",
        "ngày kia",
        "mốt",
        "sa makalawa",
        "makalawa",
    ),
    3: ("글피", "大后天", "大後天"),
}

# Keys go through _normalise so they are written naturally above but compared like user input.
_RELATIVE_DAYS: Final[dict[str, int]] = {
    _normalise(phrase): offset for offset, phrases in _RELATIVE_PHRASES.items() for phrase in phrases
}

_MONTH_SPELLINGS: Final[dict[int, tuple[str, ...]]] = {
    # English, then Filipino (Spanish-derived, with the spellings seen in Taglish chats).
    1: ("january", "jan", "enero", "ene"),
    2: ("february", "feb", "pebrero", "febrero", "peb"),
    3: ("march", "mar", "marso"),
    4: ("april", "apr", "abril", "abr"),
    5: ("may", "mayo"),
    6: ("june", "jun", "hunyo", "hun"),
    7: ("july", "jul", "hulyo", "hul"),
    8: ("august", "aug", "agosto", "ago"),
    9: ("september", "sept", "sep", "setyembre", "septiyembre", "septyembre", "setiembre", "set"),
    10: ("october", "oct", "oktubre", "okt", "octubre"),
    11: ("november", "nov", "nobyembre", "nob", "noviembre"),
    12: ("december", "dec", "disyembre", "dis", "diciembre"),
}
_MONTH_NAMES: Final[dict[str, int]] = {name: month for month, names in _MONTH_SPELLINGS.items() for name in names}
# Longest first so "mar" never wins over "marso" inside the alternation.
_MONTH_ALT: Final = "|".join(sorted(_MONTH_NAMES, key=len, reverse=True))

# Leading words that frame a date without changing it: "on March 5", "sa Marso 5",
# "noong ika-5", "vào ngày 5 tháng 3", "mùng 5 tháng 3" (mùng/mồng mark days 1-10).
_FILLER_PREFIX: Final = re.compile(r"\A(?:(?:on|sa|noong|nung|vao|ngay|mung|mong)\s+)+")

# --------------------------------------------------------------------------------------------
# Patterns (matched with fullmatch against normalised text)
# --------------------------------------------------------------------------------------------

_SEP: Final = r"\s*[-./]\s*"
_YEAR_FIRST: Final = re.compile(rf"(\d{{4}})(?:{_SEP}|\s+)(\d{{1,2}})(?:{_SEP}|\s+)(\d{{1,2}})")
_COMPACT: Final = re.compile(r"(\d{4})(\d{2})(\d{2})")
_THREE_NUMBERS: Final = re.compile(rf"(\d{{1,2}}){_SEP}(\d{{1,2}}){_SEP}(\d{{4}}|\d{{1,2}})")
_TWO_NUMBERS: Final = re.compile(rf"(\d{{1,2}}){_SEP}(\d{{1,2}})")

# Korean answers often carry a particle or hedge: 3월 5일이요, 3월 5일쯤, 3월 5일 예정.
_KO_TAIL: Final = r"(?:\s*(?:쯤|경|예정|에|이요|요|입니다|이에요|예요|이야|임))*"
_KOREAN: Final = re.compile(rf"(?:(\d{{4}}|\d{{2}})\s*년\s*)?(\d{{1,2}})\s*월\s*(\d{{1,2}})\s*일?{_KO_TAIL}")

_CN_SMALL: Final = r"[一二三四五六七八九十]{1,3}"
_CN_YEAR: Final = r"[〇零一二三四五六七八九]{4}"
_CHINESE: Final = re.compile(
    rf"(?:(\d{{4}}|\d{{2}}|{_CN_YEAR})\s*年\s*)?(\d{{1,2}}|{_CN_SMALL})\s*月\s*(\d{{1,2}}|{_CN_SMALL})"
    r"\s*[日号號]?(?:\s*左右)?"
)

# A year after a day must be set apart by a space or comma, otherwise "march 52026" would be
# read as March 5, 2026 by backtracking.
_YEAR_TAIL: Final = r"(?:(?:\s*,\s*|\s+)(\d{4}))?"
_DAY: Final = r"(?:the\s+)?(?:ika\s*-?\s*)?(\d{1,2})(?:st|nd|rd|th)?"
_DAY_MONTH: Final = re.compile(rf"{_DAY}\s*(?:of\s+|ng\s+)?({_MONTH_ALT})\.?{_YEAR_TAIL}")
_MONTH_DAY: Final = re.compile(rf"({_MONTH_ALT})\.?\s*,?\s*{_DAY}{_YEAR_TAIL}")

# "thg" is how Vietnamese phone calendars abbreviate tháng ("5 thg 3, 2026").
_VIETNAMESE: Final = re.compile(r"(\d{1,2})\s*(?:thang|thg)\s*(\d{1,2})(?:(?:\s*,\s*|\s+)(?:nam\s*)?(\d{4}))?")

# --------------------------------------------------------------------------------------------
# Readings
# --------------------------------------------------------------------------------------------

_Reading = tuple[int | None, int, int]
"""(year or None when the mother left it out, month, day)."""

_Order = str
"""Field order of bare numbers: "md"/"dm" for two, "mdy"/"dmy"/"ymd" for three."""

_DAY_FIRST_LANGUAGES: Final = frozenset({"vi", "tl", "fil"})
# Korea (and China) write short dates year-first: "26. 3. 5." is 5 March 2026.
_YEAR_FIRST_LANGUAGES: Final = frozenset({"ko", "zh", "ja"})


def _orders(locale: str) -> tuple[tuple[_Order, ...], tuple[_Order, ...]]:
    """Return the preferred field orders for two and for three bare numbers.

    Earlier orders win when several readings are real dates; later ones only rescue input that
    is impossible in the preferred order (e.g. "25/3" in English).

    Args:
        locale: Locale code such as "ko", "zh_Hans", "vi", "en-US"; unknown codes act as English.

    Returns:
        A pair (orders for "a/b", orders for "a/b/c").
    """
    language = locale.casefold().replace("-", "_").split("_")[0]
    if language in _DAY_FIRST_LANGUAGES:
        return ("dm", "md"), ("dmy", "mdy")
    if language in _YEAR_FIRST_LANGUAGES:
        # The brief for ko/zh treats year-last numbers as US-style m/d/y; the yy-first reading
        # comes next because "26.03.05" is a routine Korean way to write 2026-03-05.
        return ("md", "dm"), ("mdy", "ymd", "dmy")
    return ("md", "dm"), ("mdy", "dmy")


_CN_DIGITS: Final[dict[str, int]] = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}


def _year(token: str) -> int:
    """Turn a 2- or 4-digit year (ASCII or Chinese digits) into a full year; "26" means 2026."""
    if token[0] in _CN_DIGITS:
        return int("".join(str(_CN_DIGITS[ch]) for ch in token))
    value = int(token)
    return 2000 + value if len(token) == 2 else value


def _small_number(token: str) -> int | None:
    """Read a month or day written in ASCII digits or Chinese numerals (五, 十二, 二十五, 三十一).

    Returns:
        The number, or None for a malformed Chinese numeral such as "五五" or "十十".
    """
    if token.isdigit():
        return int(token)
    head, ten, tail = token.partition("十")
    if not ten:
        return _CN_DIGITS.get(token) if len(token) == 1 else None
    if len(head) > 1 or len(tail) > 1 or (head and head not in _CN_DIGITS) or (tail and tail not in _CN_DIGITS):
        return None
    return (_CN_DIGITS[head] if head else 1) * 10 + (_CN_DIGITS[tail] if tail else 0)


def _numeric_readings(text: str, locale: str) -> list[_Reading] | None:
    """Readings of all-number forms: ISO/year-first, compact, and locale-ordered short dates."""
    for pattern in (_YEAR_FIRST, _COMPACT):
        match = pattern.fullmatch(text)
        if match:
            return [(int(match[1]), int(match[2]), int(match[3]))]
    two_orders, three_orders = _orders(locale)
    match = _THREE_NUMBERS.fullmatch(text)
    if match:
        a, b, c = match[1], match[2], match[3]
        readings: list[_Reading] = []
        for order in three_orders:
            # A year needs 2 or 4 digits; "3/5/6" has no year and is not a date.
            if order == "mdy" and len(c) in (2, 4):
                readings.append((_year(c), int(a), int(b)))
            elif order == "dmy" and len(c) in (2, 4):
                readings.append((_year(c), int(b), int(a)))
            elif order == "ymd" and len(a) == 2:
                readings.append((_year(a), int(b), int(c)))
        return readings or None
    match = _TWO_NUMBERS.fullmatch(text)
    if match:
        a_num, b_num = int(match[1]), int(match[2])
        return [(None, a_num, b_num) if order == "md" else (None, b_num, a_num) for order in two_orders]
    return None


def _cjk_readings(text: str, locale: str) -> list[_Reading] | None:
    """Readings of Korean (3월 5일) and Chinese (3月5日, 三月五号) forms."""
    del locale  # unambiguous in every locale
    match = _KOREAN.fullmatch(text)
    if match:
        return [(_year(match[1]) if match[1] else None, int(match[2]), int(match[3]))]
    match = _CHINESE.fullmatch(text)
    if match:
        month, day = _small_number(match[2]), _small_number(match[3])
        if month is None or day is None:
            return None
        return [(_year(match[1]) if match[1] else None, month, day)]
    return None


def _word_readings(text: str, locale: str) -> list[_Reading] | None:
    """Readings of month-name (English/Filipino) and Vietnamese "ngày 5 tháng 3" forms."""
    del locale  # unambiguous in every locale
    match = _DAY_MONTH.fullmatch(text)
    if match:
        return [(int(match[3]) if match[3] else None, _MONTH_NAMES[match[2]], int(match[1]))]
    match = _MONTH_DAY.fullmatch(text)
    if match:
        return [(int(match[3]) if match[3] else None, _MONTH_NAMES[match[1]], int(match[2]))]
    match = _VIETNAMESE.fullmatch(text)
    if match:
        return [(int(match[3]) if match[3] else None, int(match[2]), int(match[1]))]
    return None


_READERS: Final[Sequence[Callable[[str, str], list[_Reading] | None]]] = (
    _numeric_readings,
    _cjk_readings,
    _word_readings,
)


def _exists(reading: _Reading) -> bool:
    """Whether the reading names a real calendar day; a missing year may be any (leap) year."""
    year, month, day = reading
    # 2000 is a leap year, so a year-less 2/29 counts as real and is resolved later.
    year = 2000 if year is None else year
    if not (MINYEAR <= year <= MAXYEAR and 1 <= month <= 12):
        return False
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


# Feb 29 recurs at most 8 years apart (2096 -> 2104), so 9 candidate years always suffice.
_YEAR_SEARCH_SPAN: Final = 9


def _resolve_year(month: int, day: int, *, kind: DateKind, today: date) -> date | None:
    """Pick the year for a date the mother wrote without one.

    A due date lies ahead, so take the first occurrence on or after today; a birth date lies
    behind, so take the latest occurrence on or before today. Validation then judges the result
    (a due "11/24" typed on 25 November becomes next year and is reported as too far ahead).

    Returns:
        The resolved date, or None if no occurrence fits inside the supported calendar.
    """
    step = 1 if kind == DateKind.DUE else -1
    for offset in range(_YEAR_SEARCH_SPAN):
        year = today.year + step * offset
        if not MINYEAR <= year <= MAXYEAR:
            break
        try:
            candidate = date(year, month, day)
        except ValueError:  # Feb 29 outside a leap year
            continue
        if (candidate >= today) if step > 0 else (candidate <= today):
            return candidate
    return None


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def validate_date(value: date, *, kind: DateKind, today: date) -> DateProblem | None:
    """Check that a date is plausible for the question asked.

    Args:
        value: The date to check.
        kind: Whether it is a due date or a birth date.
        today: The current local date.

    Returns:
        None if acceptable, otherwise the problem. Bounds are inclusive: a due date of today or
        exactly ``today + MAX_DUE_AHEAD`` is accepted, as is a birth date of today or the same
        calendar day ``MAX_BIRTH_AGE`` years ago.

    Raises:
        ValueError: If kind is not a DateKind.
    """
    if kind == DateKind.DUE:
        if value < today:
            return DateProblem.DUE_IN_PAST
        # Subtracting avoids the OverflowError that today + MAX_DUE_AHEAD could hit near date.max.
        if value - today > MAX_DUE_AHEAD:
            return DateProblem.DUE_TOO_FAR
        return None
    if kind == DateKind.BIRTH:
        if value > today:
            return DateProblem.BIRTH_IN_FUTURE
        if value < years_before(today, MAX_BIRTH_AGE):
            return DateProblem.BIRTH_TOO_OLD
        return None
    raise ValueError(f"unknown date kind: {kind!r}")


_UNREADABLE: Final = DateAnswer(value=None, problem=DateProblem.UNREADABLE)
_IMPOSSIBLE: Final = DateAnswer(value=None, problem=DateProblem.IMPOSSIBLE)


def parse_user_date(text: str, *, kind: DateKind, today: date, locale: str) -> DateAnswer:
    """Understand a due date or birth date typed by a mother, and validate it.

    Accepted forms include ISO and other year-first dates (2026-03-05, 2026. 3. 5., 20260305),
    short numeric dates whose day/month order follows ``locale`` (3/5, 3/5/2026, 3/5/26),
    Korean (2026년 3월 5일), Chinese (2026年3月5日, 三月五号), English and Filipino month names
    (March 5th, 5 Marso 2026, ika-5 ng Marso), Vietnamese (ngày 5 tháng 3 năm 2026, with or
    without diacritics) and relative words in all five languages (오늘, 昨天, ngày mai, bukas).

    Args:
        text: The raw message.
        kind: Whether the mother was asked for a due date or a birth date; decides the year of
            dates typed without one and the validation rules.
        today: The current local date.
        locale: The mother's language ("ko", "en", "zh_Hans", "vi", "tl"); only affects the order
            of bare numbers, unknown codes act as "en".

    Returns:
        A DateAnswer. ``value`` is None only for UNREADABLE and IMPOSSIBLE; for the validation
        problems it holds the understood date so the bot can echo it back.
    """
    cleaned = _normalise(text)
    if not cleaned or len(cleaned) > _MAX_INPUT_CHARS:
        return _UNREADABLE
    unframed = _FILLER_PREFIX.sub("", cleaned, count=1) or cleaned

    offset = _RELATIVE_DAYS.get(cleaned, _RELATIVE_DAYS.get(unframed))
    if offset is not None:
        try:
            value = today + timedelta(days=offset)
        except OverflowError:
            return _IMPOSSIBLE
        return DateAnswer(value=value, problem=validate_date(value, kind=kind, today=today))

    readings: list[_Reading] | None = None
    for reader in _READERS:
        readings = reader(unframed, locale)
        if readings is not None:
            break
    if readings is None:
        return _UNREADABLE

    real = [reading for reading in readings if _exists(reading)]
    if not real:
        return _IMPOSSIBLE
    year, month, day = real[0]
    resolved = _resolve_year(month, day, kind=kind, today=today) if year is None else date(year, month, day)
    if resolved is None:
        return _IMPOSSIBLE
    return DateAnswer(value=resolved, problem=validate_date(resolved, kind=kind, today=today))
