"""Reminders are shared: what one partner does with a reminder shows on both phones.

A snooze or skip edits both partners' reminder messages; /remind, /pause and /resume by
one partner are told to the other. A failed call to Telegram loses neither the change
nor the other phone's update.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from bot.config import Settings
from routines.reminder_rules import FIRST_RETRY
from storage.records import PairRecord, ReminderRecipientRecord
from tests.bot.test_reminders import (
    ANA,
    BEN,
    CLEO,
    berlin,
    deliveries_of,
    pair_up,
    pair_with_reminders,
    reminders_in,
    slots_of,
    tick,
)
from tests.clock import FakeClock
from tests.harness import BotHarness, running_bot

DUE = berlin(2026, 11, 2, 10, 5)
FAILURES = ["server_error", "timeout", "dropped"]
SKIP = "Skip the rest of today"


@pytest.fixture
async def bot(settings: Settings, clock: FakeClock) -> AsyncIterator[BotHarness]:
    """The running bot with its dispatcher held: each test ticks it by hand, on its clock."""
    async with running_bot(settings, clock, reminders_held=True) as harness:
        yield harness


async def copies_of(bot: BotHarness, pair: PairRecord) -> list[ReminderRecipientRecord]:
    deliveries = await deliveries_of(bot, pair)
    async with bot.app.bot_data.db.unit() as unit:
        return await unit.reminders.copies_of(d.id for d in deliveries)


async def test_each_partners_copy_keeps_the_message_it_became(bot: BotHarness) -> None:
    pair = await pair_with_reminders(bot, "10:05")

    await tick(bot, DUE)

    [to_ana], [to_ben] = reminders_in(bot, ANA), reminders_in(bot, BEN)
    by_partner = {c.user_id: c.message_id for c in await copies_of(bot, pair)}
    assert by_partner == {ANA.id: to_ana.message_id, BEN.id: to_ben.message_id}


async def test_a_snooze_by_one_partner_edits_both_reminders(bot: BotHarness) -> None:
    pair = await pair_with_reminders(bot, "10:05")
    await tick(bot, DUE)
    [to_ana], [to_ben] = reminders_in(bot, ANA), reminders_in(bot, BEN)

    await bot.press(BEN, to_ben, "Snooze")

    assert to_ben.text == "Snoozed. I'll remind you both again at 10:20."
    assert to_ana.text == "Ben snoozed until 10:20. I'll remind you both then."
    for message in (to_ana, to_ben):
        assert [label for label, _ in message.buttons] == ["Start now"]
    assert [d.status for d in await deliveries_of(bot, pair)] == ["snoozed"]
    # Ana's Start now still works: it belongs to the pair.
    await bot.press(ANA, to_ana, "Start now")
    async with bot.app.bot_data.db.unit() as unit:
        assert await unit.sessions.live_of_user(ANA.id) is not None


async def test_a_skip_by_one_partner_edits_both_reminders_and_says_what_it_did(
    bot: BotHarness,
) -> None:
    await pair_with_reminders(bot, "10:05")
    await tick(bot, DUE)
    [to_ana], [to_ben] = reminders_in(bot, ANA), reminders_in(bot, BEN)
    assert (SKIP, to_ana.button(SKIP)) in to_ana.buttons

    await bot.press(ANA, to_ana, SKIP)

    assert (to_ana.text, to_ana.buttons) == (
        "Skipped the rest of today. See you next time!",
        [],
    )
    assert (to_ben.text, to_ben.buttons) == (
        "Ana skipped the rest of today. See you next time!",
        [],
    )


async def test_a_skip_of_the_snoozed_reminder_edits_both_of_the_partners_copies(
    bot: BotHarness,
) -> None:
    await pair_with_reminders(bot, "10:05")
    await tick(bot, DUE)
    [first_to_ana], [first_to_ben] = reminders_in(bot, ANA), reminders_in(bot, BEN)
    await bot.press(ANA, first_to_ana, "Snooze")
    await tick(bot, berlin(2026, 11, 2, 10, 20))
    [again_to_ana], [again_to_ben] = reminders_in(bot, ANA), reminders_in(bot, BEN)

    await bot.press(BEN, again_to_ben, SKIP)

    assert again_to_ben.text == "Skipped the rest of today. See you next time!"
    for message in (first_to_ana, again_to_ana):
        assert (message.text, message.buttons) == (
            "Ben skipped the rest of today. See you next time!",
            [],
        )
    assert first_to_ben.text == "Ana snoozed until 10:20. I'll remind you both then."


@pytest.mark.parametrize("failure", FAILURES)
async def test_when_the_partners_edit_fails_the_snooze_holds_and_the_tapper_sees_it(
    bot: BotHarness, failure: str, caplog: pytest.LogCaptureFixture
) -> None:
    pair = await pair_with_reminders(bot, "10:05")
    await tick(bot, DUE)
    [to_ana], [to_ben] = reminders_in(bot, ANA), reminders_in(bot, BEN)
    bens_snooze = to_ben.button("Snooze")
    bot.world.fail("editMessageText", failure, chat_id=ANA.id)

    await bot.press(BEN, to_ben, "Snooze")

    assert to_ben.text == "Snoozed. I'll remind you both again at 10:20."
    assert to_ana.text.startswith("⏰ Time to stretch")  # that edit did not go through
    assert [d.status for d in await deliveries_of(bot, pair)] == ["snoozed"]
    assert [r.levelname for r in caplog.records if r.name == "bot.delivery"] == ["WARNING"]
    # Ana's stale buttons answer from the saved state; the snoozed reminder reaches both.
    assert await bot.press(ANA, to_ana, "Snooze") == "Already snoozed."
    assert await bot.press_data(BEN, to_ben, bens_snooze) == "Already snoozed."
    await tick(bot, berlin(2026, 11, 2, 10, 20))
    for person in (ANA, BEN):
        assert reminders_in(bot, person)[-1].text.startswith("⏰ Here's your snoozed reminder")


@pytest.mark.parametrize("failure", FAILURES)
async def test_when_the_tappers_edit_fails_the_partner_still_sees_the_skip(
    bot: BotHarness, failure: str
) -> None:
    pair = await pair_with_reminders(bot, "10:05", "18:00")
    await tick(bot, DUE)
    [to_ana], [to_ben] = reminders_in(bot, ANA), reminders_in(bot, BEN)
    bot.world.fail("editMessageText", failure, chat_id=ANA.id)

    await bot.press(ANA, to_ana, SKIP)

    assert to_ben.text == "Ana skipped the rest of today. See you next time!"
    await tick(bot, berlin(2026, 11, 2, 18, 0))
    assert reminders_in(bot, BEN) == []
    assert [d.status for d in await deliveries_of(bot, pair)] == ["skipped", "skipped"]


@pytest.mark.parametrize("failure", FAILURES)
async def test_a_copy_sent_on_a_retry_is_edited_too(bot: BotHarness, failure: str) -> None:
    await pair_with_reminders(bot, "10:05")
    bot.world.fail("sendMessage", failure, chat_id=BEN.id)
    await tick(bot, DUE)
    await tick(bot, DUE + FIRST_RETRY)
    [to_ana], [to_ben] = reminders_in(bot, ANA), reminders_in(bot, BEN)

    await bot.press(ANA, to_ana, SKIP)

    assert to_ben.text == "Ana skipped the rest of today. See you next time!"


async def test_a_partner_who_blocked_the_bot_does_not_stop_the_snooze(bot: BotHarness) -> None:
    pair = await pair_with_reminders(bot, "10:05")
    await tick(bot, DUE)
    [to_ana] = reminders_in(bot, ANA)
    bot.world.blocked.add(BEN.id)

    await bot.press(ANA, to_ana, "Snooze")

    assert to_ana.text == "Snoozed. I'll remind you both again at 10:20."
    assert [d.status for d in await deliveries_of(bot, pair)] == ["snoozed"]


# -- /remind, /pause and /resume are told to the other partner -------------------------


async def test_remind_pause_and_resume_by_one_partner_are_told_to_the_other(
    bot: BotHarness,
) -> None:
    await pair_up(bot)

    await bot.say(ANA, "/remind 7pm weekdays")
    await bot.say(BEN, "/pause 1 week")
    await bot.say(ANA, "/resume")

    assert [m.text for m in bot.new(BEN.id)] == [
        "Ana added a reminder for you both: 19:00 (weekdays, Europe/Berlin). "
        "See them all in /reminders.",
        "Reminders with Ana are paused, back on Mon 9 Nov. "
        "Your streak is safe. /resume brings them back sooner.",
        "Ana turned your reminders back on. Next one: Mon 2 Nov, 19:00.",
    ]
    assert [m.text for m in bot.new(ANA.id)][1] == (
        "Ben paused your reminders, back on Mon 9 Nov. "
        "Your streak is safe. /resume brings them back sooner."
    )


async def test_a_partner_chosen_by_button_is_told_too(bot: BotHarness) -> None:
    await pair_up(bot, ANA, BEN)
    await pair_up(bot, ANA, CLEO, zone="Asia/Kathmandu")
    await bot.say(ANA, "/pause 3 days")
    [question] = bot.new(ANA.id)

    await bot.press(ANA, question, "Cleo")

    assert [m.text for m in bot.new(CLEO.id)] == [
        "Ana paused your reminders, back on Thu 5 Nov. "
        "Your streak is safe. /resume brings them back sooner."
    ]
    assert bot.new(BEN.id) == []


async def test_nothing_is_told_when_nothing_changed(bot: BotHarness) -> None:
    await pair_up(bot)

    await bot.say(ANA, "/resume")
    await bot.say(ANA, "/remind 7 o'clock")

    assert bot.new(BEN.id) == []


@pytest.mark.parametrize("failure", [*FAILURES, "forbidden"])
async def test_when_telling_the_partner_fails_the_change_and_the_answer_stand(
    bot: BotHarness, failure: str, caplog: pytest.LogCaptureFixture
) -> None:
    pair = await pair_up(bot)
    bot.world.fail("sendMessage", failure, chat_id=BEN.id)

    with caplog.at_level(logging.INFO):
        await bot.say(ANA, "/remind 07:30")

    [answer] = bot.new(ANA.id)
    assert answer.text.startswith("Done! I'll remind you and Ben at 07:30")
    assert len(await slots_of(bot, pair)) == 1
    assert bot.new(BEN.id) == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("failure", FAILURES)
async def test_when_the_askers_answer_fails_the_partner_is_still_told(
    bot: BotHarness, failure: str
) -> None:
    pair = await pair_up(bot)
    bot.world.fail("sendMessage", failure, chat_id=ANA.id)

    await bot.say(ANA, "/pause 2")

    async with bot.app.bot_data.db.unit() as unit:
        stored = await unit.pairs.get(pair.id)
    assert stored is not None and stored.reminders_paused_until is not None
    assert [m.text for m in bot.new(BEN.id)] == [
        "Ana paused your reminders, back on Wed 4 Nov. "
        "Your streak is safe. /resume brings them back sooner."
    ]
