"""Catalogs are complete and consistent; languages negotiate and dates format per locale."""

from __future__ import annotations

import re
from datetime import date

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bot.i18n import LANGUAGES, LOCALES_DIR, Translator, format_date, negotiate_language

PLACEHOLDER = re.compile(r"\{(\w*)\}")


def catalog(language: str) -> Catalog:
    with (LOCALES_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f)


def template() -> Catalog:
    with (LOCALES_DIR / "messages.pot").open("rb") as f:
        return read_po(f)


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_is_complete_and_not_fuzzy(language: str) -> None:
    cat = catalog(language)
    problems = []
    for message in cat:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        if not all(strings):
            problems.append(f"untranslated: {message.id!r}")
    missing = [m.id for m in template() if m.id and m.id not in cat]
    assert not missing, f"{language}: not merged from the template (run make i18n): {missing}"
    assert not problems, "\n".join(problems)
    assert not list(cat.check()), list(cat.check())


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_match(language: str) -> None:
    for message in catalog(language):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for text in strings:
            got = set(PLACEHOLDER.findall(text))
            # A one-form plural may leave out the count where the language says it another way.
            assert got == wanted or (len(ids) > 1 and got | {"n"} == wanted | {"n"}), (language, ids[0], text)


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_are_really_loaded(language: str) -> None:
    t = Translator(language)
    source = "Please choose one of the buttons below."
    text = t(source)
    assert text
    if language != "en":
        assert text != source, f"{language} catalog fell back to English"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("zh-hans", "zh_Hans"),
        ("zh-CN", "zh_Hans"),
        ("zh-Hans-CN", "zh_Hans"),
        ("en-US", "en"),
        ("en", "en"),
        ("vi", "vi"),
        ("ko", "ko"),
        ("ko-KR", "ko"),
        ("tl", "tl"),
        ("fil", "tl"),
        ("de", "en"),
        (None, "en"),
        ("", "en"),
        ("not a code", "en"),
    ],
)
def test_language_negotiation(code: str | None, expected: str) -> None:
    assert negotiate_language(code, default="en") == expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("ko", "2026년 3월 5일"),
        ("en", "March 5, 2026"),
        ("zh_Hans", "2026年3月5日"),
        ("vi", "5 tháng 3, 2026"),
        ("tl", "Marso 5, 2026"),
    ],
)
def test_dates_in_her_locale(language: str, expected: str) -> None:
    assert format_date(date(2026, 3, 5), language) == expected
