"""Telegram's HTML parse mode: what lesson texts may contain, how long they are, how they look as plain text.

Telegram rejects a whole message when its HTML is malformed, so every rule Telegram enforces at send
time is checked here at edit time instead (https://core.telegram.org/bots/api#html-style).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from html.parser import HTMLParser
from typing import Final

__all__ = [
    "ALLOWED_TAGS",
    "MarkupIssue",
    "check_markup",
    "plain_text",
    "telegram_length",
]

ALLOWED_TAGS: Final = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-spoiler",
        "span",
    }
)
# Telegram knows only these four named entities; numeric references are fine.
_ENTITY: Final = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")
_AMPERSAND_RUN: Final = re.compile(r"&[#A-Za-z0-9]*;?")
_BOLD: Final = frozenset({"b", "strong"})


@dataclass(frozen=True)
class MarkupIssue:
    """One problem in a text, at `line` (1-based, counted inside the text)."""

    line: int
    message: str


class _TelegramHTML(HTMLParser):
    """Walks a text once, collecting problems and the visible text."""

    def __init__(self, *, bold: tuple[str, str] = ("", ""), links: bool = False) -> None:
        # Entity callbacks must fire separately from data, so a literal "<" in data is detectable.
        super().__init__(convert_charrefs=False)
        self.issues: list[MarkupIssue] = []
        self.visible: list[str] = []
        self._stack: list[tuple[str, int]] = []
        self._bold = bold
        self._links = links
        self._hrefs: list[str | None] = []

    def _issue(self, message: str) -> None:
        self.issues.append(MarkupIssue(self.getpos()[0], message))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            hint = " (write a line break instead)" if tag == "br" else ""
            self._issue(f"<{tag}> is not allowed in Telegram HTML{hint}")
        else:
            self._check_attributes(tag, dict(attrs), [name for name, _ in attrs])
            self._check_nesting(tag)
        self._stack.append((tag, self.getpos()[0]))
        if tag in _BOLD:
            self.visible.append(self._bold[0])
        if tag == "a":
            self._hrefs.append(dict(attrs).get("href"))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._issue(f"<{tag}/>: self-closing tags are not allowed in Telegram HTML")

    def handle_endtag(self, tag: str) -> None:
        if not self._stack:
            self._issue(f"</{tag}> closes a tag that was never opened")
            return
        open_tag, _ = self._stack[-1]
        if open_tag != tag:
            if any(t == tag for t, _ in self._stack):
                self._issue(f"</{tag}> closes <{tag}> while <{open_tag}> inside it is still open")
                while self._stack and self._stack[-1][0] != tag:
                    self._stack.pop()
            else:
                self._issue(f"</{tag}> closes a tag that was never opened")
                return
        self._stack.pop()
        if tag in _BOLD:
            self.visible.append(self._bold[1])
        if tag == "a" and self._hrefs:
            href = self._hrefs.pop()
            if href and self._links:
                self.visible.append(f" <{href}>")

    def handle_data(self, data: str) -> None:
        for char, name in (("<", "&lt;"), (">", "&gt;")):
            if char in data:
                self._issue(f"a literal {char!r} must be written as {name}")
        self.visible.append(data)

    def handle_entityref(self, name: str) -> None:
        # Validity is checked on the raw text (see check_markup); here only the visible text matters.
        self.visible.append(unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self.visible.append(unescape(f"&#{name};"))

    def handle_comment(self, data: str) -> None:
        self._issue("HTML comments are not allowed in Telegram HTML")

    def handle_decl(self, decl: str) -> None:
        self._issue(f"<!{decl}> is not allowed in Telegram HTML")

    def handle_pi(self, data: str) -> None:
        self._issue(f"<?{data}> is not allowed in Telegram HTML")

    def unknown_decl(self, data: str) -> None:
        self._issue(f"<![{data}]> is not allowed in Telegram HTML")

    def _check_attributes(self, tag: str, attrs: dict[str, str | None], names: list[str]) -> None:
        allowed: set[str] = set()
        if tag == "a":
            allowed = {"href"}
            if not attrs.get("href"):
                self._issue('<a> needs an href="..."')
        elif tag == "span":
            allowed = {"class"}
            if attrs.get("class") != "tg-spoiler":
                self._issue('<span> is only allowed as <span class="tg-spoiler">')
        elif tag == "code":
            allowed = {"class"}
            css = attrs.get("class")
            if css is not None and not css.startswith("language-"):
                self._issue('<code class="..."> must name a language, as class="language-python"')
        elif tag == "blockquote":
            allowed = {"expandable"}
        for name in names:
            if name not in allowed:
                self._issue(f'<{tag}> does not take the attribute "{name}"')

    def _check_nesting(self, tag: str) -> None:
        open_tags = [t for t, _ in self._stack]
        if open_tags and open_tags[-1] in ("code", "pre") and not (tag == "code" and open_tags[-1] == "pre"):
            self._issue(f"<{tag}> cannot be inside <{open_tags[-1]}>")
        if tag in ("blockquote", "a", "pre") and tag in open_tags:
            self._issue(f"<{tag}> cannot be inside another <{tag}>")

    def finish(self) -> None:
        self.close()
        for tag, line in self._stack:
            self.issues.append(MarkupIssue(line, f"<{tag}> is never closed"))
        self._stack.clear()


def check_markup(text: str) -> list[MarkupIssue]:
    """Everything in `text` that Telegram's HTML parse mode would reject, in text order."""
    issues: list[MarkupIssue] = []
    for match in re.finditer("&", text):
        if not _ENTITY.match(text, match.start()):
            line = text.count("\n", 0, match.start()) + 1
            run = _AMPERSAND_RUN.match(text, match.start())
            snippet = run.group(0) if run else "&"
            issues.append(
                MarkupIssue(
                    line,
                    f"{snippet!r}: write a literal & as &amp; (Telegram knows only "
                    "&lt; &gt; &amp; &quot; and numeric entities)",
                )
            )
    parser = _TelegramHTML()
    parser.feed(text)
    parser.finish()
    issues.extend(parser.issues)
    return sorted(issues, key=lambda issue: issue.line)


def plain_text(text: str, *, bold: tuple[str, str] = ("", "")) -> str:
    """The text as she reads it: tags removed, entities decoded, link targets after the link text.

    Args:
        text: Telegram HTML.
        bold: Strings to put around bold runs, e.g. terminal escape codes; nothing by default.
    """
    parser = _TelegramHTML(bold=bold, links=True)
    parser.feed(text)
    parser.finish()
    return "".join(parser.visible)


def telegram_length(text: str) -> int:
    """Length as Telegram counts it against its limits: visible text (after entity parsing), UTF-16 units.

    Telegram measures entities and limits in UTF-16 code units, so an emoji outside the Basic
    Multilingual Plane counts twice; tags and entity spellings do not count at all.
    """
    if check_markup(text):
        # Malformed: Telegram would refuse it anyway; a rough count still lets the length check speak.
        visible = unescape(re.sub(r"<[^<>]*>", "", text))
    else:
        parser = _TelegramHTML()
        parser.feed(text)
        parser.finish()
        visible = "".join(parser.visible)
    return len(visible.encode("utf-16-le")) // 2
