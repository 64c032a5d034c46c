"""The answers to a command, a button or a message no feature claimed: registered last."""

from __future__ import annotations

from datetime import datetime, timedelta

from telegram import Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.context import BotApplication, Context
from bot.handlers import standing
from bot.render import basics as render
from bot.render import standing as render_standing

# A burst of stickers or photos gets one answer, not one each.
HINT_EVERY = timedelta(minutes=1)
# Where a chat's last hint time is kept, in PTB's chat_data (per chat, not a global).
LAST_HINT_AT = "last_hint_at"

# A new message in private that no feature took: text, sticker, photo, voice, a forward.
# Service messages (a pinned message, say) are no one talking to the bot.
_STRAY = (
    filters.UpdateType.MESSAGE
    & filters.ChatType.PRIVATE
    & ~filters.COMMAND
    & ~filters.StatusUpdate.ALL
)


def register(app: BotApplication) -> None:
    """Catch-alls: they must come after every feature's handlers had their chance."""
    app.add_handler(MessageHandler(filters.COMMAND, unknown_command))
    app.add_handler(MessageHandler(_STRAY, stray_message))
    app.add_handler(CallbackQueryHandler(unknown_button))


async def unknown_button(update: Update, context: Context) -> None:
    """Answer a tap no handler claimed (an old or forged button), so no spinner hangs."""
    if update.callback_query is not None:
        await update.callback_query.answer(render.BUTTON_GONE)


async def unknown_command(update: Update, context: Context) -> None:
    """Point a mistyped or unknown command at /help."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(render.unknown_command())


async def stray_message(update: Update, context: Context) -> None:
    """Anything but a command in private: where you stand and what to do, once a minute."""
    message, user, chat_data = update.effective_message, update.effective_user, context.chat_data
    if message is None or user is None or chat_data is None:
        return
    now = context.bot_data.clock.now()
    last = chat_data.get(LAST_HINT_AT)
    if isinstance(last, datetime) and now - last < HINT_EVERY:
        return
    # Taken before sending, so a second sticker handled meanwhile stays quiet; given
    # back if Telegram did not take the hint, so the next message gets it.
    chat_data[LAST_HINT_AT] = now
    try:
        where, keyboard = await standing.where(context, user.id)
        await message.reply_text(render_standing.stray_message_hint(where), reply_markup=keyboard)
    except BaseException:
        if chat_data.get(LAST_HINT_AT) == now:
            if last is None:
                chat_data.pop(LAST_HINT_AT, None)
            else:
                chat_data[LAST_HINT_AT] = last
        raise
