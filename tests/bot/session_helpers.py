"""People, a group and a pair for the session tests; the pair is written, not asked for."""

from __future__ import annotations

from html import escape

from bot.render.instructions import instruction
from routines.engine import GET_SET
from routines.plan import Role, Seat, Step
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


def expect_card(message: SentMessage, step: Step, seat: Seat, total: int) -> None:
    """The card shows this partner's own role and words, and the shared step number."""
    assert f"Step {step.index} of {total}" in message.text
    assert escape(step.exercise.name) in message.text
    assert ROLE_LINE[step.role_of(seat)] in message.text
    assert escape(instruction(step, seat)) in message.text


async def stop_for_both(bot: BotHarness, person: Person, card: SentMessage) -> str | None:
    """`person` taps Stop on `card`, is asked, and confirms; the answer to the confirmation."""
    assert await bot.press(person, card, "Stop") == "Stop for both of you?"
    return await bot.press(person, card, "Stop for both")


def get_set_seconds(bot: BotHarness) -> float:
    """The get-set window after the second Ready, in the bot's (scaled) seconds."""
    return GET_SET.total_seconds() * bot.app.bot_data.settings.session_time_scale


async def through_get_set(bot: BotHarness) -> None:
    """Both just tapped Ready: let the get-set window pass, so the hold's clock runs.

    What the tests say about a hold ("30 s later it is over") counts from here, as the
    partners' own clock does once the card says the hold has started.
    """
    await bot.advance(get_set_seconds(bot))
