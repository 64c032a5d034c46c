"""Telegram's Bot API over real HTTP, for the real `python -m bot` process.

The process is pointed here with `TELEGRAM_API_BASE_URL`; every method but `getUpdates`
is answered by the same `World` the in-process fake uses. `getUpdates` long-polls a
queue of updates that a test (or the playground's page) pushes, as Telegram would: a
request is held until an update arrives or its `timeout` runs out, and `offset`
confirms what was delivered.

Once the bot calls `setWebhook`, the double delivers the same queue as Telegram does in
webhook mode: it posts each update, in order, to the bot's listener with the secret in
the `X-Telegram-Bot-Api-Secret-Token` header, keeps it until a post is answered 200,
and refuses `getUpdates` with 409. The test says where the listener is
(`deliver_webhooks_to`): the URL the bot registered names the public side of a proxy.

Whoever watches the chats (the playground's page) reads `changes_after`: every message
sent, edited or deleted and every answer to a tap, in order. Uploads (photos, documents)
keep their bytes, as the in-process fake keeps them.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, replace
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.playground.people import Group, Person
from bot.playground.world import (
    FILES,
    ConnectionDropped,
    SentMessage,
    TimeoutRequested,
    World,
)

# Parameters that are text even when they look like JSON ("123", "true"): PTB sends
# strings as they are and JSON-encodes everything else.
_TEXT_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_query_id",
        "url",
        "title",
        "description",
        "short_description",
        "name",
        "query",
        "emoji",
        "language_code",
        "secret_token",
        "business_connection_id",
    }
)
# An optional first segment names the caller (`/worker-a/bot<token>/sendMessage`): a
# process given that base URL is told apart from another on the same double.
_PATH = re.compile(r"^(?:/(?P<via>[A-Za-z0-9_-]+))?/bot(?P<token>[^/]+)/(?P<method>[A-Za-z]+)$")
# Telegram never holds a poll longer than this, whatever the client asks for.
_MAX_POLL_SECONDS = 50.0
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Between tries of a webhook post that was not answered 200.
_REDELIVERY_SECONDS = 0.2


def decode_params(raw: dict[str, str]) -> dict[str, Any]:
    """PTB's form values back into Python: nested params and scalars are JSON-encoded."""
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _TEXT_PARAMS:
            params[key] = value
            continue
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params


def _multipart_fields(
    content_type: str, body: bytes
) -> tuple[dict[str, str], dict[str, tuple[str, bytes, str]]]:
    """The text fields, and the uploaded files as (file name, bytes, mime type) by field."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    assert isinstance(message, EmailMessage)
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes, str]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            continue
        file_name = part.get_filename()
        if file_name is not None:
            files[name] = (file_name, payload, part.get_content_type())
        else:
            fields[name] = payload.decode("utf-8")
    return fields, files


@dataclass(frozen=True)
class TapAnswer:
    """The bot's answer to a tap: a toast, or an alert the person must dismiss."""

    person_id: int
    text: str
    show_alert: bool


@dataclass(frozen=True)
class Change:
    """What a chat shows differently since the last change: one message as it is now
    (new, edited or deleted), or an answer to a tap made in that chat."""

    seq: int
    chat_id: int
    message: SentMessage | None = None
    answer: TapAnswer | None = None


class BotApiDouble:
    """A Bot API server on 127.0.0.1 in a background thread, answering from a `World`."""

    def __init__(
        self, world: World | None = None, *, token: str | None = None, no_delay: bool = False
    ) -> None:
        self.world = world or World()
        # Answer without Nagle's delay (see the handler), as a real server would.
        self.no_delay = no_delay
        # When set, a request for another token is refused as Telegram does (401).
        self.token = token
        self._lock = threading.Condition()
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._taps: dict[int, itertools.count[int]] = {}
        self._closing = False
        # Calls held without an answer (see `park`), and whom to hold.
        self._park_methods: frozenset[str] = frozenset()
        self._park_chats: frozenset[int] = frozenset()
        self._parked: list[tuple[str, dict[str, Any]]] = []
        # Who made each parked call: the first segment of its base URL, if any.
        self.parked_via: list[str | None] = []
        # Every call answered, in order: (the caller's segment or None, the method).
        self.calls_via: list[tuple[str | None, str]] = []
        # Told of every call the world answered 200 (a benchmark's stopwatch), lock held.
        self.on_call: Callable[[str | None, str, dict[str, Any]], None] | None = None
        self._parked_dropped = False
        self._parked_released = False
        # Set by a test: every getUpdates is answered with this (status, body) instead.
        self._poll_refusal: tuple[int, dict[str, Any]] | None = None
        self.polls: list[dict[str, Any]] = []
        self.polls_refused = 0
        # Polls waiting right now with nothing to hand out (see `wait_for_held_polls`).
        self._held_polls = 0
        # setWebhook's parameters while a webhook is set; where its posts really go.
        self.webhook: dict[str, Any] | None = None
        self._webhook_target: str | None = None
        # Every webhook post made: (update_id, the HTTP status or 0 for no answer).
        self.webhook_posts: list[tuple[int, int]] = []
        # What the chats show differently, in order, for whoever watches (the page):
        # (chat id, message id, or None and the answer to a tap).
        self._changes: list[tuple[int, int | None, TapAnswer | None]] = []
        # Which chat and person each tap came from, to show the bot's answer there.
        self._tapped: dict[str, tuple[int, int]] = {}
        # False once the watchers are sent away (the page stopping before the bot does).
        self._watching = True
        self._deliverer = threading.Thread(
            target=self._deliver_webhooks, name="webhook-deliverer", daemon=True
        )
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="bot-api-double",
            daemon=True,
        )

    # -- lifecycle -----------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """What the bot takes as TELEGRAM_API_BASE_URL; PTB appends `<token>/<method>`."""
        return f"http://127.0.0.1:{self.port}/bot"

    def start(self) -> BotApiDouble:
        self._thread.start()
        self._deliverer.start()
        return self

    def close(self) -> None:
        with self._lock:
            if self._closing:
                return
            self._closing = True
            self._lock.notify_all()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._deliverer.join(timeout=5)

    def __enter__(self) -> BotApiDouble:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- speaking as a person ------------------------------------------------------------
    def push_message(
        self, person: Person, text: str, chat: Group | None = None, **extra: Any
    ) -> dict[str, Any]:
        """`person` sends `text` in private (or in `chat`); the bot gets it by polling."""
        with self._lock:
            if chat is None:
                chat_dict = self.world.add_private_chat(person.as_user())
            else:
                chat_dict = self.world.chats.get(chat.id) or self.world.add_group(
                    chat.id, chat.title
                )
            message: dict[str, Any] = {
                "message_id": self.world.next_message_id(chat_dict["id"]),
                "date": int(self.world.clock()),
                "chat": chat_dict,
                "from": person.as_user(),
                "text": text,
                **extra,
            }
            if text.startswith("/"):
                command = text.split()[0]
                message["entities"] = [
                    {"type": "bot_command", "offset": 0, "length": len(command)}
                ]
            self.world.record_user_message(message)
            self._changes.append((chat_dict["id"], message["message_id"], None))
            self._updates.append({"update_id": next(self._update_ids), "message": message})
            self._lock.notify_all()
        return message

    def push_tap(self, person: Person, message: SentMessage, label: str) -> str:
        """`person` taps the button labelled `label` under `message`; the tap's id."""
        return self.push_tap_data(person, message, message.button(label))

    def push_tap_data(self, person: Person, message: SentMessage, data: str) -> str:
        """`person` taps a button carrying `data` under `message`; the tap's id."""
        with self._lock:
            # Numbered per person, so seeded faults pick the same answers every run.
            taps = self._taps.setdefault(person.id, itertools.count(1))
            query_id = f"tap-{person.id}-{next(taps)}"
            self._tapped[query_id] = (message.chat_id, person.id)
            self._updates.append(
                {
                    "update_id": next(self._update_ids),
                    "callback_query": message.tap(query_id, person.as_user(), data),
                }
            )
            self._lock.notify_all()
        return query_id

    # -- watching the chats change ---------------------------------------------------------
    def snapshot(self, chat_ids: set[int]) -> tuple[int, list[SentMessage]]:
        """Every message of `chat_ids` as shown now (copies), and the last change counted."""
        with self._lock:
            shown = [
                replace(message)
                for chat_id in sorted(chat_ids)
                for message in self.world.messages.get(chat_id, [])
            ]
            return len(self._changes), shown

    def changes_after(self, seen: int, timeout: float) -> list[Change]:
        """The changes after the first `seen`, waiting up to `timeout` for one to come.

        A message change carries the message as it is when read, not as it was: a page
        that applies the changes in order ends up showing what the chat shows.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._changes) <= seen and not self._closing and self._watching:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._lock.wait(remaining)
            found: list[Change] = []
            for seq, (chat_id, message_id, answer) in enumerate(
                self._changes[seen:], start=seen + 1
            ):
                shown = None if message_id is None else self._message(chat_id, message_id)
                found.append(Change(seq, chat_id, shown, answer))
            return found

    @property
    def watching(self) -> bool:
        """Whether watchers may go on waiting for changes (see `stop_watchers`)."""
        with self._lock:
            return self._watching and not self._closing

    def stop_watchers(self) -> None:
        """End every wait for changes, now and later, while the bot is still served."""
        with self._lock:
            self._watching = False
            self._lock.notify_all()

    def message(self, chat_id: int, message_id: int) -> SentMessage | None:
        """One message as its chat shows it now (a copy), or None if it never existed."""
        with self._lock:
            return self._message(chat_id, message_id)

    def _message(self, chat_id: int, message_id: int) -> SentMessage | None:
        for message in self.world.messages.get(chat_id, []):
            if message.message_id == message_id:
                return replace(message)
        return None

    def _note(self, method: str, params: dict[str, Any], result: Any) -> None:
        # Called with the lock held, after the world carried a call out.
        if isinstance(result, dict) and "message_id" in result and "chat" in result:
            self._changes.append((int(result["chat"]["id"]), int(result["message_id"]), None))
        elif method in ("deleteMessage", "editMessageReplyMarkup", "editMessageText"):
            self._changes.append((int(params["chat_id"]), int(params["message_id"]), None))
        elif method == "answerCallbackQuery" and params.get("text"):
            tapped = self._tapped.get(str(params.get("callback_query_id")))
            if tapped is not None:
                chat_id, person_id = tapped
                shown = TapAnswer(person_id, str(params["text"]), bool(params.get("show_alert")))
                self._changes.append((chat_id, None, shown))

    # -- reading what the phones show ----------------------------------------------------
    def wait_for_message(
        self,
        chat_id: int,
        predicate: Callable[[SentMessage], bool] = lambda _: True,
        timeout: float = 5.0,
    ) -> SentMessage:
        """The first message the bot sent to `chat_id` that satisfies `predicate`."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for message in self.world.bot_messages(chat_id):
                    if predicate(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    texts = [m.text for m in self.world.bot_messages(chat_id)]
                    raise AssertionError(
                        f"no matching message in chat {chat_id} within {timeout}s; got {texts}"
                    )
                self._lock.wait(remaining)

    # -- holding calls, to stop the bot at a chosen moment --------------------------------
    def park(self, method: str, chat_ids: set[int]) -> None:
        """Hold every later call of `method` to `chat_ids`, unanswered and not carried out.

        The bot then waits for Telegram exactly where the test wants it (say, in the
        middle of a step change) until it is killed; `drop_parked` closes the held
        connections without carrying the calls out.
        """
        with self._lock:
            self._park_methods = frozenset({method})
            self._park_chats = frozenset(chat_ids)
            self._parked_dropped = False
            self._parked_released = False

    def wait_for_parked(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The parameters of the first `count` calls held, once that many arrived."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._parked) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{len(self._parked)} calls parked, wanted {count}")
                self._lock.wait(remaining)
            return [params for _, params in self._parked[:count]]

    def drop_parked(self) -> None:
        """Stop holding: the held connections close unanswered, later calls go through."""
        with self._lock:
            self._park_methods = frozenset()
            self._park_chats = frozenset()
            self._parked_dropped = True
            self._lock.notify_all()

    def release_parked(self) -> None:
        """Stop holding: the held calls are carried out and answered, as if merely slow."""
        with self._lock:
            self._park_methods = frozenset()
            self._park_chats = frozenset()
            self._parked_released = True
            self._lock.notify_all()

    def _park_if_asked(self, method: str, params: dict[str, Any], via: str | None) -> None:
        # Called with the lock held; raises ConnectionDropped for a parked call that is
        # dropped, returns for one that is released.
        if method not in self._park_methods or params.get("chat_id") not in self._park_chats:
            return
        self._parked.append((method, params))
        self.parked_via.append(via)
        self._lock.notify_all()
        while not self._parked_dropped and not self._parked_released and not self._closing:
            self._lock.wait()
        if not self._parked_released:
            raise ConnectionDropped

    def messages_of(self, chat_id: int) -> list[SentMessage]:
        """What the bot sent to `chat_id` so far (a copy, safe while the bot keeps sending)."""
        with self._lock:
            return list(self.world.bot_messages(chat_id))

    def push_update(self, payload: dict[str, Any]) -> int:
        """Any update, shaped as the test likes (`update_id` is added); returns its id."""
        with self._lock:
            update_id = next(self._update_ids)
            self._updates.append({"update_id": update_id, **payload})
            self._lock.notify_all()
        return update_id

    def refuse_polls(
        self, status: int, description: str, *, retry_after: int | None = None
    ) -> None:
        """Answer every getUpdates with this error until `accept_polls`."""
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        with self._lock:
            self._poll_refusal = (status, body)
            self.polls_refused = 0
            self._lock.notify_all()

    def accept_polls(self) -> None:
        with self._lock:
            self._poll_refusal = None

    def wait_for_refused_polls(self, count: int, timeout: float = 10.0) -> None:
        """Until the bot has been refused `count` polls since `refuse_polls`."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.polls_refused < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"only {self.polls_refused} polls within {timeout}s")
                self._lock.wait(remaining)

    def wait_for_held_polls(self, count: int, timeout: float = 10.0) -> None:
        """Until `count` polls are held open, waiting for an update to hand out."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._held_polls < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{self._held_polls} polls held, wanted {count}")
                self._lock.wait(remaining)

    def pending_updates(self) -> int:
        """Updates pushed but not yet confirmed by the bot with a later `offset`."""
        with self._lock:
            return len(self._updates)

    # -- webhook mode ----------------------------------------------------------------------
    def deliver_webhooks_to(self, base_url: str) -> None:
        """Post webhook updates to `base_url` (`http://127.0.0.1:8081`) plus the URL's path."""
        with self._lock:
            self._webhook_target = base_url.rstrip("/")
            self._lock.notify_all()

    def webhook_address(self) -> str:
        """Where the registered webhook's posts go, for a test posting by hand."""
        with self._lock:
            assert self.webhook is not None, "the bot has not called setWebhook"
            assert self._webhook_target is not None, "call deliver_webhooks_to first"
            path = urlsplit(str(self.webhook["url"])).path or "/"
            return self._webhook_target + path

    def wait_for_webhook(self, timeout: float = 15.0) -> dict[str, Any]:
        """setWebhook's parameters, once the bot has called it."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.webhook is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no setWebhook within {timeout}s")
                self._lock.wait(remaining)
            return dict(self.webhook)

    def _deliver_webhooks(self) -> None:
        """Telegram's side of webhook mode: post the oldest pending update until a 200."""
        while True:
            with self._lock:
                while not self._closing and not (
                    self.webhook is not None and self._webhook_target and self._updates
                ):
                    self._lock.wait()
                if self._closing:
                    return
                allowed = self.webhook.get("allowed_updates") if self.webhook else None
                if allowed:
                    # As with polling, Telegram keeps only the kinds the bot asked for.
                    self._updates = [u for u in self._updates if _kind(u) in allowed]
                    if not self._updates:
                        continue
                update = self._updates[0]
                url = self.webhook_address()
                secret = self.webhook.get("secret_token") if self.webhook else None
            status = post_json(url, update, secret)
            with self._lock:
                self.webhook_posts.append((update["update_id"], status))
                if status == 200:
                    self._updates = [u for u in self._updates if u is not update]
                self._lock.notify_all()
            if status != 200:
                with self._lock:
                    if not self._closing:
                        self._lock.wait(_REDELIVERY_SECONDS)

    def _webhook_call(self, method: str, params: dict[str, Any]) -> None:
        # Called with the lock held, after the world accepted the call.
        if method.lower() == "setwebhook":
            self.webhook = dict(params)
        elif method.lower() == "deletewebhook":
            self.webhook = None
            if params.get("drop_pending_updates"):
                self._updates.clear()
        self._lock.notify_all()

    # -- answering -----------------------------------------------------------------------
    def answer(
        self, token: str, method: str, params: dict[str, Any], via: str | None = None
    ) -> tuple[int, bytes]:
        if self.token is not None and token != self.token:
            return _json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        # Method names are case-insensitive in the Bot API.
        if method.lower() == "getupdates" and self.webhook is not None:
            conflict = "Conflict: can't use getUpdates method while webhook is active"
            return _json(409, {"ok": False, "error_code": 409, "description": conflict})
        if method.lower() == "getupdates":
            with self._lock:
                self.polls.append(params)
            updates = self._get_updates(params)
            with self._lock:
                # Also a poll that was waiting when the test asked for refusals.
                refusal = self._poll_refusal
                if refusal is not None:
                    self.polls_refused += 1
                    self._lock.notify_all()
            if refusal is not None:
                return _json(*refusal)
            return _json(200, {"ok": True, "result": updates})
        with self._lock:
            self._park_if_asked(method, params, via)
            try:
                status, body = self.world.answer(method, params)
                self.calls_via.append((via, method))
                if status == 200 and self.on_call is not None:
                    self.on_call(via, method, params)
                if status == 200:
                    self._webhook_call(method, params)
                    self._note(method, params, body.get("result"))
            finally:
                self._lock.notify_all()
        return _json(status, body)

    def hold_until_closed(self, longest: float = 60.0) -> None:
        deadline = time.monotonic() + longest
        with self._lock:
            while not self._closing and (remaining := deadline - time.monotonic()) > 0:
                self._lock.wait(remaining)

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = min(float(params.get("timeout") or 0), _MAX_POLL_SECONDS)
        deadline = time.monotonic() + timeout
        allowed = params.get("allowed_updates")
        held = False
        with self._lock:
            # An offset confirms every update before it, for good.
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            try:
                while not self._closing:
                    if allowed:
                        # Telegram does not even keep the kinds a bot did not ask for.
                        self._updates = [u for u in self._updates if _kind(u) in allowed]
                    remaining = deadline - time.monotonic()
                    if self._updates or remaining <= 0 or self._poll_refusal is not None:
                        break
                    if not held:
                        held = True
                        self._held_polls += 1
                        self._lock.notify_all()
                    self._lock.wait(remaining)
                return list(self._updates[:limit])
            finally:
                if held:
                    self._held_polls -= 1

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out as two writes: with Nagle's algorithm the body
            # waits for the client's delayed ACK, about 40 ms a call on Linux. Off only
            # where asked (the benchmarks, the fifty-sessions-under-faults test): faster
            # answers crowd the bot's database as Telegram's do.
            disable_nagle_algorithm = double.no_delay

            def do_GET(self) -> None:
                self._serve(dict(parse_qsl(urlsplit(self.path).query)))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                content_type = self.headers.get("Content-Type") or ""
                raw: dict[str, str] = dict(parse_qsl(urlsplit(self.path).query))
                if content_type.startswith("application/json"):
                    params: dict[str, Any] = json.loads(body or b"{}")
                    self._serve(raw, params)
                    return
                files: dict[str, tuple[str, bytes, str]] = {}
                if content_type.startswith("multipart/form-data"):
                    fields, files = _multipart_fields(content_type, body)
                    raw.update(fields)
                elif body:
                    raw.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
                # Uploads reach the world under FILES, as the in-process fake hands them.
                self._serve(raw, {FILES: files} if files else None)

            def _serve(self, raw: dict[str, str], params: dict[str, Any] | None = None) -> None:
                match = _PATH.match(urlsplit(self.path).path)
                if match is None:
                    not_found = {"ok": False, "error_code": 404, "description": "Not Found"}
                    status, body = _json(404, not_found)
                else:
                    decoded = decode_params(raw)
                    decoded.update(params or {})
                    try:
                        status, body = double.answer(
                            match["token"], match["method"], decoded, match["via"]
                        )
                    except TimeoutRequested:
                        # Telegram never answering: hold on until the client gives up.
                        double.hold_until_closed()
                        self.close_connection = True
                        return
                    except ConnectionDropped:
                        # A broken link: the connection closes, no answer at all.
                        self.close_connection = True
                        return
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    # The client gave up first, as PTB does with the pending long poll
                    # when it stops.
                    self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                # The default logs the request path, and the path carries the token.
                return

        return Handler


def post_json(url: str, payload: object, secret: str | None, *, timeout: float = 5.0) -> int:
    """POST `payload` as JSON with the secret header (if any): the HTTP status, 0 if none."""
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (OSError, urllib.error.URLError):
        return 0


def get(url: str, *, timeout: float = 5.0) -> tuple[int, str]:
    """GET `url`: the HTTP status (0 if no answer) and the body."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode()
    except (OSError, urllib.error.URLError):
        return 0, ""


def _kind(update: dict[str, Any]) -> str:
    return next((key for key in update if key != "update_id"), "")


def _json(status: int, body: dict[str, Any]) -> tuple[int, bytes]:
    return HTTPStatus(status).value, json.dumps(body).encode()
