"""The one error handler: log with the traceback, tell the user something went wrong."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, NetworkError

from bot.context import Context

log = logging.getLogger(__name__)


async def on_error(update: object, context: Context) -> None:
    """Log what failed; when a person was waiting for an answer, say sorry briefly."""
    error = context.error
    if isinstance(error, Forbidden):
        log.info("a user blocked the bot: %s", error)
        return
    if isinstance(error, NetworkError):
        log.warning("network trouble talking to Telegram: %s", error)
        return
    log.error("an update could not be handled", exc_info=error)
    if isinstance(update, Update) and update.effective_message is not None:
        try:
            await update.effective_message.reply_text(
                "Sorry, something went wrong on my side. Please try again in a moment."
            )
        except Exception:  # the apology is best-effort; the log already holds the cause
            log.debug("could not send the apology", exc_info=True)
