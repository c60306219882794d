"""A topic guess from keywords, for when the NLU server is slow or down: the conversation never stalls."""

from __future__ import annotations

import unicodedata

# Lower-cased stems, diacritics stripped; any match picks the topic.
TOPIC_KEYWORDS: dict[str, tuple[str, ...]] = {
    "breastfeeding": (
        "breast",
        "latch",
        "nurse her",
        "feed",
        "milk",
        "pump",
        "formula",
        "nipple",
        "bottle",
        "solids",
        "수유",
        "모유",
        "젖",
        "분유",
        "유축",
        "이유식",
        "맘마",
        "喂奶",
        "母乳",
        "奶粉",
        "吸奶",
        "乳头",
        "辅食",
        "奶",
        "bu",
        "sua",
        "hut sua",
        "an dam",
        "gatas",
        "dede",
        "padede",
        "breastfeed",
        "pump",
    ),
    "crying": (
        "cry",
        "crying",
        "fussy",
        "colic",
        "soothe",
        "calm",
        "울어",
        "울음",
        "보채",
        "달래",
        "영아산통",
        "哭",
        "闹",
        "哄",
        "khoc",
        "quay",
        "do be",
        "iyak",
        "umiiyak",
        "iyakin",
    ),
    "sleep": (
        "sleep",
        "nap",
        "bed",
        "cot",
        "crib",
        "night",
        "awake",
        "잠",
        "자요",
        "재우",
        "수면",
        "낮잠",
        "밤에",
        "睡",
        "觉",
        "夜醒",
        "ngu",
        "thuc dem",
        "tulog",
        "matulog",
        "puyat",
    ),
}


def fold(text: str) -> str:
    """Casefold and strip diacritics, so "sữa" and "sua" match alike."""
    decomposed = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", text).casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("đ", "d")


def _folded_keywords() -> dict[str, tuple[str, ...]]:
    # Folded like the text (NFD splits Hangul into jamo, so both sides must be split alike).
    return {topic: tuple(fold(k) for k in keywords) for topic, keywords in TOPIC_KEYWORDS.items()}


_FOLDED = _folded_keywords()


def guess_topic(text: str) -> str | None:
    folded = fold(text)
    words = set(folded.split())
    best: tuple[int, str] | None = None
    for topic, keywords in _FOLDED.items():
        # Short Latin keywords must match whole words ("bu" is not in "bus"); others may match inside text.
        hits = sum(1 for k in keywords if (k in words if len(k) <= 3 and k.isascii() else k in folded))
        if hits and (best is None or hits > best[0]):
            best = (hits, topic)
    return best[1] if best else None
