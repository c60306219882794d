"""Crisis lines and the immediate replies built from them (data: content/crisis/resources.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from bot.i18n import Translator

LINES_FILE = Path(__file__).resolve().parents[2] / "content" / "crisis" / "resources.yaml"
CATEGORIES = ("self_harm", "harm_baby", "infant_danger", "maternal_danger", "abuse")


@dataclass(frozen=True)
class Line:
    key: str
    number: str
    labels: dict[str, str]
    source: str


@dataclass(frozen=True)
class CrisisDirectory:
    country: str
    lines: dict[str, Line]
    categories: dict[str, tuple[str, ...]]
    actions: dict[str, dict[str, str]]  # category → language → what to do now

    def for_category(self, category: str) -> list[Line]:
        return [self.lines[key] for key in self.categories[category]]


@cache
def directory(path: Path = LINES_FILE) -> CrisisDirectory:
    """Load and check the crisis lines; a missing number or label fails loudly at start, never in a crisis."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    country = data["default_country"]
    block = data["countries"][country]
    lines = {
        key: Line(key=key, number=str(entry["number"]), labels=dict(entry["label"]), source=str(entry["source"]))
        for key, entry in block["lines"].items()
    }
    categories = {name: tuple(keys) for name, keys in block["categories"].items()}
    for category in CATEGORIES:
        if category not in categories:
            raise ValueError(f"{path}: no lines for category {category!r}")
        for key in categories[category]:
            if key not in lines:
                raise ValueError(f"{path}: category {category!r} names unknown line {key!r}")
        if not data["actions"].get(category, {}).get("en"):
            raise ValueError(f"{path}: no action text for category {category!r}")
    actions = {category: dict(texts) for category, texts in data["actions"].items()}
    return CrisisDirectory(country=country, lines=lines, categories=categories, actions=actions)


def line_list(t: Translator, category: str) -> str:
    return "\n".join(
        f"☎️ {line.number} — {line.labels.get(t.language, line.labels['en'])}"
        for line in directory().for_category(category)
    )


def crisis_messages(t: Translator, category: str) -> list[str]:
    """What she reads first, at once, when she may be in danger: what to do now, and whom to call."""
    actions = directory().actions[category]
    first = actions.get(t.language) or actions["en"]
    return [f"{first}\n{line_list(t, category)}"]
