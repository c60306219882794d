"""A cheap, exact prefilter: which literal strings must appear in any text a regex matches?

Running every lexicon regex on every message costs about 0.5 ms; most messages contain none of the words the
rules look for. For each pattern we compute, from its parse tree, a set of literal strings such that *every*
match contains at least one of them (the technique of RE2's and Hyperscan's prefilters). A message whose
character n-grams include none of an entry's keys cannot match that entry, so its regexes are skipped.

The filter only ever skips work that could not have fired: when a pattern's literals cannot be determined
(for example ``\\w+`` alone), the pattern gets no keys and always runs. ``tests/unit/test_safety.py`` checks
that filtered and unfiltered detection agree on the evaluation sets and on generated text.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["KEY_LENGTH", "keys_for", "ngrams", "required_literals"]

# The regex parser is a private stdlib module (``sre_parse`` before 3.11); it is imported dynamically and
# any failure to parse simply means "no keys", which disables filtering for that pattern, never detection.
try:
    _parser: Any = importlib.import_module("re._parser")
    _c: Any = importlib.import_module("re._constants")
except ImportError:  # pragma: no cover - Python < 3.11
    _parser = importlib.import_module("sre_parse")
    _c = importlib.import_module("sre_constants")

# Keys are literal prefixes of this many characters (fewer when the literal is shorter, e.g. Chinese words).
KEY_LENGTH = 3
# Expanding alternatives multiplies strings ("(a|b)(c|d)" → ac, ad, bc, bd); beyond this, stop expanding.
_MAX_STRINGS = 64
# A character class is treated as a set of literals only when small (Vietnamese "[aáâấ]" is; "\w" is not).
_MAX_CLASS = 8
# Conjunctive requirements kept per pattern ("muốn ... bóp cổ ... con" needs all three parts).
_MAX_SETS = 3
_REPEATS = frozenset(
    op for op in (getattr(_c, name, None) for name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")) if op
)
_SPACE_CATEGORIES = frozenset(
    c for c in (getattr(_c, "CATEGORY_SPACE", None), getattr(_c, "CATEGORY_UNI_SPACE", None)) if c
)
_ZERO_WIDTH = frozenset((_c.AT, _c.ASSERT, _c.ASSERT_NOT))
_GROUPS = frozenset(op for op in (_c.SUBPATTERN, getattr(_c, "ATOMIC_GROUP", None)) if op)


def _group_body(op: Any, av: Any) -> Any:
    # SUBPATTERN carries (group, add_flags, del_flags, body); ATOMIC_GROUP carries the body alone.
    return av[3] if op is _c.SUBPATTERN else av


def _exact(op: Any, av: Any) -> set[str] | None:
    """Every string one parse item can match, if that set is small and finite; else None."""
    if op is _c.LITERAL:
        return {chr(av)}
    if op is _c.IN:
        chars: set[str] = set()
        for item_op, item_av in av:
            if item_op is _c.CATEGORY and item_av in _SPACE_CATEGORIES:
                # Normalised text has no whitespace but the single space (see detector.normalise).
                chars.add(" ")
            elif item_op is _c.LITERAL:
                chars.add(chr(item_av))
            elif item_op is _c.RANGE and item_av[1] - item_av[0] < _MAX_CLASS:
                chars.update(map(chr, range(item_av[0], item_av[1] + 1)))
            else:
                return None
        return chars if len(chars) <= _MAX_CLASS else None
    if op in _GROUPS:
        return _sequence_exact(_group_body(op, av))
    if op is _c.BRANCH:
        union: set[str] = set()
        for alternative in av[1]:
            strings = _sequence_exact(alternative)
            if strings is None:
                return None
            union |= strings
            if len(union) > _MAX_STRINGS:
                return None
        return union
    if op in _REPEATS:
        low, high, body = av
        strings = _sequence_exact(body)
        if strings is None:
            return None
        if low == high == 1:
            return strings
        if low == 0 and high == 1:
            return strings | {""}
        return None
    if op in _ZERO_WIDTH:
        return {""}  # consumes nothing
    return None


def _sequence_exact(items: Iterable[Any]) -> set[str] | None:
    strings = {""}
    for op, av in items:
        item = _exact(op, av)
        if item is None:
            return None
        strings = {a + b for a in strings for b in item}
        if len(strings) > _MAX_STRINGS:
            return None
    return strings


def _score(strings: set[str]) -> tuple[int, int]:
    # Longer literals filter better; among equals, fewer alternatives.
    return (min(map(len, strings)), -len(strings))


def _item_literals(op: Any, av: Any) -> list[set[str]]:
    """Literal sets (every match of this non-finite item contains one literal of each), best first."""
    if op in _GROUPS:
        return _sequence_literals(_group_body(op, av))
    if op is _c.BRANCH:
        # Each alternative guarantees its own best set; the branch guarantees their union.
        union: set[str] = set()
        for alternative in av[1]:
            sets = _sequence_literals(alternative)
            if not sets:
                return []
            union |= sets[0]
        return [union]
    if op in _REPEATS and av[0] >= 1:
        return _sequence_literals(av[2])
    return []


def _sequence_literals(items: Iterable[Any]) -> list[set[str]]:
    """Every literal set a concatenation guarantees (each is necessary on its own), best first."""
    candidates: list[set[str]] = []
    run = {""}
    for op, av in items:
        item = _exact(op, av)
        if item is not None:
            extended = {a + b for a in run for b in item}
            if len(extended) <= _MAX_STRINGS:
                run = extended
                continue
            if "" not in run:
                candidates.append(run)
            run = item
            continue
        if "" not in run:
            candidates.append(run)
        run = {""}
        candidates.extend(s for s in _item_literals(op, av) if s and "" not in s)
    if "" not in run:
        candidates.append(run)
    return sorted(candidates, key=_score, reverse=True)


def required_literals(source: str, flags: int = 0) -> tuple[frozenset[str], ...] | None:
    """Sets of literal strings such that every match of the regex contains one literal of *each* set.

    Args:
        source: A regex source (as compiled by the lexicon loader).
        flags: The ``re`` flags it is compiled with; case-insensitive patterns get no literals.

    Returns:
        Up to a few non-empty sets of non-empty strings, most selective first; None when no guarantee can
        be derived (the pattern must then always run).
    """
    if flags & re.IGNORECASE:
        return None
    try:
        parsed = _parser.parse(source, flags)
        sets = _sequence_literals(parsed.data)
    except Exception:  # an unparsable pattern just runs unfiltered
        return None
    if not sets:
        return None
    return tuple(frozenset(s) for s in sets[:_MAX_SETS])


def keys_for(source: str, flags: int = 0) -> tuple[frozenset[str], ...] | None:
    """A pattern's n-gram requirements: a message must contain a key of each set, else it cannot match."""
    sets = required_literals(source, flags)
    if sets is None:
        return None
    return tuple(frozenset(literal[:KEY_LENGTH] for literal in literals) for literals in sets)


def ngrams(text: str, lengths: Iterable[int]) -> set[str]:
    """Every substring of ``text`` with one of the given lengths."""
    return {text[i : i + n] for n in lengths for i in range(len(text) - n + 1)}
