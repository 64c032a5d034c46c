"""Exactly once across restarts, failed sends and two processes on one database."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import time, timedelta

import pytest
from telegram.ext import ExtBot

from bot.config import Settings
from bot.reminder_dispatch import ReminderDispatcher, TickReport, dispatcher_job
from bot.services import reminder_claims as service
from routines.reminder_rules import FIRST_RETRY
from tests.bot.test_reminder_per_partner import PASSING_FAILURES
from tests.bot.test_reminders import (
    ANA,
    BEN,
    berlin,
    deliveries_of,
    pair_with_reminders,
    reminders_in,
    tick,
)
from tests.clock import FakeClock
from tests.conftest import POSTGRES_URL, TEST_TOKEN, make_settings, reset_postgres
from tests.fake_telegram import FakeBotApi, World
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
    if not POSTGRES_URL:
        pytest.skip("TEST_DATABASE_URL is not set; see README")
    await reset_postgres(POSTGRES_URL)
    settings = make_settings(POSTGRES_URL)
    pairs = 1000
    async with (
        running_bot(settings, clock, reminders_held=True) as one,
        running_bot(settings, clock, reminders_held=True) as two,
    ):
        now, due = clock.now(), berlin(2026, 11, 2, 9, 59)
        async with one.app.bot_data.db.unit() as unit:
            for n in range(pairs):
                low, high = 10_000 + 2 * n, 10_001 + 2 * n
                for user_id in (low, high):
                    await unit.users.remember(user_id, f"P{user_id}", None, now, reachable=True)
                pair, _ = await unit.pairs.create(low, high, now, timezone="Europe/Berlin")
                await unit.reminders.put_slot(pair.id, time(9, 59), 127, due, now)
            await unit.commit()
        # One phone world; each process talks to it without a rate limit, so the test is
        # about who sends what, not about Telegram's pace.
        world = World(clock=lambda: clock.now().timestamp())
        world.opened |= set(range(10_000, 10_000 + 2 * pairs))
        # Every tenth pair's second partner misses the first send (500, timeout, dropped
        # connection in turn): each is retried alone, by whichever process claims it.
        failing = [10_001 + 2 * n for n in range(0, pairs, 10)]
        for n, user_id in enumerate(failing):
            world.fail("sendMessage", PASSING_FAILURES[n % 3], chat_id=user_id)
        senders = [ExtBot(TEST_TOKEN, request=FakeBotApi(world)) for _ in range(2)]
        for sender in senders:
            await sender.initialize()

        dispatchers = [dispatcher_job(bot.app).data for bot in (one, two)]
        assert all(isinstance(d, ReminderDispatcher) for d in dispatchers)

        async def both_tick() -> list[TickReport]:
            return await asyncio.gather(
                *(
                    d.tick(sender, bot.app.bot_data)  # type: ignore[union-attr]
                    for d, sender, bot in zip(dispatchers, senders, (one, two), strict=True)
                )
            )

        reports = await both_tick()
        assert not any(world.bot_messages(user_id) for user_id in failing)
        clock.advance(FIRST_RETRY.total_seconds())
        retries = await both_tick()
        for _ in range(3):  # later ticks find nothing left to send
            clock.advance(minutes=1)
            retries += await both_tick()

        per_chat = Counter(
            message.chat_id
            for chat in world.messages.values()
            for message in chat
            if message.from_bot
        )
        assert len(per_chat) == 2 * pairs
        assert set(per_chat.values()) == {1}
        assert sum(report.sent for report in reports) == pairs
        assert sum(report.messages for report in retries) == len(failing)
        statuses: Counter[str] = Counter()
        async with one.app.bot_data.db.unit() as unit:
            for pair_id in range(1, pairs + 1):
                statuses.update(d.status for d in await unit.reminders.deliveries_of(pair_id))
        assert statuses == {"sent": pairs}
        for sender in senders:
            await sender.shutdown()
