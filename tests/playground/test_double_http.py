"""The Bot API double itself: bodies the way PTB and others send them, and long polling."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.playground.double import BotApiDouble
from tests.conftest import TEST_TOKEN
from tests.harness import Person

ANA = Person(101, "Ana")


@pytest.fixture
def double() -> Iterator[BotApiDouble]:
    with BotApiDouble(token=TEST_TOKEN) as api:
        yield api


def post(
    double: BotApiDouble, method: str, body: bytes, content_type: str, wait: float = 5
) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{double.base_url}{TEST_TOKEN}/{method}",
        data=body,
        headers={"Content-Type": content_type},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=wait) as response:
            answer: dict[str, Any] = json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            answer = json.load(error)
    return answer


def test_form_values_are_decoded_from_json_but_texts_stay_texts(double: BotApiDouble) -> None:
    double.push_message(ANA, "hello")
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "g"}]]}
    form = urlencode({"chat_id": "101", "text": "123", "reply_markup": json.dumps(markup)})

    answer = post(double, "sendMessage", form.encode(), "application/x-www-form-urlencoded")

    assert answer["ok"]
    assert answer["result"]["text"] == "123"
    [call] = double.world.calls_of("sendMessage")
    assert call.params == {"chat_id": 101, "text": "123", "reply_markup": markup}


def test_json_and_multipart_bodies_are_read(double: BotApiDouble) -> None:
    double.push_message(ANA, "hello")
    post(
        double,
        "sendMessage",
        json.dumps({"chat_id": 101, "text": "a"}).encode(),
        "application/json",
    )
    boundary = "XyZ"
    multipart = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="chat_id"\r\n\r\n101\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\nb\r\n'
        f"--{boundary}--\r\n"
    ).encode()
    post(double, "sendMessage", multipart, f"multipart/form-data; boundary={boundary}")

    assert [m.text for m in double.world.bot_messages(ANA.id)] == ["a", "b"]


def test_another_token_is_unauthorized(double: BotApiDouble) -> None:
    request = urllib.request.Request(f"{double.base_url}42:nope/getMe", method="POST")
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=5)
    with raised.value as error:
        assert error.code == 401


def test_get_updates_holds_the_poll_until_a_message_arrives_and_offset_confirms(
    double: BotApiDouble,
) -> None:
    form = "application/x-www-form-urlencoded"
    answers: list[dict[str, Any]] = []
    # The poll may wait up to Telegram's longest hold, far beyond the guard below: if
    # it is answered, it is because the message arrived, not because its time ran out.
    poller = threading.Thread(
        target=lambda: answers.append(post(double, "getUpdates", b"timeout=50", form, wait=60))
    )
    poller.start()

    double.wait_for_held_polls(1)
    assert answers == []  # held open: nothing to hand out yet
    double.push_message(ANA, "/start")
    poller.join(timeout=20)  # a guard against a hang, not a measurement

    assert not poller.is_alive(), "the held poll was not answered when the message arrived"
    [first] = answers
    [update] = first["result"]
    assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert isinstance(update["message"]["date"], int)
    again = post(double, "getUpdates", b"timeout=0", form)
    assert again["result"] == [update]
    offset = f"offset={update['update_id'] + 1}&timeout=0".encode()
    confirmed = post(double, "getUpdates", offset, form)
    assert confirmed["result"] == []
    assert double.pending_updates() == 0
