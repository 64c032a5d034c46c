"""Each partner's copy of a reminder is sent, retried and marked on its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, timedelta

import pytest

from bot.config import Settings
from bot.reminder_dispatch import dispatcher_job
from routines.reminder_rules import FIRST_RETRY
from tests.bot.test_reminders import (
    ANA,
    BEN,
    berlin,
    deliveries_of,
    pair_with_reminders,
    reminders_in,
    tick,
)
from tests.clock import FakeClock, RunningClock
from tests.harness import BotHarness, running_bot, wait_until

DUE = berlin(2026, 11, 2, 10, 5)
PASSING_FAILURES = ["server_error", "timeout", "dropped"]


@pytest.fixture
async def bot(settings: Settings, clock: FakeClock) -> AsyncIterator[BotHarness]:
    """The running bot with its dispatcher held: each test ticks it by hand, on its clock."""
    async with running_bot(settings, clock, reminders_held=True) as harness:
        yield harness


def reminder_calls_to(bot: BotHarness, person_id: int) -> int:
    """Every attempt to send a reminder to a chat, answered or not."""
    return sum(
        1
        for call in bot.world.calls_of("sendMessage")
        if call.params["chat_id"] == person_id and call.params["text"].startswith("⏰")
    )


@pytest.mark.parametrize("failure", PASSING_FAILURES)
async def test_a_partner_whose_send_failed_gets_the_reminder_on_the_retry_and_the_other_once(
    bot: BotHarness, failure: str
) -> None:
    pair = await pair_with_reminders(bot, "10:05")
    bot.world.fail("sendMessage", failure, chat_id=BEN.id)

    await tick(bot, DUE)
    assert len(reminders_in(bot, ANA)) == 1
    assert reminders_in(bot, BEN) == []
    # Sent, as far as the pair's buttons go: Ana may snooze or skip already.
    assert [d.status for d in await deliveries_of(bot, pair)] == ["sent"]

    await tick(bot, DUE + FIRST_RETRY - timedelta(seconds=1))
    assert reminders_in(bot, BEN) == []
    await tick(bot, DUE + FIRST_RETRY)
    await tick(bot, DUE + timedelta(minutes=10))

    assert len(reminders_in(bot, ANA)) == 1
    assert len(reminders_in(bot, BEN)) == 1
    assert reminder_calls_to(bot, ANA.id) == 1
    assert [d.status for d in await deliveries_of(bot, pair)] == ["sent"]


async def test_retries_back_off_and_stop_when_the_grace_window_closes(bot: BotHarness) -> None:
    pair = await pair_with_reminders(bot, "10:05")
    bot.world.fail("sendMessage", "server_error", chat_id=BEN.id, times=1000)

    for second in range(0, 70 * 60, 5):
        await tick(bot, DUE + timedelta(seconds=second))

    assert len(reminders_in(bot, ANA)) == 1
    assert reminders_in(bot, BEN) == []
    # 5, 15, 45, 135 s, then every 5 minutes until 60 minutes after 10:05: 16 tries,
    # where a fixed 5 s would have made 720.
    assert reminder_calls_to(bot, BEN.id) == 16
    assert [d.status for d in await deliveries_of(bot, pair)] == ["sent"]


async def test_a_partner_who_blocked_the_bot_on_the_retry_is_told_to_the_other_once(
    bot: BotHarness,
) -> None:
    await pair_with_reminders(bot, "10:05")
    bot.world.fail("sendMessage", "timeout", chat_id=BEN.id)

    await tick(bot, DUE)
    bot.world.blocked.add(BEN.id)
    await tick(bot, DUE + FIRST_RETRY)
    await tick(bot, DUE + timedelta(minutes=10))

    assert [m.text.split(".")[0] for m in bot.new(ANA.id)[1:]] == [
        "⏰ Time to stretch, together with Ben",
        "I couldn't reach Ben in private, so only you got this reminder",
    ]
    assert reminder_calls_to(bot, BEN.id) == 2


async def test_a_snooze_pressed_while_the_other_copy_waits_sends_both_the_snoozed_one(
    bot: BotHarness,
) -> None:
    pair = await pair_with_reminders(bot, "10:05")
    bot.world.fail("sendMessage", "server_error", chat_id=BEN.id)

    await tick(bot, DUE)
    [to_ana] = reminders_in(bot, ANA)
    bot.clock.set(DUE + timedelta(seconds=2))
    await bot.press(ANA, to_ana, "Snooze")
    for seconds in (5, 60, 17 * 60):
        await tick(bot, DUE + timedelta(seconds=seconds))

    # Ben's first copy is dropped: the snoozed reminder, to both, replaces it.
    assert [m.text.split(",")[0] for m in reminders_in(bot, BEN)] == [
        "⏰ Here's your snoozed reminder"
    ]
    assert reminder_calls_to(bot, ANA.id) == 2  # the first now reads "Snoozed."
    assert reminder_calls_to(bot, BEN.id) == 2
    assert [d.status for d in await deliveries_of(bot, pair)] == ["resent"]


async def test_a_restart_between_the_two_partners_sends_delivers_the_missing_one_once(
    settings: Settings, clock: FakeClock
) -> None:
    async with running_bot(settings, clock, reminders_held=True) as first:
        pair = await pair_with_reminders(first, "10:05")
        first.world.fail("sendMessage", "dropped", chat_id=BEN.id)
        await tick(first, DUE)
        assert len(reminders_in(first, ANA)) == 1
        assert reminders_in(first, BEN) == []

    async with running_bot(settings, clock, first.world, reminders_held=True) as second:
        for seconds in (1, 5, 60, 600):
            await tick(second, DUE + timedelta(seconds=seconds))

        assert len(reminders_in(second, ANA)) == 1
        assert len(reminders_in(second, BEN)) == 1
        assert reminder_calls_to(second, ANA.id) == 1
        assert [d.status for d in await deliveries_of(second, pair)] == ["sent"]


async def test_on_a_running_job_queue_the_retry_wakes_the_dispatcher_by_itself(
    settings: Settings,
) -> None:
    clock = RunningClock(berlin(2026, 11, 2, 9, 0))
    async with running_bot(settings, clock, reminders_held=True) as first:
        await pair_with_reminders(first, "10:05")
        first.world.fail("sendMessage", "server_error", chat_id=BEN.id)
        clock.set(DUE)
        await tick(first)
        assert reminders_in(first, BEN) == []

    async with running_bot(settings, clock, first.world) as bot:

        async def ben_reminded() -> bool:
            return bool(reminders_in(bot, BEN))

        await wait_until(ben_reminded, what="Ben's copy, retried")

        [to_ben] = reminders_in(bot, BEN)
        job = dispatcher_job(bot.app)
        assert job.next_t is not None
        assert len(reminders_in(bot, ANA)) == 1
        # Retried at its instant on the bot's clock, not before.
        assert to_ben.date >= int((DUE + FIRST_RETRY).astimezone(UTC).timestamp())
