"""A worker killed with SIGKILL in the middle of a hold: the other ends it, the session goes on.

Two real `python -m bot` webhook workers on one PostgreSQL database behind the
round-robin forwarder (tests/e2e/two_workers.py). The hold's end is a row in the
database, so the worker left finds it by its own poll; the killed one comes back and
both carry the rest of the session. Each phone gets every step once.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.playground.double import BotApiDouble
from tests.e2e.two_workers import postgres_url, two_workers
from tests.fake_telegram import SentMessage
from tests.harness import Person

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

ANA = Person(611, "Ana")
BEN = Person(612, "Ben")
# The quick routine's first hold (60 s) lasts 3 s: time to kill a worker in its middle.
TIME_SCALE = "0.05"


def _next(api: BotApiDouble, person: Person, seen: int, timeout: float = 20) -> SentMessage:
    """The first message the bot sends `person` after the `seen` they already had."""
    return api.wait_for_message(
        person.id,
        lambda m: api.world.bot_messages(person.id).index(m) >= seen,
        timeout=timeout,
    )


def _last_sender(api: BotApiDouble) -> str:
    senders = [via for via, method in api.calls_via if method == "sendMessage"]
    assert senders and senders[-1] is not None
    return senders[-1]


def test_a_quick_session_completes_while_a_worker_is_killed_in_the_middle_of_a_hold(
    double: BotApiDouble, tmp_path: Path
) -> None:
    postgres_url()
    api = double
    with two_workers(api, tmp_path, SESSION_TIME_SCALE=TIME_SCALE) as pair:
        api.push_message(ANA, "/start")
        _next(api, ANA, 0)
        api.push_message(BEN, "/start")
        _next(api, BEN, 0)
        api.push_message(ANA, "/invite")
        link = _next(api, ANA, 1)
        token = re.search(r"\?start=([A-Za-z0-9_-]+)", link.text)
        assert token is not None
        api.push_message(BEN, f"/start {token.group(1)}")
        api.push_tap(BEN, _next(api, BEN, 1), "Accept")
        _next(api, ANA, 2)

        seen = {p: len(api.messages_of(p.id)) for p in (ANA, BEN)}
        api.push_message(ANA, "/stretch quick")
        seen[ANA] += 1  # "Asked Ben to join"
        invitation = _next(api, BEN, seen[BEN])
        seen[BEN] += 1
        api.push_tap(BEN, invitation, "Join")
        # Their first session: each reads the safety note and taps Got it first.
        for person in (ANA, BEN):
            note = _next(api, person, seen[person])
            seen[person] += 1
            assert note.text.startswith("<b>Before your first stretch together</b>")
            api.push_tap(person, note, "Got it")

        steps: list[str] = []
        killed = None
        while True:
            cards = {p: _next(api, p, seen[p]) for p in (ANA, BEN)}
            for person in cards:
                seen[person] += 1
            if all("How does your back feel?" in c.text for c in cards.values()):
                break
            numbers = {p: re.search(r"Step (\d+) of (\d+)", c.text) for p, c in cards.items()}
            assert all(numbers.values()), {p: c.text for p, c in cards.items()}
            step_a, step_b = (numbers[p].group(0) for p in (ANA, BEN))  # type: ignore[union-attr]
            assert step_a == step_b
            steps.append(step_a)
            if killed is None and "Hold:" in cards[ANA].text:
                # The worker that started this hold (and woke itself for its end) dies.
                killed = pair.worker(_last_sender(api))
                killed.kill()
            elif killed is not None and not killed.running:
                # The hold ended at the other worker; the killed one comes back.
                killed.start()
                killed.wait_until_healthy()
            if "Tap Ready" in cards[ANA].text:
                for person, card in cards.items():
                    api.push_tap(person, card, "Ready")
        stopped = pair.stop_all()

    assert killed is not None and killed.starts == 2
    total = int(steps[0].rsplit(" ", 1)[1])
    assert steps == [f"Step {n} of {total}" for n in range(1, total + 1)]
    # Nothing came after the last card: no step, no card, shown twice.
    assert [len(api.messages_of(p.id)) for p in (ANA, BEN)] == [seen[ANA], seen[BEN]]
    # The session went on: no card says it paused because the bot was away.
    for person in (ANA, BEN):
        assert not any("offline" in m.text for m in api.messages_of(person.id))
    for stop in stopped:
        assert stop.status == 0, stop.output
        assert "Traceback" not in stop.output
