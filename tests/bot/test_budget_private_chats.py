"""A private chat gets one message a second; its partner's phone never waits for it.

Grants are read on a clock the test moves (or on Redis's own clock), never timed.
"""

from __future__ import annotations

from bot.budget.limiter import sends_a_message
from bot.budget.shared import Budget, private_limit
from bot.clock import SecondsFollowing
from tests.bot.budget_helpers import (
    HandClock,
    Recorded,
    VirtualTime,
    most_in_any_window,
    two_sharing,
)
from tests.clock import FakeClock
from tests.harness import BotHarness, Person

ANA, BEN = 101, 102
ANA_PERSON = Person(ANA, "Ana", "ana")


def test_only_calls_that_add_a_message_count_for_a_chat() -> None:
    assert sends_a_message("sendMessage") and sends_a_message("sendPhoto")
    assert sends_a_message("copyMessage") and sends_a_message("forwardMessage")
    for endpoint in ("editMessageText", "deleteMessage", "answerCallbackQuery", "sendChatAction"):
        assert not sends_a_message(endpoint), endpoint


async def test_a_step_is_one_message_per_phone_and_a_second_one_waits_alone() -> None:
    clock = VirtualTime()
    bot = Recorded(Budget(30, clock=clock, sleep=clock.sleep), clock)

    tasks = [
        # A step: each phone's new card, the old card's delete, the answer to Ana's tap.
        clock.at(0.0, bot.call("sendMessage", ANA)),
        clock.at(0.0, bot.call("deleteMessage", ANA)),
        clock.at(0.0, bot.call("answerCallbackQuery", None)),
        clock.at(0.0, bot.call("sendMessage", BEN)),
        clock.at(0.0, bot.call("deleteMessage", BEN)),
        # A second message to Ana inside that second waits for it; Ben's phone and an
        # edit on Ana's go on meanwhile.
        clock.at(0.3, bot.call("sendMessage", ANA)),
        clock.at(0.4, bot.call("sendMessage", BEN)),
        clock.at(0.5, bot.call("editMessageText", ANA)),
    ]
    await clock.run(tasks)

    assert sorted(bot.went, key=lambda call: call[2]) == [
        ("sendMessage", ANA, 1000.0),
        ("deleteMessage", ANA, 1000.0),
        ("answerCallbackQuery", None, 1000.0),
        ("sendMessage", BEN, 1000.0),
        # The overall pace (3 in any 100 ms at 30 a second) counts deletes and edits.
        ("deleteMessage", BEN, 1000.1),
        ("editMessageText", ANA, 1000.5),
        ("sendMessage", ANA, 1001.0),
        ("sendMessage", BEN, 1001.0),
    ]


async def test_a_chat_that_waits_does_not_hold_up_the_queue_for_every_other_chat() -> None:
    clock = VirtualTime()
    bot = Recorded(Budget(1000, clock=clock, sleep=clock.sleep), clock)

    tasks = [clock.at(0.0, bot.call("sendMessage", ANA)) for _ in range(10)]
    tasks += [clock.at(0.0, bot.call("sendMessage", 200 + n)) for n in range(10)]
    await clock.run(tasks)

    to_ana = [at for _, chat, at in bot.went if chat == ANA]
    to_others = [at for _, chat, at in bot.went if chat != ANA]
    assert to_ana == [1000.0 + n for n in range(10)]
    assert most_in_any_window(to_ana, 1.0) == 1
    assert to_others == [1000.0] * 10


async def test_without_redis_each_of_two_workers_gives_a_chat_one_message_in_two_seconds() -> None:
    clock = HandClock()
    budget = Budget(30, workers=2, clock=clock, sleep=clock.sleep)

    sends = []
    for _ in range(5):
        await budget.acquire(private_limit(ANA))
        sends.append(clock.now)

    assert [round(at - sends[0], 6) for at in sends] == [0.0, 2.0, 4.0, 6.0, 8.0]


async def test_two_workers_sharing_redis_give_a_chat_one_message_a_second_between_them(
    redis_url: str, namespace: str
) -> None:
    async with two_sharing(redis_url, namespace, 30, workers=2) as (one, other):
        first = await one.try_shared(private_limit(ANA))
        second = await other.try_shared(private_limit(ANA))
        partner = await other.try_shared(private_limit(BEN))
        edit = await other.try_shared()

    assert first.wait == 0
    # The other worker's message to Ana may go one second after the first, not before.
    assert second.blocker == "chat"
    assert second.now + second.wait == first.now + 1_000_000
    # Ben's phone and an edit (no chat window) are granted at once.
    assert partner.wait == 0 and edit.wait == 0


async def test_many_senders_at_random_keep_every_private_chat_to_one_a_second() -> None:
    clock = VirtualTime()
    bot = Recorded(Budget(30, clock=clock, sleep=clock.sleep), clock)
    chats = [ANA, BEN, 103, 104]
    tasks = [
        clock.at(0.07 * n, bot.call("sendMessage", chats[(n * 7) % 5 % 4])) for n in range(60)
    ]
    await clock.run(tasks)

    assert len(bot.went) == 60
    for chat in chats:
        instants = [at for _, to, at in bot.went if to == chat]
        assert instants and most_in_any_window(instants, 1.0) == 1
    assert most_in_any_window([at for _, _, at in bot.went], 1.0) <= 30


async def test_the_budget_follows_a_hand_moved_clock_and_real_time_but_never_counts_both() -> None:
    real = HandClock()
    clock = FakeClock()
    seconds = SecondsFollowing(clock, monotonic=real)
    start = seconds()

    clock.advance(30)  # the test moves its clock on: the budget leaps with it
    leaped = seconds()
    real.now += 2  # real time passes and the test's clock stands still
    waited = seconds()
    real.now += 5  # a clock that runs at real speed adds nothing more
    clock.advance(5)
    running = seconds()
    await seconds.sleep(1.5)  # the budget's own wait leaps too, and takes no real time
    slept = seconds()

    assert [leaped, waited, running, slept] == [start + n for n in (30.0, 32.0, 37.0, 38.5)]
    assert real.now == 1007.0


async def test_in_the_harness_two_messages_at_one_instant_go_a_budget_second_apart(
    bot: BotHarness,
) -> None:
    await bot.say(ANA_PERSON, "/start")
    await bot.say(ANA_PERSON, "/help")

    [greeting, commands] = bot.inbox(ANA_PERSON.id)
    registry = bot.app.bot_data.metrics.registry

    def waits(le: str) -> float | None:
        labels = {"window": "private", "le": le}
        return registry.get_sample_value("pairstretch_budget_wait_seconds_bucket", labels)

    assert greeting.text.startswith("Hi Ana") and "What I can do" in commands.text
    # The first went at once; the second was told to wait for the first one's second,
    # on the budget's own clock (no real second passed: the harness's budget leaps).
    assert [waits("0.001"), waits("0.5"), waits("+Inf")] == [1.0, 1.0, 2.0]
