"""Two people pair up and stretch together through the real bot process."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.playground.double import BotApiDouble
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

        steps: list[tuple[str, str]] = []
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
            steps.append((step_a, "Ready" if "Tap Ready" in cards[ANA].text else "timed"))
            if "Tap Ready" in cards[ANA].text:
                for person, card in cards.items():
                    api.push_tap(person, card, "Ready")
        stopped = stop()

    assert stopped.status == 0, stopped.output
    total = int(steps[0][0].rsplit(" ", 1)[1])
    assert [s for s, _ in steps] == [f"Step {n} of {total}" for n in range(1, total + 1)]
    assert cards[ANA].text.startswith("Well done, session complete!")
