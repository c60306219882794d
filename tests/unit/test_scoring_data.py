"""The instrument files load, are complete in every language, fit Telegram buttons, carry their licences and
sources — and a broken file fails with an error naming the file and the field."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.i18n import LANGUAGES
from bot.screening.instruments import (
    INSTRUMENTS_DIR,
    MAX_OPTION_BYTES,
    InstrumentError,
    load_instrument_file,
    load_instruments,
)

FILES = sorted(INSTRUMENTS_DIR.glob("*.yaml"))


def test_the_expected_instruments_exist() -> None:
    assert [p.name for p in FILES] == ["epds.yaml", "gad7.yaml", "phq9.yaml"]
    instruments = load_instruments()
    assert sorted(instruments) == ["epds", "gad7", "phq2", "phq9"]
    shape = {i.id: (len(i.items), i.max_total, i.recall_days) for i in instruments.values()}
    assert shape == {"epds": (10, 30, 7), "phq9": (9, 27, 14), "gad7": (7, 21, 14), "phq2": (2, 6, 14)}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_file_loads(path: Path) -> None:
    assert load_instrument_file(path)


def test_every_option_label_fits_a_button() -> None:
    for inst in load_instruments().values():
        for item in inst.items:
            for option in item.options:
                for language in LANGUAGES:
                    label = option.text[language]
                    assert len(label.encode("utf-8")) <= MAX_OPTION_BYTES, (
                        inst.id,
                        item.number,
                        language,
                        label,
                    )


def test_every_language_is_present_for_every_text() -> None:
    for inst in load_instruments().values():
        for mapping in (inst.recall_period, inst.instructions, inst.translations, inst.risk):
            assert tuple(mapping) == LANGUAGES, inst.id
        for item in inst.items:
            assert tuple(item.text) == LANGUAGES
            assert all(item.text[lang].strip() for lang in LANGUAGES)
            for option in item.options:
                assert tuple(option.text) == LANGUAGES
                assert all(option.text[lang].strip() for lang in LANGUAGES)


def test_translation_validity_is_honest() -> None:
    for inst in load_instruments().values():
        assert inst.translations["en"].validated
        assert inst.translations["en"].study in inst.sources
        for language in ("ko", "zh_Hans", "vi", "tl"):
            translation = inst.translations[language]
            assert not translation.validated and translation.study is None
            assert translation.note, (inst.id, language)


def test_licences() -> None:
    instruments = load_instruments()
    assert "Royal College of Psychiatrists" in instruments["epds"].license
    assert "permission" in instruments["epds"].license
    for instrument_id in ("phq9", "gad7", "phq2"):
        assert "Pfizer" in instruments[instrument_id].license
        assert "no permission required" in instruments[instrument_id].license


def test_every_rule_names_a_defined_source() -> None:
    for inst in load_instruments().values():
        refs = [*(r.source for r in inst.risk.values()), *(u.source for u in inst.urgent_items)]
        refs += [s.source for s in inst.subscales]
        for keys in refs:
            assert keys and all(inst.cite(keys)), inst.id


def test_urgent_rules() -> None:
    instruments = load_instruments()
    assert [(u.item, u.above) for u in instruments["epds"].urgent_items] == [(10, 0)]
    assert [(u.item, u.above) for u in instruments["phq9"].urgent_items] == [(9, 0)]
    assert instruments["gad7"].urgent_items == ()


def test_epds_reverse_scored_items() -> None:
    epds = load_instruments()["epds"]
    assert [item.number for item in epds.items if item.reverse_scored] == [3, 5, 6, 7, 8, 9, 10]
    anxiety = epds.subscales[0]
    assert (anxiety.id, anxiety.items, anxiety.flag_at) == ("anxiety", (3, 4, 5), 5)
    assert "10.1186/s40359-021-00623-5" in epds.sources[anxiety.source[0]]


# --- Broken files: each fails naming the file and the field ---------------------------------------------


def _broken(tmp_path: Path, mutate: Callable[[dict[str, Any]], None], name: str = "epds.yaml") -> Path:
    data = yaml.safe_load((INSTRUMENTS_DIR / name).read_text(encoding="utf-8"))
    data = copy.deepcopy(data)  # anchors are shared objects; mutate one place only
    mutate(data)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _set(data: dict[str, Any], keys: list[Any], value: Any) -> None:
    target: Any = data
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = value


def _del(data: dict[str, Any], keys: list[Any]) -> None:
    target: Any = data
    for key in keys[:-1]:
        target = target[key]
    del target[keys[-1]]


BROKEN = [
    (lambda d: _del(d, ["items", 2, "text", "vi"]), "item 3.text: missing language 'vi'"),
    (
        lambda d: _del(d, ["items", 4, "options", 1, "text", "tl"]),
        "item 5.options[1].text: missing language 'tl'",
    ),
    (lambda d: _set(d, ["items", 0, "options", 3, "score"], 4), "item 1.options[3].score: 4 is out of range"),
    (
        lambda d: _set(d, ["items", 0, "options", 0, "score"], -1),
        "item 1.options[0].score: -1 is out of range",
    ),
    (
        lambda d: _set(d, ["items", 0, "options", 0, "score"], "0"),
        "item 1.options[0].score: expected a whole",
    ),
    (lambda d: _del(d, ["items", 2, "reverse_scored"]), "item 3.options: item is not reverse_scored"),
    (lambda d: _set(d, ["items", 0, "reverse_scored"], True), "item 1.options: item is reverse_scored"),
    (lambda d: _set(d, ["items", 1, "number"], 3), "items[1].number: items must be numbered"),
    (
        lambda d: _set(d, ["items", 0, "options", 0, "text", "ko"], "가" * 22),
        "item 1.options[0].text.ko: 66 bytes",
    ),
    (
        lambda d: _set(d, ["items", 0, "options", 1, "text", "en"], "As much as I always could"),
        "item 1.options: two options share the same en label",
    ),
    (lambda d: _set(d, ["items", 0, "text", "en"], False), "item 1.text.en: expected non-empty text"),
    (lambda d: _set(d, ["items", 0, "text", "fr"], "x"), "item 1.text: unknown language 'fr'"),
    (lambda d: _set(d, ["items", 0, "reverse_score"], True), "items[0]: unknown field 'reverse_score'"),
    (lambda d: _set(d, ["urgent_items", 0, "item"], 11), "urgent_items[0].item: 11 is out of range"),
    (
        lambda d: _set(d, ["urgent_items", 0, "source"], "nobody1999"),
        "urgent_items[0].source: unknown source",
    ),
    (lambda d: _set(d, ["subscales", 0, "items"], [3, 4, 12]), "subscales[0].items: there is no item 12"),
    (lambda d: _set(d, ["risk", "default", "high"], 31), "risk.default.high: 31 is out of range"),
    (lambda d: _set(d, ["risk", "default", "possible"], 14), "risk.default.possible: 14 is out of range"),
    (
        lambda d: _del(d, ["risk", "by_language", "vi", "note"]),
        "risk.by_language.vi.note: a cut-off that is not",
    ),
    (lambda d: _set(d, ["risk", "by_language", "fr"], {}), "risk.by_language: unknown language 'fr'"),
    (lambda d: _del(d, ["translations", "tl"]), "translations: missing language 'tl'"),
    (lambda d: _del(d, ["translations", "ko", "note"]), "translations.ko.note: an unvalidated translation"),
    (
        lambda d: _set(d, ["translations", "en", "study"], None),
        "translations.en.study: a validated translation",
    ),
    (lambda d: _set(d, ["version"], 1.0), "version: write the version as quoted text"),
    (lambda d: _set(d, ["id"], "epds2"), "id: 'epds2' must match the file name"),
    (lambda d: _del(d, ["license"]), "top level: missing field 'license'"),
]


@pytest.mark.parametrize(("mutate", "message"), BROKEN, ids=[m for _, m in BROKEN])
def test_broken_file_fails_precisely(tmp_path: Path, mutate: Callable[[dict[str, Any]], None], message: str) -> None:
    path = _broken(tmp_path, mutate)
    with pytest.raises(InstrumentError) as caught:
        load_instrument_file(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: "), text
    assert message in text


def test_broken_short_form_fails_precisely(tmp_path: Path) -> None:
    path = _broken(tmp_path, lambda d: _set(d, ["short_forms", "phq2", "items"], [1, 10]), "phq9.yaml")
    with pytest.raises(InstrumentError, match=r"phq9\.yaml: short_forms\.phq2\.items: there is no item 10"):
        load_instrument_file(path)


def test_invalid_yaml_and_duplicate_ids(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: [unclosed\n", encoding="utf-8")
    with pytest.raises(InstrumentError, match=r"bad\.yaml: not valid YAML"):
        load_instruments(tmp_path)

    bad.unlink()
    shutil.copy(INSTRUMENTS_DIR / "phq9.yaml", tmp_path / "phq9.yaml")
    clash = yaml.safe_load((INSTRUMENTS_DIR / "gad7.yaml").read_text(encoding="utf-8"))
    clash["short_forms"] = {
        "phq2": {
            "name": "clash",
            "items": [1, 2],
            "risk": {"default": {"high": 3, "cutoff_validated": True, "source": "spitzer2006"}},
        }
    }
    (tmp_path / "gad7.yaml").write_text(yaml.safe_dump(clash, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InstrumentError, match="id 'phq2' is already defined"):
        load_instruments(tmp_path)


def test_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(InstrumentError, match="no instrument files"):
        load_instruments(tmp_path)
