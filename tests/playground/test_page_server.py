"""The page's server: what it draws from the bot's messages, what it lets a visitor do,
and the feed of changes it streams. The browser test runs all of it together."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.playground.demo import DEMO_TOKEN, bot_environment
from bot.playground.double import BotApiDouble
from bot.playground.markup import message_view, page_html
from bot.playground.web import ALICE, BOB, CLUB, playground_app
from bot.playground.world import ConnectionDropped, TimeoutRequested
from tests.conftest import TEST_TOKEN

MARKUP = {
    "inline_keyboard": [
        [{"text": "Ready", "callback_data": "sr:1:2"}],
        [{"text": "Open", "url": "https://t.me/pairstretch_test_bot?start=abc"}],
    ]
}


@pytest.fixture
def double() -> Iterator[BotApiDouble]:
    with BotApiDouble(token=TEST_TOKEN) as api:
        api.push_message(ALICE, "/start")
        api.push_message(BOB, "/start")
        yield api


@pytest.fixture
async def page(double: BotApiDouble) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=playground_app(double))
    async with httpx.AsyncClient(transport=transport, base_url="http://playground") as client:
        yield client


def bot_says(double: BotApiDouble, chat_id: int, text: str, **params: Any) -> int:
    status, body = double.answer(
        TEST_TOKEN, "sendMessage", {"chat_id": chat_id, "text": text, **params}
    )
    assert status == 200, body
    return int(json.loads(body)["result"]["message_id"])


# -- drawing ---------------------------------------------------------------------------------
def test_telegram_html_is_kept_and_anything_else_is_made_harmless() -> None:
    shown = page_html(
        '<b>Ana &amp; Ben</b> <script>alert(1)</script><a href="javascript:x()">x</a>'
        "<img src=x onerror=alert(2)> <tg-spoiler>s</tg-spoiler> <i>open",
        "HTML",
    )
    assert shown == (
        '<b>Ana &amp; Ben</b> alert(1)<a>x</a> <span class="spoiler">s</span> <i>open</i>'
    )


def test_bare_links_become_links_and_plain_text_is_escaped() -> None:
    text = "Open https://t.me/bot?start=a_b-1. <b>not bold</b>"
    assert page_html(text, None) == (
        'Open <a href="https://t.me/bot?start=a_b-1">https://t.me/bot?start=a_b-1</a>. '
        "&lt;b&gt;not bold&lt;/b&gt;"
    )
    assert page_html('<a href="tg://user?id=1">Ana</a>', "HTML") == (
        '<a href="tg://user?id=1">Ana</a>'
    )


def test_a_message_view_has_its_buttons_edits_and_reply(double: BotApiDouble) -> None:
    said = double.push_message(BOB, "Shall we?", CLUB)
    double.push_message(ALICE, "/pair", CLUB, reply_to_message=said)
    sent = bot_says(double, CLUB.id, "<b>Hi</b>", parse_mode="HTML", reply_markup=MARKUP)
    double.answer(
        TEST_TOKEN, "editMessageText", {"chat_id": CLUB.id, "message_id": sent, "text": "Hey"}
    )

    views = [message_view(m) for m in double.snapshot({CLUB.id})[1]]

    assert views[1]["reply_to"] == {"sender": "Bob", "text": "Shall we?"}
    assert views[2]["html"] == "Hey" and views[2]["edited"] is True
    assert views[2]["buttons"] == []  # an edit without markup takes the buttons away


# -- what a visitor may do -------------------------------------------------------------------
async def test_typing_becomes_the_persons_message_in_that_chat(
    page: httpx.AsyncClient, double: BotApiDouble
) -> None:
    before = double.pending_updates()
    answer = await page.post("/api/say", json={"chat_id": CLUB.id, "person": "bob", "text": "Hi"})

    assert answer.status_code == 200
    assert double.pending_updates() == before + 1
    [shown] = double.snapshot({CLUB.id})[1]
    assert shown.raw["from"]["first_name"] == "Bob" and shown.raw["chat"]["title"] == CLUB.title


@pytest.mark.parametrize(
    "body",
    [
        {"chat_id": ALICE.id, "person": "bob", "text": "I'm Alice, honest"},
        {"chat_id": 42, "person": "alice", "text": "to nowhere"},
        {"chat_id": ALICE.id, "person": "alice", "text": "   "},
        {"chat_id": ALICE.id, "person": "alice", "text": "x", "reply_to": 999},
    ],
    ids=["someone-elses-chat", "unknown-chat", "no-text", "reply-to-nothing"],
)
async def test_bad_input_is_refused_and_changes_nothing(
    page: httpx.AsyncClient, double: BotApiDouble, body: dict[str, Any]
) -> None:
    before = double.pending_updates()
    answer = await page.post("/api/say", json=body)
    assert answer.status_code == 400
    assert (await page.post("/api/say", content=b"not json")).status_code == 400
    assert double.pending_updates() == before


async def test_a_tap_carries_the_message_as_it_is_now(
    page: httpx.AsyncClient, double: BotApiDouble
) -> None:
    sent = bot_says(double, ALICE.id, "Step 1", reply_markup=MARKUP)
    data = {"chat_id": ALICE.id, "person": "alice", "message_id": sent}

    assert (await page.post("/api/tap", json={**data, "data": "sr:1:2"})).status_code == 200
    assert (
        await page.post("/api/tap", json={**data, "person": "bob", "data": "x"})
    ).status_code == 400
    double.answer(TEST_TOKEN, "deleteMessage", {"chat_id": ALICE.id, "message_id": sent})
    assert (await page.post("/api/tap", json={**data, "data": "sr:1:2"})).status_code == 400

    _, body = double.answer(TEST_TOKEN, "getUpdates", {"timeout": 0})
    taps = [u["callback_query"] for u in json.loads(body)["result"][2:]]
    assert [(t["from"]["id"], t["data"], t["message"]["text"]) for t in taps] == [
        (ALICE.id, "sr:1:2", "Step 1")
    ]


async def test_the_page_and_its_setup_are_served(page: httpx.AsyncClient) -> None:
    html = (await page.get("/")).text
    assert 'aria-live="polite"' in html and "/static/page.js" in html
    setup = (await page.get("/api/setup")).json()
    assert [c["title"] for c in setup["chats"]] == ["Alice", "Bob", "Stretch club"]
    assert setup["bot_username"] == "pairstretch_test_bot"
    assert (await page.get("/static/page.js")).status_code == 200
    assert (await page.get("/api/file/1001/1")).status_code == 404


# -- the feed of changes ---------------------------------------------------------------------
def test_changes_come_in_order_with_each_message_as_it_is_now(double: BotApiDouble) -> None:
    seen, _ = double.snapshot({ALICE.id})
    first = bot_says(double, ALICE.id, "Hold: 30 s left", reply_markup=MARKUP)
    target = {"chat_id": ALICE.id, "message_id": first}
    tap = double.push_tap(ALICE, double.messages_of(ALICE.id)[-1], "Ready")
    double.answer(TEST_TOKEN, "editMessageText", {**target, "text": "Hold: 15 s left"})
    double.answer(TEST_TOKEN, "answerCallbackQuery", {"callback_query_id": tap, "text": "Ok"})
    double.answer(TEST_TOKEN, "deleteMessage", target)

    changes = double.changes_after(seen, timeout=1)

    assert [c.seq for c in changes] == list(range(seen + 1, seen + 5))
    shown = [c.message for c in changes if c.message is not None]
    # Read now: each says the message is deleted, which is what the page must end with.
    assert [(m.message_id, m.deleted) for m in shown] == [(first, True)] * 3
    [answer] = [c.answer for c in changes if c.answer is not None]
    assert (answer.person_id, answer.text, answer.show_alert) == (ALICE.id, "Ok", False)
    assert double.changes_after(seen + 4, timeout=0) == []


@pytest.mark.parametrize(
    "kind", ["server_error", "forbidden", "retry_after", "dropped", "timeout"]
)
def test_a_call_telegram_does_not_take_shows_nothing_until_the_bot_tries_again(
    double: BotApiDouble, kind: str
) -> None:
    seen, _ = double.snapshot({BOB.id})
    double.world.fail("sendMessage", kind, chat_id=BOB.id)
    try:
        status, _ = double.answer(TEST_TOKEN, "sendMessage", {"chat_id": BOB.id, "text": "Hi"})
    except (ConnectionDropped, TimeoutRequested):
        status = 0  # the HTTP door closes the connection or never answers
    assert status != 200
    assert double.changes_after(seen, timeout=0) == []

    bot_says(double, BOB.id, "Hi")
    [change] = double.changes_after(seen, timeout=1)
    assert change.message is not None and change.message.text == "Hi"


def test_the_demo_bot_gets_the_double_a_fresh_database_and_a_fifth_of_the_time(
    double: BotApiDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1234567:a-real-token-from-the-developers-env")
    monkeypatch.setenv("WEBHOOK_URL", "https://example.org/hook")
    monkeypatch.delenv("SESSION_TIME_SCALE", raising=False)

    env = bot_environment(double, tmp_path)

    assert env["TELEGRAM_BOT_TOKEN"] == DEMO_TOKEN
    assert env["TELEGRAM_API_BASE_URL"] == double.base_url
    assert env["DATABASE_URL"] == f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}"
    assert env["SESSION_TIME_SCALE"] == "0.2"
    assert "WEBHOOK_URL" not in env
    monkeypatch.setenv("SESSION_TIME_SCALE", "1")
    assert bot_environment(double, tmp_path)["SESSION_TIME_SCALE"] == "1"


def test_watchers_sent_away_stop_waiting_while_the_bot_is_still_served(
    double: BotApiDouble,
) -> None:
    """How the demo ends the page's streams before it stops the bot."""
    seen, _ = double.snapshot({ALICE.id})
    waiting = threading.Thread(target=double.changes_after, args=(seen, 60.0))
    waiting.start()

    double.stop_watchers()
    waiting.join(timeout=10)  # a guard against a hang, not a measurement

    assert not waiting.is_alive() and not double.watching
    assert double.changes_after(seen, timeout=60.0) == []
    bot_says(double, ALICE.id, "still answered")
