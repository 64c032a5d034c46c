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
from routines.loader import load_library
from routines.plan import StepKind, build_plan
from tests.e2e.cards import card_key, new_message_steps, steps_of
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


def _last_sender(api: BotApiDouble, of: str = "sendMessage") -> str:
    senders = [via for via, method in api.calls_via if method == of]
    assert senders and senders[-1] is not None
    return senders[-1]


def _next_card(api: BotApiDouble, person: Person, seen: dict[Person, int]) -> SentMessage:
    """The next new message that is a setup, a switch or the summary (not a cue's)."""

    def wanted(message: SentMessage) -> bool:
        if api.world.bot_messages(person.id).index(message) < seen[person]:
            return False
        key = card_key(message.history[0]) if message.history else None
        return key is None or key[1] != "hold"

    card = api.wait_for_message(person.id, wanted, timeout=20)
    seen[person] = api.world.bot_messages(person.id).index(card) + 1
    return card


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

        # New messages come for each setup and side switch (a hold is the card before
        # it, edited; a cue's new hold card rings on one phone only).
        steps: list[tuple[str, str]] = []
        killed = None
        while True:
            cards = {p: _next_card(api, p, seen) for p in (ANA, BEN)}
            if all("How does your back feel?" in c.text for c in cards.values()):
                break
            keys = {p: card_key(c.text) for p, c in cards.items()}
            assert all(keys.values()), {p: c.text for p, c in cards.items()}
            stretch_a, stretch_b = (keys[p][0].split(" · ")[0] for p in (ANA, BEN))  # type: ignore[index]
            assert stretch_a == stretch_b
            steps.append((stretch_a, keys[ANA][1]))  # type: ignore[index]
            if killed is not None and not killed.running:
                # The hold ended at the other worker; the killed one comes back.
                killed.start()
                killed.wait_until_healthy()
            if "Tap Ready" in cards[ANA].text:
                for person, card in cards.items():
                    api.push_tap(person, card, "Ready")
                if killed is None:
                    # The setup cards turn into the hold cards when the hold starts: once
                    # both show it, the worker that edited them dies.
                    for person, setup in cards.items():
                        api.wait_for_message(
                            person.id, lambda m, setup=setup: m is setup and "Hold:" in m.text
                        )
                    killed = pair.worker(_last_sender(api, "editMessageText"))
                    killed.kill()
        stopped = pair.stop_all()

    assert killed is not None and killed.starts == 2
    plan = build_plan(load_library()["quick"])
    assert steps == new_message_steps(plan)
    # Each hold showed on both phones once, in order: the card before it was edited
    # into it. (Two Readies at two workers at once: the hold's edits wait for the first
    # Ready's "is ready" edits, so none lands on a card already showing the hold.)
    holds = [s.index for s in plan.steps if s.kind is StepKind.HOLD]
    for person in (ANA, BEN):
        shown = steps_of(api.messages_of(person.id), plan)
        assert [n for n in shown if n in holds] == holds, shown
    # Nothing came after the last card: no step, no card, shown twice.
    assert [len(api.messages_of(p.id)) for p in (ANA, BEN)] == [seen[ANA], seen[BEN]]
    # The session went on: no card says it paused because the bot was away.
    for person in (ANA, BEN):
        assert not any("offline" in m.text for m in api.messages_of(person.id))
    for stop in stopped:
        assert stop.status == 0, stop.output
        assert "Traceback" not in stop.output
