"""The answers to a command or a button no feature claimed: registered last."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.context import BotApplication, Context
from bot.render import basics as render


def register(app: BotApplication) -> None:
    """Catch-alls: they must come after every feature's handlers had their chance."""
    app.add_handler(MessageHandler(filters.COMMAND, unknown_command))
    app.add_handler(CallbackQueryHandler(unknown_button))


async def unknown_button(update: Update, context: Context) -> None:
    """Answer a tap no handler claimed (an old or forged button), so no spinner hangs."""
    if update.callback_query is not None:
        await update.callback_query.answer(render.BUTTON_GONE)


async def unknown_command(update: Update, context: Context) -> None:
    """Point a mistyped or unknown command at /help."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(render.unknown_command())
