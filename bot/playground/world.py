"""Telegram's side of the conversation: chats, messages, and the answers to each method."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.playground.limits import refusal as over_limits

BOT_ID = 7000001
BOT_USERNAME = "pairstretch_test_bot"
BOT_USER = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": "Pairstretch",
    "username": BOT_USERNAME,
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}

# Methods that only say "done" when they succeed.
_TRUE_METHODS = {
    "setMyCommands",
    "deleteMyCommands",
    "deleteWebhook",
    "setWebhook",
    "sendChatAction",
    "deleteMessage",
    "answerCallbackQuery",
    "close",
    "logOut",
}
# How long a bot may delete its own message in a private chat (Bot API, deleteMessage).
DELETE_WINDOW = 48 * 3600
# The key under which an upload's files reach `World.answer` (never a Bot API parameter).
FILES = "_files"
# Methods that send a file: the message keeps its bytes under `SentMessage.file`.
_MEDIA_METHODS = {"sendPhoto": "photo", "sendDocument": "document"}
# Methods whose `chat_id` names the chat that would receive something.
_CHAT_METHODS = {
    "sendMessage",
    "sendPhoto",
    "sendDocument",
    "editMessageText",
    "editMessageReplyMarkup",
    "deleteMessage",
    "sendChatAction",
    "sendLocation",
    "getChat",
}


@dataclass
class Call:
    """One request the bot made, as it made it."""

    method: str
    params: dict[str, Any]
    at: float


@dataclass
class SentMessage:
    """A message as its chat sees it now (after any edits)."""

    chat_id: int
    message_id: int
    text: str
    reply_markup: dict[str, Any] | None
    date: int
    from_bot: bool
    disable_notification: bool = False
    # How the text is to be read ("HTML" here, since the bot's defaults say so).
    parse_mode: str | None = None
    edits: int = 0
    # Every text the message showed, from its send through each edit Telegram took.
    history: list[str] = field(default_factory=list)
    deleted: bool = False
    raw: dict[str, Any] = field(default_factory=dict)
    # A photo's or document's bytes and file name, as uploaded.
    file: bytes | None = None
    file_name: str | None = None

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """Every inline button as (label, callback_data or url), row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [
            (b["text"], b.get("callback_data") or b.get("url") or b.get("switch_inline_query", ""))
            for row in rows
            for b in row
        ]

    def button(self, label_part: str) -> str:
        """The callback data (or url) of the one button whose label contains `label_part`."""
        found = [data for label, data in self.buttons if label_part.lower() in label.lower()]
        if len(found) != 1:
            raise AssertionError(f"{len(found)} buttons match {label_part!r} in {self.buttons}")
        return found[0]

    def tap(self, query_id: str, user: dict[str, Any], data: str) -> dict[str, Any]:
        """The callback query Telegram sends when `user` taps a button carrying `data` here."""
        return {
            "id": query_id,
            "from": user,
            "chat_instance": f"ci{self.chat_id}",
            "message": self.raw,
            "data": data,
        }


@dataclass
class Failure:
    """A planned failure: the next `times` calls of `method` (to `chat_id`, if given)."""

    method: str
    # forbidden | blocked | retry_after | not_modified | chat_not_found | timeout |
    # server_error (HTTP 500) | dropped (the connection closes without an answer) |
    # cannot_delete (deleteMessage refused with a 400)
    kind: str
    chat_id: int | None = None
    times: int = 1
    retry_after: int = 1


# The calls that carry something to a person: what seeded faults hit by default.
# Start-up calls and getUpdates are left alone: PTB retries those by itself.
PHONE_METHODS = frozenset(
    {"sendMessage", "editMessageText", "editMessageReplyMarkup", "answerCallbackQuery"}
)


@dataclass(frozen=True)
class FaultPlan:
    """A fraction of calls fails, reproducibly: the same seed fails the same calls.

    Whether a call fails depends only on the seed, the method, whom it is for and how
    many calls of that method went to them before, never on how the calls of different
    chats interleave, so a run with many sessions at once fails the same calls each time.
    """

    rate: float
    seed: int
    kinds: tuple[str, ...] = ("server_error", "timeout", "dropped")
    methods: frozenset[str] = PHONE_METHODS

    def strike(self, method: str, target: object, nth: int) -> str | None:
        """The failure for the `nth` call of `method` to `target`, or None."""
        if method not in self.methods:
            return None
        draw = random.Random(f"{self.seed}:{method}:{target}:{nth}")
        if draw.random() >= self.rate:
            return None
        return draw.choice(self.kinds)


class TimeoutRequested(Exception):
    """The door should behave as if Telegram never answered."""


class ConnectionDropped(Exception):
    """The door should close the connection without answering, as a broken link does."""


class World:
    """Chats, messages and planned failures, shared by both doors."""

    def __init__(
        self, clock: Callable[[], float] = time.time, *, bot_user: dict[str, Any] | None = None
    ) -> None:
        self.clock = clock
        # Who the bot is (getMe); the playground names its own bot.
        self.bot_user = bot_user or BOT_USER
        self.calls: list[Call] = []
        self.messages: dict[int, list[SentMessage]] = {}
        self.chats: dict[int, dict[str, Any]] = {}
        # Private chats the user has opened; the bot cannot write first to anyone else.
        self.opened: set[int] = set()
        self.blocked: set[int] = set()
        self.failures: list[Failure] = []
        self.faults: FaultPlan | None = None
        # Calls a fault plan failed, with the kind of failure: for reports.
        self.struck: list[tuple[Call, str]] = []
        self._calls_to: dict[tuple[str, object], int] = {}
        self._next_id: dict[int, int] = {}

    # -- the people and chats of a test -------------------------------------------------
    def add_private_chat(self, user: dict[str, Any]) -> dict[str, Any]:
        chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        if user.get("username"):
            chat["username"] = user["username"]
        self.chats[user["id"]] = chat
        return chat

    def add_group(self, chat_id: int, title: str) -> dict[str, Any]:
        chat = {"id": chat_id, "type": "supergroup", "title": title}
        self.chats[chat_id] = chat
        return chat

    def next_message_id(self, chat_id: int) -> int:
        self._next_id[chat_id] = self._next_id.get(chat_id, 0) + 1
        return self._next_id[chat_id]

    def record_user_message(self, message: dict[str, Any]) -> None:
        chat_id = message["chat"]["id"]
        if message["chat"]["type"] == "private":
            self.opened.add(chat_id)
        self.messages.setdefault(chat_id, []).append(
            SentMessage(
                chat_id=chat_id,
                message_id=message["message_id"],
                text=message.get("text", ""),
                reply_markup=None,
                date=message["date"],
                from_bot=False,
                raw=message,
            )
        )

    # -- failures ------------------------------------------------------------------------
    def fail(
        self,
        method: str,
        kind: str,
        *,
        chat_id: int | None = None,
        times: int = 1,
        retry_after: int = 1,
    ) -> None:
        self.failures.append(Failure(method, kind, chat_id, times, retry_after))

    def _seeded_failure(self, call: Call) -> Failure | None:
        if self.faults is None:
            return None
        target = call.params.get("chat_id", call.params.get("callback_query_id"))
        nth = self._calls_to.get((call.method, target), 0)
        self._calls_to[(call.method, target)] = nth + 1
        kind = self.faults.strike(call.method, target, nth)
        if kind is None:
            return None
        self.struck.append((call, kind))
        return Failure(call.method, kind)

    def _planned_failure(self, method: str, params: dict[str, Any]) -> Failure | None:
        chat_id = params.get("chat_id")
        for failure in self.failures:
            if failure.method == method and failure.chat_id in (None, chat_id):
                failure.times -= 1
                if failure.times <= 0:
                    self.failures.remove(failure)
                return failure
        return None

    # -- answering -----------------------------------------------------------------------
    def answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Telegram's answer to one call: an HTTP status and the JSON body."""
        call = Call(method, dict(params), self.clock())
        self.calls.append(call)
        failure = self._planned_failure(method, params) or self._seeded_failure(call)
        if failure is not None:
            return self._failure_answer(failure)
        if method in _CHAT_METHODS and "chat_id" in params:
            refusal = self._refusal_for_chat(int(params["chat_id"]))
            if refusal is not None:
                return refusal
        too_much = over_limits(method, params)
        if too_much is not None:
            return _error(400, too_much)
        if method == "getMe":
            return _ok(self.bot_user)
        if method == "getUpdates":
            return _ok([])
        if method == "sendMessage":
            return _ok(self._send(params))
        if method in _MEDIA_METHODS:
            return _ok(self._send_file(_MEDIA_METHODS[method], params))
        if method in ("editMessageText", "editMessageReplyMarkup"):
            return self._edit(method, params)
        if method == "deleteMessage":
            return self._delete(params)
        if method == "getChat":
            # getChat answers a ChatFullInfo, which always carries these two fields.
            full = {"accent_color_id": 0, "max_reaction_count": 11}
            return _ok({**full, **self.chats[int(params["chat_id"])]})
        if method in _TRUE_METHODS:
            return _ok(True)
        return _error(404, f"Not Found: method {method} is not served by the fake Bot API")

    def _refusal_for_chat(self, chat_id: int) -> tuple[int, dict[str, Any]] | None:
        if chat_id in self.blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        if chat_id > 0 and chat_id not in self.opened:
            return _error(403, "Forbidden: bot can't initiate conversation with a user")
        if chat_id < 0 and chat_id not in self.chats:
            return _error(400, "Bad Request: chat not found")
        return None

    def _failure_answer(self, failure: Failure) -> tuple[int, dict[str, Any]]:
        if failure.kind == "timeout":
            raise TimeoutRequested
        if failure.kind == "dropped":
            raise ConnectionDropped
        if failure.kind == "server_error":
            return _error(500, "Internal Server Error")
        if failure.kind == "forbidden":
            return _error(403, "Forbidden: bot was blocked by the user")
        if failure.kind == "retry_after":
            body = _error(429, f"Too Many Requests: retry after {failure.retry_after}")[1]
            body["parameters"] = {"retry_after": failure.retry_after}
            return 429, body
        if failure.kind == "not_modified":
            return _error(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        if failure.kind == "cannot_delete":
            return _error(400, "Bad Request: message can't be deleted for everyone")
        if failure.kind == "chat_not_found":
            return _error(400, "Bad Request: chat not found")
        raise ValueError(f"unknown failure kind {failure.kind}")

    def _send(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        chat = self.chats.get(chat_id) or {"id": chat_id, "type": "private", "first_name": "?"}
        message_id = self.next_message_id(chat_id)
        raw: dict[str, Any] = {
            "message_id": message_id,
            "date": int(self.clock()),
            "chat": chat,
            "from": self.bot_user,
            "text": params.get("text", ""),
        }
        if params.get("reply_markup"):
            raw["reply_markup"] = params["reply_markup"]
        self.messages.setdefault(chat_id, []).append(
            SentMessage(
                chat_id=chat_id,
                message_id=message_id,
                text=raw["text"],
                reply_markup=params.get("reply_markup"),
                date=raw["date"],
                from_bot=True,
                disable_notification=bool(params.get("disable_notification")),
                parse_mode=params.get("parse_mode"),
                history=[raw["text"]],
                raw=raw,
            )
        )
        return raw

    def _send_file(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        """A photo or document message; its caption reads as the message's text."""
        files = params.pop(FILES, {})
        if not files:
            raise ValueError(f"{kind} without an uploaded file: the fake serves uploads only")
        [(file_name, content, _mime)] = files.values()
        raw = self._send({**params, "text": params.get("caption", "")})
        message = self.messages[raw["chat"]["id"]][-1]
        message.file, message.file_name = bytes(content), file_name
        if kind == "photo":
            raw["photo"] = [
                {
                    "file_id": f"photo{raw['message_id']}",
                    "file_unique_id": "p",
                    "width": 1,
                    "height": 1,
                }
            ]
        else:
            raw["document"] = {
                "file_id": f"doc{raw['message_id']}",
                "file_unique_id": "d",
                "file_name": file_name,
            }
        caption = raw.pop("text")
        if caption:
            raw["caption"] = caption
        return raw

    def _find(self, chat_id: int, message_id: int) -> SentMessage:
        for message in self.messages.get(chat_id, []):
            if message.message_id == message_id:
                return message
        raise LookupError(message_id)

    def _delete(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Telegram's rules: a bot deletes its own message in a private chat only for
        48 hours; a message already gone is not found."""
        try:
            message = self._find(int(params["chat_id"]), int(params["message_id"]))
        except LookupError:
            return _error(400, "Bad Request: message to delete not found")
        if message.deleted:
            return _error(400, "Bad Request: message to delete not found")
        if self.clock() - message.date > DELETE_WINDOW:
            return _error(400, "Bad Request: message can't be deleted for everyone")
        message.deleted = True
        return _ok(True)

    def _edit(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        try:
            message = self._find(int(params["chat_id"]), int(params["message_id"]))
        except LookupError:
            return _error(400, "Bad Request: message to edit not found")
        if message.deleted:
            return _error(400, "Bad Request: message to edit not found")
        new_text = (
            params.get("text", message.text) if method == "editMessageText" else message.text
        )
        new_markup = params.get("reply_markup")
        if new_text == message.text and new_markup == message.reply_markup:
            return self._failure_answer(Failure(method, "not_modified"))
        message.text, message.reply_markup = new_text, new_markup
        if method == "editMessageText":
            message.parse_mode = params.get("parse_mode")
        message.edits += 1
        message.history.append(new_text)
        message.raw = {**message.raw, "text": new_text, "edit_date": int(self.clock())}
        if new_markup:
            message.raw["reply_markup"] = new_markup
        else:
            message.raw.pop("reply_markup", None)
        return _ok(message.raw)

    # -- reading back --------------------------------------------------------------------
    def bot_messages(self, chat_id: int) -> list[SentMessage]:
        return [m for m in self.messages.get(chat_id, []) if m.from_bot]

    def calls_of(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]


def _ok(result: Any) -> tuple[int, dict[str, Any]]:
    return 200, {"ok": True, "result": result}


def _error(code: int, description: str) -> tuple[int, dict[str, Any]]:
    return code, {"ok": False, "error_code": code, "description": description}
