"""/settings: every choice is stored, shown in place, told to the partner, and used next."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.reminder_dispatch import ReminderDispatcher, dispatcher_job
from bot.render.basics import BUTTON_GONE
from routines.plan import PlanOptions, Role, Seat, StepKind, SwapMode
from storage.records import PairRecord
from tests.bot.session_helpers import (
    ANA,
    BEN,
    CAL,
    HOME,
    ROLE_LINE,
    pair_in_database,
    stop_for_both,
)
from tests.fake_telegram import SentMessage
from tests.harness import BotHarness, Group

NEIGHBOURS = Group(-100888, "Neighbours")
FAILURES = ["server_error", "timeout", "dropped", "forbidden", "retry_after"]


async def stored(bot: BotHarness, pair: PairRecord) -> PairRecord:
    async with bot.app.bot_data.db.unit() as unit:
        found = await unit.pairs.get(pair.id)
    assert found is not None
    return found


async def open_settings(bot: BotHarness) -> SentMessage:
    await bot.say(ANA, "/settings")
    [message] = bot.new(ANA.id)
    return message


def ticked(message: SentMessage) -> list[str]:
    return [label for label, _ in message.buttons if label.startswith("✓ ")]


async def first_cards(bot: BotHarness) -> dict[str, SentMessage]:
    """Ana has sent /stretch in private and Ben joins: each phone's first step card."""
    lobby = bot.new(BEN.id)[-1]
    await bot.press(BEN, lobby, "Join")
    return {"Ana": bot.new(ANA.id)[-1], "Ben": bot.new(BEN.id)[-1]}


# -- what /settings shows ---------------------------------------------------------------------


async def test_settings_show_each_setting_with_the_current_choice_ticked(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot)

    message = await open_settings(bot)

    assert message.text.startswith("<b>Settings for you and Ben")
    assert "Stretched first: whoever starts a session is stretched first" in message.text
    assert "Roles: roles swap after each stretch" in message.text
    assert "Routine for /stretch and reminders: Lower back relief" in message.text
    assert "Weekly recap: on, Sundays at 18:00" in message.text
    assert ticked(message) == [
        "✓ Who starts",
        "✓ Each stretch",
        "✓ Lower back relief",
        "✓ Weekly recap on",
    ]


async def test_someone_without_a_partner_is_told_how_to_pair(bot: BotHarness) -> None:
    await bot.say(CAL, "/settings")

    assert bot.texts(CAL.id) == [
        "You don't have a partner yet, so there is nothing to set. Send /invite to pair up."
    ]


async def test_in_the_home_group_settings_are_the_pair_s_and_elsewhere_a_clear_answer(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot)
    await pair_in_database(bot, ANA, CAL, home=None)

    await bot.say(ANA, "/settings", chat=HOME)
    await bot.say(ANA, "/settings", chat=NEIGHBOURS)

    [home] = bot.new(HOME.id)
    assert home.text.startswith("<b>Settings for you and Ben")
    assert bot.texts(NEIGHBOURS.id) == [
        "This group is not the home of a pair you are in. Send /settings to me in private."
    ]


async def test_with_several_partners_the_pair_is_chosen_first(bot: BotHarness) -> None:
    await pair_in_database(bot)
    cal_pair = await pair_in_database(bot, ANA, CAL, home=None)

    question = await open_settings(bot)
    assert question.text == "Whose settings do you want to see?"
    await bot.press(ANA, question, "Cal")

    assert question.text.startswith("<b>Settings for you and Cal")
    await bot.press(ANA, question, "The other one")
    assert (await stored(bot, cal_pair)).first_receiver == "partner"
    assert bot.texts(CAL.id)[-1] == (
        "Ana set: whoever starts a session helps first. See /settings."
    )
    assert bot.new(BEN.id) == []


# -- each choice ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("button", "column", "value", "told"),
    [
        ("The other one", "first_receiver", "partner", "whoever starts a session helps first"),
        ("Take turns", "first_receiver", "alternate", "you take turns being stretched first"),
        ("Whole routine", "swap_mode", "whole-routine", "one of you does the whole routine"),
        ("One way", "swap_mode", "one-way", "only the first one is stretched, no swapping"),
        ("Quick unwind", "default_routine", "quick", "/stretch and reminders start Quick unwind"),
        ("Off", "weekly_recap", False, "weekly recap off"),
    ],
)
async def test_each_choice_is_stored_shown_in_place_and_told_to_the_partner(
    bot: BotHarness, button: str, column: str, value: object, told: str
) -> None:
    pair = await pair_in_database(bot)
    message = await open_settings(bot)

    answer = await bot.press(ANA, message, button)

    assert answer == "Saved."
    assert getattr(await stored(bot, pair), column) == value
    assert f"✓ {button}" in ticked(message)
    assert bot.new(ANA.id) == []  # edited in place, nothing new
    [line] = bot.new(BEN.id)
    assert line.text.startswith(f"Ana set: {told}")


async def test_the_same_choice_twice_is_kept_and_told_once(bot: BotHarness) -> None:
    await pair_in_database(bot)
    message = await open_settings(bot)

    await bot.press(ANA, message, "Take turns")
    again = await bot.press(ANA, message, "Take turns")

    assert again == "That is already the setting."
    assert len(bot.new(BEN.id)) == 1


async def test_turning_the_recap_back_on_schedules_it_for_the_next_sunday(
    bot: BotHarness,
) -> None:
    pair = await pair_in_database(bot)
    message = await open_settings(bot)

    await bot.press(ANA, message, "Off")
    assert (await stored(bot, pair)).recap_due_at is None
    await bot.press(ANA, message, "Weekly recap on")

    due = (await stored(bot, pair)).recap_due_at
    assert due is not None and due > bot.clock.now()
    assert due.weekday() == 6 and (due.hour, due.minute) == (18, 0)  # the pair is in UTC
    assert "Weekly recap: on, Sundays at 18:00" in message.text


async def test_a_stranger_s_tap_in_the_group_changes_nothing(bot: BotHarness) -> None:
    pair = await pair_in_database(bot)
    await bot.say(ANA, "/settings", chat=HOME)
    [message] = bot.new(HOME.id)

    answer = await bot.press(CAL, message, "One way")

    assert answer == "These settings belong to another pair."
    assert (await stored(bot, pair)).swap_mode == "per-exercise"
    assert ticked(message)[1] == "✓ Each stretch"


async def test_a_choice_past_the_setting_s_own_choices_is_refused(bot: BotHarness) -> None:
    pair = await stored(bot, await pair_in_database(bot))
    message = await open_settings(bot)

    for data in (f"set:{pair.id}:0:3", f"set:{pair.id}:2:2", f"set:{pair.id}:3:2"):
        assert await bot.press_data(ANA, message, data) == BUTTON_GONE

    # The reminder job may move a new pair's first recap on meanwhile (it is due at the
    # pair's creation); every setting stays as it was.
    after = await stored(bot, pair)
    assert replace(after, recap_due_at=None) == replace(pair, recap_due_at=None)


@pytest.mark.parametrize("failure", FAILURES)
async def test_when_telling_the_partner_fails_the_setting_is_kept_and_shown(
    bot: BotHarness, failure: str
) -> None:
    pair = await pair_in_database(bot)
    message = await open_settings(bot)
    bot.world.fail("sendMessage", failure, chat_id=BEN.id)

    await bot.press(ANA, message, "Whole routine")

    assert (await stored(bot, pair)).swap_mode == "whole-routine"
    assert "✓ Whole routine" in ticked(message)


async def test_the_start_menu_settings_button_brings_the_settings_below_the_welcome(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot)
    await bot.say(ANA, "/start")
    [welcome] = bot.new(ANA.id)

    await bot.press(ANA, welcome, "Settings")

    [settings] = bot.new(ANA.id)
    assert settings.text.startswith("<b>Settings for you and Ben")
    assert welcome.text.startswith("Hi Ana!")


async def test_settings_are_in_both_command_menus_and_in_help(bot: BotHarness) -> None:
    scopes = {
        call.params["scope"]["type"]: [c["command"] for c in call.params["commands"]]
        for call in bot.world.calls_of("setMyCommands")
    }
    await bot.say(ANA, "/help")

    assert "settings" in scopes["all_private_chats"]
    assert "settings" in scopes["all_group_chats"]
    assert "/settings — " in bot.texts(ANA.id)[-1]


# -- the next /stretch follows them ---------------------------------------------------------


async def test_with_the_partner_first_the_starter_helps_on_both_phones(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot)
    await bot.press(ANA, await open_settings(bot), "The other one")
    bot.new(BEN.id)

    await bot.say(ANA, "/stretch")
    cards = await first_cards(bot)

    assert ROLE_LINE[Role.HELPER] in cards["Ana"].text
    assert ROLE_LINE[Role.RECEIVER] in cards["Ben"].text


async def test_taking_turns_gives_the_first_stretch_to_the_other_partner_next_time(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot)
    await bot.press(ANA, await open_settings(bot), "Take turns")
    bot.new(BEN.id)
    firsts = []
    for _ in range(3):
        await bot.say(ANA, "/stretch")
        cards = await first_cards(bot)
        firsts.append(next(n for n, c in cards.items() if ROLE_LINE[Role.RECEIVER] in c.text))
        assert await stop_for_both(bot, ANA, cards["Ana"])
        bot.new(ANA.id), bot.new(BEN.id)

    assert firsts == ["Ana", "Ben", "Ana"]


@pytest.mark.parametrize(
    ("button", "mode"), [("Whole routine", SwapMode.WHOLE_ROUTINE), ("One way", SwapMode.ONE_WAY)]
)
async def test_the_swap_mode_shapes_the_next_session(
    bot: BotHarness, button: str, mode: SwapMode
) -> None:
    await pair_in_database(bot)
    await bot.press(ANA, await open_settings(bot), button)
    plan = bot.app.bot_data.plan("lower-back", PlanOptions(Seat.A, mode))
    assert plan.steps[0].kind is StepKind.SETUP

    await bot.say(ANA, "/stretch")
    cards = await first_cards(bot)

    for card in cards.values():
        assert card.text.startswith(f"Stretch 1 of {plan.exercise_count} · ")
    async with bot.app.bot_data.db.unit() as unit:
        live = await unit.sessions.live_of_user(ANA.id)
    assert live is not None and live.options["plan"]["swap_mode"] == mode.value


async def test_the_default_routine_is_what_a_bare_stretch_and_a_reminder_start(
    bot: BotHarness,
) -> None:
    pair = await pair_in_database(bot)
    await bot.press(ANA, await open_settings(bot), "Quick unwind")
    bot.new(BEN.id)

    await bot.say(BEN, "/stretch")

    [lobby] = bot.new(ANA.id)
    assert "Quick unwind" in lobby.text
    assert (await stored(bot, pair)).default_routine == "quick"


async def test_a_reminder_pitches_the_default_routine_and_its_start_begins_it(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot, home=None)
    await bot.press(ANA, await open_settings(bot), "Quick unwind")
    await bot.say(ANA, "/remind 07:30")
    bot.new(ANA.id), bot.new(BEN.id)
    job = dispatcher_job(bot.app)
    assert isinstance(job.data, ReminderDispatcher)
    async with bot.app.bot_data.db.unit() as unit:
        [slot] = await unit.reminders.slots_of(1)
    bot.clock.set(slot.next_due_at)

    await job.data.tick(bot.app.bot, bot.app.bot_data)

    [reminder] = [m for m in bot.new(BEN.id) if m.text.startswith("⏰")]
    assert "<b>Quick unwind</b>" in reminder.text
    await bot.press(BEN, reminder, "Start now")
    [lobby] = [m for m in bot.new(ANA.id) if "wants to stretch" in m.text]
    assert "Quick unwind" in lobby.text
