"""Danger given as facts, not keywords: a temperature and an age, or yellow skin on the first day.

"6 week old is 38.4 under the arm" names no danger word; the danger is the combination (clinical-facts.md,
"Danger signs": 38 °C or more under 3 months, below 35.5 °C, jaundice in the first 24 hours). The age comes
from the text when she gives it ("6 weeks old", "생후 6주", "六周大", "6 tuần tuổi", "6 linggo") and otherwise
from the baby's recorded age. Readings are taken in every script the mothers write: "38.4", "38,4", "38도 4부",
"三十八度五", "38 độ 5", "100.8 F".

Deterministic, like the lexicons: part of the floor. A reading she attributes to herself ("I have 38.5"), or
a pregnant mother's reading, is the mother's fever: 38 °C or more is a maternal warning sign (CDC "Hear Her").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nlu.safety.lexicon import Category

FEVER_C = 38.0  # under 3 months (NICE CG160 / WHO young infant signs, clinical-facts.md)
LOW_C = 35.5
YOUNG_DAYS = 91  # "under 3 months"
_CN = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}

# Celsius readings with a decimal or a unit, in the body's range; the lookarounds keep "38 weeks", "38kg".
_NUMBER = r"(?<![\d.,])(3[4-9]|4[0-3])(?:[.,](\d))?"
_UNIT = r"\s?(?:°\s?c?|º\s?c?|℃|c\b|do\b|도|度|độ|độ c|degrees?|deg\b|celsius)"
_CELSIUS = [
    re.compile(_NUMBER + r"\s?도\s?(\d)\s?부"),  # 38도 4부
    re.compile(_NUMBER + r"\s?(?:度|độ|do)\s?(\d)\b(?!\s?(?:天|ngày|ngay|tuần|tuan|tháng|thang))"),  # 38度5, 38 độ 5
    re.compile(_NUMBER + _UNIT),
    re.compile(r"(?<![\d.,])(3[4-9]|4[0-3])[.,](\d)(?!\d)(?!\s?(?:kg|lbs?|cm|ml|oz|주|周|tuan|tuần|weeks?|wks?))"),
]
_FAHRENHEIT = re.compile(r"(?<![\d.,])(9[3-9]|10[0-9])(?:[.,](\d))?\s?(?:°\s?f|º\s?f|f\b|fahrenheit)")
_CHINESE = re.compile(r"([三四])十([一二三四五六七八九])度([一二三四五六七八九])?")

_AGES = [
    # (pattern, unit in days); each needs an age marker, so "fever for 2 days" or "38 weeks pregnant" is no age.
    (re.compile(r"(\d{1,3})\s?-?(days?|d)\s?-?old\b"), 1),
    (re.compile(r"(\d{1,3})\s?-?(weeks?|wks?|w)\s?-?old\b"), 7),
    (re.compile(r"(\d{1,2})\s?-?(months?|mos?|mths?|m)\s?-?old\b"), 30),
    (re.compile(r"생후\s?(\d{1,3})\s?일|(\d{1,3})\s?일\s?(?:된|째|차|짜리)"), 1),
    (re.compile(r"생후\s?(\d{1,2})\s?주|(\d{1,2})\s?주\s?(?:된|짜리|아기|애기|아가|신생아)"), 7),
    (re.compile(r"생후\s?(\d{1,2})\s?개월|(\d{1,2})\s?개월\s?(?:된|짜리|아기|애기|아가|이에요|인데|이|째)"), 30),
    (re.compile(r"(\d{1,3})\s?天\s?(?:大|的宝宝|宝宝)|出生\s?(\d{1,3})\s?天"), 1),
    (re.compile(r"(\d{1,2})\s?(?:周|星期)\s?(?:大|的宝宝|宝宝)"), 7),
    (re.compile(r"(\d{1,2})\s?个?多?月\s?(?:大|的宝宝|宝宝)"), 30),
    (re.compile(r"(\d{1,3})\s?(?:ngay|ngày)\s?(?:tuoi|tuổi)"), 1),
    (re.compile(r"(\d{1,2})\s?(?:tuan|tuần)\s?(?:tuoi|tuổi)|\b(?:be|bé|con)\s(\d{1,2})\s?(?:tuan|tuần)\b"), 7),
    (re.compile(r"(\d{1,2})\s?(?:thang|tháng)\s?(?:tuoi|tuổi)|\b(?:be|bé|con)\s(\d{1,2})\s?(?:thang|tháng)\b"), 30),
    (re.compile(r"(\d{1,3})\s?(?:araw)\s?(?:na|pa lang|gulang|old)\b"), 1),
    (re.compile(r"(\d{1,2})\s?(?:linggo)\s?(?:na|pa lang|gulang|old)\b"), 7),
    (re.compile(r"(\d{1,2})\s?(?:buwan)\s?(?:na|pa lang|gulang|old)\b"), 30),
    # Years: an older child, never under 3 months.
    (
        re.compile(
            r"(\d{1,2})\s?-?(?:years?|yrs?|yo)\b|(\d)\s?살|(\d{1,2})\s?(?:岁|周岁)|(\d{1,2})\s?(?:tuổi|tuoi)\b|(\d{1,2})\s?taon"
        ),
        365,
    ),
]
# Words for an older child without a number ("두돌", "toddler").
_OLDER = re.compile(r"\btoddler|두\s?돌|돌\s?지난|돌쟁이|두\s?살|세\s?살|两岁|一岁多|周岁")
# A reading of water, milk or a room, not a body: the word right before or after the number.
_NOT_BODY = re.compile(
    r"water|bath|formula|room temp|weather|outside|물|목욕|분유|방\s?온도|실내|날씨|기온|"
    r"水|奶粉|洗澡|房间|室温|天气|气温|nước|nuoc|pha sữa|pha sua|tắm|phòng|thời tiết|thoi tiet|"
    r"tubig|pampaligo|paligo|kwarto|panahon"
)


_NEWBORN = re.compile(
    r"\bnewborn\b|\bborn (?:yesterday|today|last night|this morning)\b|\bday (?:one|1)\b|\bfirst day\b|"
    r"태어난\s?(?:지)?\s?(?:하루|이틀|어제|오늘)|어제\s?태어|오늘\s?태어|출생\s?첫날|"
    r"刚出生|出生第一天|昨天出生|今天出生|"
    r"\bmoi sinh\b|mới sinh|sinh hom qua|sinh hôm qua|ngay dau|ngày đầu|"
    r"\bkapapanganak\b|\bkakapanganak\b|\bbagong panganak\b|\bkahapon (?:lang )?(?:ipinanganak|pinanganak)\b"
)
_YELLOW = re.compile(
    r"\byellow|jaundice|노랗|노래|황달|黄疸|发黄|皮肤黄|眼睛黄|vàng da|vang da|vàng mắt|vang mat|dilaw|paninilaw"
)
# She says the reading is her own: the maternal rules answer it.
_HERSELF = re.compile(
    r"\bi (?:have|had|got|am|m running)\b|\bim (?:at|running)\b|\bmy (?:temp|temperature|fever)\b|"
    r"제가|내가|나\s?(?:열|체온)|我(?:发烧|发热|体温|烧到)|em bị sốt|em bi sot|tôi bị sốt|toi bi sot|"
    r"\bako (?:ay )?(?:may )?(?:lagnat|nilalagnat)\b|\bnilalagnat ako\b"
)
_MAY_HOLD_FACTS = re.compile(r"\d|[三四]十|" + _YELLOW.pattern)


@dataclass(frozen=True)
class FactHit:
    category: Category
    rule: str


def _of_a_body(text: str, match: re.Match[str]) -> bool:
    """Whether the reading is not of bath water, formula or a room (the words just around it)."""
    around = text[max(0, match.start() - 12) : match.end() + 30]
    return not _NOT_BODY.search(around)


def temperatures(text: str) -> list[float]:
    """Body temperatures in °C read from the text (Fahrenheit converted)."""
    found: list[float] = []
    taken: set[int] = set()  # "38도 4부" is one reading, not also a "38도"
    for pattern in _CELSIUS:
        for match in pattern.finditer(text):
            if match.start() in taken or not _of_a_body(text, match):
                continue
            taken.add(match.start())
            tenth = next((group for group in match.groups()[1:] if group), None)
            found.append(float(match.group(1)) + (int(tenth) / 10 if tenth else 0.0))
    for match in _CHINESE.finditer(text):
        if not _of_a_body(text, match):
            continue
        tens, units, tenth = match.groups()
        found.append(_CN[tens] * 10 + _CN[units] + (_CN[tenth] / 10 if tenth else 0.0))
    for match in _FAHRENHEIT.finditer(text):
        if not _of_a_body(text, match):
            continue
        fahrenheit = float(match.group(1)) + (int(match.group(2)) / 10 if match.group(2) else 0.0)
        found.append(round((fahrenheit - 32) * 5 / 9, 1))
    return found


def _arabic(text: str) -> str:
    """Chinese numerals up to 99 as digits ("六周" → "6周", "十二" → "12")."""

    def value(match: re.Match[str]) -> str:
        run = match.group(0)
        if "十" not in run:
            return "".join(str(_CN[c]) for c in run) if len(run) == 1 else run
        tens, _, units = run.partition("十")
        return str((_CN[tens] if tens else 1) * 10 + (_CN[units] if units else 0))

    return re.sub(r"[一二两三四五六七八九]?十[一二三四五六七八九]?|[一二两三四五六七八九]", value, text)


def age_in_days(text: str) -> int | None:
    """The baby's age as she states it, if she does ("6 weeks old", "생후 6주", "newborn" is 0)."""
    text = _arabic(text)
    for pattern, unit in _AGES:
        match = pattern.search(text)
        if match:
            number = next(group for group in match.groups() if group and group.isdigit())
            return int(number) * unit
    if _OLDER.search(text):
        return 365
    return 0 if _NEWBORN.search(text) else None


def detect_facts(text: str, *, baby_age_days: int | None, expecting: bool = False) -> FactHit | None:
    """A danger that only the numbers show, from the normalised text and her baby's recorded age
    (``expecting``: she is pregnant and no baby is born, so a reading without an age is hers)."""
    if not _MAY_HOLD_FACTS.search(text):
        return None  # most messages: no number and no yellow, nothing to read
    stated = age_in_days(text)
    age = stated if stated is not None else baby_age_days
    readings = temperatures(text)
    if readings and (_HERSELF.search(text) or (expecting and age is None)):
        if max(readings) >= FEVER_C:
            return FactHit(Category.MATERNAL_DANGER, "facts.fever_mother")
    elif readings:
        if max(readings) >= FEVER_C and (age is None or age < YOUNG_DAYS):
            return FactHit(Category.INFANT_DANGER, "facts.fever_under_3_months")
        if min(readings) < LOW_C:
            return FactHit(Category.INFANT_DANGER, "facts.low_temperature")
    if age is not None and age <= 1 and _YELLOW.search(text):
        return FactHit(Category.INFANT_DANGER, "facts.jaundice_first_day")
    return None
