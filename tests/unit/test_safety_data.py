"""The safety data: lexicon files are complete and refuse to load when malformed; crisis resources are
complete and agree with the lines the bot sends."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from nlu.safety import Category, LexiconError, SafetyDetector
from nlu.safety.detector import LEXICON_DIR
from nlu.safety.prefilter import required_literals

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ("ko", "en", "zh_Hans", "vi", "tl")
RESOURCES = ROOT / "content" / "crisis" / "resources.yaml"


def _yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


# --------------------------------------------------------------------------- lexicons


@pytest.mark.parametrize("language", LANGUAGES)
def test_lexicon_is_complete(language: str) -> None:
    data = _yaml(LEXICON_DIR / f"{language}.yaml")
    assert data["language"] == language
    assert data["reviewed"] is False  # flip only after a native clinical review
    assert any("clinical-facts.md" in source for source in data["sources"])
    categories = {entry["category"] for entry in data["entries"]}
    assert categories == {c.value for c in Category}, f"{language} lacks {set(Category) - categories}"


def _write(tmp_path: Path, text: str, name: str = "en") -> Path:
    directory = tmp_path / "lexicons"
    directory.mkdir(exist_ok=True)
    (directory / f"{name}.yaml").write_text(text, encoding="utf-8")
    return directory


_VALID = """
language: en
reviewed: false
sources: [test]
entries:
  - id: en.self_harm.test
    category: self_harm
    patterns: ['\\bwant to die\\b']
"""


def test_a_minimal_lexicon_loads(tmp_path: Path) -> None:
    detector = SafetyDetector(_write(tmp_path, _VALID))
    assert detector.detect("I want to die") is not None
    assert detector.languages == ("en",)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("reviewed: false", "reviewed: maybe"), "reviewed"),
        (("sources: [test]\n", ""), "sources"),
        (("category: self_harm", "category: sadness"), "category"),
        (("id: en.self_harm.test", "id: en.abuse.test"), "id must look like"),
        (("'\\bwant to die\\b'", "'(unclosed'"), "invalid regex"),
        (("'\\bwant to die\\b'", "'{nothing}'"), "unknown fragment"),
        (("patterns:", "pattern:"), "unknown keys"),
        (("language: en", "language: ko"), "file name"),
    ],
)
def test_malformed_lexicons_fail_loudly(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in _VALID
    with pytest.raises(LexiconError, match=message):
        SafetyDetector(_write(tmp_path, _VALID.replace(old, new)))


def test_duplicate_ids_and_text_adding_idioms_are_refused(tmp_path: Path) -> None:
    duplicate = _VALID + "  - {id: en.self_harm.test, category: self_harm, patterns: ['x']}\n"
    with pytest.raises(LexiconError, match="duplicate"):
        SafetyDetector(_write(tmp_path, duplicate))
    # An idiom may only blank text out: adding words could create a match (and would fool the prefilter).
    adding = _VALID.replace("entries:", "idioms:\n  - {pattern: 'x', replace: 'want to die'}\nentries:")
    with pytest.raises(LexiconError, match="replace may only keep groups"):
        SafetyDetector(_write(tmp_path, adding))


def test_spaceless_patterns_refuse_a_quantified_space(tmp_path: Path) -> None:
    text = _VALID.replace("language: en", "language: ko").replace("en.self_harm", "ko.self_harm")
    text = text.replace("sources: [test]", "sources: [test]\nspaceless: true")
    text = text.replace("'\\bwant to die\\b'", "'죽고 ?싶'")
    with pytest.raises(LexiconError, match="quantified space"):
        SafetyDetector(_write(tmp_path, text, name="ko"))


def test_an_empty_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LexiconError, match="no lexicons"):
        SafetyDetector(tmp_path)


def test_packaged_lexicons_load_from_a_copy(tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(LEXICON_DIR, copy)
    assert SafetyDetector(copy).detect("不想活了") is not None


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("abc", ({"abc"},)),
        ("\\bwant to (?:die|live)", ({"want to die", "want to live"},)),
        ("(?:x|y)\\w+z", ({"x", "y"}, {"z"})),
        ("a*b?", None),  # could match the empty string: no guarantee, always run
        ("\\w+", None),
        ("[aá]b", ({"ab", "áb"},)),
    ],
)
def test_required_literals(pattern: str, expected: tuple[set[str], ...] | None) -> None:
    result = required_literals(pattern)
    if expected is None:
        assert result is None
    else:
        assert result is not None
        assert {frozenset(s) for s in result} == {frozenset(s) for s in expected}


# --------------------------------------------------------------------------- crisis resources


def test_crisis_resources_cover_every_category_and_language() -> None:
    data = _yaml(RESOURCES)
    assert data["reviewed"] is False
    categories = {c.value for c in Category}
    assert set(data["actions"]) == categories
    for category, labels in data["actions"].items():
        assert set(labels) == set(LANGUAGES), category
        assert all(isinstance(label, str) and label.strip() for label in labels.values())
    countries = data["countries"]
    assert data["default_country"] in countries
    for code, country in countries.items():
        assert set(country["categories"]) == categories, code
        for line_id, line in country["lines"].items():
            assert line["number"] and line["source"], (code, line_id)
            assert set(line["label"]) == set(LANGUAGES), (code, line_id)
        for category, line_ids in country["categories"].items():
            assert set(line_ids) <= set(country["lines"]), (code, category)
    default = countries[data["default_country"]]["categories"]
    assert all(default[category] for category in categories), "every category needs a number at home"


def test_crisis_numbers_match_clinical_facts() -> None:
    kr = _yaml(RESOURCES)["countries"]["KR"]["lines"]
    assert {line["number"] for line in kr.values()} == {"109", "1577-0199", "119", "112", "1366", "1577-1366"}
