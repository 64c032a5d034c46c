"""What Telegram refuses with a 400 whatever the chat: texts and buttons over its limits.

Written apart from the bot's own `bot/render/limits.py` (with the standard library's
HTML parser), so a test that passes here does not just agree with itself.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

MESSAGE_TEXT = 4096
CAPTION = 1024
CALLBACK_ANSWER = 200
CALLBACK_DATA_BYTES = 64

# The tags Telegram's HTML parse mode understands.
_TAGS = {
    "a", "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span",
    "tg-spoiler", "tg-emoji", "code", "pre", "blockquote",
}  # fmt: skip


class EntityError(ValueError):
    """Markup Telegram could not parse."""


class _Visible(HTMLParser):
    """The text a phone shows for an HTML message, checking tags the way Telegram does."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _TAGS:
            raise EntityError(f'unsupported start tag "{tag}"')
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            raise EntityError(f'unexpected end tag "{tag}"')
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def visible_text(text: str, parse_mode: str | None) -> str:
    """The text after entity parsing; raises EntityError for markup Telegram rejects."""
    if (parse_mode or "").upper() != "HTML":
        return text
    parser = _Visible()
    parser.feed(text)
    parser.close()
    if parser.open:
        raise EntityError(f'can\'t find end tag corresponding to start tag "{parser.open[-1]}"')
    return "".join(parser.parts)


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def refusal(method: str, params: dict[str, Any]) -> str | None:
    """Telegram's description of why it refuses this call, or None if it is within limits."""
    if method in ("sendMessage", "editMessageText"):
        try:
            shown = visible_text(str(params.get("text", "")), params.get("parse_mode"))
        except EntityError as error:
            return f"Bad Request: can't parse entities: {error}"
        if not shown.strip():
            return "Bad Request: message text is empty"
        if utf16_length(shown) > MESSAGE_TEXT:
            return "Bad Request: message is too long"
    if "caption" in params:
        try:
            shown = visible_text(str(params["caption"]), params.get("parse_mode"))
        except EntityError as error:
            return f"Bad Request: can't parse entities: {error}"
        if utf16_length(shown) > CAPTION:
            return "Bad Request: message caption is too long"
    answer = params.get("text") or "" if method == "answerCallbackQuery" else ""
    if utf16_length(answer) > CALLBACK_ANSWER:
        return "Bad Request: MESSAGE_TOO_LONG"
    markup = params.get("reply_markup")
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    for row in rows:
        for button in row:
            data = button.get("callback_data")
            if data is not None and len(str(data).encode()) > CALLBACK_DATA_BYTES:
                return "Bad Request: BUTTON_DATA_INVALID"
    return None
