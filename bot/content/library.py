"""Load and check the lesson files under ``content/lessons/`` (format: ``content/README.md``).

Every problem names the file and line an editor has to open, so YAML is composed into nodes (which
carry their position) and read from those, rather than loaded straight into dicts.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal

import yaml

from bot.content.lessons import (
    BUTTON_LIMIT_BYTES,
    CAPTION_LIMIT,
    DEFAULT_RELEVANT_FOR,
    Anchor,
    Lesson,
    Timing,
    Translation,
    button_length,
    parse_relevant_for,
    parse_timing,
    placeholders,
    render,
    text_limit,
)
from bot.content.markup import check_markup, telegram_length
from bot.i18n import LANGUAGES

__all__ = [
    "TOPICS",
    "ContentError",
    "ContentLibrary",
    "ContentReport",
    "LessonFile",
    "Problem",
    "check_content",
    "inspect_content",
    "load_library",
    "timing_gaps",
]

Severity = Literal["error", "warning"]
Status = Literal["missing", "draft", "reviewed"]

TOPICS: Final = ("breastfeeding", "crying", "sleep", "wellbeing")
FIELDS: Final = (
    "slug",
    "topic",
    "when",
    "relevant_for",
    "source",
    "follow_up",
    "ask_helpful",
    "image",
    "text",
)
REQUIRED: Final = frozenset({"slug", "topic", "when", "source", "text"})
TEXT_FIELDS: Final = ("reviewed", "title", "body", "button")
SLUG: Final = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# README guidance, "one or two phone screens": longer texts are allowed but flagged.
BODY_GUIDANCE: Final = 1200
BODY_GUIDANCE_WITH_IMAGE: Final = 900
PREGNANCY_WEEKS_RANGE: Final = (4, 42)
BABY_MAX: Final = {"day": 731, "week": 104, "month": 24}
COVERED_WEEKS: Final = 52  # baby weeks 0..51, the first 12 months
PHOTO_SUFFIXES: Final = (".png", ".jpg", ".jpeg", ".webp")


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the content.

    Attributes:
        file: The lesson file, or the content folder for problems of the whole (timing gaps).
        line: 1-based line in `file`; 0 when the problem is not on any one line.
        key: Where in the lesson, as a dotted path ("text.vi.body"); lets an import name the cell.
    """

    file: Path
    line: int
    message: str
    severity: Severity = "error"
    key: str = field(default="", compare=False)

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.severity}: {self.message}"


class ContentError(Exception):
    """The content has errors, so it cannot be loaded; `problems` lists all of them (and any warnings)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.is_error]
        first = f"; first: {errors[0]}" if errors else ""
        super().__init__(f"content has {len(errors)} error(s){first}")


@dataclass(frozen=True)
class ContentLibrary:
    """An immutable snapshot of all lessons, ordered by timing (pregnancy first, then the baby's age)."""

    root: Path
    lessons: tuple[Lesson, ...]
    _by_slug: Mapping[str, Lesson] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.lessons, key=lambda lesson: lesson.sort_key))
        object.__setattr__(self, "lessons", ordered)
        object.__setattr__(self, "_by_slug", MappingProxyType({lesson.slug: lesson for lesson in ordered}))

    def __len__(self) -> int:
        return len(self.lessons)

    def __iter__(self) -> Iterator[Lesson]:
        return iter(self.lessons)

    def __contains__(self, slug: object) -> bool:
        return slug in self._by_slug

    def __getitem__(self, slug: str) -> Lesson:
        return self._by_slug[slug]

    @property
    def slugs(self) -> tuple[str, ...]:
        return tuple(lesson.slug for lesson in self.lessons)

    def get(self, slug: str) -> Lesson | None:
        return self._by_slug.get(slug)

    def by_topic(self, topic: str) -> tuple[Lesson, ...]:
        return tuple(lesson for lesson in self.lessons if lesson.topic == topic)

    def lessons_for(
        self, anchor: Anchor, anchor_date: date | None = None, *, on: date | None = None
    ) -> tuple[Lesson, ...]:
        """Lessons anchored on the due date ("due") or the birth date ("birth"), in timing order.

        Args:
            anchor: Which date the lessons count from.
            anchor_date: The mother's due date or her baby's birth date; needed with `on`.
            on: When given, only lessons that may be sent that day (due, and not past their
                relevance window), e.g. today in the mother's time zone.
        """
        selected = tuple(lesson for lesson in self.lessons if lesson.timing.anchor == anchor)
        if on is None:
            return selected
        if anchor_date is None:
            raise ValueError("lessons_for(on=...) needs the anchor_date")
        return tuple(lesson for lesson in selected if lesson.is_relevant_on(anchor_date, on))


@dataclass(frozen=True)
class LessonFile:
    """What could be read from one lesson file, even when it is broken (for coverage and previews).

    Attributes:
        lesson: The lesson, or None when this file has errors of its own.
        statuses: Per language: "reviewed", "draft" (text present, not reviewed) or "missing".
        lines: 1-based line of each key found, by dotted path ("text.vi.body").
    """

    path: Path
    slug: str | None
    timing: Timing | None
    relevant_for: timedelta | None
    follow_up: str | None
    lesson: Lesson | None
    statuses: Mapping[str, Status]
    lines: Mapping[str, int]
    problems: tuple[Problem, ...]


@dataclass(frozen=True)
class ContentReport:
    """Result of checking a content folder: every file, every problem, and the library if error-free."""

    root: Path
    files: tuple[LessonFile, ...]
    problems: tuple[Problem, ...]
    library: ContentLibrary | None

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.is_error)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if not p.is_error)


def check_content(root: Path) -> list[Problem]:
    """All problems (errors and warnings) in the content folder `root`, by file and line."""
    return list(inspect_content(root).problems)


def load_library(root: Path) -> ContentLibrary:
    """Load every lesson under ``root/lessons``.

    Raises:
        ContentError: Anything is invalid; nothing is loaded partially.
    """
    report = inspect_content(root)
    if report.library is None:
        raise ContentError(list(report.problems))
    return report.library


def inspect_content(root: Path) -> ContentReport:
    """Read and check every lesson file under ``root/lessons``, each file exactly once."""
    root = Path(root)
    lessons_dir = root / "lessons"
    problems: list[Problem] = []
    if not lessons_dir.is_dir():
        problems.append(Problem(root, 0, f"no lessons folder: {lessons_dir} does not exist"))
        return ContentReport(root, (), tuple(problems), None)
    files: list[LessonFile] = []
    for path in sorted(lessons_dir.iterdir()):
        if path.name.startswith(".") or path.name.endswith("~"):
            continue  # editors' swap and backup files
        if path.suffix == ".yaml" and path.is_file():
            files.append(_read_lesson_file(path, root))
        elif path.suffix == ".yml":
            problems.append(Problem(path, 0, "lesson files must end in .yaml; this file is not loaded"))
        else:
            problems.append(Problem(path, 0, "not a lesson file (not *.yaml); ignored", "warning"))
    for lesson_file in files:
        problems.extend(lesson_file.problems)
    problems.extend(_cross_file_problems(files))
    problems.extend(_timing_gap_problems(root, files))
    # Stable, by file and line only: problems on one line keep their order (timing gaps by week).
    problems.sort(key=lambda p: (str(p.file), p.line))
    library = None
    if not any(p.is_error for p in problems):
        library = ContentLibrary(root, tuple(f.lesson for f in files if f.lesson is not None))
    return ContentReport(root, tuple(files), tuple(problems), library)


# --------------------------------------------------------------------------------------------
# One file
# --------------------------------------------------------------------------------------------


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _content_line(node: yaml.Node) -> int:
    """File line of the first line of a scalar's text: block scalars (| and >) start below their key."""
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        return node.start_mark.line + 2
    return _line(node)


class _FileReader:
    """Collects one lesson file's values and problems."""

    def __init__(self, path: Path, root: Path) -> None:
        self.path = path
        self.root = root
        self.problems: list[Problem] = []
        self.lines: dict[str, int] = {}
        self.loader: yaml.SafeLoader | None = None

    def error(self, line: int, message: str, key: str = "", severity: Severity = "error") -> None:
        self.problems.append(Problem(self.path, line, message, severity, key))

    def value(self, node: yaml.Node) -> Any:
        assert self.loader is not None
        return self.loader.construct_object(node, deep=True)

    def items(self, node: yaml.MappingNode, prefix: str) -> dict[str, tuple[int, yaml.Node]]:
        """Keys of a mapping with their lines and value nodes; reports duplicate and non-text keys."""
        found: dict[str, tuple[int, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = self.value(key_node)
            if not isinstance(key, str):
                self.error(_line(key_node), f"key {key!r} must be text", prefix)
                continue
            path = f"{prefix}.{key}" if prefix else key
            if key in found:
                self.error(_line(key_node), f"{path!r} appears twice (first on line {found[key][0]})", path)
                continue
            found[key] = (_line(key_node), value_node)
            self.lines[path] = _line(key_node)
        return found

    def string(self, found: dict[str, tuple[int, yaml.Node]], key: str, path: str) -> str | None:
        """A required-or-optional text value; None (with a problem) when it has another type or is empty."""
        if key not in found:
            return None
        line, node = found[key]
        value = self.value(node)
        if not isinstance(value, str) or not value.strip():
            shown = "empty" if value in (None, "") else f"{type(value).__name__} {value!r}"
            self.error(line, f"{path!r} must be text, not {shown}", path)
            return None
        return value

    def boolean(self, found: dict[str, tuple[int, yaml.Node]], key: str, path: str) -> bool | None:
        if key not in found:
            return None
        line, node = found[key]
        value = self.value(node)
        if not isinstance(value, bool):
            self.error(line, f"{path!r} must be true or false, not {value!r}", path)
            return None
        return value

    def unknown_keys(self, found: dict[str, tuple[int, yaml.Node]], allowed: tuple[str, ...], prefix: str) -> None:
        for key, (line, _) in found.items():
            if key in allowed:
                continue
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(allowed)}"
            where = f" in {prefix!r}" if prefix else ""
            path = f"{prefix}.{key}" if prefix else key
            self.error(line, f"unknown key {key!r}{where}; {hint}", path)


def _read_lesson_file(path: Path, root: Path) -> LessonFile:
    reader = _FileReader(path, root)
    data = path.read_bytes()

    def broken() -> LessonFile:
        return LessonFile(path, None, None, None, None, None, {}, reader.lines, tuple(reader.problems))

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        reader.error(data.count(b"\n", 0, exc.start) + 1, "the file is not UTF-8 text; save it as UTF-8")
        return broken()
    reader.loader = yaml.SafeLoader(text)
    try:
        root_node = reader.loader.get_single_node()
        if root_node is None:
            reader.error(1, "the file is empty")
            return broken()
        if not isinstance(root_node, yaml.MappingNode):
            reader.error(_line(root_node), "a lesson file must be a mapping of keys (slug:, topic:, ...)")
            return broken()
        return _read_lesson(reader, root_node, data)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        reason = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        reader.error(line, f"YAML syntax: {reason}")
        return broken()
    except yaml.YAMLError as exc:
        reader.error(1, f"YAML: {exc}")
        return broken()
    finally:
        reader.loader.dispose()


def _read_lesson(reader: _FileReader, node: yaml.MappingNode, data: bytes) -> LessonFile:
    path = reader.path
    found = reader.items(node, "")
    reader.unknown_keys(found, FIELDS, "")
    for key in FIELDS:
        if key in REQUIRED and key not in found:
            reader.error(1, f"{key!r} is missing", key)

    slug = reader.string(found, "slug", "slug")
    if slug is not None:
        line = found["slug"][0]
        if not SLUG.fullmatch(slug):
            reader.error(line, f"slug {slug!r}: use lowercase letters, digits and single hyphens", "slug")
        if slug != path.stem:
            message = f"slug {slug!r} must equal the file name; this file is {path.stem}.yaml"
            reader.error(line, message, "slug")

    topic = reader.string(found, "topic", "topic")
    if topic is not None and topic not in TOPICS:
        reader.error(found["topic"][0], f"topic {topic!r} is not one of {', '.join(TOPICS)}", "topic")

    timing = _read_timing(reader, found)
    relevant_for: timedelta | None = DEFAULT_RELEVANT_FOR
    if "relevant_for" in found:
        relevant_for = None
        raw = reader.string(found, "relevant_for", "relevant_for")
        if raw is not None:
            try:
                relevant_for = parse_relevant_for(raw)
            except ValueError as exc:
                reader.error(found["relevant_for"][0], f"relevant_for: {exc}", "relevant_for")

    source = reader.string(found, "source", "source")
    follow_up = reader.string(found, "follow_up", "follow_up")
    if follow_up is not None and follow_up == slug:
        reader.error(found["follow_up"][0], "follow_up names this lesson itself", "follow_up")
    ask_helpful = reader.boolean(found, "ask_helpful", "ask_helpful")
    image = _read_image(reader, found)
    texts, statuses = _read_texts(reader, found)

    lesson: Lesson | None = None
    if not any(p.is_error for p in reader.problems):
        assert slug and topic and timing and relevant_for and source
        lesson = Lesson(
            slug=slug,
            topic=topic,
            timing=timing,
            relevant_for=relevant_for,
            source=source.strip(),
            follow_up=follow_up,
            ask_helpful=True if ask_helpful is None else ask_helpful,
            image=image,
            texts=MappingProxyType(texts),
            version=hashlib.sha256(data).hexdigest()[:12],
            path=path,
        )
        _check_lengths(reader, lesson)
    return LessonFile(
        path=path,
        slug=slug,
        timing=timing,
        relevant_for=relevant_for,
        follow_up=follow_up,
        lesson=lesson if not any(p.is_error for p in reader.problems) else None,
        statuses=MappingProxyType(statuses),
        lines=MappingProxyType(reader.lines),
        problems=tuple(reader.problems),
    )


def _read_timing(reader: _FileReader, found: dict[str, tuple[int, yaml.Node]]) -> Timing | None:
    raw = reader.string(found, "when", "when")
    if raw is None:
        return None
    line = found["when"][0]
    try:
        timing = parse_timing(raw)
    except ValueError as exc:
        reader.error(line, f"when: {exc}", "when")
        return None
    if timing.anchor == "due":
        low, high = PREGNANCY_WEEKS_RANGE
        if not low <= timing.amount <= high:
            reader.error(line, f"when: {timing} is outside pregnancy weeks {low}..{high}", "when")
            return None
    elif timing.amount > BABY_MAX[timing.unit]:
        limit = BABY_MAX[timing.unit]
        reader.error(line, f"when: {timing} is beyond baby {timing.unit} {limit} (24 months)", "when")
        return None
    return timing


def _read_image(reader: _FileReader, found: dict[str, tuple[int, yaml.Node]]) -> Path | None:
    raw = reader.string(found, "image", "image")
    if raw is None:
        return None
    line = found["image"][0]
    relative = Path(raw.strip())
    target = (reader.root / relative).resolve()
    if relative.is_absolute() or not target.is_relative_to(reader.root.resolve()):
        reader.error(line, f"image {raw!r} must be a path inside the content folder, like images/name.png", "image")
        return None
    if not target.is_file():
        reader.error(line, f"image {raw!r} does not exist (looked for {reader.root / relative})", "image")
        return None
    if target.suffix.lower() not in PHOTO_SUFFIXES:
        reader.error(
            line,
            f"image {raw!r}: Telegram sends only {', '.join(PHOTO_SUFFIXES)} files as photos",
            "image",
            "warning",
        )
    return relative


def _read_texts(
    reader: _FileReader, found: dict[str, tuple[int, yaml.Node]]
) -> tuple[dict[str, Translation], dict[str, Status]]:
    texts: dict[str, Translation] = {}
    statuses: dict[str, Status] = dict.fromkeys(LANGUAGES, "missing")
    if "text" not in found:
        return texts, statuses
    text_line, text_node = found["text"]
    if not isinstance(text_node, yaml.MappingNode):
        reader.error(text_line, "'text' must hold one entry per language: ko, en, zh_Hans, vi, tl", "text")
        return texts, statuses
    languages = reader.items(text_node, "text")
    for language, (line, _) in languages.items():
        if language not in LANGUAGES:
            close = difflib.get_close_matches(language, LANGUAGES, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            reader.error(line, f"unknown language {language!r}: {hint}use {', '.join(LANGUAGES)}", "text")
    for language in LANGUAGES:
        if language not in languages:
            reader.error(text_line, f"text for {language!r} is missing", f"text.{language}")
            continue
        line, node = languages[language]
        translation = _read_translation(reader, language, line, node)
        if translation is not None:
            texts[language] = translation
            statuses[language] = "reviewed" if translation.reviewed else "draft"
    _check_placeholders(reader, texts)
    return texts, statuses


def _read_translation(reader: _FileReader, language: str, line: int, node: yaml.Node) -> Translation | None:
    prefix = f"text.{language}"
    if not isinstance(node, yaml.MappingNode):
        reader.error(line, f"text.{language} must hold reviewed:, title: and body:", prefix)
        return None
    found = reader.items(node, prefix)
    reader.unknown_keys(found, TEXT_FIELDS, prefix)
    reviewed = reader.boolean(found, "reviewed", f"{prefix}.reviewed")
    if "reviewed" not in found:
        reader.error(
            line,
            f"{prefix}.reviewed is missing; counted as a draft (reviewed: false)",
            f"{prefix}.reviewed",
            "warning",
        )
    ok = True
    values: dict[str, str] = {}
    for key in ("title", "body"):
        if key not in found:
            reader.error(line, f"{prefix}.{key} is missing", f"{prefix}.{key}")
            ok = False
            continue
        value = reader.string(found, key, f"{prefix}.{key}")
        if value is None:
            ok = False
            continue
        values[key] = value
        value_node = found[key][1]
        first = _content_line(value_node)
        for issue in check_markup(value):
            reader.error(first + issue.line - 1, f"{prefix}.{key}: {issue.message}", f"{prefix}.{key}")
    if "title" in values and "\n" in values["title"].strip():
        reader.error(found["title"][0], f"{prefix}.title must be one line", f"{prefix}.title")
    button = reader.string(found, "button", f"{prefix}.button")
    if button is not None and button_length(button) > BUTTON_LIMIT_BYTES:
        reader.error(
            found["button"][0],
            f"{prefix}.button is {button_length(button)} bytes; a button label "
            f"may have at most {BUTTON_LIMIT_BYTES} (UTF-8)",
            f"{prefix}.button",
        )
    if not ok:
        return None
    return Translation(language, bool(reviewed), values["title"], values["body"], button)


def _check_placeholders(reader: _FileReader, texts: dict[str, Translation]) -> None:
    if not texts:
        return
    reference = "en" if "en" in texts else next(iter(texts))
    expected = placeholders(texts[reference].title + texts[reference].body)
    for language, translation in texts.items():
        used = placeholders(translation.title + translation.body)
        if used == expected:
            continue
        missing = ", ".join("{" + p + "}" for p in sorted(expected - used))
        extra = ", ".join("{" + p + "}" for p in sorted(used - expected))
        parts = (missing and f"missing {missing}", extra and f"extra {extra}")
        detail = "; ".join(part for part in parts if part)
        where = "body" if placeholders(translation.body) != placeholders(texts[reference].body) else "title"
        path = f"text.{language}.{where}"
        message = f"{path}: placeholders differ from {reference!r}: {detail}"
        reader.error(reader.lines.get(path, 1), message, path)


def _check_lengths(reader: _FileReader, lesson: Lesson) -> None:
    limit = text_limit(lesson)
    kind = "photo caption" if lesson.image is not None else "message"
    for language, translation in lesson.texts.items():
        path = f"text.{language}.body"
        line = reader.lines.get(path, 1)
        length = telegram_length(render(lesson, language))
        if length > limit:
            why = " (the lesson has an image)" if limit == CAPTION_LIMIT else ""
            message = f"{path}: title + body are {length} characters; a Telegram {kind} allows {limit}{why}"
            reader.error(line, message, path)
            continue
        guidance = BODY_GUIDANCE_WITH_IMAGE if lesson.image is not None else BODY_GUIDANCE
        body = telegram_length(translation.body.strip())
        if body > guidance:
            reader.error(
                line,
                f"{path}: body is {body} characters; aim for under {guidance} (one or two phone screens)",
                path,
                "warning",
            )


# --------------------------------------------------------------------------------------------
# The whole folder
# --------------------------------------------------------------------------------------------


def _cross_file_problems(files: list[LessonFile]) -> list[Problem]:
    problems: list[Problem] = []
    by_slug: dict[str, list[LessonFile]] = {}
    for lesson_file in files:
        if lesson_file.slug is not None:
            by_slug.setdefault(lesson_file.slug, []).append(lesson_file)
    for slug, same in by_slug.items():
        if len(same) > 1:
            for lesson_file in same:
                others = ", ".join(f.path.name for f in same if f is not lesson_file)
                problems.append(
                    Problem(
                        lesson_file.path,
                        lesson_file.lines.get("slug", 1),
                        f"slug {slug!r} is also used by {others}",
                        key="slug",
                    )
                )
    for lesson_file in files:
        if lesson_file.follow_up is not None and lesson_file.follow_up not in by_slug:
            close = difflib.get_close_matches(lesson_file.follow_up, list(by_slug), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            message = f"follow_up {lesson_file.follow_up!r} is not a lesson{hint}"
            line = lesson_file.lines.get("follow_up", 1)
            problems.append(Problem(lesson_file.path, line, message, key="follow_up"))
    return problems


def _timing_gap_problems(root: Path, files: list[LessonFile]) -> list[Problem]:
    windows = [
        (f.timing, f.relevant_for)
        for f in files
        if f.timing is not None and f.relevant_for is not None and f.timing.anchor == "birth"
    ]
    gaps = timing_gaps(windows)
    problems = []
    for week, (example, always) in sorted(gaps.items()):
        births = "" if always else f" for a baby born on {example.isoformat()} (months differ in length)"
        days = f"days {7 * week}-{7 * week + 6} after birth"
        message = f"timing gap: baby week {week} ({days}) has no lesson due or still relevant{births}"
        problems.append(Problem(root, 0, message, key="coverage"))
    return problems


def timing_gaps(windows: list[tuple[Timing, timedelta]]) -> dict[int, tuple[date, bool]]:
    """Baby weeks 0..51 in which no lesson is due or still relevant.

    A lesson covers the days ``[due, due + relevant_for)``; a week counts as covered when any of its days is.
    "baby month" lessons land on different day counts for different birth dates (31 January + 1 month is
    28 or 29 February), so every birth date of a leap and a common year is tried.

    Returns:
        Gap week → (a birth date for which it is a gap, whether it is a gap for every birth date).
    """
    fixed: list[tuple[int, int]] = []
    monthly: list[tuple[Timing, int]] = []
    for timing, relevant in windows:
        if timing.unit == "month":
            monthly.append((timing, relevant.days))
        else:
            fixed.append((timing.approximate_days, relevant.days))
    first = date(2023, 1, 1)
    births = [first + timedelta(days=d) for d in range(731)] if monthly else [first]
    found: dict[int, list[date]] = {}
    for birth in births:
        covered = [False] * COVERED_WEEKS
        spans = fixed + [((timing.due_on(birth) - birth).days, days) for timing, days in monthly]
        for start, length in spans:
            for week in range(max(0, start // 7), min(COVERED_WEEKS - 1, (start + length - 1) // 7) + 1):
                covered[week] = True
        for week, ok in enumerate(covered):
            if not ok:
                found.setdefault(week, []).append(birth)
    return {week: (dates[0], len(dates) == len(births)) for week, dates in found.items()}
