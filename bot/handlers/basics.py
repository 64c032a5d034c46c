"""/start, /help and the answer to commands we don't have."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType

from bot.context import Context
from bot.handlers import pairing
from bot.render import basics as render
from bot.services import users


async def start(update: Update, context: Context) -> None:
    """Greet the user; in private, remember that the bot may now write to them."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    private = message.chat.type == ChatType.PRIVATE
    await users.remember(context.bot_data, user, reachable=True if private else None)
    if private and context.args:
        await pairing.open_deep_link(update, context)
        return
    await message.reply_text(render.welcome(user.first_name))


async def help_command(update: Update, context: Context) -> None:
    """List the commands."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(render.help_text())


async def unknown_button(update: Update, context: Context) -> None:
    """Answer a tap no handler claimed (an old or forged button), so no spinner hangs."""
    if update.callback_query is not None:
        await update.callback_query.answer(render.BUTTON_GONE)


async def unknown_command(update: Update, context: Context) -> None:
    """Point a mistyped or unknown command at /help."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(render.unknown_command())
