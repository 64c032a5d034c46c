"""Two people pair up and stretch together through the real bot process."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.playground.double import BotApiDouble
from routines.loader import load_library
from routines.plan import StepKind, build_plan
from tests.e2e.cards import card_key
from tests.e2e.process import STARTUP_LIMIT_SECONDS, bot_process
from tests.fake_telegram import SentMessage
from tests.harness import Person

pytestmark = pytest.mark.e2e

ANA = Person(501, "Ana")
BEN = Person(502, "Ben")


def _next(api: BotApiDouble, person: Person, seen: int, timeout: float = 10) -> SentMessage:
    """The first message the bot sends `person` after the `seen` they already had."""
    return api.wait_for_message(
        person.id,
        lambda m: api.world.bot_messages(person.id).index(m) >= seen,
        timeout=timeout,
    )


def _next_card(api: BotApiDouble, person: Person, seen: dict[Person, int]) -> SentMessage:
    """The next new message that is a setup, a switch or the summary (not a cue's)."""

    def wanted(message: SentMessage) -> bool:
        if api.world.bot_messages(person.id).index(message) < seen[person]:
            return False
        key = card_key(message.history[0]) if message.history else None
        return key is None or key[1] != "hold"

    card = api.wait_for_message(person.id, wanted, timeout=10)
    seen[person] = api.world.bot_messages(person.id).index(card) + 1
    return card


def test_two_partners_pair_by_invite_and_finish_a_quick_session(
    double: BotApiDouble, tmp_path: Path
) -> None:
    api = double
    with bot_process(api, tmp_path, SESSION_TIME_SCALE="0.01") as stop:
        api.push_message(ANA, "/start")
        api.wait_for_message(ANA.id, timeout=STARTUP_LIMIT_SECONDS)
        api.push_message(BEN, "/start")
        _next(api, BEN, 0)

        api.push_message(ANA, "/invite")
        link = _next(api, ANA, 1)
        token = re.search(r"\?start=([A-Za-z0-9_-]+)", link.text)
        assert token is not None
        api.push_message(BEN, f"/start {token.group(1)}")
        offer = _next(api, BEN, 1)
        api.push_tap(BEN, offer, "Accept")
        paired = _next(api, ANA, 2)
        assert "Ben" in paired.text

        seen = {ANA: len(api.world.bot_messages(ANA.id)), BEN: len(api.world.bot_messages(BEN.id))}
        first = dict(seen)
        api.push_message(ANA, "/stretch quick")
        seen[ANA] += 1  # "Asked Ben to join"
        invitation = _next(api, BEN, seen[BEN])
        assert invitation.text.startswith("Ana wants to stretch now.")
        seen[BEN] += 1
        api.push_tap(BEN, invitation, "Join")
        # Their first session: each reads the safety note and taps Got it first.
        for person in (ANA, BEN):
            note = _next(api, person, seen[person])
            seen[person] += 1
            assert note.text.startswith("<b>Before your first stretch together</b>")
            api.push_tap(person, note, "Got it")

        # New messages come for each setup and side switch, on both phones (a hold is
        # the card before it, edited; a cue's new hold card rings on one phone only).
        steps: list[tuple[str, str]] = []
        while True:
            cards = {p: _next_card(api, p, seen) for p in (ANA, BEN)}
            if all("How does your back feel?" in c.text for c in cards.values()):
                break
            keys = {p: card_key(c.text) for p, c in cards.items()}
            assert all(keys.values()), {p: c.text for p, c in cards.items()}
            stretch_a, stretch_b = (keys[p][0].split(" · ")[0] for p in (ANA, BEN))  # type: ignore[index]
            assert stretch_a == stretch_b
            steps.append((stretch_a, keys[ANA][1]))  # type: ignore[index]
            if len(steps) == 1:
                # /stretch during the session brings Ana's card back below; the old goes.
                api.push_message(ANA, "/stretch")
                again = _next(api, ANA, seen[ANA])
                seen[ANA] += 1
                assert (again.text, again.buttons) == (cards[ANA].text, cards[ANA].buttons)
                old = cards[ANA]
                api.wait_for_message(ANA.id, lambda m, old=old: m is old and m.deleted)
                cards[ANA] = again
            if "Tap Ready" in cards[ANA].text:
                for person, card in cards.items():
                    api.push_tap(person, card, "Ready")
        stopped = stop()

    assert stopped.status == 0, stopped.output
    plan = build_plan(load_library()["quick"])
    assert steps == [
        (f"Stretch {s.exercise_number} of {plan.exercise_count}", s.kind.value)
        for s in plan.steps
        if s.kind is not StepKind.HOLD
    ]
    assert cards[ANA].text.startswith("Well done, session complete!")
    # The summary is all each phone keeps of the session.
    for person in (ANA, BEN):
        session = api.world.bot_messages(person.id)[first[person] :]
        assert [m for m in session if not m.deleted] == [cards[person]]
