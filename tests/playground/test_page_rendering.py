"""The page draws whatever the bot sends, whatever its cards look like.

Here the test plays the bot: it calls the double's Bot API the way PTB does (send, edit,
delete, upload, answer a tap) and watches the page in headless Chromium. So the page
keeps up with cards that change shape, and the real-bot test need not cover every kind.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Page, expect

from bot.playground.double import BotApiDouble
from bot.playground.web import ALICE, BOB, playground_app
from bot.playground.world import FILES
from tests.conftest import TEST_TOKEN
from tests.playground.browser import chromium, free_port, need_chromium

pytestmark = pytest.mark.e2e

KEYBOARD = {
    "inline_keyboard": [
        [{"text": "Ready", "callback_data": "sr:1:2"}],
        [{"text": "Share", "url": "https://t.me/share/url?url=https%3A%2F%2Ft.me%2F"
          "pairstretch_test_bot%3Fstart%3Dtok_1"}],
    ]
}  # fmt: skip
WAIT_MS = 10_000


@pytest.fixture
def served() -> Iterator[tuple[BotApiDouble, str]]:
    """The page on a free port, in this process, over a double the test answers for."""
    need_chromium()
    with BotApiDouble(token=TEST_TOKEN) as double:
        double.push_message(ALICE, "/start")
        double.push_message(BOB, "/start")
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                playground_app(double),
                host="127.0.0.1",
                port=port,
                log_level="warning",
                timeout_graceful_shutdown=1,
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            yield double, f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            double.close()
            thread.join(timeout=10)


@pytest.fixture
def page(served: tuple[BotApiDouble, str]) -> Iterator[Page]:
    _, url = served
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(WAIT_MS)
        expect.set_options(timeout=WAIT_MS)
        page.goto(url)
        expect(page.get_by_text("Live:")).to_be_visible()
        yield page


def bot_calls(double: BotApiDouble, method: str, **params: Any) -> Any:
    status, body = double.answer(TEST_TOKEN, method, params)
    assert status == 200, body
    return json.loads(body)["result"]


def test_sends_edits_deletes_and_answers_show_as_a_phone_shows_them(
    served: tuple[BotApiDouble, str], page: Page
) -> None:
    double, _ = served
    alice = page.get_by_role("region", name="Alice")
    sent = bot_calls(
        double, "sendMessage", chat_id=ALICE.id, parse_mode="HTML", reply_markup=KEYBOARD,
        text="<b>Step 1</b> · Child&#x27;s Pose\nline two <i>calm</i>",
    )  # fmt: skip
    card = alice.locator(f"li[data-message-id='{sent['message_id']}']")

    expect(card.locator("b")).to_have_text("Step 1")
    expect(card.locator(".text")).to_have_text("Step 1 · Child's Pose\nline two calm")
    expect(alice.locator(".announcer")).to_contain_text("Step 1 · Child's Pose")

    # A tap is Alice's, on the message as it is; the answer shows as a toast.
    card.get_by_role("button", name="Ready").click()
    tap = _next_tap(double)
    assert (tap["from"]["id"], tap["data"]) == (ALICE.id, "sr:1:2")
    bot_calls(double, "answerCallbackQuery", callback_query_id=tap["id"], text="Ready.")
    expect(alice.get_by_role("status").filter(has_text="Ready.")).to_be_visible()

    # Edited in place: same message, new words, its buttons gone.
    target = {"chat_id": ALICE.id, "message_id": sent["message_id"]}
    bot_calls(double, "editMessageText", text="Hold: <b>20 s</b> left", parse_mode="HTML",
              **target)  # fmt: skip
    expect(card.locator(".text")).to_have_text("Hold: 20 s left")
    expect(card).to_contain_text("edited")
    expect(card.get_by_role("button")).to_have_count(0)
    expect(alice.locator("li.msg.bot")).to_have_count(1)  # in place, not a second one

    # Deleted: it disappears.
    bot_calls(double, "deleteMessage", **target)
    expect(card).to_have_count(0)


def test_uploads_alerts_and_links_to_the_bot(served: tuple[BotApiDouble, str], page: Page) -> None:
    double, _ = served
    alice = page.get_by_role("region", name="Alice")
    bob = page.get_by_role("region", name="Bob")
    csv = b"date,routine\n2026-12-06,quick\n"
    bot_calls(
        double, "sendDocument", chat_id=ALICE.id, caption="Your data",
        **{FILES: {"document": ("history.csv", csv, "text/csv")}},
    )  # fmt: skip
    link = alice.get_by_role("link", name="history.csv")
    expect(link).to_have_attribute("download", "history.csv")

    # The share button holds an invite link: opened as Bob, it is Bob's /start.
    sent = bot_calls(double, "sendMessage", chat_id=ALICE.id, text="Invite",
                     reply_markup=KEYBOARD)  # fmt: skip
    card = alice.locator(f"li[data-message-id='{sent['message_id']}']")
    card.get_by_role("button", name="Share").click()
    alice.get_by_role("button", name="Open as Bob").click()
    expect(bob.locator("li.msg.user").last).to_have_text("/start tok_1")

    # An alert stays until dismissed.
    card.get_by_role("button", name="Ready").click()
    bot_calls(double, "answerCallbackQuery", callback_query_id=_next_tap(double)["id"],
              text="These buttons belong to the two partners.", show_alert=True)  # fmt: skip
    alert = alice.get_by_role("alert")
    expect(alert).to_contain_text("These buttons belong to the two partners.")
    alert.get_by_role("button", name="OK").click()
    expect(alert).to_be_hidden()


def _next_tap(double: BotApiDouble) -> dict[str, Any]:
    """The next tap the page made, fetched as the bot would: by long polling."""
    offset = 0
    while True:
        updates = bot_calls(double, "getUpdates", offset=offset, timeout=5)
        assert updates, "no tap within a long poll"
        taps = [u["callback_query"] for u in updates if "callback_query" in u]
        offset = updates[-1]["update_id"] + 1
        if taps:
            bot_calls(double, "getUpdates", offset=offset, timeout=0)
            return dict(taps[-1])
