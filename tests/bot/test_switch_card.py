"""The side-switch card: each phone reads its own role's words for the left side."""

from __future__ import annotations

from html import escape

from routines.plan import PlanOptions, Seat, StepKind
from tests.bot.session_helpers import ANA, BEN, HOME, card_of, pair_in_database, through_get_set
from tests.harness import BotHarness


async def test_the_switch_card_shows_each_role_the_routines_words_for_the_left_side(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot)
    plan = bot.app.bot_data.plan("lower-back", PlanOptions())
    phones = {Seat.A: ANA, Seat.B: BEN}
    await bot.say(ANA, "/stretch", chat=HOME)
    for person in phones.values():
        [lobby] = bot.new(person.id)
        await bot.press(person, lobby, "Join")

    switch = next(s for s in plan.steps if s.kind is StepKind.SWITCH)
    for step in plan.steps[: switch.index - 1]:
        cards = {seat: card_of(bot, person) for seat, person in phones.items()}
        if step.kind is StepKind.SETUP:
            for seat, person in phones.items():
                await bot.press(person, cards[seat], "Ready")
            await through_get_set(bot)
        else:
            await bot.advance(step.seconds)

    exercise = switch.exercise
    assert exercise.id == "supine-hamstring"
    # The switch comes as a new message on each phone, and is the only card there.
    [receiver_card] = bot.new(phones[switch.receiver].id)[-1:]
    [helper_card] = bot.new(phones[switch.helper].id)[-1:]
    assert card_of(bot, phones[switch.receiver]) is receiver_card
    assert card_of(bot, phones[switch.helper]) is helper_card
    assert exercise.receiver_setup_left is not None and exercise.helper_setup_left is not None
    assert escape(exercise.receiver_setup_left) in receiver_card.text
    assert escape(exercise.helper_setup_left) in helper_card.text
    assert escape("cradle your partner's left leg") in helper_card.text
    for card in (receiver_card, helper_card):
        assert "mirror" not in card.text
        assert f"{switch.seconds:.0f} s to switch." in card.text
