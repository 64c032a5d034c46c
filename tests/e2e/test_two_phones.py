"""Two people pair up and stretch together through the real bot process."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.playground.double import BotApiDouble
from routines.loader import load_library
from routines.plan import build_plan
from tests.e2e.cards import new_message_steps
from tests.e2e.first_session import (
    Cards,
    next_message,
    pair_by_invite,
    start_first_quick_session,
    walk_cards,
)
from tests.e2e.process import STARTUP_LIMIT_SECONDS, bot_process
from tests.fake_telegram import SentMessage
from tests.harness import Person

pytestmark = pytest.mark.e2e

ANA = Person(501, "Ana")
BEN = Person(502, "Ben")
# How long a phone waits for the bot's next message.
WAIT = 10
# At 0.05 a hold lasts 1.5 s or more, so the cards that ring on a phone (a setup, a
# side switch) come more than a second apart, as Telegram allows in one chat.
TIME_SCALE = "0.05"


def test_two_partners_pair_by_invite_and_finish_a_quick_session(
    double: BotApiDouble, tmp_path: Path
) -> None:
    api = double
    with bot_process(api, tmp_path, SESSION_TIME_SCALE=TIME_SCALE) as stop:
        paired = pair_by_invite(api, ANA, BEN, WAIT, first_timeout=STARTUP_LIMIT_SECONDS)
        assert "Ben" in paired.text

        first = {p: len(api.messages_of(p.id)) for p in (ANA, BEN)}
        seen = start_first_quick_session(api, ANA, BEN, WAIT)
        brought_back: list[SentMessage] = []

        def bring_the_card_back(cards: Cards) -> None:
            """/stretch during the session brings Ana's card back below; the old goes."""
            if brought_back:
                return
            api.push_message(ANA, "/stretch")
            again = next_message(api, ANA, seen[ANA], WAIT)
            seen[ANA] += 1
            assert (again.text, again.buttons) == (cards[ANA].text, cards[ANA].buttons)
            old = cards[ANA]
            api.wait_for_message(ANA.id, lambda m: m is old and m.deleted, timeout=WAIT)
            brought_back.append(again)
            cards[ANA] = again

        steps, cards = walk_cards(api, seen, WAIT, on_card=bring_the_card_back)
        assert brought_back
        stopped = stop()

    assert stopped.status == 0, stopped.output
    plan = build_plan(load_library()["quick"])
    assert steps == new_message_steps(plan)
    assert cards[ANA].text.startswith("Well done, session complete!")
    # The summary is all each phone keeps of the session.
    for person in (ANA, BEN):
        session = api.world.bot_messages(person.id)[first[person] :]
        assert [m for m in session if not m.deleted] == [cards[person]]
