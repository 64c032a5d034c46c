"""Cues inside a hold: each card shows its role's cue from its moment on, at no extra cost."""

from __future__ import annotations

from html import escape

import pytest

from routines.loader import load_library
from tests.bot.session_helpers import ANA, BEN, pair_in_database, through_get_set
from tests.fake_telegram import SentMessage
from tests.harness import BotHarness

CHILDS_POSE = load_library()["lower-back"].exercise("childs-pose")
[HALFWAY] = CHILDS_POSE.cues


async def childs_pose_hold(bot: BotHarness) -> tuple[SentMessage, SentMessage]:
    """Both partners in the first hold of lower-back: Ana is stretched, Ben helps."""
    await pair_in_database(bot)
    await bot.say(ANA, "/stretch")
    await bot.press(BEN, bot.new(BEN.id)[-1], "Join")
    for person in (ANA, BEN):
        await bot.press(person, bot.new(person.id)[-1], "Ready")
    ana_hold, ben_hold = bot.new(ANA.id)[-1], bot.new(BEN.id)[-1]
    assert escape("Child's Pose") in ana_hold.text
    assert "Get set: the hold starts in 4 s</b>\nHold: 60 s" in ana_hold.text
    await through_get_set(bot)
    return ana_hold, ben_hold


async def test_at_the_half_of_childs_pose_each_card_shows_its_own_roles_cue(
    bot: BotHarness,
) -> None:
    ana_hold, ben_hold = await childs_pose_hold(bot)
    for card in (ana_hold, ben_hold):
        assert "Now:" not in card.text

    await bot.advance(29)
    assert (ana_hold.edits, ben_hold.edits) == (0, 0)

    await bot.advance(1)
    assert (ana_hold.edits, ben_hold.edits) == (1, 1)
    assert f"Hold: 30 s left</b>\n<b>Now:</b> {escape(HALFWAY.receiver)}" in ana_hold.text
    assert f"<b>Now:</b> {escape(HALFWAY.helper)}" in ben_hold.text
    assert escape(HALFWAY.helper) not in ana_hold.text
    assert escape(HALFWAY.receiver) not in ben_hold.text
    assert "lean in softly" in ben_hold.text

    # The cue stays for the rest of the hold: the last tick, at 20 s left, still shows it.
    await bot.advance(10)
    assert (ana_hold.edits, ben_hold.edits) == (2, 2)
    assert "Hold: 20 s left" in ben_hold.text
    assert escape(HALFWAY.helper) in ben_hold.text
    # No third edit: the cue took the 40 s tick's place, the hold costs no more calls.
    await bot.advance(19)
    assert (ana_hold.edits, ben_hold.edits) == (2, 2)


@pytest.mark.parametrize("failure", ["server_error", "timeout", "dropped", "retry_after"])
async def test_a_cue_edit_that_fails_on_one_phone_is_caught_up_by_the_next_tick(
    bot: BotHarness, failure: str
) -> None:
    ana_hold, ben_hold = await childs_pose_hold(bot)
    bot.world.fail("editMessageText", failure, chat_id=BEN.id)

    await bot.advance(30)
    assert escape(HALFWAY.receiver) in ana_hold.text
    if failure == "retry_after":
        # A 429 is tried again after the wait Telegram asks for (bot/app.py): on time.
        assert escape(HALFWAY.helper) in ben_hold.text
    else:
        assert ben_hold.edits == 0 and "Now:" not in ben_hold.text

    await bot.advance(10)
    assert "Hold: 20 s left" in ben_hold.text
    assert escape(HALFWAY.helper) in ben_hold.text


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
