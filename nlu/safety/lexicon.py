"""Loading and compiling the per-language safety lexicons (``nlu/safety/lexicons/*.yaml``).

A lexicon is data, not code, so that clinicians and native speakers can review it. This module turns one YAML
file into compiled, immutable matching rules and refuses malformed files loudly: a lexicon that silently
loaded half its rules would silently miss emergencies.

Pattern conventions (documented in ``lexicons/README.md``):

* ``{name}`` is replaced by the lexicon's ``define: {name: regex}`` fragment (fragments may use fragments).
* ``spaceless: true`` (Korean, Chinese): the text is matched with all whitespace removed, and literal spaces
  in patterns are only for readability, so "죽고 싶어" and "죽고싶어" are the same message.
* Otherwise a literal space in a pattern matches one whitespace character (the text is whitespace-collapsed).
* ``diacritics: optional`` (Vietnamese): patterns are written with full diacritics and each accented letter
  also matches the same letter typed without its tone mark or without any mark, so "chảy máu", "chảy mau" and
  "chay mau" all match — but a *different* diacritic does not ("chạy mau", run fast; "sót", left out).
* A named group ``(?P<sign>...)`` (or ``sign2``, ``sign3``... in other alternatives) marks the symptom word
  itself; negation windows are measured around it rather than around the whole match (so "lips are not
  blue" sees the "not").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from nlu.safety.prefilter import keys_for

__all__ = [
    "SEVERITY",
    "Category",
    "Entry",
    "Idiom",
    "Lexicon",
    "LexiconError",
    "canonical_tone_placement",
    "load_lexicon",
    "strip_diacritics",
]


class Category(StrEnum):
    """What kind of emergency a message signals; values are stable ids used by cases and replies."""

    SELF_HARM = "self_harm"
    HARM_BABY = "harm_baby"
    INFANT_DANGER = "infant_danger"
    MATERNAL_DANGER = "maternal_danger"
    ABUSE = "abuse"


# Lower is more severe. When one message fires several categories the reply follows the most severe one:
# thoughts of self-harm or of harming the baby need a crisis response even if a physical sign is also present.
SEVERITY: dict[Category, int] = {
    Category.SELF_HARM: 0,
    Category.HARM_BABY: 1,
    Category.INFANT_DANGER: 2,
    Category.MATERNAL_DANGER: 3,
    Category.ABUSE: 4,
}


class LexiconError(ValueError):
    """A lexicon file is malformed; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class Idiom:
    """A non-emergency figure of speech, blanked out before matching.

    ``replace`` may only keep captured groups (``\\1\\2``) that start the match and follow one another, e.g.
    the pain word in "아파 죽겠어"; the rest becomes filler. Rewrites therefore only ever delete text, which
    the prefilter relies on (see ``prefilter.py``).
    """

    pattern: re.Pattern[str]
    replace: str


@dataclass(frozen=True, slots=True)
class Entry:
    """One detection rule: any pattern fires it unless an exception or a negation cue applies."""

    id: str
    category: Category
    patterns: tuple[re.Pattern[str], ...]
    unless: tuple[re.Pattern[str], ...]
    negated_by: tuple[re.Pattern[str], ...]
    negated_after: tuple[re.Pattern[str], ...]
    # Per pattern, the n-gram key sets a matching text must hit (see prefilter.py); None: always run it.
    requirements: tuple[tuple[frozenset[str], ...] | None, ...]


@dataclass(frozen=True, slots=True)
class Lexicon:
    """All compiled rules of one language."""

    language: str
    reviewed: bool
    spaceless: bool
    diacritics_optional: bool
    window_before: int
    window_after: int
    clause_break: re.Pattern[str]
    idioms: tuple[Idiom, ...]
    entries: tuple[Entry, ...]
    # A text must contain one of these keys for any entry to match (None: no such guarantee); ``gate``
    # finds one in a single C-level scan (fast in particular for text in another script), and
    # ``key_lengths`` are the n-gram lengths to collect when it does.
    keys: frozenset[str] | None
    gate: re.Pattern[str] | None
    key_lengths: tuple[int, ...]
    # Every pattern of every entry, in entry order, as (entry index, pattern, its requirements beyond the
    # first key set); which patterns each key can match (indices into ``patterns``); patterns with no keys.
    patterns: tuple[tuple[int, re.Pattern[str], tuple[frozenset[str], ...]], ...]
    postings: Mapping[str, tuple[int, ...]]
    unfiltered: tuple[int, ...]


_FLAGS = re.DOTALL
_FRAGMENT = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")  # grave, acute, tilde, hook above, dot below
_ENTRY_KEYS = frozenset({"id", "category", "patterns", "unless", "negated_by", "negated_after", "note"})
_REQUIRED_TOP = ("language", "reviewed", "sources", "entries")


def strip_diacritics(text: str) -> str:
    """Remove every combining mark and map đ→d (NFD, drop marks, recompose).

    Args:
        text: Any text; typically Vietnamese.

    Returns:
        The text as typed on a keyboard without Vietnamese input (``"chảy máu"`` → ``"chay mau"``).
    """
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


# Vietnamese has two accepted spellings for open "oa", "oe", "uy": "hòa/hoà", "khỏe/khoẻ", "thủy/thuỷ",
# "dọa/doạ". In NFD the tone mark follows its vowel, so moving it from the second to the first vowel (unless
# the syllable goes on, as in "hoàn", or "qu" is a consonant, as in "quý") gives one canonical spelling.
_TONE_PLACEMENT = re.compile(r"(?<![qQ])([oOuU])([aAeEyY])([\u0300\u0301\u0303\u0309\u0323])(?![^\W\d_])")


# In NFC text, a candidate is "o"/"u" followed by a toned "a"/"e"/"y": a cheap test before decomposing.
_NEW_STYLE_CANDIDATE = re.compile("[ouOU][àáảãạèéẻẽẹỳýỷỹỵÀÁẢÃẠÈÉẺẼẸỲÝỶỸỴ]")


def canonical_tone_placement(text: str) -> str:
    """Rewrite new-style Vietnamese tone placement ("hoà") to the old style ("hòa") so both match.

    Args:
        text: NFC text.

    Returns:
        NFC text with the tone of open "oa"/"oe"/"uy" on the first vowel.
    """
    if not _NEW_STYLE_CANDIDATE.search(text):
        return text
    decomposed = unicodedata.normalize("NFD", text)
    moved = _TONE_PLACEMENT.sub(r"\1\3\2", decomposed)
    return text if moved == decomposed else unicodedata.normalize("NFC", moved)


def _letter_variants(char: str) -> str:
    """The ways one Vietnamese letter may be typed: in full, without its tone mark, or bare.

    Dropping marks is how people type in a hurry; a different mark is a different word, so it is not a
    variant (``ố`` → ``o ô ố``, never ``ó``).
    """
    if char in "đĐ":
        return char + ("d" if char == "đ" else "D")
    decomposed = unicodedata.normalize("NFD", char)
    if len(decomposed) == 1:
        return char
    base, marks = decomposed[0], decomposed[1:]
    vowel_marks = "".join(m for m in marks if m not in _TONE_MARKS)
    variants = [char, unicodedata.normalize("NFC", base + vowel_marks), base]
    return "".join(dict.fromkeys(variants))


def _transform(pattern: str, *, spaceless: bool, diacritics_optional: bool, where: str) -> str:
    """Rewrite one regex for the lexicon's matching conventions (spaces and diacritics), outside escapes."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
                out.append(char)
            elif char == " ":
                out.append("" if spaceless else r"\s")
            elif diacritics_optional:
                out.append(_letter_variants(char))
            else:
                out.append(char)
        elif char == "[":
            in_class = True
            out.append(char)
            if pattern[i + 1 : i + 2] == "^":
                out.append("^")
                i += 1
        elif char == " ":
            if spaceless:
                if pattern[i + 1 : i + 2] in ("?", "*", "+", "{"):
                    # "a ?b" would silently become "a?b" (making "a" optional) once the space is removed.
                    raise LexiconError(f"{where}: quantified space in a spaceless pattern: {pattern!r}")
            else:
                out.append(r"\s")
        elif diacritics_optional:
            variants = _letter_variants(char)
            out.append(variants if len(variants) == 1 else f"[{variants}]")
        else:
            out.append(char)
        i += 1
    return "".join(out)


def _expand(pattern: str, defines: Mapping[str, str], where: str) -> str:
    """Substitute ``{name}`` fragments, repeatedly, so fragments may build on one another."""
    for _ in range(8):
        if not _FRAGMENT.search(pattern):
            return pattern

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in defines:
                raise LexiconError(f"{where}: unknown fragment {{{name}}}")
            return f"(?:{defines[name]})"

        pattern = _FRAGMENT.sub(substitute, pattern)
    raise LexiconError(f"{where}: fragments nested too deeply (a cycle?)")


def _as_list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise LexiconError(f"{where}: expected a list of strings")
    return list(value)


class _Compiler:
    """Compiles the patterns of one lexicon file with its conventions."""

    def __init__(self, path: Path, data: Mapping[str, Any]) -> None:
        self.path = path
        self.spaceless = bool(data.get("spaceless", False))
        diacritics = data.get("diacritics", "exact")
        if diacritics not in ("exact", "optional"):
            raise LexiconError(f"{path}: diacritics must be 'exact' or 'optional'")
        self.diacritics_optional = diacritics == "optional"
        defines = data.get("define") or {}
        if not isinstance(defines, dict) or not all(isinstance(v, str) for v in defines.values()):
            raise LexiconError(f"{path}: define must map names to regex strings")
        self.defines: dict[str, str] = {str(k): v for k, v in defines.items()}

    def source(self, pattern: str, where: str) -> str:
        # Patterns get the text's NFKC too (e.g. "ㅋ" U+314B becomes U+110F, "℃" becomes "°c"), or they could
        # never match; not its case-folding, which would turn "\\W" into "\\w".
        expanded = unicodedata.normalize("NFKC", _expand(pattern, self.defines, where))
        if self.diacritics_optional:
            expanded = canonical_tone_placement(expanded)
        optional = self.diacritics_optional
        return _transform(expanded, spaceless=self.spaceless, diacritics_optional=optional, where=where)

    def compile(self, pattern: str, where: str) -> re.Pattern[str]:
        try:
            return re.compile(self.source(pattern, where), _FLAGS)
        except re.error as exc:
            raise LexiconError(f"{where}: invalid regex {pattern!r}: {exc}") from exc

    def compile_all(self, patterns: Iterable[str], where: str) -> tuple[re.Pattern[str], ...]:
        return tuple(self.compile(p, where) for p in patterns)


Patterns = tuple[re.Pattern[str], ...]


def _negations(raw: list[str], common: list[str], compiler: _Compiler, where: str) -> Patterns:
    """Compile an entry's negation cues; ``"@common"`` pulls in the lexicon's shared cues."""
    expanded: list[str] = []
    for cue in raw:
        expanded.extend(common if cue == "@common" else [cue])
    return compiler.compile_all(expanded, where)


def _union_of_first(requirements: Iterable[tuple[frozenset[str], ...] | None]) -> frozenset[str] | None:
    """Keys one of which any match of any of these patterns contains (None if one has no guarantee)."""
    keys: set[str] = set()
    for requirement in requirements:
        if requirement is None:
            return None
        keys.update(requirement[0])
    return frozenset(keys)


def _literal_alternation(keys: Iterable[str]) -> re.Pattern[str]:
    """A regex finding any of these literal strings (longest first, so overlaps resolve the same way)."""
    return re.compile("|".join(map(re.escape, sorted(keys, key=lambda k: (-len(k), k)))))


def load_lexicon(path: Path) -> Lexicon:
    """Read, validate and compile one lexicon file.

    Args:
        path: A ``<language>.yaml`` lexicon.

    Returns:
        The compiled lexicon.

    Raises:
        LexiconError: The file is malformed (missing keys, bad ids or categories, invalid regexes).
    """
    with path.open(encoding="utf-8") as f:
        data = yaml.safe_load(f)
    if not isinstance(data, dict):
        raise LexiconError(f"{path}: not a mapping")
    for key in _REQUIRED_TOP:
        if key not in data:
            raise LexiconError(f"{path}: missing {key!r}")
    language = data["language"]
    if language != path.stem:
        raise LexiconError(f"{path}: language {language!r} does not match the file name")
    if not isinstance(data["reviewed"], bool):
        raise LexiconError(f"{path}: reviewed must be true or false")
    compiler = _Compiler(path, data)

    window = data.get("window") or {}
    window_before = int(window.get("before", 24))
    window_after = int(window.get("after", 24))
    clause_break = compiler.compile(data.get("clause_break", r"[.!?;,。！？；，\n]"), f"{path}: clause_break")

    negations = data.get("negations") or {}
    common_before = _as_list(negations.get("before"), f"{path}: negations.before")
    common_after = _as_list(negations.get("after"), f"{path}: negations.after")

    idioms: list[Idiom] = []
    for n, raw_idiom in enumerate(data.get("idioms") or []):
        where = f"{path}: idioms[{n}]"
        if not isinstance(raw_idiom, dict) or "pattern" not in raw_idiom:
            raise LexiconError(f"{where}: expected {{pattern, replace?, note?}}")
        replace = str(raw_idiom.get("replace", ""))
        if not re.fullmatch(r"(?:\\[1-9])*", replace):
            raise LexiconError(f"{where}: replace may only keep groups (\\1\\2...), not add text")
        idioms.append(Idiom(compiler.compile(raw_idiom["pattern"], where), replace))

    entries: list[Entry] = []
    seen: set[str] = set()
    for n, raw in enumerate(data["entries"] or []):
        where = f"{path}: entries[{n}]"
        if not isinstance(raw, dict):
            raise LexiconError(f"{where}: not a mapping")
        unknown = set(raw) - _ENTRY_KEYS
        if unknown:
            raise LexiconError(f"{where}: unknown keys {sorted(unknown)}")
        entry_id = raw.get("id")
        try:
            category = Category(str(raw.get("category")))
        except ValueError as exc:
            raise LexiconError(f"{where}: unknown category {raw.get('category')!r}") from exc
        if not isinstance(entry_id, str) or not entry_id.startswith(f"{language}.{category.value}."):
            raise LexiconError(f"{where}: id must look like '{language}.{category.value}.<name>'")
        if entry_id in seen:
            raise LexiconError(f"{where}: duplicate id {entry_id}")
        seen.add(entry_id)
        where = f"{path}: {entry_id}"
        patterns = _as_list(raw.get("patterns"), f"{where}.patterns")
        if not patterns:
            raise LexiconError(f"{where}: no patterns")
        compiled = compiler.compile_all(patterns, f"{where}.patterns")
        before_cues = _as_list(raw.get("negated_by"), where)
        after_cues = _as_list(raw.get("negated_after"), where)
        entries.append(
            Entry(
                id=entry_id,
                category=category,
                patterns=compiled,
                unless=compiler.compile_all(_as_list(raw.get("unless"), where), f"{where}.unless"),
                negated_by=_negations(before_cues, common_before, compiler, where),
                negated_after=_negations(after_cues, common_after, compiler, where),
                requirements=tuple(keys_for(pattern.pattern, _FLAGS) for pattern in compiled),
            )
        )
    if not entries:
        raise LexiconError(f"{path}: no entries")

    requirements = [r for entry in entries for r in entry.requirements]
    all_keys = _union_of_first(requirements)
    flat: list[tuple[int, re.Pattern[str], tuple[frozenset[str], ...]]] = []
    postings: dict[str, list[int]] = {}
    unfiltered: list[int] = []
    for index, entry in enumerate(entries):
        for pattern, requirement in zip(entry.patterns, entry.requirements, strict=True):
            position = len(flat)
            flat.append((index, pattern, requirement[1:] if requirement else ()))
            if requirement is None:
                unfiltered.append(position)
            else:
                for key in requirement[0]:
                    postings.setdefault(key, []).append(position)
    lengths = sorted({len(key) for r in requirements if r for keys in r for key in keys})
    return Lexicon(
        language=language,
        reviewed=data["reviewed"],
        spaceless=compiler.spaceless,
        diacritics_optional=compiler.diacritics_optional,
        window_before=window_before,
        window_after=window_after,
        clause_break=clause_break,
        idioms=tuple(idioms),
        entries=tuple(entries),
        keys=all_keys,
        gate=None if all_keys is None else _literal_alternation(all_keys),
        key_lengths=tuple(lengths),
        patterns=tuple(flat),
        postings={key: tuple(indices) for key, indices in postings.items()},
        unfiltered=tuple(unfiltered),
    )
