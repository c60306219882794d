"""Tests for bot.content.reloader: broken content never replaces working content."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from bot.content.library import ContentError
from bot.content.reloader import ContentStore, fingerprint

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "content"
W6 = "baby-w6-peak-crying"


@pytest.fixture
def content(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(FIXTURE, root)
    return root


def rewrite(path: Path, old: str, new: str) -> None:
    """Edit a file and move its modification time forward, as a later save would."""
    stat = path.stat()
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    later = stat.st_mtime_ns + 1_000_000_000
    os.utime(path, ns=(later, later))


def test_store_refuses_to_start_on_broken_content(content: Path) -> None:
    rewrite(content / "lessons" / f"{W6}.yaml", "topic: crying", "topic: feeding")
    with pytest.raises(ContentError) as raised:
        ContentStore(content)
    assert any("topic 'feeding'" in p.message for p in raised.value.problems)


def test_reload_keeps_the_old_library_when_broken_and_swaps_when_fixed(content: Path) -> None:
    store = ContentStore(content)
    original = store.library
    path = content / "lessons" / f"{W6}.yaml"

    rewrite(path, "topic: crying", "topic: feeding")
    problems = store.reload()
    assert any(p.is_error and p.file == path for p in problems)
    assert store.library is original

    rewrite(path, "topic: feeding", "topic: sleep")
    assert [p for p in store.reload() if p.is_error] == []
    assert store.library is not original
    assert store.library[W6].topic == "sleep"
    assert store.library[W6].version != original[W6].version
    assert original[W6].topic == "crying"  # a snapshot taken earlier is unaffected


def test_reload_if_changed(content: Path) -> None:
    store = ContentStore(content)
    original = store.library
    path = content / "lessons" / f"{W6}.yaml"
    assert store.reload_if_changed() is False

    rewrite(path, "It gets better.", "It gets easier.")
    assert store.reload_if_changed() is True
    edited = store.library
    assert "It gets easier." in edited[W6].texts["en"].body and edited is not original
    assert store.reload_if_changed() is False

    rewrite(path, "topic: crying", "topic: feeding")
    assert store.reload_if_changed() is False
    assert store.library is edited
    assert any(p.is_error for p in store.last_problems)
    # Nothing changed since the failed attempt: no new attempt (and no repeated error log).
    store.last_problems = ()
    assert store.reload_if_changed() is False
    assert store.last_problems == ()

    rewrite(path, "topic: feeding", "topic: crying")
    assert store.reload_if_changed() is True


def test_request_file_forces_a_reload(content: Path, tmp_path: Path) -> None:
    request = tmp_path / "var" / "content-reload"
    store = ContentStore(content, request_file=request)
    before = store.library
    assert store.reload_if_changed() is False
    request.parent.mkdir()
    request.touch()
    assert store.reload_if_changed() is True
    assert store.library is not before
    assert store.reload_if_changed() is False


def test_fingerprint_sees_new_removed_and_changed_files(content: Path) -> None:
    first = fingerprint(content)
    extra = content / "images" / "new.png"
    extra.write_bytes(b"png")
    second = fingerprint(content)
    assert second != first
    extra.unlink()
    assert fingerprint(content) == first


def test_readers_always_see_a_complete_library(content: Path) -> None:
    store = ContentStore(content)
    path = content / "lessons" / f"{W6}.yaml"
    seen: list[int] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                library = store.library
                seen.append(len(library))
                assert library[W6].slug == W6
            except BaseException as exc:  # a thread's exception would not fail the test by itself
                failures.append(exc)
            stop.wait(0.001)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for thread in readers:
        thread.start()
    for i in range(10):
        rewrite(
            path,
            "It gets better." if i % 2 == 0 else "It gets easier.",
            "It gets easier." if i % 2 == 0 else "It gets better.",
        )
        store.reload()
    stop.set()
    for thread in readers:
        thread.join()
    assert failures == []
    assert seen and set(seen) == {6}
