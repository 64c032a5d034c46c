"""Cues inside a hold: each card shows its role's cue from its moment on; a cue that changes
what a partner does rings on their phone."""

from __future__ import annotations

from html import escape

import pytest

from routines.loader import load_library
from tests.bot.session_helpers import ANA, BEN, card_of, into_first_hold, through_get_set
from tests.fake_telegram import SentMessage
from tests.harness import BotHarness

CHILDS_POSE = load_library()["lower-back"].exercise("childs-pose")
[HALFWAY] = CHILDS_POSE.cues


async def childs_pose_hold(bot: BotHarness) -> tuple[SentMessage, SentMessage]:
    """Both partners in the first hold of lower-back: Ana is stretched, Ben helps."""
    ana_hold, ben_hold = await into_first_hold(bot)
    assert escape("Child's Pose") in ana_hold.text
    for person in (ANA, BEN):
        bot.new(person.id)
    await through_get_set(bot)
    assert "<b>Hold: 60 s left</b>" in ana_hold.text
    return ana_hold, ben_hold


async def test_at_the_half_of_childs_pose_each_card_shows_its_own_roles_cue(
    bot: BotHarness,
) -> None:
    ana_hold, ben_hold = await childs_pose_hold(bot)
    for card in (ana_hold, ben_hold):
        assert "Now:" not in card.text
    edits = (ana_hold.edits, ben_hold.edits)

    await bot.advance(29)
    assert (ana_hold.edits, ben_hold.edits) == edits

    await bot.advance(1)
    # The cue changes what Ben does (the routine file says so): his phone rings with a
    # new card, and the old one goes. Ana's card is edited, silently.
    [ben_cue] = bot.new(BEN.id)
    assert not ben_cue.disable_notification
    assert ben_hold.deleted and card_of(bot, BEN) is ben_cue
    assert bot.new(ANA.id) == [] and ana_hold.edits == edits[0] + 1
    assert f"Hold: 30 s left</b>\n<b>Now:</b> {escape(HALFWAY.receiver)}" in ana_hold.text
    assert f"<b>Now:</b> {escape(HALFWAY.helper)}" in ben_cue.text
    assert escape(HALFWAY.helper) not in ana_hold.text
    assert escape(HALFWAY.receiver) not in ben_cue.text
    assert "lean in softly" in ben_cue.text
    assert any(label == "Ease off" for label, _ in ana_hold.buttons)

    # Nothing else touches the cards until the hold is over: a minute's hold has no
    # plain countdown (the call budget, bot/session_timers.py).
    await bot.advance(29)
    assert (ana_hold.edits, ben_cue.edits) == (edits[0] + 1, 0)
    assert bot.new(ANA.id) == [] and bot.new(BEN.id) == []


@pytest.mark.parametrize("failure", ["server_error", "timeout", "dropped", "retry_after"])
async def test_a_cue_edit_that_fails_is_caught_up_by_a_tick_soon_after(
    bot: BotHarness, failure: str
) -> None:
    ana_hold, _ = await childs_pose_hold(bot)
    bot.world.fail("editMessageText", failure, chat_id=ANA.id)

    await bot.advance(30)
    [ben_cue] = bot.new(BEN.id)
    assert escape(HALFWAY.helper) in ben_cue.text
    if failure == "retry_after":
        # A 429 is tried again after the wait Telegram asks for (bot/app.py): on time.
        assert escape(HALFWAY.receiver) in ana_hold.text
    else:
        assert "Now:" not in ana_hold.text

    await bot.advance(1)
    assert escape(HALFWAY.receiver) in ana_hold.text
    assert "Hold: 29 s left" in ana_hold.text or failure == "retry_after"


@pytest.mark.parametrize("failure", ["server_error", "timeout", "dropped"])
async def test_a_ringing_cue_that_cannot_be_sent_is_shown_by_editing_the_card(
    bot: BotHarness, failure: str
) -> None:
    _, ben_hold = await childs_pose_hold(bot)
    bot.world.fail("sendMessage", failure, chat_id=BEN.id)

    await bot.advance(30)
    assert bot.new(BEN.id) == []
    assert escape(HALFWAY.helper) in ben_hold.text
    assert card_of(bot, BEN) is ben_hold


async def test_a_hold_resumed_after_its_cue_shows_the_cue_on_the_new_card(
    bot: BotHarness,
) -> None:
    ana_hold, _ = await childs_pose_hold(bot)
    await bot.advance(35)
    await bot.press(ANA, ana_hold, "Pause")
    bot.new(ANA.id)
    bot.new(BEN.id)
    await bot.advance(60)
    paused = bot.inbox(ANA.id)[-1]
    await bot.press(ANA, paused, "Resume")

    resumed = {person: bot.new(person.id)[-1] for person in (ANA, BEN)}
    assert "Hold: 25 s left" in resumed[ANA].text
    assert escape(HALFWAY.receiver) in resumed[ANA].text
    assert escape(HALFWAY.helper) in resumed[BEN].text


async def test_every_hold_card_carries_its_roles_intensity_line_through_the_countdown(
    bot: BotHarness,
) -> None:
    ana_hold, ben_hold = await childs_pose_hold(bot)
    receiver_line = f"<i>{escape(CHILDS_POSE.receiver_intensity or '')}</i>"
    helper_line = f"<i>{escape(CHILDS_POSE.helper_intensity or '')}</i>"
    assert receiver_line in ana_hold.text and helper_line not in ana_hold.text
    assert helper_line in ben_hold.text and receiver_line not in ben_hold.text

    await bot.advance(30)
    assert receiver_line in ana_hold.text and helper_line in ben_hold.text
