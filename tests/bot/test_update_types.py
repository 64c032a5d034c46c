"""The bot asks Telegram only for the update types its handlers act on."""

from __future__ import annotations

import pytest
from telegram.ext import ChatMemberHandler

from bot.app import build_application
from bot.config import Settings
from bot.update_types import UnmappedHandler, handled_update_types


async def noop(*_: object) -> None:
    return None


def test_the_bot_asks_for_messages_and_button_taps_only(settings: Settings) -> None:
    app = build_application(settings)

    assert handled_update_types(app) == ["callback_query", "message"]


def test_a_handler_kind_with_no_known_update_types_is_refused_by_name(
    settings: Settings,
) -> None:
    app = build_application(settings)
    app.add_handler(ChatMemberHandler(noop))

    with pytest.raises(UnmappedHandler, match="ChatMemberHandler"):
        handled_update_types(app)
