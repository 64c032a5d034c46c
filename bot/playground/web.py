"""The page: three chats side by side, fed live from the double by server-sent events.

Typing and tapping on the page become updates in the double's queue, exactly the ones
Telegram would make, and the bot fetches them by long polling as it would from Telegram.
The page never reaches into the bot: what it shows is what the bot sent.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot.playground.double import BotApiDouble, Change
from bot.playground.markup import message_view
from bot.playground.people import Group, Person

ALICE = Person(1001, "Alice")
BOB = Person(1002, "Bob")
CLUB = Group(-1001234567890, "Stretch club")
PEOPLE = {"alice": ALICE, "bob": BOB}
# How long one wait for changes lasts; between waits the stream sends a keep-alive line.
# `stop_watchers` (or a closing double) ends the wait, and the stream, at once.
_WAIT_SECONDS = 10.0
_MAX_TEXT = 4096


@dataclass(frozen=True)
class ChatColumn:
    key: str
    title: str
    chat_id: int
    # Who may type and tap here: the owner of a private chat, anyone in the group.
    speakers: tuple[str, ...]


COLUMNS = (
    ChatColumn("alice", "Alice", ALICE.id, ("alice",)),
    ChatColumn("bob", "Bob", BOB.id, ("bob",)),
    ChatColumn("club", CLUB.title, CLUB.id, ("alice", "bob")),
)
_BY_CHAT = {column.chat_id: column for column in COLUMNS}


def _change_event(change: Change) -> dict[str, Any]:
    event: dict[str, Any] = {"seq": change.seq, "chat_id": change.chat_id}
    if change.message is not None:
        event["message"] = message_view(change.message)
    if change.answer is not None:
        who = next((p.first_name for p in PEOPLE.values() if p.id == change.answer.person_id), "")
        event["answer"] = {
            "person": who,
            "text": change.answer.text,
            "alert": change.answer.show_alert,
        }
    return event


def _sse(event: str, data: object) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def _problem(text: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"ok": False, "error": text}, status_code=status)


def playground_app(double: BotApiDouble) -> Starlette:
    """The page's Starlette application, showing and driving `double`."""
    static = files("bot.playground") / "static"

    async def index(request: Request) -> Response:
        return FileResponse(str(static / "index.html"), media_type="text/html")

    async def setup(request: Request) -> Response:
        return JSONResponse(
            {
                "bot_username": double.world.bot_user.get("username", ""),
                "people": {key: person.first_name for key, person in PEOPLE.items()},
                "chats": [
                    {
                        "key": c.key,
                        "title": c.title,
                        "chat_id": c.chat_id,
                        "speakers": list(c.speakers),
                    }
                    for c in COLUMNS
                ],
            }
        )

    async def events(request: Request) -> Response:
        async def stream() -> AsyncIterator[str]:
            seen, shown = double.snapshot(set(_BY_CHAT))
            yield _sse("snapshot", [message_view(m) for m in shown])
            while True:
                changes = await asyncio.to_thread(double.changes_after, seen, _WAIT_SECONDS)
                if not double.watching or await request.is_disconnected():
                    return
                if not changes:
                    yield ": still here\n\n"
                    continue
                for change in changes:
                    seen = change.seq
                    if change.chat_id in _BY_CHAT:
                        yield _sse("change", _change_event(change))

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)

    async def say(request: Request) -> Response:
        body = await _json_body(request)
        column, person = _column_and_person(body)
        text = body.get("text")
        if column is None or person is None:
            return _problem("unknown chat or person")
        if not isinstance(text, str) or not text.strip() or len(text) > _MAX_TEXT:
            return _problem("a message needs some text")
        extra: dict[str, Any] = {}
        replied_id = body.get("reply_to")
        if isinstance(replied_id, int):
            replied = double.message(column.chat_id, replied_id)
            if replied is None or replied.deleted:
                return _problem("that message is gone")
            extra["reply_to_message"] = replied.raw
        chat = CLUB if column.chat_id == CLUB.id else None
        # The double's lock is held only to append: no need for a thread.
        sent = double.push_message(person, text.strip(), chat, **extra)
        return JSONResponse({"ok": True, "message_id": sent["message_id"]})

    async def tap(request: Request) -> Response:
        body = await _json_body(request)
        column, person = _column_and_person(body)
        message_id, data = body.get("message_id"), body.get("data")
        if column is None or person is None or not isinstance(message_id, int):
            return _problem("unknown chat, person or message")
        if not isinstance(data, str):
            return _problem("a tap needs the button's data")
        message = double.message(column.chat_id, message_id)
        if message is None or message.deleted:
            return _problem("that message is gone")
        tap_id = double.push_tap_data(person, message, data)
        return JSONResponse({"ok": True, "tap": tap_id})

    async def file(request: Request) -> Response:
        chat_id = int(request.path_params["chat_id"])
        message = double.message(chat_id, int(request.path_params["message_id"]))
        if chat_id not in _BY_CHAT or message is None or message.file is None:
            return _problem("no such file", 404)
        mime = mimetypes.guess_type(message.file_name or "")[0] or "application/octet-stream"
        return Response(message.file, media_type=mime)

    return Starlette(
        routes=[
            Route("/", index),
            Route("/api/setup", setup),
            # Browsers ask for it; there is none, and a 404 would read as a fault.
            Route("/favicon.ico", lambda request: Response(status_code=204)),
            Route("/api/events", events),
            Route("/api/say", say, methods=["POST"]),
            Route("/api/tap", tap, methods=["POST"]),
            Route("/api/file/{chat_id:int}/{message_id:int}", file),
            Mount("/static", StaticFiles(directory=str(static)), name="static"),
        ]
    )


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _column_and_person(body: dict[str, Any]) -> tuple[ChatColumn | None, Person | None]:
    chat_id, speaker = body.get("chat_id"), body.get("person")
    column = _BY_CHAT.get(chat_id) if isinstance(chat_id, int) else None
    if column is None or speaker not in column.speakers:
        return column, None
    return column, PEOPLE[str(speaker)]
