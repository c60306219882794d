"""Screening instruments as data: load and validate ``content/instruments/*.yaml``.

A file describes one questionnaire (items, options in display order with their scores, per-language texts,
risk rules and their sources) and may define short forms built from its items (the PHQ-2 inside the PHQ-9).
Validation is strict — unknown keys, a missing language, a score outside 0–3 or a score order that disagrees
with ``reverse_scored`` all stop the load — because a silently wrong score is a clinical error, not a typo.
Every error names the file and the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

import yaml

from bot.i18n import LANGUAGES

INSTRUMENTS_DIR = Path(__file__).resolve().parent.parent.parent / "content" / "instruments"

MIN_SCORE = 0
MAX_SCORE = 3
# Option texts become Telegram inline buttons; we hold them to 64 UTF-8 bytes so that every label stays
# short enough to read on one line of a phone screen in every script.
MAX_OPTION_BYTES = 64


# libyaml's loader is several times faster; both are safe loaders and build the same tree.
_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class InstrumentError(ValueError):
    """An instrument file is malformed. The message starts with the file and the field."""


@dataclass(frozen=True)
class Option:
    """One answer option; ``text`` maps each language to the button label."""

    score: int
    text: Mapping[str, str]


@dataclass(frozen=True)
class Item:
    """One question. ``options`` are in display order: index 0 is the option shown first."""

    number: int
    text: Mapping[str, str]
    options: tuple[Option, ...]
    reverse_scored: bool

    @property
    def max_score(self) -> int:
        return max(option.score for option in self.options)


@dataclass(frozen=True)
class Translation:
    """Whether a language's texts are a validated version, and which study validated them."""

    validated: bool
    study: str | None  # a key of Instrument.sources
    note: str | None


@dataclass(frozen=True)
class UrgentRule:
    """An item whose score above ``above`` makes the result urgent, whatever the total."""

    item: int
    above: int
    source: tuple[str, ...]


@dataclass(frozen=True)
class Subscale:
    """A sum over some items, reported (and flagged at ``flag_at`` or more) next to the total."""

    id: str
    name: str
    items: tuple[int, ...]
    flag_at: int
    source: tuple[str, ...]


@dataclass(frozen=True)
class RiskRule:
    """Cut-offs for one language.

    ``total >= high`` is high; ``possible <= total < high`` is borderline; lower is low. ``possible`` is None
    (or equal to ``high``) when there is no borderline band.
    """

    high: int
    possible: int | None
    rescreen_in_days: int | None
    cutoff_validated: bool
    source: tuple[str, ...]
    note: str | None


@dataclass(frozen=True)
class Instrument:
    """A questionnaire ready to present and score. ``parent`` names the full form of a short form."""

    id: str
    name: str
    version: str
    license: str
    sources: Mapping[str, str]
    recall_days: int
    recall_period: Mapping[str, str]
    instructions: Mapping[str, str]
    translations: Mapping[str, Translation]
    items: tuple[Item, ...]
    urgent_items: tuple[UrgentRule, ...]
    subscales: tuple[Subscale, ...]
    risk: Mapping[str, RiskRule]
    path: Path
    parent: str | None = None

    @property
    def max_total(self) -> int:
        return sum(item.max_score for item in self.items)

    def item(self, number: int) -> Item:
        """The item with this printed number (1-based, as on the paper form)."""
        for item in self.items:
            if item.number == number:
                return item
        raise KeyError(f"{self.id} has no item {number}")

    def cite(self, keys: tuple[str, ...]) -> tuple[str, ...]:
        """Full references for source keys."""
        return tuple(self.sources[key] for key in keys)


_TOP_KEYS_REQUIRED = frozenset(
    {
        "id",
        "name",
        "version",
        "license",
        "sources",
        "recall_days",
        "recall_period",
        "instructions",
        "translations",
        "items",
        "urgent_items",
        "subscales",
        "risk",
    }
)
_TOP_KEYS_OPTIONAL = frozenset({"short_forms"})
_RULE_KEYS = frozenset({"high", "possible", "rescreen_in_days", "cutoff_validated", "source", "note"})


class _Parser:
    """Turns one file's YAML tree into Instruments, raising InstrumentError naming file and field."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sources: Mapping[str, str] = MappingProxyType({})

    # -- primitives ---------------------------------------------------------------------------------------

    def fail(self, where: str, message: str) -> NoReturn:
        raise InstrumentError(f"{self.path}: {where}: {message}")

    def mapping(
        self,
        value: Any,
        where: str,
        *,
        required: frozenset[str] | set[str] = frozenset(),
        optional: frozenset[str] | set[str] = frozenset(),
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(where, f"expected a mapping, got {type(value).__name__}")
        missing = sorted(set(required) - value.keys())
        if missing:
            self.fail(where, f"missing field {missing[0]!r}")
        if required or optional:
            unknown = sorted(str(k) for k in value.keys() - set(required) - set(optional))
            if unknown:
                self.fail(
                    where,
                    f"unknown field {unknown[0]!r} (allowed: {', '.join(sorted({*required, *optional}))})",
                )
        return value

    def list_(self, value: Any, where: str) -> list[Any]:
        if not isinstance(value, list):
            self.fail(where, f"expected a list, got {type(value).__name__}")
        return value

    def string(self, value: Any, where: str) -> str:
        # YAML turns an unquoted `No` or `yes` into a bool; insisting on str catches that here.
        if not isinstance(value, str) or not value.strip():
            self.fail(where, f"expected non-empty text, got {value!r}")
        return value.strip()

    def optional_string(self, value: Any, where: str) -> str | None:
        return None if value is None else self.string(value, where)

    def integer(self, value: Any, where: str, *, low: int, high: int | None = None) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(where, f"expected a whole number, got {value!r}")
        if value < low or (high is not None and value > high):
            bounds = f"{low}–{high}" if high is not None else f"at least {low}"
            self.fail(where, f"{value} is out of range ({bounds})")
        return value

    def boolean(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            self.fail(where, f"expected true or false, got {value!r}")
        return value

    def texts(self, value: Any, where: str) -> Mapping[str, str]:
        """A per-language text: exactly Dodam's languages, each non-empty."""
        m = self.mapping(value, where)
        for language in LANGUAGES:
            if language not in m:
                self.fail(where, f"missing language {language!r}")
        for key in m:
            if key not in LANGUAGES:
                self.fail(where, f"unknown language {key!r} (expected {', '.join(LANGUAGES)})")
        return MappingProxyType({lang: self.string(m[lang], f"{where}.{lang}") for lang in LANGUAGES})

    def source(self, value: Any, where: str) -> tuple[str, ...]:
        keys = [value] if isinstance(value, str) else self.list_(value, where)
        if not keys:
            self.fail(where, "at least one source is required")
        for key in keys:
            if not isinstance(key, str) or key not in self.sources:
                self.fail(where, f"unknown source {key!r} (define it under `sources`)")
        return tuple(keys)

    # -- structure ----------------------------------------------------------------------------------------

    def parse(self, data: Any) -> list[Instrument]:
        top = self.mapping(data, "top level", required=_TOP_KEYS_REQUIRED, optional=_TOP_KEYS_OPTIONAL)
        instrument_id = self.string(top["id"], "id")
        if instrument_id != self.path.stem:
            self.fail("id", f"{instrument_id!r} must match the file name {self.path.stem!r}")
        raw_sources = self.mapping(top["sources"], "sources")
        if not raw_sources:
            self.fail("sources", "at least one source is required")
        self.sources = MappingProxyType(
            {str(key): self.string(text, f"sources.{key}") for key, text in raw_sources.items()}
        )

        items = self.items(top["items"])
        numbers = {item.number for item in items}
        max_total = sum(item.max_score for item in items)
        full = Instrument(
            id=instrument_id,
            name=self.string(top["name"], "name"),
            version=self.version(top["version"]),
            license=self.string(top["license"], "license"),
            sources=self.sources,
            recall_days=self.integer(top["recall_days"], "recall_days", low=1),
            recall_period=self.texts(top["recall_period"], "recall_period"),
            instructions=self.texts(top["instructions"], "instructions"),
            translations=self.translations(top["translations"]),
            items=items,
            urgent_items=self.urgent_items(top["urgent_items"], items),
            subscales=self.subscales(top["subscales"], items),
            risk=self.risk(top["risk"], "risk", max_total),
            path=self.path,
        )
        instruments = [full]
        raw_short = top.get("short_forms") or {}
        for short_id, raw in self.mapping(raw_short, "short_forms").items():
            instruments.append(self.short_form(full, str(short_id), raw, numbers))
        return instruments

    def version(self, value: Any) -> str:
        # An unquoted 1.0 arrives as a float and 1.10 would become "1.1"; demand a string.
        if not isinstance(value, str):
            self.fail("version", f'write the version as quoted text, e.g. "1.0" (got {value!r})')
        return self.string(value, "version")

    def translations(self, value: Any) -> Mapping[str, Translation]:
        m = self.mapping(value, "translations")
        for language in LANGUAGES:
            if language not in m:
                self.fail("translations", f"missing language {language!r}")
        for key in m:
            if key not in LANGUAGES:
                self.fail("translations", f"unknown language {key!r}")
        result: dict[str, Translation] = {}
        for language in LANGUAGES:
            where = f"translations.{language}"
            entry = self.mapping(m[language], where, required={"validated", "study"}, optional={"note"})
            validated = self.boolean(entry["validated"], f"{where}.validated")
            study = None if entry["study"] is None else self.source(entry["study"], f"{where}.study")
            if study is not None and len(study) != 1:
                self.fail(f"{where}.study", "name exactly one study")
            note = self.optional_string(entry.get("note"), f"{where}.note")
            if validated and study is None:
                self.fail(f"{where}.study", "a validated translation must name its study")
            if not validated and note is None:
                self.fail(
                    f"{where}.note",
                    "an unvalidated translation needs a note naming the validated version to substitute",
                )
            result[language] = Translation(validated, study[0] if study else None, note)
        return MappingProxyType(result)

    def items(self, value: Any) -> tuple[Item, ...]:
        raw_items = self.list_(value, "items")
        if not raw_items:
            self.fail("items", "an instrument needs at least one item")
        items = []
        for index, raw in enumerate(raw_items):
            where = f"items[{index}]"
            m = self.mapping(raw, where, required={"number", "text", "options"}, optional={"reverse_scored"})
            number = self.integer(m["number"], f"{where}.number", low=1)
            if number != index + 1:
                self.fail(
                    f"{where}.number",
                    f"items must be numbered 1, 2, 3… in order; expected {index + 1}, got {number}",
                )
            where = f"item {number}"
            reverse = self.boolean(m.get("reverse_scored", False), f"{where}.reverse_scored")
            options = self.options(m["options"], where)
            scores = [option.score for option in options]
            # The flag documents the direction; the scores must agree with it so a reader can trust either.
            expected = sorted(scores, reverse=reverse)
            if scores != expected or len(set(scores)) != len(scores):
                direction = "decrease (3→0)" if reverse else "increase (0→3)"
                flag = "reverse_scored: true" if reverse else "not reverse_scored"
                self.fail(
                    f"{where}.options",
                    f"item is {flag}, so scores must strictly {direction} from the top option down; got {scores}",
                )
            items.append(Item(number, self.texts(m["text"], f"{where}.text"), options, reverse))
        return tuple(items)

    def options(self, value: Any, where: str) -> tuple[Option, ...]:
        raw_options = self.list_(value, f"{where}.options")
        if len(raw_options) < 2:
            self.fail(f"{where}.options", "an item needs at least two options")
        options = []
        for index, raw in enumerate(raw_options):
            at = f"{where}.options[{index}]"
            m = self.mapping(raw, at, required={"score", "text"})
            score = self.integer(m["score"], f"{at}.score", low=MIN_SCORE, high=MAX_SCORE)
            text = self.texts(m["text"], f"{at}.text")
            for language, label in text.items():
                size = len(label.encode("utf-8"))
                if size > MAX_OPTION_BYTES:
                    self.fail(
                        f"{at}.text.{language}",
                        f"{size} bytes; button labels must fit in {MAX_OPTION_BYTES} (shorten {label!r})",
                    )
            options.append(Option(score, text))
        for language in LANGUAGES:
            labels = [option.text[language] for option in options]
            if len(set(labels)) != len(labels):
                self.fail(
                    f"{where}.options",
                    f"two options share the same {language} label; a mother could not tell the buttons apart",
                )
        return tuple(options)

    def urgent_items(self, value: Any, items: tuple[Item, ...]) -> tuple[UrgentRule, ...]:
        rules = []
        for index, raw in enumerate(self.list_(value, "urgent_items")):
            where = f"urgent_items[{index}]"
            m = self.mapping(raw, where, required={"item", "above", "source"})
            number = self.integer(m["item"], f"{where}.item", low=1, high=len(items))
            item = items[number - 1]
            # `above` must leave some option that triggers the rule, or the rule could never fire.
            above = self.integer(m["above"], f"{where}.above", low=MIN_SCORE, high=item.max_score - 1)
            rules.append(UrgentRule(number, above, self.source(m["source"], f"{where}.source")))
        return tuple(rules)

    def subscales(self, value: Any, items: tuple[Item, ...]) -> tuple[Subscale, ...]:
        subscales: list[Subscale] = []
        for index, raw in enumerate(self.list_(value, "subscales")):
            where = f"subscales[{index}]"
            m = self.mapping(raw, where, required={"id", "name", "items", "flag_at", "source"})
            subscale_id = self.string(m["id"], f"{where}.id")
            if any(s.id == subscale_id for s in subscales):
                self.fail(f"{where}.id", f"duplicate subscale id {subscale_id!r}")
            numbers = self.item_numbers(m["items"], f"{where}.items", {item.number for item in items})
            max_sum = sum(items[n - 1].max_score for n in numbers)
            subscales.append(
                Subscale(
                    id=subscale_id,
                    name=self.string(m["name"], f"{where}.name"),
                    items=numbers,
                    flag_at=self.integer(m["flag_at"], f"{where}.flag_at", low=1, high=max_sum),
                    source=self.source(m["source"], f"{where}.source"),
                )
            )
        return tuple(subscales)

    def item_numbers(self, value: Any, where: str, known: set[int]) -> tuple[int, ...]:
        raw = self.list_(value, where)
        if not raw:
            self.fail(where, "list at least one item")
        numbers = tuple(self.integer(n, where, low=1) for n in raw)
        for n in numbers:
            if n not in known:
                self.fail(where, f"there is no item {n}")
        if len(set(numbers)) != len(numbers) or list(numbers) != sorted(numbers):
            self.fail(where, f"list each item once, in ascending order (got {list(numbers)})")
        return numbers

    def risk(self, value: Any, where: str, max_total: int) -> Mapping[str, RiskRule]:
        m = self.mapping(value, where, required={"default"}, optional={"by_language"})
        default = self.mapping(
            m["default"],
            f"{where}.default",
            required={"high", "cutoff_validated", "source"},
            optional=_RULE_KEYS,
        )
        overrides = self.mapping(m.get("by_language") or {}, f"{where}.by_language")
        for key in overrides:
            if key not in LANGUAGES:
                self.fail(f"{where}.by_language", f"unknown language {key!r} (expected {', '.join(LANGUAGES)})")
        rules: dict[str, RiskRule] = {}
        for language in LANGUAGES:
            at = f"{where}.by_language.{language}" if language in overrides else f"{where}.default"
            override = self.mapping(overrides.get(language) or {}, at, optional=_RULE_KEYS)
            # A language inherits every field it does not set, except the note: a note explains one
            # language's rule and would mislead if it silently applied to another.
            merged = {**{k: v for k, v in default.items() if k != "note"}, **override}
            if language not in overrides:
                merged["note"] = default.get("note")
            rules[language] = self.rule(merged, at, max_total)
        return MappingProxyType(rules)

    def rule(self, m: dict[str, Any], where: str, max_total: int) -> RiskRule:
        high = self.integer(m["high"], f"{where}.high", low=1, high=max_total)
        possible = m.get("possible")
        if possible is not None:
            possible = self.integer(possible, f"{where}.possible", low=1, high=high)
        rescreen = m.get("rescreen_in_days")
        if rescreen is not None:
            rescreen = self.integer(rescreen, f"{where}.rescreen_in_days", low=1)
        validated = self.boolean(m["cutoff_validated"], f"{where}.cutoff_validated")
        note = self.optional_string(m.get("note"), f"{where}.note")
        if not validated and note is None:
            self.fail(
                f"{where}.note",
                "a cut-off that is not validated for this language needs a note saying what is known",
            )
        return RiskRule(high, possible, rescreen, validated, self.source(m["source"], f"{where}.source"), note)

    def short_form(self, full: Instrument, short_id: str, value: Any, numbers: set[int]) -> Instrument:
        where = f"short_forms.{short_id}"
        m = self.mapping(value, where, required={"name", "items", "risk"})
        chosen = self.item_numbers(m["items"], f"{where}.items", numbers)
        items = tuple(item for item in full.items if item.number in chosen)
        return Instrument(
            id=short_id,
            name=self.string(m["name"], f"{where}.name"),
            version=full.version,
            license=full.license,
            sources=full.sources,
            recall_days=full.recall_days,
            recall_period=full.recall_period,
            instructions=full.instructions,
            translations=full.translations,
            items=items,
            # Rules and subscales carry over only when every item they read is asked.
            urgent_items=tuple(rule for rule in full.urgent_items if rule.item in chosen),
            subscales=tuple(s for s in full.subscales if set(s.items) <= set(chosen)),
            risk=self.risk(m["risk"], f"{where}.risk", sum(item.max_score for item in items)),
            path=self.path,
            parent=full.id,
        )


def load_instrument_file(path: Path) -> list[Instrument]:
    """Parse one file: the instrument it defines, then its short forms."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise InstrumentError(f"{path}: not valid YAML: {exc}") from exc
    except OSError as exc:
        raise InstrumentError(f"{path}: cannot read: {exc}") from exc
    return _Parser(path).parse(data)


def load_instruments(root: Path = INSTRUMENTS_DIR) -> dict[str, Instrument]:
    """Load every ``*.yaml`` under ``root``, keyed by instrument id (short forms included).

    Raises:
        InstrumentError: a file is malformed, or two instruments share an id.
    """
    paths = sorted(Path(root).glob("*.yaml"))
    if not paths:
        raise InstrumentError(f"{root}: no instrument files (*.yaml)")
    instruments: dict[str, Instrument] = {}
    for path in paths:
        for instrument in load_instrument_file(path):
            if instrument.id in instruments:
                raise InstrumentError(
                    f"{path}: id {instrument.id!r} is already defined in {instruments[instrument.id].path}"
                )
            instruments[instrument.id] = instrument
    return instruments
