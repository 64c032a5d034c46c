"""The weekly recap: once per pair and week, on Sunday, through the reminders' claims."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import Settings
from bot.services import reminder_claims as service
from routines.reminder_rules import FIRST_RETRY
from storage.records import PairRecord, ReminderDeliveryRecord
from tests.bot.history_helpers import finished
from tests.bot.test_reminder_per_partner import PASSING_FAILURES
from tests.bot.test_reminders import ANA, BEN, berlin, pair_up, tick
from tests.bot.two_dispatchers import partners, two_dispatchers
from tests.clock import FakeClock
from tests.fake_telegram import SentMessage
from tests.harness import BotHarness, running_bot

FRIDAY = berlin(2026, 12, 4, 10, 0)
SUNDAY_SIX_PM = berlin(2026, 12, 6, 18, 0)
NEXT_SUNDAY_SIX_PM = berlin(2026, 12, 13, 18, 0)
TITLE = "🗓 <b>Your week with"


@pytest.fixture
async def bot(settings: Settings, clock: FakeClock) -> AsyncIterator[BotHarness]:
    """The running bot with its dispatcher held: each test ticks it by hand, on its clock."""
    clock.set(FRIDAY)
    async with running_bot(settings, clock, reminders_held=True) as harness:
        yield harness


def recaps_in(bot: BotHarness, person_id: int) -> list[SentMessage]:
    return [m for m in bot.inbox(person_id) if m.text.startswith(TITLE)]


def recap_calls_to(bot: BotHarness, person_id: int) -> int:
    """Every attempt to send a recap to a chat, answered or not."""
    return sum(
        1
        for call in bot.world.calls_of("sendMessage")
        if call.params["chat_id"] == person_id and call.params["text"].startswith(TITLE)
    )


async def recaps_of(bot: BotHarness, pair: PairRecord) -> list[ReminderDeliveryRecord]:
    async with bot.app.bot_data.db.unit() as unit:
        return await unit.reminders.recaps_of(pair.id)


async def a_pair_on_friday(bot: BotHarness) -> PairRecord:
    pair = await pair_up(bot)
    await tick(bot, FRIDAY + timedelta(minutes=1))  # schedules its first recap
    return pair


# -- when it comes -------------------------------------------------------------------------


async def test_a_pair_without_slots_gets_the_recap_on_sunday_at_six_in_the_evening(
    bot: BotHarness,
) -> None:
    pair = await a_pair_on_friday(bot)

    await tick(bot, SUNDAY_SIX_PM - timedelta(seconds=1))
    assert recaps_in(bot, ANA.id) == []
    await tick(bot, SUNDAY_SIX_PM)

    for person in (ANA, BEN):
        [recap] = recaps_in(bot, person.id)
        assert [label for label, _ in recap.buttons] == ["See the chart", "Turn off weekly recap"]
    assert [(r.local_date, r.status) for r in await recaps_of(bot, pair)] == [
        (date(2026, 12, 6), "sent")
    ]


async def test_the_recap_comes_at_the_first_reminder_slot_of_sunday(bot: BotHarness) -> None:
    await pair_up(bot)
    await bot.say(ANA, "/remind 07:00 weekdays")
    await bot.say(ANA, "/remind 19:00")
    await bot.say(ANA, "/remind 09:30 weekends")

    await tick(bot, berlin(2026, 12, 6, 9, 29))
    assert recaps_in(bot, BEN.id) == []
    await tick(bot, berlin(2026, 12, 6, 9, 30))

    assert len(recaps_in(bot, BEN.id)) == 1
    assert recaps_in(bot, BEN.id)[0].date == int(berlin(2026, 12, 6, 9, 30).timestamp())


async def test_a_slot_added_after_the_recap_was_scheduled_moves_it(bot: BotHarness) -> None:
    await a_pair_on_friday(bot)

    await bot.say(ANA, "/remind 08:15 sun")
    await tick(bot, berlin(2026, 12, 6, 8, 15))

    assert len(recaps_in(bot, ANA.id)) == 1


async def test_each_week_gets_one_recap_and_no_more(bot: BotHarness) -> None:
    pair = await a_pair_on_friday(bot)

    moments = [SUNDAY_SIX_PM + timedelta(minutes=m) for m in (0, 1, 30, 60 * 5, 60 * 30)]
    for moment in [*moments, NEXT_SUNDAY_SIX_PM, NEXT_SUNDAY_SIX_PM + timedelta(hours=1)]:
        await tick(bot, moment)

    assert recap_calls_to(bot, ANA.id) == recap_calls_to(bot, BEN.id) == 2
    assert [r.local_date for r in await recaps_of(bot, pair)] == [
        date(2026, 12, 6),
        date(2026, 12, 13),
    ]


# -- what it says ----------------------------------------------------------------------------


async def test_the_recap_tells_the_week_in_three_lines(bot: BotHarness) -> None:
    pair = await a_pair_on_friday(bot)
    await finished(bot, pair, date(2026, 11, 27), {ANA.id: 1, BEN.id: 1})  # week before
    await finished(bot, pair, date(2026, 12, 1), {ANA.id: 3, BEN.id: 4}, holds=10)
    await finished(bot, pair, date(2026, 12, 2), {ANA.id: 4}, holds=14)
    await finished(bot, pair, date(2026, 12, 3), holds=6)
    await finished(bot, pair, date(2026, 12, 4), {ANA.id: 5, BEN.id: 3}, holds=4)

    await tick(bot, SUNDAY_SIX_PM)

    [to_ana] = recaps_in(bot, ANA.id)
    [to_ben] = recaps_in(bot, BEN.id)
    # 34 holds of 30 s: 17 minutes. The streak: 1-4 Dec, and no day owed since.
    assert to_ana.text.split("\n") == [
        "🗓 <b>Your week with Ben</b>, 30 Nov–6 Dec",
        "4 sessions, 17 minutes of stretching.",
        "Streak: 0 days.",
        "Back-feel: you 4.0, Ben 3.5.",
    ]
    assert to_ben.text.split("\n")[0] == "🗓 <b>Your week with Ana</b>, 30 Nov–6 Dec"
    assert to_ben.text.split("\n")[3] == "Back-feel: you 3.5, Ana 4.0."


async def test_a_week_without_a_session_gets_a_short_warm_recap(bot: BotHarness) -> None:
    await a_pair_on_friday(bot)

    await tick(bot, SUNDAY_SIX_PM)

    [recap] = recaps_in(bot, ANA.id)
    assert recap.text.split("\n")[1:] == [
        "No sessions this week, and that's fine.",
        "Streak: 0 days.",
        "Ten minutes together is all it takes to start again: /stretch",
    ]


async def test_see_the_chart_sends_the_progress_chart(bot: BotHarness) -> None:
    pair = await a_pair_on_friday(bot)
    await finished(bot, pair, date(2026, 12, 1), {ANA.id: 3, BEN.id: 4})
    await tick(bot, SUNDAY_SIX_PM)
    [recap] = recaps_in(bot, BEN.id)

    await bot.press(BEN, recap, "See the chart")

    [photo] = bot.world.calls_of("sendPhoto")
    assert photo.params["chat_id"] == BEN.id


# -- the off switch --------------------------------------------------------------------------


async def test_turn_off_on_the_recap_stops_the_next_ones_and_tells_the_partner(
    bot: BotHarness,
) -> None:
    pair = await a_pair_on_friday(bot)
    await tick(bot, SUNDAY_SIX_PM)
    [recap] = recaps_in(bot, ANA.id)
    bot.new(BEN.id)

    answer = await bot.press(ANA, recap, "Turn off weekly recap")
    await tick(bot, NEXT_SUNDAY_SIX_PM)
    await tick(bot, NEXT_SUNDAY_SIX_PM + timedelta(days=7))

    assert answer == "Weekly recap is off. Turn it on again in /settings."
    assert [label for label, _ in recap.buttons] == ["See the chart"]
    assert [m.text for m in bot.new(BEN.id)] == ["Ana set: weekly recap off. See /settings."]
    assert recap_calls_to(bot, ANA.id) == recap_calls_to(bot, BEN.id) == 1
    assert len(await recaps_of(bot, pair)) == 1


async def test_a_pair_that_turned_it_off_in_settings_gets_nothing(bot: BotHarness) -> None:
    pair = await a_pair_on_friday(bot)
    await bot.say(BEN, "/settings")
    await bot.press(BEN, bot.new(BEN.id)[-1], "Off")

    for moment in (SUNDAY_SIX_PM, NEXT_SUNDAY_SIX_PM):
        await tick(bot, moment)

    assert recap_calls_to(bot, ANA.id) == recap_calls_to(bot, BEN.id) == 0
    assert await recaps_of(bot, pair) == []


async def test_turned_off_while_a_copy_waits_for_its_retry_sends_no_more(
    bot: BotHarness,
) -> None:
    await a_pair_on_friday(bot)
    bot.world.fail("sendMessage", "server_error", chat_id=BEN.id)
    await tick(bot, SUNDAY_SIX_PM)
    [recap] = recaps_in(bot, ANA.id)

    await bot.press(ANA, recap, "Turn off weekly recap")
    await tick(bot, SUNDAY_SIX_PM + FIRST_RETRY)

    assert recap_calls_to(bot, BEN.id) == 1  # the failed one only


# -- Telegram failing ------------------------------------------------------------------------


@pytest.mark.parametrize("failure", [*PASSING_FAILURES, "retry_after"])
async def test_a_failed_copy_is_sent_again_alone_and_nobody_gets_two(
    bot: BotHarness, failure: str
) -> None:
    pair = await a_pair_on_friday(bot)
    bot.world.fail("sendMessage", failure, chat_id=BEN.id)

    await tick(bot, SUNDAY_SIX_PM)
    if failure != "retry_after":  # a 429 is waited out and retried by the rate limiter
        assert recaps_in(bot, BEN.id) == []
    for seconds in (1, 5, 60, 600, 3600):
        await tick(bot, SUNDAY_SIX_PM + FIRST_RETRY + timedelta(seconds=seconds))

    assert len(recaps_in(bot, ANA.id)) == len(recaps_in(bot, BEN.id)) == 1
    assert recap_calls_to(bot, ANA.id) == 1
    assert [r.status for r in await recaps_of(bot, pair)] == ["sent"]


async def test_a_partner_who_blocked_the_bot_is_not_retried_and_the_other_is_not_told(
    bot: BotHarness,
) -> None:
    pair = await a_pair_on_friday(bot)
    bot.world.blocked.add(BEN.id)

    for minutes in (0, 1, 10, 60):
        await tick(bot, SUNDAY_SIX_PM + timedelta(minutes=minutes))

    assert recap_calls_to(bot, BEN.id) == 1
    assert [m.text.split(",")[0] for m in bot.new(ANA.id)] == ["🗓 <b>Your week with Ben</b>"]
    assert [r.status for r in await recaps_of(bot, pair)] == ["sent"]


# -- restarts and two processes --------------------------------------------------------------


async def test_a_restart_right_after_the_claim_sends_each_recap_once(
    settings: Settings, clock: FakeClock
) -> None:
    clock.set(FRIDAY)
    async with running_bot(settings, clock, reminders_held=True) as first:
        pair = await a_pair_on_friday(first)
        clock.set(SUNDAY_SIX_PM)
        claim = await service.claim_recaps(first.app.bot_data, clock.now(), 250)
        assert len(claim.outgoing) == 1
        # The process stops here: claimed, nothing sent.

    async with running_bot(settings, clock, first.world, reminders_held=True) as second:
        second.world.opened |= {ANA.id, BEN.id}
        await tick(second)
        assert recaps_in(second, ANA.id) == []  # too soon to tell a stopped process
        clock.advance(minutes=3, seconds=1)
        await tick(second)
        await tick(second)
        clock.advance(hours=1)
        await tick(second)

        assert recap_calls_to(second, ANA.id) == recap_calls_to(second, BEN.id) == 1
        assert [r.status for r in await recaps_of(second, pair)] == ["sent"]


async def test_a_restart_right_after_the_send_sends_nothing_again(
    settings: Settings, clock: FakeClock
) -> None:
    clock.set(FRIDAY)
    async with running_bot(settings, clock, reminders_held=True) as first:
        await a_pair_on_friday(first)
        await tick(first, SUNDAY_SIX_PM)

    async with running_bot(settings, clock, first.world, reminders_held=True) as second:
        for minutes in (0, 5, 60):
            await tick(second, SUNDAY_SIX_PM + timedelta(minutes=minutes))

        assert recap_calls_to(second, ANA.id) == recap_calls_to(second, BEN.id) == 1


@pytest.mark.postgres
async def test_two_dispatchers_on_one_postgresql_database_send_each_recap_once(
    clock: FakeClock,
) -> None:
    pairs = 50
    clock.set(FRIDAY)
    async with two_dispatchers(clock) as both:
        # Half the pairs have a Sunday slot at 18:00 too: reminder and recap at once.
        sunday = (time(18, 0), 0b100_0000, SUNDAY_SIX_PM)
        await both.add_pairs(pairs, lambda n: [sunday] if n % 2 else [])
        both.fail_first_send_to([partners(n)[1] for n in range(0, pairs, 5)])

        await both.tick()  # Friday: every recap is scheduled for Sunday
        clock.set(SUNDAY_SIX_PM)
        await both.tick()
        clock.advance(FIRST_RETRY.total_seconds())
        await both.tick()
        for _ in range(3):
            clock.advance(minutes=1)
            await both.tick()

        recaps = both.sent_per_chat(TITLE)
        assert len(recaps) == 2 * pairs
        assert set(recaps.values()) == {1}
        statuses: Counter[str] = Counter()
        async with both.one.app.bot_data.db.unit() as unit:
            for pair_id in range(1, pairs + 1):
                statuses.update(r.status for r in await unit.reminders.recaps_of(pair_id))
        assert statuses == {"sent": pairs}


async def test_a_new_time_zone_moves_the_recap_to_six_in_the_evening_there(
    bot: BotHarness,
) -> None:
    pair = await a_pair_on_friday(bot)

    await bot.say(ANA, "/timezone America/New_York")
    await tick(bot, SUNDAY_SIX_PM)
    assert recaps_in(bot, ANA.id) == []
    new_york_six_pm = datetime(2026, 12, 6, 18, 0, tzinfo=ZoneInfo("America/New_York"))
    await tick(bot, new_york_six_pm)

    assert len(recaps_in(bot, ANA.id)) == len(recaps_in(bot, BEN.id)) == 1
    assert [r.due_at for r in await recaps_of(bot, pair)] == [new_york_six_pm]
