"""/routines: the library in short, a preview of each routine, and Start."""

from __future__ import annotations

from bot.render.basics import BUTTON_GONE
from tests.bot.session_helpers import ANA, BEN, CAL, HOME, pair_in_database
from tests.harness import BotHarness


async def test_routines_lists_each_routine_with_its_length_and_stretches(bot: BotHarness) -> None:
    await bot.say(ANA, "/routines")

    [listing] = bot.inbox(ANA.id)
    assert "<b>Lower back relief</b>: 7 stretches, about" in listing.text
    assert "Child&#x27;s Pose, Straddle Fold, Butterfly" in listing.text
    assert "Supine Twist" in listing.text
    assert [label for label, _ in listing.buttons] == ["Lower back relief", "Quick unwind"]


async def test_a_preview_shows_each_stretch_with_its_hold_and_sides_and_start(
    bot: BotHarness,
) -> None:
    await bot.say(ANA, "/routines")
    [listing] = bot.new(ANA.id)

    await bot.press(ANA, listing, "Lower back relief")

    [preview] = bot.new(ANA.id)
    lines = preview.text.split("\n")
    assert "1. Child&#x27;s Pose — 60 s" in lines
    assert "2. Straddle Fold — 30 s" in lines
    assert "7. Supine Twist — 30 s, each side (right first)" in lines
    assert [label for label, _ in preview.buttons] == ["Start"]
    # The list is still there, to look at the other routine too.
    await bot.press(ANA, listing, "Quick unwind")
    [quick] = bot.new(ANA.id)
    assert quick.text.startswith("<b>Quick unwind</b>")


async def test_start_under_a_preview_starts_that_routine_with_the_partner(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot)
    await bot.say(ANA, "/routines")
    [listing] = bot.new(ANA.id)
    await bot.press(ANA, listing, "Quick unwind")
    [preview] = bot.new(ANA.id)

    await bot.press(ANA, preview, "Start")

    [lobby] = bot.new(BEN.id)
    assert "Quick unwind" in lobby.text and "Join" in [label for label, _ in lobby.buttons]
    await bot.press(BEN, lobby, "Join")
    [card] = bot.new(BEN.id)
    assert card.text.startswith("Stretch 1 of 3 · You help")


async def test_start_with_two_partners_asks_which_one(bot: BotHarness) -> None:
    await pair_in_database(bot)
    await pair_in_database(bot, ANA, CAL, home=None)
    await bot.say(ANA, "/routines")
    [listing] = bot.new(ANA.id)
    await bot.press(ANA, listing, "Quick unwind")
    [preview] = bot.new(ANA.id)

    await bot.press(ANA, preview, "Start")

    [question] = bot.new(ANA.id)
    assert question.text == "Who do you want to stretch with?"
    await bot.press(ANA, question, "Cal")
    [lobby] = bot.new(CAL.id)
    assert "Quick unwind" in lobby.text
    assert bot.new(BEN.id) == []


async def test_start_without_a_partner_says_how_to_get_one(bot: BotHarness) -> None:
    await bot.say(ANA, "/routines")
    [listing] = bot.new(ANA.id)
    await bot.press(ANA, listing, "Quick unwind")
    [preview] = bot.new(ANA.id)

    await bot.press(ANA, preview, "Start")

    [answer] = bot.new(ANA.id)
    assert answer.text.startswith("You need a partner first")


async def test_routines_in_the_home_group_start_there(bot: BotHarness) -> None:
    await pair_in_database(bot)
    await bot.say(BEN, "/routines", chat=HOME)
    [listing] = bot.new(HOME.id)
    await bot.press(BEN, listing, "Lower back relief")
    [preview] = bot.new(HOME.id)

    await bot.press(BEN, preview, "Start")

    [line] = bot.new(HOME.id)
    assert line.text.startswith("Ben and Ana are about to stretch")


async def test_a_routine_position_past_the_library_is_the_polite_refusal(
    bot: BotHarness,
) -> None:
    await bot.say(ANA, "/routines")
    [listing] = bot.new(ANA.id)

    assert await bot.press_data(ANA, listing, "rv:2") == BUTTON_GONE
    assert await bot.press_data(ANA, listing, "rg:2") == BUTTON_GONE
    assert bot.new(ANA.id) == []


async def test_a_preview_telegram_did_not_take_comes_on_the_next_tap(bot: BotHarness) -> None:
    await bot.say(ANA, "/routines")
    [listing] = bot.new(ANA.id)
    for kind in ("server_error", "timeout", "dropped", "forbidden"):
        bot.world.fail("sendMessage", kind, chat_id=ANA.id)
        await bot.press(ANA, listing, "Quick unwind")
        assert bot.new(ANA.id) == [], kind

    await bot.press(ANA, listing, "Quick unwind")
    [preview] = bot.new(ANA.id)
    assert "Start" in [label for label, _ in preview.buttons]


async def test_start_whose_tap_answer_fails_still_opens_the_session(bot: BotHarness) -> None:
    await pair_in_database(bot)
    await bot.say(ANA, "/routines")
    [listing] = bot.new(ANA.id)
    await bot.press(ANA, listing, "Quick unwind")
    [preview] = bot.new(ANA.id)
    bot.world.fail("answerCallbackQuery", "server_error")

    await bot.press(ANA, preview, "Start")

    [lobby] = bot.new(BEN.id)
    assert "Quick unwind" in lobby.text
