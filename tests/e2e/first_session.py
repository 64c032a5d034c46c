"""Two people's first session through a running bot, as they would do it on their phones.

They pair by invite, one sends /stretch quick, the other taps Join, both read the safety
note and tap Got it, then both walk the cards to the summary, tapping Ready at each
setup. The tests around it look at what the phones showed and at the bot's processes.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.playground.double import BotApiDouble
from routines.loader import load_library
from routines.plan import StepKind, build_plan
from tests.e2e.cards import Key, card_key, new_message_steps, steps_of
from tests.fake_telegram import SentMessage
from tests.harness import Person

# Each phone's newest card, by person.
Cards = dict[Person, SentMessage]


def next_message(api: BotApiDouble, person: Person, seen: int, timeout: float) -> SentMessage:
    """The first message the bot sends `person` after the `seen` they already had."""
    return api.wait_for_message(
        person.id,
        lambda m: api.world.bot_messages(person.id).index(m) >= seen,
        timeout=timeout,
    )


def next_card(
    api: BotApiDouble, person: Person, seen: dict[Person, int], timeout: float
) -> SentMessage:
    """The next new message that is a setup, a switch or the summary (not a cue's)."""

    def wanted(message: SentMessage) -> bool:
        if api.world.bot_messages(person.id).index(message) < seen[person]:
            return False
        key = card_key(message.history[0]) if message.history else None
        return key is None or key[1] != "hold"

    card = api.wait_for_message(person.id, wanted, timeout=timeout)
    seen[person] = api.world.bot_messages(person.id).index(card) + 1
    return card


def pair_by_invite(
    api: BotApiDouble,
    inviter: Person,
    invitee: Person,
    timeout: float,
    *,
    first_timeout: float | None = None,
) -> SentMessage:
    """Both send /start; `invitee` opens `inviter`'s /invite link and accepts.

    Returns what `inviter` is told once they are partners. `first_timeout` is the wait
    for the bot's first answer, which may include its start-up.
    """
    api.push_message(inviter, "/start")
    next_message(api, inviter, 0, timeout if first_timeout is None else first_timeout)
    api.push_message(invitee, "/start")
    next_message(api, invitee, 0, timeout)
    api.push_message(inviter, "/invite")
    link = next_message(api, inviter, 1, timeout)
    token = re.search(r"\?start=([A-Za-z0-9_-]+)", link.text)
    assert token is not None, link.text
    api.push_message(invitee, f"/start {token.group(1)}")
    api.push_tap(invitee, next_message(api, invitee, 1, timeout), "Accept")
    return next_message(api, inviter, 2, timeout)


def start_first_quick_session(
    api: BotApiDouble, starter: Person, partner: Person, timeout: float
) -> dict[Person, int]:
    """/stretch quick from `starter`, Join from `partner`, Got it on both safety notes.

    Returns how many messages each phone had by then: what `next_card` reads after.
    """
    seen = {p: len(api.messages_of(p.id)) for p in (starter, partner)}
    api.push_message(starter, "/stretch quick")
    seen[starter] += 1  # "Asked <partner> to join"
    invitation = next_message(api, partner, seen[partner], timeout)
    assert invitation.text.startswith(f"{starter.first_name} wants to stretch now.")
    seen[partner] += 1
    api.push_tap(partner, invitation, "Join")
    # Their first session: each reads the safety note and taps Got it first.
    for person in (starter, partner):
        note = next_message(api, person, seen[person], timeout)
        seen[person] += 1
        assert note.text.startswith("<b>Before your first stretch together</b>")
        api.push_tap(person, note, "Got it")
    return seen


def walk_cards(
    api: BotApiDouble,
    seen: dict[Person, int],
    timeout: float,
    *,
    on_card: Callable[[Cards], None] | None = None,
    on_ready: Callable[[Cards], None] | None = None,
) -> tuple[list[Key], Cards]:
    """Both phones' new cards, step by step, to the summary; Ready tapped at each setup.

    New messages come for each setup and side switch, on both phones (a hold is the card
    before it, edited; a cue's new hold card rings on one phone only). Returns each
    step's (stretch, kind), as the first phone of `seen` showed it, and the summaries.
    `on_card` sees each step's cards before the Ready taps, `on_ready` after them.
    """
    people = list(seen)
    steps: list[Key] = []
    while True:
        cards = {p: next_card(api, p, seen, timeout) for p in people}
        if all("How does your back feel?" in c.text for c in cards.values()):
            return steps, cards
        keys = {p: card_key(c.text) for p, c in cards.items()}
        shown = [key for key in keys.values() if key is not None]
        assert len(shown) == len(people), {p: c.text for p, c in cards.items()}
        stretches = {first_line.split(" · ")[0] for first_line, _ in shown}
        assert len(stretches) == 1, stretches
        steps.append((stretches.pop(), shown[0][1]))
        if on_card is not None:
            on_card(cards)
        if "Tap Ready" in cards[people[0]].text:
            for person, card in cards.items():
                api.push_tap(person, card, "Ready")
            if on_ready is not None:
                on_ready(cards)


def assert_each_step_shown_once(
    api: BotApiDouble, steps: list[Key], seen: dict[Person, int]
) -> None:
    """The walk met every setup and switch of `quick` in order, each phone showed every
    hold in order, and nothing came after the summaries."""
    plan = build_plan(load_library()["quick"])
    assert steps == new_message_steps(plan)
    # Each hold showed on both phones once, in order: the card before it was edited
    # into it. (Two Readies at two workers at once: the hold's edits wait for the first
    # Ready's "is ready" edits, so none lands on a card already showing the hold.)
    holds = [s.index for s in plan.steps if s.kind is StepKind.HOLD]
    for person in seen:
        shown = steps_of(api.messages_of(person.id), plan)
        assert [n for n in shown if n in holds] == holds, shown
    # Nothing came after the last card: no step, no card, shown twice.
    assert {p: len(api.messages_of(p.id)) for p in seen} == seen
