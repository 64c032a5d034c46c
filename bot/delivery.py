"""Sending to people who may have blocked the bot or never opened a chat with it."""

from __future__ import annotations

import logging
from enum import Enum
from typing import Any

from telegram import Bot, CallbackQuery, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

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


class Undelivered(Enum):
    """Why a message did not arrive: a fact about the person, or a failure worth retrying."""

    UNREACHABLE = "unreachable"
    TRY_AGAIN = "try-again"


async def offer_private(
    bot: Bot,
    user_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    silent: bool = False,
) -> Message | Undelivered:
    """Send to a user's private chat, saying what to do when it did not arrive.

    A 500, a timeout, a dropped connection or a 429 that outlasted the rate limiter's
    retries may go through on a later try: TRY_AGAIN. Telegram refusing the person
    (see `send_private`) will not change by trying: UNREACHABLE. Any other refusal
    (a 400 for our own malformed message) is a bug and is raised. `silent` sends it
    without a sound (Telegram's disable_notification), for what stands in for an edit.
    """
    try:
        quiet = {"disable_notification": True} if silent else {}
        message = await send_private(bot, user_id, text, markup, **quiet)
    except BadRequest:
        raise
    except (NetworkError, RetryAfter) as error:
        log.warning("a message to user %s did not go through, will retry: %s", user_id, error)
        return Undelivered.TRY_AGAIN
    return Undelivered.UNREACHABLE if message is None else message


def is_not_modified(error: BadRequest) -> bool:
    """An edit that changed nothing: harmless, and safe to ignore."""
    return "message is not modified" in error.message.lower()


async def edit_elsewhere(
    bot: Bot, chat_id: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None
) -> bool:
    """Edit a message nobody tapped (the partner's copy); whether it now shows `text`.

    Best effort: what it shows follows from state already saved, and a stale copy's
    buttons are answered from that state, so a failed edit is logged, not raised.
    """
    try:
        await bot.edit_message_text(text, chat_id, message_id, reply_markup=markup)
    except BadRequest as error:
        if is_not_modified(error):
            return True
        log.warning("could not edit message %s in chat %s: %s", message_id, chat_id, error)
        return False
    except TelegramError as error:
        log.warning("could not edit message %s in chat %s: %r", message_id, chat_id, error)
        return False
    return True


async def edit_tapped(
    query: CallbackQuery, text: str | None, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Replace the message under the tapped buttons with `text` and `markup`.

    With `text` None only the buttons change (None takes them away). The same tap twice
    edits to what is already there: Telegram calls that "message is not modified", which
    is no error. Any other refusal is raised for the error handler.
    """
    try:
        if text is None:
            await query.edit_message_reply_markup(markup)
        else:
            await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as error:
        if not is_not_modified(error):
            raise
