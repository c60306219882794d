"""The running bot's current lessons, replaced while it runs when editors change the files.

Broken content never replaces working content: a reload that finds any error keeps the library the bot
already has, and reports the problems instead.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Final

import bot
from bot.content.library import ContentError, ContentLibrary, Problem, inspect_content

__all__ = ["RELOAD_REQUEST_FILE", "ContentStore", "fingerprint"]

log = logging.getLogger(__name__)

RELOAD_REQUEST_FILE: Final = Path(bot.__file__).resolve().parent.parent / "var" / "content-reload"
"""Touched by ``dodam content reload``; a running bot reloads when its modification time changes."""

Fingerprint = tuple[tuple[str, int, int], ...]


def fingerprint(root: Path) -> Fingerprint:
    """Names, sizes and modification times of every file under `root` (lessons and images).

    Cheap enough to compute on every tick: it reads directory entries, never file contents.
    """
    entries = []
    for path in sorted(Path(root).rglob("*")):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue  # deleted between listing and stat: the next tick sees the new state
        if path.is_file():
            entries.append((path.relative_to(root).as_posix(), stat.st_size, stat.st_mtime_ns))
    return tuple(entries)


def _request_stamp(path: Path | None) -> int | None:
    if path is None:
        return None
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


class ContentStore:
    """Holds the current :class:`ContentLibrary` for a running bot.

    Readers take ``store.library`` once per job and use that snapshot throughout, so one message never
    mixes two versions of the content. Swapping is a single reference assignment under a lock, so readers
    never wait and two reloads never interleave.

    Args:
        root: The content folder.
        request_file: A file whose modification time, when it changes, asks for a reload even when the
            fingerprint looks the same (``dodam content reload``). None to rely on the fingerprint only.

    Raises:
        ContentError: At start the content is invalid; the bot should not run without lessons it can trust.
    """

    def __init__(self, root: Path, *, request_file: Path | None = None) -> None:
        self.root = Path(root)
        self.request_file = request_file
        self._lock = threading.Lock()
        self._request = _request_stamp(request_file)
        self._seen = fingerprint(self.root)
        report = inspect_content(self.root)
        if report.library is None:
            raise ContentError(list(report.problems))
        self._library: ContentLibrary = report.library
        self.last_problems: tuple[Problem, ...] = report.problems
        self.last_reload = 0  # counts the changes seen, so other content can be re-checked after each

    @property
    def library(self) -> ContentLibrary:
        return self._library

    def reload(self) -> list[Problem]:
        """Re-read and re-check the content; swap it in only when it has no errors.

        Returns:
            Every problem found (errors mean the old library was kept; warnings alone do not).
        """
        with self._lock:
            seen = fingerprint(self.root)
            report = inspect_content(self.root)
            self._seen = seen
            self.last_problems = report.problems
            if report.library is None:
                log.error(
                    "content reload refused, keeping %d lessons: %d error(s); first: %s",
                    len(self._library),
                    len(report.errors),
                    report.errors[0],
                )
                return list(report.problems)
            old, self._library = self._library, report.library
            changed = sum(
                1 for lesson in report.library if (o := old.get(lesson.slug)) is None or o.version != lesson.version
            )
            log.info("content reloaded: %d lessons, %d new or changed", len(report.library), changed)
            return list(report.problems)

    def reload_if_changed(self) -> bool:
        """Reload when files changed or a reload was requested since the last look; for a periodic tick.

        A failed reload is not retried until something changes again, so broken content is logged once,
        not on every tick.

        Returns:
            True when a new library was swapped in.
        """
        request = _request_stamp(self.request_file)
        if fingerprint(self.root) == self._seen and request == self._request:
            return False
        self._request = request
        self.last_reload += 1
        before = self._library
        self.reload()
        return self._library is not before
