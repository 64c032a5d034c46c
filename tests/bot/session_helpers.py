"""People, a group and a pair for the session tests; the pair is written, not asked for."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from bot.callbacks import (
    SESSION_EASE_OFF,
    SESSION_JOIN,
    SESSION_KEEP_GOING,
    SESSION_NOT_NOW,
    SESSION_PAUSE,
    SESSION_RATE,
    SESSION_READY,
    SESSION_RESUME,
    SESSION_SKIP,
    SESSION_STOP,
    SESSION_STOP_ASK,
)
from bot.render.instructions import instruction
from routines.engine import GET_SET
from routines.plan import Role, Seat, Side, Step
from storage.records import PairRecord
from tests.fake_telegram import SentMessage
from tests.harness import BotHarness, Group, Person

ANA = Person(101, "Ana")
BEN = Person(202, "Ben")
CAL = Person(303, "Cal")
HOME = Group(-100777, "Us two")

ROLE_LINE = {Role.RECEIVER: "You are stretched", Role.HELPER: "You help"}


async def pair_in_database(
    bot: BotHarness,
    first: Person = ANA,
    second: Person = BEN,
    home: Group | None = HOME,
    *,
    safety_read: bool = True,
) -> PairRecord:
    """Both send /start in private; then the pair is written straight into the database.

    Not through /invite or /pair: for tests about what partners do once paired. `home`,
    if given, is set as the pair's home group and made known to the fake Bot API. What
    /start answered is taken as read, so `bot.new` shows only what comes after. Pairing
    itself is tested through the bot, in test_pairing.py.

    With `safety_read` (the default) both have acknowledged the safety note before, as
    after their first session: their sessions go from Join straight to the first setup.
    The note itself is tested with `safety_read=False`, in test_safety_note.py.
    """
    for person in (first, second):
        await bot.say(person, "/start")
    data = bot.app.bot_data
    async with data.db.unit() as unit:
        if safety_read:
            for person in (first, second):
                await unit.users.acknowledge_safety(person.id, bot.clock.now())
        pair, _ = await unit.pairs.create(first.id, second.id, bot.clock.now())
        if home is not None:
            await unit.pairs.set_home_chat(pair.id, home.id)
        await unit.commit()
    if home is not None:
        bot.world.add_group(home.id, home.title)
    for person in (first, second):
        bot.new(person.id)
    return pair


def header(step: Step, seat: Seat, exercises: int) -> str:
    """The first line of a card: the stretch of how many, the side, the partner's role."""
    parts = [f"Stretch {step.exercise_number} of {exercises}"]
    if step.exercise.per_side:
        parts.append(f"{(step.side or Side.RIGHT).value} side")
    parts.append(ROLE_LINE[step.role_of(seat)])
    return " · ".join(parts)


def expect_card(message: SentMessage, step: Step, seat: Seat, exercises: int) -> None:
    """The card shows where the pair is, this partner's own role and words."""
    assert message.text.startswith(header(step, seat, exercises) + "\n"), message.text
    assert escape(step.exercise.name) in message.text
    assert escape(instruction(step, seat)) in message.text


def on_screen(bot: BotHarness, person: Person, since: int = 0) -> list[SentMessage]:
    """What `person`'s chat shows of the bot's messages (from the `since`-th one sent):
    deleted messages are gone from the phone."""
    return [m for m in bot.inbox(person.id)[since:] if not m.deleted]


# The buttons of a running session (the rating after it is the summary's own).
SESSION_ACTIONS = frozenset(
    {
        SESSION_JOIN,
        SESSION_NOT_NOW,
        SESSION_READY,
        SESSION_PAUSE,
        SESSION_RESUME,
        SESSION_SKIP,
        SESSION_STOP,
        SESSION_STOP_ASK,
        SESSION_KEEP_GOING,
        SESSION_EASE_OFF,
        SESSION_RATE,
    }
)


def with_buttons(bot: BotHarness, person: Person) -> list[SentMessage]:
    """Every message on `person`'s phone that still carries a session's buttons."""
    return [
        m
        for m in on_screen(bot, person)
        if any(data.split(":")[0] in SESSION_ACTIONS for _, data in m.buttons)
    ]


async def _asked_and_joined(bot: BotHarness) -> None:
    await pair_in_database(bot)
    await bot.say(ANA, "/stretch")
    await bot.press(BEN, bot.new(BEN.id)[-1], "Join")


async def at_first_setup(bot: BotHarness) -> tuple[SentMessage, SentMessage]:
    """Ana and Ben, paired, start their routine (lower-back) from Ana's private chat and
    Ben taps Join: Ana's and Ben's first setup card."""
    await _asked_and_joined(bot)
    return bot.new(ANA.id)[-1], bot.new(BEN.id)[-1]


async def into_first_hold(bot: BotHarness) -> tuple[SentMessage, SentMessage]:
    """As `at_first_setup`, then each taps Ready on their newest message: Ana's and Ben's
    card of the first hold, still in its get-set window (see `through_get_set`)."""
    await _asked_and_joined(bot)
    for person in (ANA, BEN):
        await bot.press(person, bot.new(person.id)[-1], "Ready")
    # The hold is each setup card, edited: the one card on each phone.
    return card_of(bot, ANA), card_of(bot, BEN)


def card_of(bot: BotHarness, person: Person) -> SentMessage:
    """The one message with session buttons on `person`'s phone: their current card."""
    [card] = with_buttons(bot, person)
    return card


async def stop_for_both(bot: BotHarness, person: Person, card: SentMessage) -> str | None:
    """`person` taps Stop on `card`, is asked, and confirms; the answer to the confirmation."""
    assert await bot.press(person, card, "Stop") == "Stop for both of you?"
    return await bot.press(person, card, "Stop for both")


def get_set_seconds(bot: BotHarness) -> float:
    """The get-set window after the second Ready, in the bot's (scaled) seconds."""
    return GET_SET.total_seconds() * bot.app.bot_data.settings.session_time_scale


async def through_get_set(bot: BotHarness) -> None:
    """Both just tapped Ready: let the get-set window pass, so the hold's clock runs
    and both setup cards turn into the hold card.

    What the tests say about a hold ("30 s later it is over") counts from here, as the
    partners' own clock does once the card says the hold has started.
    """
    await bot.advance(get_set_seconds(bot))


@dataclass(frozen=True)
class CallCounts:
    """The calls the bot made to one phone, by kind, and the taps it answered there."""

    sends: int
    edits: int
    deletes: int
    tap_answers: int


def calls_to(bot: BotHarness, person: Person, since: int = 0) -> CallCounts:
    """What the bot asked of Telegram for `person`'s phone, from the `since`-th call on."""
    calls = bot.world.calls[since:]
    to_phone = [c for c in calls if c.params.get("chat_id") == person.id]
    return CallCounts(
        sends=sum(c.method == "sendMessage" for c in to_phone),
        edits=sum(c.method.startswith("editMessage") for c in to_phone),
        deletes=sum(c.method == "deleteMessage" for c in to_phone),
        tap_answers=sum(
            c.params["callback_query_id"] in bot.queries_by(person)
            for c in calls
            if c.method == "answerCallbackQuery"
        ),
    )


# In the text of the setup card of a session's second turn (the same stretch, with the
# roles swapped): "Now you are stretched." or "Now Ana is stretched.".
SECOND_TURN = " stretched.</b>"
