"""/start and /help."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import CommandHandler

from bot.context import BotApplication, Context
from bot.handlers import pairing
from bot.render import basics as render
from bot.services import users
from bot.services.users import Account


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("help", help_command))


async def start(update: Update, context: Context) -> None:
    """Greet the user; in private, remember that the bot may now write to them."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    private = message.chat.type == ChatType.PRIVATE
    reachable = True if private else None
    await users.remember(context.bot_data, Account.of(user), reachable=reachable)
    if private and context.args:
        await pairing.open_deep_link(update, context)
        return
    await message.reply_text(render.welcome(user.first_name))


async def help_command(update: Update, context: Context) -> None:
    """List the commands."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(render.help_text())
