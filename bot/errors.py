"""The one error handler: log with the traceback, tell the user something went wrong."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError

from bot.context import Context
from bot.render.basics import SORRY

log = logging.getLogger(__name__)


async def on_error(update: object, context: Context) -> None:
    """Log what failed; when a person was waiting for an answer, say sorry briefly."""
    error = context.error
    if isinstance(error, Forbidden):
        log.info("a user blocked the bot: %s", error)
        return
    # PTB makes BadRequest a kind of NetworkError, but a 400 is no hiccup: Telegram
    # refused what we sent (too long, a bad entity, a stale id), which is our bug.
    if isinstance(error, BadRequest):
        log.error("Telegram refused a request of ours: %s", error, exc_info=error)
    elif isinstance(error, NetworkError):
        log.warning("network trouble talking to Telegram: %s", error)
        return
    else:
        log.error("an update could not be handled", exc_info=error)
    if isinstance(update, Update) and update.effective_message is not None:
        try:
            await update.effective_message.reply_text(SORRY)
        except Exception:  # the apology is best-effort; the log already holds the cause
            log.debug("could not send the apology", exc_info=True)
