"""Ease off reaches the helper once per hold, with the helper's own Pause on the alert,
and an alert Telegram did not take is tried again or pauses the session."""

from __future__ import annotations

import pytest

from tests.bot.session_helpers import ANA, BEN, card_of, into_first_hold, through_get_set
from tests.fake_telegram import SentMessage
from tests.harness import BotHarness

ALERT = "⚠️ <b>Ease off now.</b> Ana needs less pressure."


async def childs_pose_hold(bot: BotHarness) -> tuple[SentMessage, SentMessage]:
    """The first hold of lower-back, running: Ana is stretched, Ben helps."""
    holds = await into_first_hold(bot)
    await through_get_set(bot)
    for person in (ANA, BEN):
        bot.new(person.id)
    return holds


def labels(card: SentMessage) -> list[str]:
    return [label for label, _ in card.buttons]


async def test_a_second_ease_off_in_the_same_hold_says_it_was_sent_and_sends_nothing(
    bot: BotHarness,
) -> None:
    ana_hold, _ = await childs_pose_hold(bot)
    assert await bot.press(ANA, ana_hold, "Ease off") == "Sent: Ben will ease off."
    [alert] = bot.new(BEN.id)
    assert alert.text == ALERT
    before = len(bot.world.calls_of("sendMessage"))

    assert await bot.press(ANA, ana_hold, "Ease off") == "Already sent to Ben."

    assert len(bot.world.calls_of("sendMessage")) == before
    assert bot.new(BEN.id) == [] and bot.new(ANA.id) == []


async def test_once_per_hold_holds_through_a_pause_and_the_next_hold_may_ease_off_again(
    bot: BotHarness,
) -> None:
    ana_hold, ben_hold = await childs_pose_hold(bot)
    await bot.press(ANA, ana_hold, "Ease off")
    bot.new(BEN.id)
    await bot.press(ANA, ana_hold, "Pause")
    await bot.press(ANA, ana_hold, "Resume")
    ana_again = bot.new(ANA.id)[-1]
    bot.new(BEN.id)

    assert await bot.press(ANA, ana_again, "Ease off") == "Already sent to Ben."
    assert bot.new(BEN.id) == []

    # The next turn swaps the roles: Ben is stretched, and his Ease off reaches Ana.
    await bot.advance(60)
    for person in (ANA, BEN):
        await bot.press(person, bot.new(person.id)[-1], "Ready")
    await through_get_set(bot)
    ben_hold = card_of(bot, BEN)
    bot.new(ANA.id)
    assert await bot.press(BEN, ben_hold, "Ease off") == "Sent: Ana will ease off."
    [alert] = bot.new(ANA.id)
    assert alert.text == "⚠️ <b>Ease off now.</b> Ben needs less pressure."


async def test_the_alert_carries_the_helpers_pause_which_pauses_both(bot: BotHarness) -> None:
    ana_hold, ben_hold = await childs_pose_hold(bot)
    await bot.advance(10)
    await bot.press(ANA, ana_hold, "Ease off")
    [alert] = bot.new(BEN.id)
    assert labels(alert) == ["Pause"]

    assert await bot.press(BEN, alert, "Pause") == "Paused for both of you."

    for card in (ana_hold, ben_hold):
        assert "Paused by Ben. 50 s of this hold left." in card.text
    # Once paused, the alert's Pause is out of date, like every other button of the hold.
    stale = await bot.press(BEN, alert, "Pause")
    assert stale == "That button is out of date; use the newest message."


async def test_the_alerts_pause_is_out_of_date_once_its_hold_is_over(
    bot: BotHarness,
) -> None:
    ana_hold, _ = await childs_pose_hold(bot)
    await bot.press(ANA, ana_hold, "Ease off")
    [alert] = bot.new(BEN.id)
    await bot.advance(60)  # the hold ran out: its alert's Pause is out of date

    stale = await bot.press(BEN, alert, "Pause")
    assert stale == "That button is out of date; use the newest message."


@pytest.mark.parametrize("failure", ["server_error", "timeout", "dropped"])
async def test_an_alert_telegram_did_not_take_is_sent_again_within_the_hold(
    bot: BotHarness, failure: str
) -> None:
    ana_hold, _ = await childs_pose_hold(bot)
    bot.world.fail("sendMessage", failure, chat_id=BEN.id)

    assert await bot.press(ANA, ana_hold, "Ease off") == "Sent: Ben will ease off."
    assert bot.new(BEN.id) == []

    await bot.advance(1)
    [alert] = bot.new(BEN.id)
    assert alert.text == ALERT and labels(alert) == ["Pause"]
    # The second tap still sends nothing more.
    assert await bot.press(ANA, ana_hold, "Ease off") == "Already sent to Ben."
    await bot.advance(10)
    assert bot.new(BEN.id) == []


async def test_an_alert_for_a_helper_who_blocked_the_bot_pauses_the_session(
    bot: BotHarness,
) -> None:
    ana_hold, _ = await childs_pose_hold(bot)
    bot.world.blocked.add(BEN.id)

    await bot.press(ANA, ana_hold, "Ease off")

    note = bot.new(ANA.id)[-1]
    assert note.text.startswith("Paused: I can't reach Ben any more")
    async with bot.app.bot_data.db.unit() as unit:
        record = await unit.sessions.get(1)
    assert record is not None and record.phase == "paused"
