"""Telegram's size limits, and the one way we shorten a text to fit one.

Telegram counts a message's length after entity parsing (tags count nothing, `&amp;`
counts one) in UTF-16 code units, and refuses anything longer with a 400: the person
then gets nothing at all. Text a user typed is the only unbounded part of what we send,
so it is cut with `echo` wherever it is repeated back.
"""

from __future__ import annotations

import re
from html import escape, unescape

MESSAGE_TEXT = 4096  # a message's text, after entity parsing
CAPTION = 1024  # a photo's or document's caption, after entity parsing
CALLBACK_ANSWER = 200  # the toast or alert answering a button tap (plain text)
ECHO = 64  # how much of something a user typed we repeat back to them

ELLIPSIS = "…"

# One tag, one character reference, or one character: the units a cut may not split.
_TOKEN = re.compile(r"<[^<>]*>|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);|.", re.S)
_TAG_NAME = re.compile(r"</?\s*([A-Za-z][A-Za-z0-9-]*)")


def length(html: str) -> int:
    """The length Telegram measures: visible characters, in UTF-16 code units."""
    return _units(plain(html))


def plain(html: str) -> str:
    """What the phone shows for `html`: the tags gone and every escape resolved."""
    return unescape(re.sub(r"<[^<>]*>", "", html))


def shorten(html: str, limit: int) -> str:
    """`html` cut to at most `limit` visible characters, ending with … when it was cut.

    Safe on text that is escaped or marked up: an escape such as `&amp;` is kept or
    dropped whole, a tag is never split, and tags the cut leaves open are closed again.
    """
    if length(html) <= limit:
        return html
    budget = limit - _units(ELLIPSIS)
    kept: list[str] = []
    still_open: list[str] = []
    used = 0
    for token in _TOKEN.findall(html):
        if token.startswith("<") and len(token) > 1:
            _follow(token, still_open)
            kept.append(token)
            continue
        size = _units(unescape(token))
        if used + size > budget:
            break
        kept.append(token)
        used += size
    kept.append(ELLIPSIS)
    kept.extend(f"</{name}>" for name in reversed(still_open))
    return "".join(kept)


def echo(typed: str, limit: int = ECHO) -> str:
    """Something a user typed, escaped for HTML and cut so it cannot overflow a message."""
    return shorten(escape(typed), limit)


def toast(html: str) -> str:
    """The plain text of an answer to a button tap, within Telegram's 200 characters."""
    return plain(shorten(html, CALLBACK_ANSWER))


def _follow(tag: str, still_open: list[str]) -> None:
    """Keep track of which tags are open at this point of the text."""
    found = _TAG_NAME.match(tag)
    if found is None or tag.endswith("/>"):
        return
    name = found[1].lower()
    if not tag.startswith("</"):
        still_open.append(name)
    elif name in still_open:
        del still_open[len(still_open) - 1 - still_open[::-1].index(name)]


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
