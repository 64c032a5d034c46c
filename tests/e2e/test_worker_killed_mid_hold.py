"""A worker killed with SIGKILL in the middle of a hold: the other ends it, the session goes on.

Two real `python -m bot` webhook workers on one PostgreSQL database behind the
round-robin forwarder (tests/e2e/two_workers.py). The hold's end is a row in the
database, so the worker left finds it by its own poll; the killed one comes back and
both carry the rest of the session. Each phone gets every step once.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from bot.playground.double import BotApiDouble
from tests.conftest import postgres_or_skip
from tests.e2e.first_session import (
    Cards,
    assert_each_step_shown_once,
    pair_by_invite,
    start_first_quick_session,
    walk_cards,
)
from tests.e2e.two_workers import Worker, two_workers
from tests.fake_telegram import SentMessage
from tests.harness import Person

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

ANA = Person(611, "Ana")
BEN = Person(612, "Ben")
# The quick routine's first hold (60 s) lasts 3 s: time to kill a worker in its middle.
TIME_SCALE = "0.05"
# How long a phone waits for the bot's next message.
WAIT = 20


def _last_sender(api: BotApiDouble, of: str = "sendMessage") -> str:
    senders = [via for via, method in api.calls_via if method == of]
    assert senders and senders[-1] is not None
    return senders[-1]


def _turned_into_hold(setup: SentMessage, message: SentMessage) -> bool:
    return message is setup and "Hold:" in message.text


def test_a_quick_session_completes_while_a_worker_is_killed_in_the_middle_of_a_hold(
    double: BotApiDouble, tmp_path: Path
) -> None:
    postgres_or_skip()
    api = double
    with two_workers(api, tmp_path, SESSION_TIME_SCALE=TIME_SCALE) as pair:
        pair_by_invite(api, ANA, BEN, WAIT)
        seen = start_first_quick_session(api, ANA, BEN, WAIT)
        killed: list[Worker] = []

        def come_back(cards: Cards) -> None:
            """The hold ended at the other worker; the killed one comes back."""
            if killed and not killed[0].running:
                killed[0].start()
                killed[0].wait_until_healthy()

        def kill_in_the_first_hold(cards: Cards) -> None:
            """The setup cards turn into the hold cards: once both show it, the worker
            that edited them (and armed the hold's end) dies."""
            if killed:
                return
            for person, setup in cards.items():
                api.wait_for_message(person.id, partial(_turned_into_hold, setup))
            killed.append(pair.worker(_last_sender(api, "editMessageText")))
            killed[0].kill()

        steps, _ = walk_cards(api, seen, WAIT, on_card=come_back, on_ready=kill_in_the_first_hold)
        stopped = pair.stop_all()

    assert [worker.starts for worker in killed] == [2]
    assert_each_step_shown_once(api, steps, seen)
    # The session went on: no card says it paused because the bot was away.
    for person in (ANA, BEN):
        assert not any("offline" in m.text for m in api.messages_of(person.id))
    for stop in stopped:
        assert stop.status == 0, stop.output
        assert "Traceback" not in stop.output
