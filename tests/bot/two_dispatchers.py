"""Two bot processes on one PostgreSQL database, their reminder dispatchers ticked at once.

Each process is the real application with its dispatcher held (the test ticks it on its
clock); both send to one world of phones through a Bot API of their own, without a rate
limit, so a test is about who sends what, not about Telegram's pace.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, time

from telegram.ext import ExtBot

from bot.reminder_dispatch import ReminderDispatcher, TickReport, dispatcher_job
from tests.bot.test_reminder_per_partner import PASSING_FAILURES
from tests.clock import FakeClock
from tests.conftest import TEST_TOKEN, fresh_postgres, make_settings
from tests.fake_telegram import FakeBotApi, World
from tests.harness import BotHarness, running_bot

# A slot of a seeded pair: its local time, its weekdays (a bit a day, Monday first) and
# its next due instant.
Slot = tuple[time, int, datetime]


def partners(n: int) -> tuple[int, int]:
    """The user ids of the `n`th seeded pair."""
    return 10_000 + 2 * n, 10_001 + 2 * n


@dataclass
class TwoDispatchers:
    one: BotHarness
    two: BotHarness
    # The phones both processes send to.
    world: World
    senders: tuple[ExtBot[None], ExtBot[None]]

    async def add_pairs(self, count: int, slots: Callable[[int], list[Slot]]) -> None:
        """`count` pairs in Berlin whose partners opened the bot; pair `n` has `slots(n)`."""
        now = self.one.clock.now()
        async with self.one.app.bot_data.db.unit() as unit:
            for n in range(count):
                low, high = partners(n)
                for user_id in (low, high):
                    await unit.users.remember(user_id, f"P{user_id}", None, now, reachable=True)
                pair, _ = await unit.pairs.create(low, high, now, timezone="Europe/Berlin")
                for local_time, weekdays, due in slots(n):
                    await unit.reminders.put_slot(pair.id, local_time, weekdays, due, now)
            await unit.commit()
        self.world.opened |= {uid for n in range(count) for uid in partners(n)}

    def fail_first_send_to(self, user_ids: list[int]) -> None:
        """Each of `user_ids` misses its first message: a 500, a timeout or a dropped
        connection in turn."""
        for n, user_id in enumerate(user_ids):
            self.world.fail("sendMessage", PASSING_FAILURES[n % 3], chat_id=user_id)

    async def tick(self) -> list[TickReport]:
        """Both dispatchers tick at once, each sending through its own process's bot."""
        bots = (self.one, self.two)
        dispatchers = [dispatcher_job(bot.app).data for bot in bots]
        ready = [d for d in dispatchers if isinstance(d, ReminderDispatcher)]
        assert len(ready) == len(bots)
        return await asyncio.gather(
            *(
                d.tick(sender, bot.app.bot_data)
                for d, sender, bot in zip(ready, self.senders, bots, strict=True)
            )
        )

    def sent_per_chat(self, starting: str = "") -> Counter[int]:
        """How many messages starting with `starting` each chat received."""
        return Counter(
            message.chat_id
            for chat in self.world.messages.values()
            for message in chat
            if message.from_bot and message.text.startswith(starting)
        )


@asynccontextmanager
async def two_dispatchers(clock: FakeClock) -> AsyncIterator[TwoDispatchers]:
    """Both processes on a fresh PostgreSQL database (the test skips without one)."""
    settings = make_settings(await fresh_postgres())
    async with (
        running_bot(settings, clock, reminders_held=True) as one,
        running_bot(settings, clock, reminders_held=True) as two,
    ):
        world = World(clock=lambda: clock.now().timestamp())
        senders = (
            ExtBot(TEST_TOKEN, request=FakeBotApi(world)),
            ExtBot(TEST_TOKEN, request=FakeBotApi(world)),
        )
        for sender in senders:
            await sender.initialize()
        try:
            yield TwoDispatchers(one, two, world, senders)
        finally:
            for sender in senders:
                await sender.shutdown()
