"""Sending to people who may have blocked the bot or never opened a chat with it."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Forbidden

log = logging.getLogger(__name__)


async def send_private(
    bot: Bot,
    user_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    **kwargs: Any,
) -> Message | None:
    """Send to a user's private chat; None when Telegram says we may not reach them.

    A 403 means the user blocked the bot or never pressed Start; "chat not found" is
    the same for an account Telegram no longer knows. Both are facts about the user,
    not errors of ours, so the caller decides what to tell the other partner.
    """
    try:
        return await bot.send_message(user_id, text, reply_markup=markup, **kwargs)
    except Forbidden:
        log.info("user %s cannot be reached in private", user_id)
        return None
    except BadRequest as error:
        if "chat not found" not in error.message.lower():
            raise
        log.info("user %s has no private chat with the bot", user_id)
        return None


def is_not_modified(error: BadRequest) -> bool:
    """An edit that changed nothing: harmless, and safe to ignore."""
    return "message is not modified" in error.message.lower()
