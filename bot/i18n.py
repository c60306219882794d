"""Languages, gettext catalogs and locale-aware formatting (Babel).

Dodam's languages are identified by catalog codes: ``ko``, ``en``, ``zh_Hans``, ``vi`` and ``tl`` (Filipino).
"""

from __future__ import annotations

import gettext as _gettext
from datetime import date
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as _babel_format_date
from babel.support import Translations

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"

LANGUAGES: tuple[str, ...] = ("ko", "en", "zh_Hans", "vi", "tl")
# Each language named in itself, as a mother looks for it on a button.
LANGUAGE_NAMES: dict[str, str] = {
    "ko": "한국어",
    "en": "English",
    "zh_Hans": "中文（简体）",
    "vi": "Tiếng Việt",
    "tl": "Filipino",
}
# Babel has no "tl" data of its own; Filipino formatting lives under "fil".
_BABEL_LOCALE = {"ko": "ko", "en": "en", "zh_Hans": "zh_Hans", "vi": "vi", "tl": "fil"}


class CatalogMissing(RuntimeError):
    """A compiled catalog is absent: gettext would silently fall back to English, so refuse instead."""


def negotiate_language(language_code: str | None, *, default: str) -> str:
    """Map a Telegram ``language_code`` (``zh-hans``, ``en-US``, ``fil``…) to one of Dodam's languages.

    Telegram sends IETF tags with hyphens; Babel parses them with ``sep='-'`` and supplies the script, so
    ``zh-CN`` and ``zh-hans`` become Simplified Chinese. Traditional Chinese also gets our only Chinese
    catalog, which a Traditional reader can follow better than the default language.
    """
    if not language_code:
        return default
    code = language_code.strip().replace("_", "-")
    try:
        language = Locale.parse(code, sep="-").language
    except (UnknownLocaleError, ValueError):
        language = code.split("-", 1)[0].lower()
    if language == "zh":
        return "zh_Hans"
    if language in ("fil", "tl"):
        return "tl"
    if language in LANGUAGES:
        return language
    return default


def babel_locale(language: str) -> Locale:
    return Locale.parse(_BABEL_LOCALE.get(language, "en"))


@cache
def translations(language: str) -> _gettext.NullTranslations:
    """The compiled catalog for a language; raises CatalogMissing rather than falling back silently."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}")
    mo = LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    if not mo.is_file():
        raise CatalogMissing(f"{mo} is missing: run `make i18n` (or `make setup`) to compile the catalogs")
    return Translations.load(str(LOCALES_DIR), [language], DOMAIN)


class Translator:
    """gettext bound to one language: ``t = Translator('vi'); t("Hello")``."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._t = translations(language)

    def __call__(self, message: str, /, **params: object) -> str:
        text = self._t.gettext(message)
        return text.format(**params) if params else text

    def plural(self, singular: str, plural: str, n: int, /, **params: object) -> str:
        text = self._t.ngettext(singular, plural, n)
        return text.format(n=n, **params)

    def date(self, value: date, fmt: str = "long") -> str:
        return format_date(value, self.language, fmt)


def format_date(value: date, language: str, fmt: str = "long") -> str:
    """A date as the mother reads it: ``2026년 3월 5일``, ``5 tháng 3, 2026``, ``March 5, 2026``."""
    return _babel_format_date(value, format=fmt, locale=babel_locale(language))


def N_(message: str) -> str:
    """Mark a string for extraction where it is translated later."""
    return message
