"""/start and /help know where the user stands: not paired, paired, in a session."""

from __future__ import annotations

from telegram.ext import CommandHandler

from bot.render.basics import GROUP_COMMANDS, PRIVATE_COMMANDS
from tests.bot.session_helpers import (
    ANA,
    BEN,
    CAL,
    HOME,
    card_of,
    pair_in_database,
    stop_for_both,
    through_get_set,
)
from tests.fake_telegram import SentMessage
from tests.harness import BotHarness


async def _in_setup(bot: BotHarness) -> dict[int, SentMessage]:
    """Ana starts a session in private (she is in), Ben joins: step 1 on each phone."""
    await pair_in_database(bot)
    await bot.say(ANA, "/stretch quick")
    bot.new(ANA.id)  # "asked Ben to join"
    [ben_lobby] = bot.new(BEN.id)
    await bot.press(BEN, ben_lobby, "Join")
    cards = {}
    for person in (ANA, BEN):
        [card] = bot.new(person.id)
        assert card.text.startswith("Stretch 1 of 3 · ")
        cards[person.id] = card
    return cards


async def test_start_before_pairing_says_how_to_pair_and_offers_no_buttons(
    bot: BotHarness,
) -> None:
    await bot.say(ANA, "/start")

    [reply] = bot.inbox(ANA.id)
    assert "To begin, pair up" in reply.text and "/invite" in reply.text
    assert "/pair" in reply.text
    assert reply.buttons == []


async def test_start_when_paired_names_the_partner_with_stretch_reminder_and_settings_buttons(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot)

    await bot.say(BEN, "/start")

    [reply] = bot.new(BEN.id)
    assert "You and Ana are partners" in reply.text
    assert "pair up" not in reply.text
    assert [label for label, _ in reply.buttons] == ["Stretch now", "Reminders", "Settings"]


async def test_stretch_now_starts_the_default_routine_with_the_partner(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot)
    await bot.say(BEN, "/start")
    [reply] = bot.new(BEN.id)

    await bot.press(BEN, reply, "Stretch now")

    ana_cards = bot.new(ANA.id)
    assert any("Lower back relief" in m.text and m.buttons for m in ana_cards)
    assert any("Join" in label for m in ana_cards for label, _ in m.buttons)


async def test_the_reminders_button_lists_the_pairs_reminders(bot: BotHarness) -> None:
    await pair_in_database(bot)
    await bot.say(ANA, "/remind 07:30")
    bot.new(ANA.id)
    await bot.say(ANA, "/start")
    [reply] = bot.new(ANA.id)

    await bot.press(ANA, reply, "Reminders")

    shown = bot.inbox(ANA.id)[-1]
    assert "07:30" in shown.text


async def test_start_with_two_partners_offers_a_button_per_partner(bot: BotHarness) -> None:
    await pair_in_database(bot)
    await pair_in_database(bot, ANA, CAL, home=None)

    await bot.say(ANA, "/start")

    [reply] = bot.new(ANA.id)
    assert "Your partners: Ben and Cal" in reply.text
    labels = [label for label, _ in reply.buttons]
    assert labels == [
        "Stretch with Ben",
        "Reminders",
        "Settings",
        "Stretch with Cal",
        "Reminders",
        "Settings",
    ]


async def test_the_partner_who_opens_the_private_chat_by_link_is_told_they_are_paired(
    bot: BotHarness,
) -> None:
    """The issue's first finding: a partner of a group /pair was told "To begin, pair up"."""
    await pair_in_database(bot)

    await bot.say(BEN, "/start hello")

    [welcome] = bot.new(BEN.id)
    assert "You and Ana are partners" in welcome.text
    assert "pair up" not in welcome.text


async def test_start_in_a_session_brings_back_the_current_card(bot: BotHarness) -> None:
    cards = await _in_setup(bot)

    await bot.say(ANA, "/start")
    [reply] = bot.new(ANA.id)
    assert "stretching right now" in reply.text and "Ben" in reply.text
    assert [label for label, _ in reply.buttons] == ["Back to my card"]

    assert await bot.press(ANA, reply, "Back to my card") == "Here is your card."
    [again] = bot.new(ANA.id)
    assert again.text == cards[ANA.id].text
    assert again.buttons == cards[ANA.id].buttons
    # It was asked for: it comes quietly, and the card it repeats goes, so only the
    # new one carries the session's buttons.
    assert again.disable_notification
    assert cards[ANA.id].deleted and card_of(bot, ANA) is again
    assert bot.new(BEN.id) == []
    # The card brought back works: Ready on it moves the session on.
    await bot.press(ANA, again, "Ready")
    await bot.press(BEN, cards[BEN.id], "Ready")
    await through_get_set(bot)
    assert "Hold" in again.text and card_of(bot, ANA) is again


async def test_back_to_my_card_when_paused_shows_the_paused_card_with_resume(
    bot: BotHarness,
) -> None:
    cards = await _in_setup(bot)
    for person in (ANA, BEN):
        await bot.press(person, cards[person.id], "Ready")
    await through_get_set(bot)
    ben_hold = card_of(bot, BEN)
    await bot.press(BEN, ben_hold, "Pause")
    bot.new(ANA.id)

    await bot.say(ANA, "/start")
    [reply] = bot.new(ANA.id)
    assert "Your session with Ben is paused." in reply.text
    await bot.press(ANA, reply, "Back to my card")

    [paused] = bot.new(ANA.id)
    assert "Paused by Ben." in paused.text
    assert card_of(bot, ANA) is paused and cards[ANA.id].deleted
    await bot.press(ANA, paused, "Resume")
    assert "Hold" in bot.new(BEN.id)[-1].text


async def test_after_a_stopped_session_start_offers_a_new_one(bot: BotHarness) -> None:
    cards = await _in_setup(bot)
    await stop_for_both(bot, BEN, cards[BEN.id])
    bot.new(ANA.id)

    await bot.say(ANA, "/start")

    [reply] = bot.new(ANA.id)
    assert "You and Ben are partners" in reply.text
    assert [label for label, _ in reply.buttons] == ["Stretch now", "Reminders", "Settings"]


async def test_an_old_back_to_my_card_button_changes_nothing_once_the_session_ended(
    bot: BotHarness,
) -> None:
    cards = await _in_setup(bot)
    await bot.say(ANA, "/start")
    [reply] = bot.new(ANA.id)
    await stop_for_both(bot, BEN, cards[BEN.id])
    bot.new(ANA.id)

    assert await bot.press(ANA, reply, "Back to my card") == "This session no longer exists."
    assert bot.new(ANA.id) == []


async def test_back_to_my_card_is_only_for_the_partners(bot: BotHarness) -> None:
    await _in_setup(bot)
    await bot.say(ANA, "/start")
    [reply] = bot.new(ANA.id)
    await bot.say(CAL, "/start")
    bot.new(CAL.id)

    answer = await bot.press(CAL, reply, "Back to my card")

    assert answer is not None and "isn't yours" in answer
    assert bot.new(CAL.id) == []


# -- /help ------------------------------------------------------------------------------------


async def test_help_lists_the_routines_and_what_the_session_buttons_do(bot: BotHarness) -> None:
    await bot.say(ANA, "/help")

    [reply] = bot.inbox(ANA.id)
    assert "/stretch lower-back — <b>Lower back relief</b>: 7 stretches" in reply.text
    assert "/stretch quick" in reply.text
    for button in ("Ready", "Pause / Resume", "Skip", "Stop", "Ease off"):
        assert button in reply.text
    assert "To begin, pair up" in reply.text and reply.buttons == []


async def test_help_when_paired_and_in_a_session_ends_with_where_you_are(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot)
    await bot.say(BEN, "/help")
    [paired] = bot.new(BEN.id)
    assert "You and Ana are partners" in paired.text
    assert [label for label, _ in paired.buttons] == ["Stretch now", "Reminders", "Settings"]

    bot.world.add_group(HOME.id, HOME.title)
    await bot.say(ANA, "/stretch", chat=HOME)
    await bot.say(BEN, "/help")
    helped = bot.new(BEN.id)[-1]
    assert "about to stretch" in helped.text
    assert [label for label, _ in helped.buttons] == ["Back to my card"]


# -- the command menus ------------------------------------------------------------------------


async def test_each_command_menu_lists_only_commands_that_work_in_its_place(
    bot: BotHarness,
) -> None:
    """The private menu has no /pair (groups only); the group menu has no private-only ones."""
    registered = {
        command
        for handlers in bot.app.handlers.values()
        for handler in handlers
        if isinstance(handler, CommandHandler)
        for command in handler.commands
    }
    private = {name for name, _ in PRIVATE_COMMANDS}
    group = {name for name, _ in GROUP_COMMANDS}
    assert private <= registered and group <= registered
    assert "pair" not in private
    private_only = {"invite", "partners", "unpair", "export", "forget"}
    assert not group & private_only
    sent = {
        call.params["scope"]["type"]: {c["command"] for c in call.params["commands"]}
        for call in bot.world.calls_of("setMyCommands")
    }
    assert sent == {"all_private_chats": private, "all_group_chats": group}


# -- Telegram failing on these paths loses nothing ------------------------------------------


async def test_a_start_whose_answer_fails_still_remembers_the_user_and_answers_next_time(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot)
    for kind in ("server_error", "timeout", "dropped", "forbidden"):
        bot.world.fail("sendMessage", kind, chat_id=BEN.id)

        await bot.say(BEN, "/start")

        assert bot.new(BEN.id) == [], kind
        await bot.say(BEN, "/start")
        [reply] = bot.new(BEN.id)
        assert "You and Ana are partners" in reply.text, kind
    # A 429 is waited out by the rate limiter and the answer goes through.
    bot.world.fail("sendMessage", "retry_after", chat_id=BEN.id)
    await bot.say(BEN, "/start")
    [reply] = bot.new(BEN.id)
    assert "You and Ana are partners" in reply.text


async def test_a_card_that_could_not_be_brought_back_comes_on_the_next_tap(
    bot: BotHarness,
) -> None:
    cards = await _in_setup(bot)
    await bot.say(ANA, "/start")
    [reply] = bot.new(ANA.id)
    for kind in ("server_error", "timeout", "dropped", "forbidden"):
        bot.world.fail("sendMessage", kind, chat_id=ANA.id)

        answer = await bot.press(ANA, reply, "Back to my card")

        assert answer == "I couldn't send your card just now. Tap again in a moment.", kind
        assert bot.new(ANA.id) == [], kind
        # Nothing is lost: the card she had stays, and works.
        assert card_of(bot, ANA) is cards[ANA.id], kind

    assert await bot.press(ANA, reply, "Back to my card") == "Here is your card."
    [again] = bot.new(ANA.id)
    assert again.text == cards[ANA.id].text
    assert card_of(bot, ANA) is again


async def test_a_failed_answer_to_the_tap_still_leaves_the_card_in_use(bot: BotHarness) -> None:
    cards = await _in_setup(bot)
    for person in (ANA, BEN):
        await bot.press(person, cards[person.id], "Ready")
    ana_hold = card_of(bot, ANA)
    edits = ana_hold.edits
    await bot.say(ANA, "/start")
    [reply] = bot.new(ANA.id)
    bot.world.fail("answerCallbackQuery", "server_error")

    await bot.press(ANA, reply, "Back to my card")

    [again] = bot.new(ANA.id)
    assert "Get set: the hold starts in 4 s" in again.text
    # The card brought back is the one the hold's start and its countdown edit now, not
    # the old one.
    await through_get_set(bot)
    assert bot.new(ANA.id) == [] and "<b>Hold: 60 s left</b>" in again.text
    await bot.advance(31)  # the 60 s hold's first edit: the cue at its half
    assert again.edits == 2 and ana_hold.edits == edits
    assert ana_hold.deleted and card_of(bot, ANA) is again
