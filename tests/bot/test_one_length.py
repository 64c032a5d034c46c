"""One length everywhere: the lobby, a reminder, /routines, the summary and the routine
check all give the estimate of routines/plan.py, and the lobby shows what is coming."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from routines.__main__ import check
from routines.loader import LIBRARY_DIR
from routines.plan import PlanOptions, StepKind
from routines.timing import GET_SET, SETUP_ALLOWANCE
from tests.bot.session_helpers import (
    ANA,
    BEN,
    HOME,
    into_first_hold,
    pair_in_database,
    stop_for_both,
    through_get_set,
)
from tests.bot.test_reminders import pair_with_reminders, reminders_in, tick
from tests.harness import BotHarness


def lower_back_minutes(bot: BotHarness) -> int:
    return bot.app.bot_data.plan("lower-back", PlanOptions()).estimated_minutes


def test_the_estimate_counts_holds_switches_and_each_setups_allowance_and_get_set(
    bot: BotHarness,
) -> None:
    plan = bot.app.bot_data.plan("lower-back", PlanOptions())
    holds = sum(s.seconds for s in plan.steps if s.kind is StepKind.HOLD)
    switches = sum(s.seconds for s in plan.steps if s.kind is StepKind.SWITCH)
    setups = sum(1 for s in plan.steps if s.kind is StepKind.SETUP)
    assert (holds, switches, setups) == (
        2 * (60 + 30 + 30 + 4 * 2 * 30),
        2 * (10 + 15 + 12 + 12),
        14,
    )
    per_setup = (SETUP_ALLOWANCE + GET_SET).total_seconds()
    assert plan.estimated_seconds == holds + switches + setups * per_setup
    assert plan.estimated_minutes == 20  # 1154 s, rounded up


async def test_lobby_card_shows_the_length_the_summary_line_and_each_stretch(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot)
    await bot.say(ANA, "/stretch", chat=HOME)
    minutes = lower_back_minutes(bot)
    routine = bot.app.bot_data.library["lower-back"]
    for person in (ANA, BEN):
        [lobby] = bot.new(person.id)
        lines = lobby.text.split("\n")
        assert f"<b>Lower back relief</b>: 7 stretches, about {minutes} min" in lines
        assert f"<i>{escape(routine.summary)}</i>" in lines
        assert "1. Child&#x27;s Pose — 60 s" in lines
        assert "7. Supine Twist — 30 s, each side (right first)" in lines
        assert len([line for line in lines if line[:2] in {f"{n}." for n in range(8)}]) == 7


async def test_routines_and_its_preview_give_the_same_length(bot: BotHarness) -> None:
    await bot.say(ANA, "/routines")
    [listing] = bot.new(ANA.id)
    expected = f"<b>Lower back relief</b>: 7 stretches, about {lower_back_minutes(bot)} min"
    assert expected in listing.text
    await bot.press(ANA, listing, "Lower back relief")
    assert bot.new(ANA.id)[-1].text.startswith(expected)


async def test_a_reminder_gives_the_same_length(bot: BotHarness) -> None:
    await pair_with_reminders(bot, "10:05")
    await tick(bot, datetime(2026, 11, 2, 9, 6, tzinfo=UTC))  # 10:06 in Berlin

    [reminder] = reminders_in(bot, ANA)
    assert f"7 stretches, about {lower_back_minutes(bot)} minutes." in reminder.text


async def test_the_summary_gives_the_planned_length(bot: BotHarness) -> None:
    await into_first_hold(bot)
    await through_get_set(bot)
    await bot.advance(60)
    bot.new(BEN.id)
    await stop_for_both(bot, ANA, bot.new(ANA.id)[-1])

    for person in (ANA, BEN):
        [summary] = bot.new(person.id)
        assert f"Planned: about {lower_back_minutes(bot)} min" in summary.text


def test_the_routine_check_gives_the_same_length(bot: BotHarness) -> None:
    lines, ok = check([LIBRARY_DIR / "lower-back.toml"])
    assert ok
    assert lines == [f"ok lower-back.toml: 7 exercises, ~{lower_back_minutes(bot)} min"]
