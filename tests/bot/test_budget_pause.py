"""A 429 holds every send: this worker's alone, or every worker's through Redis.

Grants are read on a clock the test moves, or on Redis's own clock, never timed.
"""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis
from telegram.ext import ExtBot

from bot.budget.limiter import TelegramBudget
from bot.budget.shared import Budget, private_limit
from tests.bot.budget_helpers import Recorded, VirtualTime, two_sharing
from tests.conftest import TEST_TOKEN
from tests.fake_telegram import FakeBotApi, World
from tests.harness import wait_until

ANA, BEN = 101, 102


async def test_without_redis_a_429_holds_every_call_of_this_worker_then_sends_it_again() -> None:
    clock = VirtualTime()
    bot = Recorded(Budget(30, clock=clock, sleep=clock.sleep), clock)
    bot.refused[ANA] = 2  # Telegram: retry after 2 s

    tasks = [
        clock.at(0.0, bot.call("sendMessage", ANA)),
        # Inside the pause: another phone's card, an edit and a tap's answer all wait.
        clock.at(0.5, bot.call("sendMessage", BEN)),
        clock.at(0.6, bot.call("editMessageText", BEN)),
        clock.at(0.7, bot.call("answerCallbackQuery", None)),
        # After it, calls go as before.
        clock.at(3.0, bot.call("sendMessage", 103)),
    ]
    await clock.run(tasks)

    # The pause is Telegram's 2 s and a tenth for the clocks between us.
    assert sorted(bot.went, key=lambda call: (call[2], call[0], str(call[1]))) == [
        ("answerCallbackQuery", None, 1002.1),
        ("editMessageText", BEN, 1002.1),
        ("sendMessage", ANA, 1002.1),
        ("sendMessage", BEN, 1002.1),
        ("sendMessage", 103, 1003.0),
    ]


async def test_a_pause_in_redis_tells_every_worker_to_wait_until_it_ends(
    redis_url: str, namespace: str
) -> None:
    async with two_sharing(redis_url, namespace, 30) as (first, second):
        _, resume_at = await first.pause_shared(5.0)
        overall = await second.try_shared()
        private = await second.try_shared(private_limit(BEN))
        # A shorter pause asked meanwhile leaves the longer one standing.
        _, still = await second.pause_shared(1.0)

    for answer in (overall, private):
        assert answer.blocker == "pause"
        assert answer.now + answer.wait == resume_at
    assert still == resume_at


async def test_a_429_from_telegram_holds_the_other_workers_sends_and_loses_nothing(
    redis_url: str, namespace: str
) -> None:
    world = World()
    world.opened |= {ANA, BEN}
    for user in (ANA, BEN):
        world.add_private_chat({"id": user, "first_name": f"user {user}"})
    world.fail("sendMessage", "retry_after", chat_id=ANA, retry_after=1)
    budgets = [Budget(30, redis_url=redis_url, namespace=namespace) for _ in "ab"]
    first, second = (
        ExtBot(TEST_TOKEN, request=FakeBotApi(world), rate_limiter=TelegramBudget(budget))
        for budget in budgets
    )
    redis = Redis.from_url(redis_url)
    try:
        async with first, second:
            answered = asyncio.create_task(first.send_message(ANA, "for Ana"))

            async def paused() -> bool:
                return bool(await redis.exists(f"{namespace}:budget:pause"))

            await wait_until(paused, what="the pause in Redis")
            await second.send_message(BEN, "for Ben")
            await answered
        pause = int(await redis.get(f"{namespace}:budget:pause") or 0)
        grants = [int(at) for at in await redis.lrange(f"{namespace}:budget:all", 0, -1)]
    finally:
        await redis.aclose()

    # Ben's card was asked for during the pause and granted only once it was over, as
    # was Ana's second try. (Ana's first grant has left the window: it keeps 1.1 s.)
    assert len(grants) == 2
    assert pause <= min(grants)
    assert [m.text for m in world.messages[ANA]] == ["for Ana"]
    assert [m.text for m in world.messages[BEN]] == ["for Ben"]
    assert [call.method for call in world.calls if call.params.get("chat_id") == ANA] == [
        "sendMessage",
        "sendMessage",
    ]
