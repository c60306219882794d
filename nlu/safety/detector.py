"""The deterministic safety detector: does a mother's message signal an emergency?

Every free-text message goes through :meth:`SafetyDetector.detect` before anything else, in any conversation
state and whether or not the NLU service is up. It must never miss a danger sign, so it is built from
reviewable per-language lexicons (``lexicons/*.yaml``) rather than a statistical model, and it is biased
towards firing: a needless nurse call costs little, a missed emergency can cost a life.

How one message is checked (see ``lexicons/README.md`` for the data format):

1. :func:`normalise` the text (NFKC, case-folded, zero-width characters removed, runs of a repeated letter
   shortened, whitespace collapsed).
2. For each language's lexicon — all of them, whatever language the mother chose, because a Vietnamese
   mother may write in Korean and Taglish is normal — build that lexicon's view of the text (Korean and
   Chinese without any spaces; Vietnamese with one tone placement), then rewrite the lexicon's idioms
   ("피곤해 죽겠어", "累死了", "I'm dying to know") into harmless text.
3. Fire every entry with a matching pattern, unless one of its ``unless`` patterns matches the message (a
   resolved event, an older child) or one of its negation cues sits right before or after the symptom word
   ("no fever", "열 없어요"). Negation is per entry: "I don't want to live" has no negation cues at all.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path

import zhconv

from nlu.safety.lexicon import (
    SEVERITY,
    Category,
    Entry,
    Lexicon,
    LexiconError,
    canonical_tone_placement,
    load_lexicon,
    strip_diacritics,
)
from nlu.safety.prefilter import ngrams

__all__ = [
    "LEXICON_DIR",
    "Category",
    "LexiconError",
    "SafetyDetector",
    "SafetyHit",
    "default_detector",
    "normalise",
    "strip_diacritics",
]

LEXICON_DIR = Path(__file__).resolve().parent / "lexicons"
# Lexicons are checked in this order; it only breaks ties between hits of equal severity.
LANGUAGE_ORDER: tuple[str, ...] = ("ko", "en", "zh_Hans", "vi", "tl")

# Invisible characters that split a word for a regex but not for a reader ("죽\u200b고 싶어").
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u200e\u200f"), None)
# Every other character that shows nothing: format characters (bidi controls, tag characters, word joiners),
# variation selectors, the combining grapheme joiner, and the Hangul fillers that look like a space or nothing.
_HIDDEN = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb\U000e0000-\U000e007f\U000e0100-\U000e01ef]"
)
# Cyrillic and Greek letters that look like Latin ones ("kіll" with a Ukrainian і): no mother writes in these
# scripts, so they are read as the Latin letter they imitate.
_LOOKALIKES = str.maketrans(
    "аеорсухіјѕԁһӏкмнтвАЕОРСУХІЈЅКМНТВοαειικνρτυχΟΑΕΙΚΝΡΤΥΧ",
    "aeopcyxijsdhlkmhtbAEOPCYXIJSKMHTBoaeiiknptuxOAEIKNPTYX",
)
_HAN = re.compile("[\u4e00-\u9fff]")
# Letters spelled one by one ("k i l l", "k.i.l.l"): read again joined, as a second view.
_SPELLED = re.compile(r"(?<!\w)(?:[^\W\d_][ .\-_*·]){2,}[^\W\d_](?!\w)")
# Apostrophes are dropped: chat writes "cant" as often as "can't" (and "di" for "'di" in Tagalog), so the
# lexicons need only one spelling. NFKC has already turned the full-width one into "'".
_APOSTROPHES = dict.fromkeys(map(ord, "'\u2018\u2019\u02bc`\u00b4"), None)
# Three or more of the same letter ("sooo", "ㅠㅠㅠㅠ") become two: no word in our languages needs three,
# while two keeps real double letters ("bleeding"). An elongated letter may also stand for a single one
# ("diiie"), so such messages are checked a second time with the run shortened to one letter. Digits are
# left alone (temperatures, "1000 ml").
_REPEATS = re.compile(r"([^\W\d_])\1{2,}")
_WHITESPACE = re.compile(r"\s+")
# Idiom rewrites keep each text position, so a rewrite shorter than its match is padded with this
# character (a symbol no pattern uses, and a word boundary for \b).
_FILLER = "\u2205"


@dataclass(frozen=True)
class SafetyHit:
    """One rule that fired.

    Attributes:
        category: The kind of emergency.
        rule: Id of the lexicon entry that fired, e.g. ``"ko.self_harm.die_want"``.
        language: The lexicon that matched (not necessarily the mother's chosen language).
    """

    category: Category
    rule: str
    language: str


def normalise(text: str) -> str:
    """Normalise chat text for matching, without changing what it says.

    NFKC folds full-width and compatibility forms ("ｄｉｅ", "３８℃" → "38°c") and composes Hangul and
    Vietnamese; case-folding removes case; invisible characters are dropped; a letter repeated three or more
    times is shortened to two; apostrophes are dropped ("can't" → "cant"); whitespace runs become one space.
    No leetspeak or spelling correction: those guesses would also rewrite numbers and real words, so typos
    are handled by the patterns instead.

    Args:
        text: Raw message text.

    Returns:
        The normalised text.
    """
    return _REPEATS.sub(r"\1\1", normalise_unrepeated(text))


def normalise_unrepeated(text: str) -> str:
    """:func:`normalise` without shortening repeated letters."""
    folded = _HIDDEN.sub("", unicodedata.normalize("NFKC", text))
    folded = folded.translate(_INVISIBLE).translate(_APOSTROPHES).translate(_LOOKALIKES).casefold()
    if _HAN.search(folded):
        # Traditional characters read as simplified ("我想自殺" is "我想自杀"): the Chinese lexicon is simplified.
        folded = zhconv.convert(folded, "zh-cn")
    # Case-folding can leave a string that is no longer NFKC (e.g. "İ" → "i̇"); recompose once more.
    folded = unicodedata.normalize("NFKC", folded)
    return _WHITESPACE.sub(" ", folded).strip()


class SafetyDetector:
    """Matches messages against every language's safety lexicon.

    Instances are immutable after construction and safe to share between threads and tasks.
    """

    def __init__(self, lexicon_dir: Path | None = None) -> None:
        """Load and compile every ``*.yaml`` lexicon in ``lexicon_dir`` (default: the packaged ones).

        Raises:
            LexiconError: A lexicon is malformed, or the directory holds none.
        """
        directory = lexicon_dir if lexicon_dir is not None else LEXICON_DIR
        paths = sorted(directory.glob("*.yaml"))
        if not paths:
            raise LexiconError(f"{directory}: no lexicons")
        order = {language: n for n, language in enumerate(LANGUAGE_ORDER)}
        lexicons = [load_lexicon(path) for path in paths]
        lexicons.sort(key=lambda lexicon: (order.get(lexicon.language, len(order)), lexicon.language))
        self._lexicons: tuple[Lexicon, ...] = tuple(lexicons)
        self._key_lengths = tuple(sorted({n for lexicon in lexicons for n in lexicon.key_lengths}))

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages whose lexicons are loaded, in checking order."""
        return tuple(lexicon.language for lexicon in self._lexicons)

    def unreviewed_languages(self) -> tuple[str, ...]:
        """Languages whose lexicon has not yet had its native clinical review (``reviewed: false``)."""
        return tuple(lexicon.language for lexicon in self._lexicons if not lexicon.reviewed)

    def detect(self, text: str, language: str | None = None) -> SafetyHit | None:
        """The most severe hit in a message, or None if it signals no emergency.

        Args:
            text: The message as typed.
            language: The mother's language. Every lexicon is checked regardless; this only breaks ties
                between hits of the same severity in favour of her language.

        Returns:
            The hit to act on (severity: self_harm > harm_baby > infant_danger > maternal_danger > abuse).
        """
        hits = self.detect_all(text)
        if not hits:
            return None
        return min(hits, key=lambda hit: (SEVERITY[hit.category], hit.language != language))

    def detect_all(self, text: str) -> list[SafetyHit]:
        """Every rule that fires, most severe first (ties in lexicon order).

        Args:
            text: The message as typed.

        Returns:
            One hit per fired lexicon entry; empty if the message signals no emergency.
        """
        return self._scan(text, prefilter=True)

    def _scan(self, text: str, *, prefilter: bool) -> list[SafetyHit]:
        """Match every lexicon; ``prefilter=False`` runs every regex (tests compare the two)."""
        if not isinstance(text, str) or not text:
            return []
        base = normalise(text)
        if not base:
            return []
        hits = self._scan_normalised(base, prefilter=prefilter)
        joined = _SPELLED.sub(lambda m: re.sub(r"[ .\-_*·]", "", m.group(0)), base)
        if joined != base:
            seen = {hit.rule for hit in hits}
            hits.extend(h for h in self._scan_normalised(joined, prefilter=prefilter) if h.rule not in seen)
        if _REPEATS.search(text):
            # "diiie": the elongated letter may stand for one letter as well as two.
            single = _REPEATS.sub(r"\1", normalise_unrepeated(text))
            seen = {hit.rule for hit in hits}
            hits.extend(h for h in self._scan_normalised(single, prefilter=prefilter) if h.rule not in seen)
        hits.sort(key=lambda hit: SEVERITY[hit.category])
        return hits

    def _scan_normalised(self, base: str, *, prefilter: bool) -> list[SafetyHit]:
        """Match every lexicon against already normalised text."""
        hits: list[SafetyHit] = []
        # Lexicons with the same conventions share a view before idioms (and so its n-grams).
        grams_by_view: dict[str, set[str]] = {}
        for lexicon in self._lexicons:
            raw = _raw_view(lexicon, base)
            grams: set[str] | None = None
            if prefilter:
                # Idioms only delete text, so the n-grams before them are a superset of those after: a
                # message that cannot match before the rewrite cannot match after it.
                if lexicon.gate is not None and not lexicon.gate.search(raw):
                    continue
                grams = grams_by_view.get(raw)
                if grams is None:
                    grams = grams_by_view[raw] = ngrams(raw, self._key_lengths)
            view = _without_idioms(lexicon, raw)
            if grams is None:
                by_entry = [list(entry.patterns) for entry in lexicon.entries]
            else:
                by_entry = _candidates(lexicon, grams)
            for index, patterns in enumerate(by_entry):
                if patterns and _fires(lexicon, lexicon.entries[index], view, patterns):
                    entry = lexicon.entries[index]
                    hits.append(SafetyHit(entry.category, entry.id, lexicon.language))
        return hits


def _candidates(lexicon: Lexicon, grams: set[str]) -> list[list[re.Pattern[str]]]:
    """Per entry, the patterns the text's n-grams allow to match (looked up by key, not by scanning)."""
    chosen = set(lexicon.unfiltered)
    present = grams & lexicon.keys if lexicon.keys is not None else grams
    for key in present:
        chosen.update(lexicon.postings.get(key, ()))
    by_entry: list[list[re.Pattern[str]]] = [[] for _ in lexicon.entries]
    for position in sorted(chosen):
        index, pattern, rest = lexicon.patterns[position]
        if all(not keys.isdisjoint(grams) for keys in rest):
            by_entry[index].append(pattern)
    return by_entry


def _raw_view(lexicon: Lexicon, text: str) -> str:
    """The normalised text under this lexicon's conventions: spaceless (ko, zh) or canonical tones (vi)."""
    if lexicon.spaceless:
        text = text.replace(" ", "")
    if lexicon.diacritics_optional:
        text = canonical_tone_placement(text)
    return text


def _without_idioms(lexicon: Lexicon, text: str) -> str:
    """The view with this lexicon's idioms blanked out."""
    for idiom in lexicon.idioms:
        text = idiom.pattern.sub(partial(_rewrite, idiom.replace), text)
    return text


def _view(lexicon: Lexicon, text: str) -> str:
    """The normalised text exactly as this lexicon's patterns see it."""
    return _without_idioms(lexicon, _raw_view(lexicon, text))


def _rewrite(template: str, match: re.Match[str]) -> str:
    """Keep the idiom's leading groups and blank the rest with filler, so no position moves."""
    original = match.group(0)
    kept = match.expand(template)
    if not original.startswith(kept):
        kept = ""  # only a leading part may be kept: an idiom must never create new text
    return kept + _FILLER * (len(original) - len(kept))


def _fires(lexicon: Lexicon, entry: Entry, view: str, patterns: Iterable[re.Pattern[str]]) -> bool:
    """Whether any of these patterns of the entry matches without an exception or a nearby negation."""
    for pattern in patterns:
        for match in pattern.finditer(view):
            if not _negated(lexicon, entry, view, match):
                # Exceptions are checked last: they are message-wide and rarely needed.
                return not any(rule.search(view) for rule in entry.unless)
    return False


def _negated(lexicon: Lexicon, entry: Entry, view: str, match: re.Match[str]) -> bool:
    """Whether a negation cue of this entry sits in the same clause, right before or after the symptom."""
    if not entry.negated_by and not entry.negated_after:
        return False
    start, end = match.span()
    # The symptom word is the group named "sign" (or "sign2", "sign3"... in other alternatives, since a
    # regex cannot repeat a group name) that took part in the match.
    for name in match.re.groupindex:
        if name.startswith("sign") and match.start(name) >= 0:
            start, end = match.span(name)
            break
    if entry.negated_by:
        before = view[max(0, start - lexicon.window_before) : start]
        breaks = list(lexicon.clause_break.finditer(before))
        if breaks:
            before = before[breaks[-1].end() :]
        if any(cue.search(before) for cue in entry.negated_by):
            return True
    if entry.negated_after:
        after = view[end : end + lexicon.window_after]
        first_break = lexicon.clause_break.search(after)
        if first_break:
            after = after[: first_break.start()]
        if any(cue.search(after) for cue in entry.negated_after):
            return True
    return False


@cache
def default_detector() -> SafetyDetector:
    """The detector over the packaged lexicons, loaded once per process."""
    return SafetyDetector()
