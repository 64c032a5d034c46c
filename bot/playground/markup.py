"""Messages as the page shows them: Telegram's HTML made safe for a browser, and buttons.

Whatever the bot sends is re-written here, tag by tag, into the few tags Telegram knows,
with every text escaped and links limited to http(s) and tg: addresses, so a message can
never run script in the page. Plain links in a text become links, as Telegram's apps make
them.
"""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser
from typing import Any

from bot.playground.world import SentMessage

# Telegram's HTML tags and what the page writes for each.
_TAGS = {
    "b": "b", "strong": "b", "i": "i", "em": "i", "u": "u", "ins": "u",
    "s": "s", "strike": "s", "del": "s", "code": "code", "pre": "pre",
    "blockquote": "blockquote", "span": "span", "tg-spoiler": "span", "tg-emoji": "span",
    "a": "a",
}  # fmt: skip
_SAFE_LINK = re.compile(r"^(https?://|tg://)", re.IGNORECASE)
# A bare link inside a text, as Telegram's apps find them.
_BARE_LINK = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)]")


def _linkify(text: str) -> str:
    """Escape `text`, turning each bare http(s) link into a link."""
    out: list[str] = []
    last = 0
    for found in _BARE_LINK.finditer(text):
        out.append(escape(text[last : found.start()]))
        url = escape(found.group(0))
        out.append(f'<a href="{url}">{url}</a>')
        last = found.end()
    out.append(escape(text[last:]))
    return "".join(out)


class _Rewriter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.stack: list[str] = []
        self.in_link = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        written = _TAGS.get(tag)
        if written is None:
            return
        self.stack.append(written)
        if written == "a":
            self.in_link += 1
            href = dict(attrs).get("href") or ""
            if _SAFE_LINK.match(href):
                self.out.append(f'<a href="{escape(href)}">')
            else:
                self.out.append("<a>")
        elif tag == "tg-spoiler" or (tag == "span" and dict(attrs).get("class") == "tg-spoiler"):
            self.out.append('<span class="spoiler">')
        else:
            self.out.append(f"<{written}>")

    def handle_endtag(self, tag: str) -> None:
        written = _TAGS.get(tag)
        if written is None or written not in self.stack:
            return
        # Close whatever was left open inside it, so the page's markup stays nested.
        while self.stack:
            closing = self.stack.pop()
            if closing == "a":
                self.in_link -= 1
            self.out.append(f"</{closing}>")
            if closing == written:
                break

    def handle_data(self, data: str) -> None:
        self.out.append(escape(data) if self.in_link else _linkify(data))

    def finish(self) -> str:
        self.close()
        self.out.extend(f"</{tag}>" for tag in reversed(self.stack))
        return "".join(self.out)


def page_html(text: str, parse_mode: str | None) -> str:
    """The message's text as safe HTML for the page; line breaks stay as they are."""
    if (parse_mode or "").upper() != "HTML":
        return _linkify(text)
    rewriter = _Rewriter()
    rewriter.feed(text)
    return rewriter.finish()


def _button(button: dict[str, Any]) -> dict[str, str]:
    if "callback_data" in button:
        return {"text": str(button["text"]), "data": str(button["callback_data"])}
    if "url" in button:
        return {"text": str(button["text"]), "url": str(button["url"])}
    # Kinds the page cannot act on (inline queries, games) are shown, not tappable.
    return {"text": str(button["text"])}


def message_view(message: SentMessage) -> dict[str, Any]:
    """What the page needs to draw one message (and nothing of Telegram's internals)."""
    raw = message.raw
    sender = raw.get("from") or {}
    view: dict[str, Any] = {
        "chat_id": message.chat_id,
        "message_id": message.message_id,
        "from_bot": message.from_bot,
        "sender": str(sender.get("first_name", "")),
        "sender_id": sender.get("id"),
        "html": page_html(message.text, message.parse_mode),
        "buttons": [
            [_button(b) for b in row]
            for row in (message.reply_markup or {}).get("inline_keyboard", [])
        ],
        "edited": message.edits > 0,
        "deleted": message.deleted,
        "photo": "photo" in raw,
        "document": raw["document"].get("file_name") if "document" in raw else None,
        "silent": message.disable_notification,
    }
    replied = raw.get("reply_to_message")
    if isinstance(replied, dict):
        view["reply_to"] = {
            "sender": str((replied.get("from") or {}).get("first_name", "")),
            "text": str(replied.get("text") or replied.get("caption") or "")[:80],
        }
    return view
