"""A message that is not a command gets one short hint a minute in private, none in groups."""

from __future__ import annotations

from typing import Any

import pytest

from bot.handlers.fallbacks import LAST_HINT_AT
from tests.bot.session_helpers import ANA, BEN, HOME, pair_in_database
from tests.harness import BotHarness

STICKER: dict[str, Any] = {
    "sticker": {
        "file_id": "stk1",
        "file_unique_id": "u-stk1",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "type": "regular",
    }
}
PHOTO: dict[str, Any] = {
    "photo": [{"file_id": "ph1", "file_unique_id": "u-ph1", "width": 90, "height": 90}]
}
VOICE = {"voice": {"file_id": "vc1", "file_unique_id": "u-vc1", "duration": 3}}
FORWARD = {"forward_origin": {"type": "hidden_user", "sender_user_name": "Someone", "date": 1}}
KINDS: dict[str, tuple[str, dict[str, Any]]] = {
    "text": ("hello?", {}),
    "sticker": ("", STICKER),
    "photo": ("", PHOTO),
    "voice": ("", VOICE),
    "forward": ("look at this", FORWARD),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_a_stray_message_in_private_gets_one_hint_and_a_second_within_a_minute_none(
    bot: BotHarness, kind: str
) -> None:
    await bot.say(ANA, "/start")
    bot.new(ANA.id)
    text, extra = KINDS[kind]

    await bot.say(ANA, text, **extra)
    [hint] = bot.new(ANA.id)
    await bot.advance(59)
    await bot.say(ANA, text, **extra)

    assert hint.text.startswith("I only follow commands and buttons.")
    assert "To begin, pair up" in hint.text
    assert bot.new(ANA.id) == []


async def test_a_sticker_a_photo_and_text_in_a_row_get_one_hint_together(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot)

    await bot.say(BEN, "", **STICKER)
    await bot.say(BEN, "", **PHOTO)
    await bot.say(BEN, "are we stretching today?")

    [hint] = bot.new(BEN.id)
    assert "You and Ana are partners" in hint.text
    assert [label for label, _ in hint.buttons] == ["Stretch now", "Reminders", "Settings"]


async def test_after_a_minute_the_next_stray_message_gets_a_hint_again(bot: BotHarness) -> None:
    await bot.say(ANA, "hi")
    await bot.advance(60)
    await bot.say(ANA, "hi again")

    assert len(bot.inbox(ANA.id)) == 2


async def test_each_chat_has_its_own_minute(bot: BotHarness) -> None:
    await bot.say(ANA, "hi")
    await bot.say(BEN, "hi")

    assert len(bot.inbox(ANA.id)) == len(bot.inbox(BEN.id)) == 1


async def test_the_hint_in_a_session_brings_back_the_card(bot: BotHarness) -> None:
    await pair_in_database(bot)
    await bot.say(ANA, "/stretch", chat=HOME)
    bot.new(ANA.id)

    await bot.say(ANA, "", **STICKER)

    [hint] = bot.new(ANA.id)
    assert "about to stretch" in hint.text
    await bot.press(ANA, hint, "Back to my card")
    [lobby] = bot.new(ANA.id)
    assert "Join" in [label for label, _ in lobby.buttons]


async def test_in_a_group_the_bot_stays_quiet_for_anything_but_commands(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot)
    for text, extra in KINDS.values():
        await bot.say(ANA, text, chat=HOME, **extra)

    assert bot.inbox(HOME.id) == []
    assert bot.new(ANA.id) == []


async def test_a_hint_telegram_did_not_take_is_given_with_the_next_message(
    bot: BotHarness,
) -> None:
    for kind in ("server_error", "timeout", "dropped", "forbidden"):
        bot.world.fail("sendMessage", kind, chat_id=ANA.id)

        await bot.say(ANA, "hello?")
        assert bot.new(ANA.id) == [], kind
        await bot.say(ANA, "hello??")

        [hint] = bot.new(ANA.id)
        assert hint.text.startswith("I only follow commands and buttons."), kind
        assert LAST_HINT_AT in bot.app.chat_data[ANA.id]
        await bot.advance(60)
