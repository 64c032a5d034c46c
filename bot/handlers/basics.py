"""/start and /help."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import CommandHandler

from bot.context import BotApplication, Context
from bot.handlers import pairing, standing
from bot.render import basics as render
from bot.render import standing as render_standing
from bot.services import users
from bot.services.users import Account
from routines.plan import PlanOptions


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("help", help_command))
    standing.register(app)


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
    await standing.greet(message, context, user.first_name, user.id)


async def help_command(update: Update, context: Context) -> None:
    """List the commands and routines, what the session buttons do, and where you stand."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    data = context.bot_data
    routines = [
        (routine, data.plan(routine_id, PlanOptions()))
        for routine_id, routine in sorted(data.library.items())
    ]
    where, keyboard = await standing.where(context, user.id)
    text = f"{render.help_text(routines)}\n\n{render_standing.where_you_are(where)}"
    await message.reply_text(text, reply_markup=keyboard)
