"""Exactly once across restarts, failed sends and two processes on one database."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import time, timedelta

import pytest

from bot.config import Settings
from bot.services import reminder_claims as service
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
from tests.bot.two_dispatchers import partners, two_dispatchers
from tests.clock import FakeClock
from tests.harness import BotHarness, running_bot


def as_restarted(bot: BotHarness) -> None:
    """A new process meets the same phones, their chats still open."""
    bot.world.opened |= {ANA.id, BEN.id}


@pytest.fixture
async def bot(settings: Settings, clock: FakeClock) -> AsyncIterator[BotHarness]:
    """The running bot with its dispatcher held: each test ticks it by hand, on its clock."""
    async with running_bot(settings, clock, reminders_held=True) as harness:
        yield harness


async def test_a_restart_right_after_the_claim_sends_each_reminder_once(
    settings: Settings, clock: FakeClock
) -> None:
    async with running_bot(settings, clock, reminders_held=True) as first:
        pair = await pair_with_reminders(first, "10:05")
        clock.set(berlin(2026, 11, 2, 10, 5))
        claim = await service.claim_due(first.app.bot_data, clock.now(), 250)
        assert len(claim.outgoing) == 1
        # The process stops here: claimed, nothing sent.

    async with running_bot(settings, clock, reminders_held=True) as second:
        as_restarted(second)
        await tick(second)
        # Too soon to tell a stopped process from a slow one: nobody takes it over yet.
        assert reminders_in(second, ANA) == []
        clock.advance(minutes=3, seconds=1)
        await tick(second)
        await tick(second)

        assert len(reminders_in(second, ANA)) == 1
        assert len(reminders_in(second, BEN)) == 1
        assert [d.status for d in await deliveries_of(second, pair)] == ["sent"]


async def test_a_restart_right_after_the_send_sends_nothing_again(
    settings: Settings, clock: FakeClock
) -> None:
    async with running_bot(settings, clock, reminders_held=True) as first:
        pair = await pair_with_reminders(first, "10:05")
        await tick(first, berlin(2026, 11, 2, 10, 5))
        assert len(reminders_in(first, ANA)) == 1

    async with running_bot(settings, clock, reminders_held=True) as second:
        as_restarted(second)
        for minutes in (0, 5, 30):
            await tick(second, berlin(2026, 11, 2, 10, 5) + timedelta(minutes=minutes))
        assert reminders_in(second, ANA) == []
        await tick(second, berlin(2026, 11, 3, 10, 5))

        assert len(reminders_in(second, ANA)) == 1
        assert [d.status for d in await deliveries_of(second, pair)] == ["sent", "sent"]


async def test_a_claim_left_unsent_for_longer_than_the_grace_window_is_not_sent_late(
    settings: Settings, clock: FakeClock
) -> None:
    async with running_bot(settings, clock, reminders_held=True) as first:
        pair = await pair_with_reminders(first, "10:05")
        clock.set(berlin(2026, 11, 2, 10, 5))
        await service.claim_due(first.app.bot_data, clock.now(), 250)

    clock.set(berlin(2026, 11, 2, 11, 30))
    async with running_bot(settings, clock, reminders_held=True) as second:
        as_restarted(second)
        await tick(second)

        assert reminders_in(second, ANA) == []
        assert [d.status for d in await deliveries_of(second, pair)] == ["late-skipped"]


async def test_a_reminder_whose_sends_failed_is_tried_again_later(bot: BotHarness) -> None:
    pair = await pair_with_reminders(bot, "10:05")
    bot.world.fail("sendMessage", "timeout", times=2)

    await tick(bot, berlin(2026, 11, 2, 10, 5))
    assert [d.status for d in await deliveries_of(bot, pair)] == ["claimed"]
    await tick(bot, berlin(2026, 11, 2, 10, 9))

    assert len(reminders_in(bot, ANA)) == 1
    assert len(reminders_in(bot, BEN)) == 1
    assert [d.status for d in await deliveries_of(bot, pair)] == ["sent"]


@pytest.mark.postgres
async def test_two_dispatchers_on_one_postgresql_database_send_each_partner_once(
    clock: FakeClock,
) -> None:
    pairs = 1000
    async with two_dispatchers(clock) as both:
        due = berlin(2026, 11, 2, 9, 59)
        await both.add_pairs(pairs, lambda n: [(time(9, 59), 127, due)])
        # Every tenth pair's second partner misses the first send: each is retried alone,
        # by whichever process claims it.
        failing = [partners(n)[1] for n in range(0, pairs, 10)]
        both.fail_first_send_to(failing)

        reports = await both.tick()
        assert not any(both.world.bot_messages(user_id) for user_id in failing)
        clock.advance(FIRST_RETRY.total_seconds())
        retries = await both.tick()
        for _ in range(3):  # later ticks find nothing left to send
            clock.advance(minutes=1)
            retries += await both.tick()

        per_chat = both.sent_per_chat()
        assert len(per_chat) == 2 * pairs
        assert set(per_chat.values()) == {1}
        assert sum(report.sent for report in reports) == pairs
        assert sum(report.messages for report in retries) == len(failing)
        statuses: Counter[str] = Counter()
        async with both.one.app.bot_data.db.unit() as unit:
            for pair_id in range(1, pairs + 1):
                statuses.update(d.status for d in await unit.reminders.deliveries_of(pair_id))
        assert statuses == {"sent": pairs}
