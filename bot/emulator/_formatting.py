"""Text formatting as the Bot API applies it: ``parse_mode`` → plain text + entities.

Telegram never stores markup: it parses HTML / MarkdownV2 / Markdown into plain text plus
``MessageEntity`` objects (offsets in UTF-16 code units) and rejects malformed input with
``400 Bad Request: can't parse entities: ...``. Emulating that matters for a test double because
unescaped user input inside an HTML or MarkdownV2 template is one of the most common ways a
bot breaks in production, and the real API is the only thing that would otherwise catch it.

The parsers are deliberately approximate (they accept a little more than Telegram does), but the
error classes that bots hit in practice are reported with Telegram's wording.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

JSON = dict[str, Any]

_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "*": "Bold",
    "_": "Italic",
    "__": "Underline",
    "~": "Strikethrough",
    "||": "Spoiler",
    "[": "TextUrl",
}
_MDV2_TYPES = {"*": "bold", "_": "italic", "__": "underline", "~": "strikethrough", "||": "spoiler"}

_HTML_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


class ParseError(ValueError):
    """Malformed formatted text; ``str(err)`` is the part after ``can't parse entities:``."""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of all Bot API entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    # Telegram reports parse errors as UTF-8 byte offsets into the original string.
    return len(text[:index].encode("utf-8"))


def render(text: str, parse_mode: str | None) -> tuple[str, list[JSON]]:
    """Apply ``parse_mode`` to ``text``.

    Args:
        text: The text exactly as the bot sent it.
        parse_mode: ``HTML``, ``MarkdownV2``, ``Markdown`` (case-insensitive) or ``None``.

    Returns:
        The visible text and its entities sorted like Telegram sorts them.

    Raises:
        ParseError: The text is not valid for the parse mode.
    """
    mode = (parse_mode or "").lower()
    if not mode:
        return text, []
    if mode == "html":
        plain, entities = _parse_html(text)
    elif mode == "markdownv2":
        plain, entities = _Markdown(text, v2=True).parse()
    elif mode == "markdown":
        plain, entities = _Markdown(text, v2=False).parse()
    else:
        raise ParseError(f"unsupported parse_mode {parse_mode!r}")
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return plain, entities


class _HtmlParser(HTMLParser):
    """Telegram's HTML subset; anything else is reported the way the Bot API does."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.parts: list[str] = []
        self.pos16 = 0
        self.stack: list[tuple[str, int, dict[str, str | None], int]] = []
        self.entities: list[JSON] = []
        self.error: str | None = None
        self._line_starts = [0]
        for i, ch in enumerate(source):
            if ch == "\n":
                self._line_starts.append(i + 1)

    def _here(self) -> int:
        line, col = self.getpos()
        return _byte_offset(self.source, self._line_starts[line - 1] + col)

    def _fail(self, message: str) -> None:
        if self.error is None:
            self.error = message

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr_map = dict(attrs)
        if tag not in _HTML_TYPES or (tag == "span" and attr_map.get("class") != "tg-spoiler"):
            self._fail(f'Unsupported start tag "{tag}" at byte offset {self._here()}')
            return
        self.stack.append((tag, self.pos16, attr_map, self._here()))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # Self-closing tags such as <br/> do not exist in Telegram's HTML.
        self._fail(f'Unsupported start tag "{tag}" at byte offset {self._here()}')

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            self._fail(f"Unexpected end tag at byte offset {self._here()}")
            return
        open_tag, start, attrs, _ = self.stack.pop()
        if open_tag != tag:
            self._fail(f'Unmatched end tag at byte offset {self._here()}, expected "</{open_tag}>", found "</{tag}>"')
            return
        length = self.pos16 - start
        if length == 0:
            return  # Telegram silently drops empty entities.
        entity: JSON = {"type": _HTML_TYPES[tag], "offset": start, "length": length}
        if tag == "a":
            entity["url"] = attrs.get("href") or ""
        elif tag == "tg-emoji":
            entity["custom_emoji_id"] = attrs.get("emoji-id") or ""
        elif tag == "blockquote" and "expandable" in attrs:
            entity["type"] = "expandable_blockquote"
        elif tag == "code" and self.stack and self.stack[-1][0] == "pre":
            # <pre><code class="language-x"> is one pre entity with a language, not two entities.
            language = (attrs.get("class") or "").removeprefix("language-")
            pre_tag, pre_start, pre_attrs, pre_at = self.stack[-1]
            self.stack[-1] = (pre_tag, pre_start, {**pre_attrs, "_language": language}, pre_at)
            return
        elif tag == "pre" and attrs.get("_language"):
            entity["language"] = attrs["_language"]
        self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        self.pos16 += utf16_len(data)


def _parse_html(text: str) -> tuple[str, list[JSON]]:
    parser = _HtmlParser(text)
    parser.feed(text)
    parser.close()
    if parser.error is None and parser.stack:
        tag, _, _, at = parser.stack[-1]
        parser.error = f'Can\'t find end tag corresponding to start tag "{tag}" at byte offset {at}'
    if parser.error is not None:
        raise ParseError(parser.error)
    return "".join(parser.parts), parser.entities


class _Markdown:
    """MarkdownV2 (strict escaping) and legacy Markdown (lenient) parser."""

    def __init__(self, text: str, *, v2: bool) -> None:
        self.text = text
        self.v2 = v2
        self.out: list[str] = []
        self.pos16 = 0
        self.entities: list[JSON] = []
        # Open entities: (marker, utf-16 start, index in the source).
        self.stack: list[tuple[str, int, int]] = []

    def _emit(self, chunk: str) -> None:
        self.out.append(chunk)
        self.pos16 += utf16_len(chunk)

    def _close(self, marker: str, start16: int, url: str | None = None) -> None:
        length = self.pos16 - start16
        if length == 0:
            return
        entity: JSON = {"type": "text_link" if url is not None else _MDV2_TYPES[marker]}
        entity.update(offset=start16, length=length)
        if url is not None:
            entity["url"] = url
        self.entities.append(entity)

    def _reserved(self, index: int) -> ParseError:
        ch = self.text[index]
        return ParseError(f"Character '{ch}' is reserved and must be escaped with the preceding '\\'")

    def _unclosed(self, marker: str, index: int) -> ParseError:
        at = _byte_offset(self.text, index)
        if self.v2:
            return ParseError(f"Can't find end of {_MDV2_NAMES.get(marker, 'Code')} entity at byte offset {at}")
        return ParseError(f"Can't find end of the entity starting at byte offset {at}")

    def _find_unescaped(self, needle: str, start: int) -> int:
        i = start
        while i < len(self.text):
            if self.text[i] == "\\" and self.v2:
                i += 2
                continue
            if self.text.startswith(needle, i):
                return i
            i += 1
        return -1

    def _unescape(self, chunk: str) -> str:
        if not self.v2:
            return chunk
        out: list[str] = []
        i = 0
        while i < len(chunk):
            if chunk[i] == "\\" and i + 1 < len(chunk):
                i += 1
            out.append(chunk[i])
            i += 1
        return "".join(out)

    def _code(self, i: int) -> int:
        text = self.text
        if text.startswith("```", i):
            end = self._find_unescaped("```", i + 3)
            if end < 0:
                raise self._unclosed("```", i)
            body = text[i + 3 : end]
            language = ""
            first, sep, rest = body.partition("\n")
            if sep and first and " " not in first:
                language, body = first, rest
            start = self.pos16
            self._emit(self._unescape(body))
            if self.pos16 > start:
                entity: JSON = {"type": "pre", "offset": start, "length": self.pos16 - start}
                if language:
                    entity["language"] = language
                self.entities.append(entity)
            return end + 3
        end = self._find_unescaped("`", i + 1)
        if end < 0:
            raise self._unclosed("`", i)
        start = self.pos16
        self._emit(self._unescape(text[i + 1 : end]))
        if self.pos16 > start:
            self.entities.append({"type": "code", "offset": start, "length": self.pos16 - start})
        return end + 1

    def _link_end(self, i: int) -> int:
        """Close ``[text](url)``; ``i`` points at ``]``. Returns the index after ``)``."""
        text = self.text
        if not text.startswith("(", i + 1):
            if self.v2:
                raise self._reserved(i)
            return -1
        end = self._find_unescaped(")", i + 2)
        if end < 0:
            raise self._unclosed("[", i)
        _, start16, _ = self.stack.pop()
        self._close("[", start16, url=self._unescape(text[i + 2 : end]))
        return end + 1

    def _toggle(self, marker: str, i: int) -> None:
        if self.stack and self.stack[-1][0] == marker:
            _, start16, _ = self.stack.pop()
            self._close(marker, start16)
        elif not self.v2 and self.stack:
            # Legacy Markdown cannot nest entities: a marker inside another entity is literal.
            self._emit(marker)
        else:
            self.stack.append((marker, self.pos16, i))

    def parse(self) -> tuple[str, list[JSON]]:
        text = self.text
        i = 0
        at_line_start = True
        while i < len(text):
            ch = text[i]
            line_start, at_line_start = at_line_start, ch == "\n"
            if ch == "\\" and i + 1 < len(text) and (self.v2 or text[i + 1] in "_*`["):
                self._emit(text[i + 1])
                i += 2
            elif ch == "`":
                i = self._code(i)
            elif ch == "[":
                self.stack.append(("[", self.pos16, i))
                i += 1
            elif ch == "]" and self.stack and self.stack[-1][0] == "[":
                after = self._link_end(i)
                if after < 0:
                    self._emit(ch)
                    i += 1
                else:
                    i = after
            elif ch == "*" or (ch == "_" and not (self.v2 and text.startswith("__", i))):
                self._toggle(ch, i)
                i += 1
            elif self.v2 and ch == "_":
                self._toggle("__", i)
                i += 2
            elif self.v2 and ch == "~":
                self._toggle("~", i)
                i += 1
            elif self.v2 and text.startswith("||", i):
                self._toggle("||", i)
                i += 2
            elif self.v2 and ch == ">" and line_start:
                i += 1  # Block quote marker: the quote itself is not modelled as an entity.
            elif self.v2 and ch in _MDV2_RESERVED:
                raise self._reserved(i)
            else:
                self._emit(ch)
                i += 1
        if self.stack:
            marker, _, index = self.stack[-1]
            raise self._unclosed(marker, index)
        return "".join(self.out), self.entities
