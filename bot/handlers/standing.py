"""Telling a user where they stand, with the buttons for their next step.

Shared by /start, the link that opens the private chat and the answer to a message
that is not a command; and the "Back to my card" button those offer during a session.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import CallbackQueryHandler

from bot.callbacks import ROW_ID, SESSION_SHOW, pattern
from bot.context import BotApplication, Context
from bot.handlers.buttons import parse_tap, refuse_tap
from bot.handlers.sessions import pair_default_position
from bot.render import session as render_session
from bot.render import standing as render
from bot.services import sessions
from bot.services.standing import Standing, standing_of
from bot.session_flow import flow_for


def register(app: BotApplication) -> None:
    app.add_handler(CallbackQueryHandler(bring_back, pattern=pattern(SESSION_SHOW)))


async def where(context: Context, user_id: int) -> tuple[Standing, InlineKeyboardMarkup | None]:
    """The user's standing and the buttons that fit it."""
    data = context.bot_data
    standing = await standing_of(data, user_id)
    # "Stretch now" starts the pair's own default routine, as /stretch without a name.
    return standing, render.next_steps(standing, pair_default_position(data))


async def greet(message: Message, context: Context, first_name: str, user_id: int) -> None:
    """The welcome, with where the user stands and what they can do next."""
    standing, keyboard = await where(context, user_id)
    await message.reply_text(render.welcome(first_name, standing), reply_markup=keyboard)


async def bring_back(update: Update, context: Context) -> None:
    """ "Back to my card": the tapper's card of the current step as a new message; the old goes."""
    parsed = await parse_tap(update, (SESSION_SHOW,), ROW_ID)
    if parsed is None:
        return
    query, button = parsed
    data = context.bot_data
    live = await sessions.load(data, button.ids[0])
    if live is None or live.state.is_over:
        await refuse_tap(query, render_session.refusal_missing())
        return
    seat = live.state.seat_of(query.from_user.id)
    if seat is None:
        await refuse_tap(query, render_session.NOT_YOUR_BUTTON, alert=True)
        return
    shown = await flow_for(context).show_again(live, seat)
    # The card is the point; the toast only says whether it came.
    await query.answer(render.CARD_AGAIN if shown else render.CARD_NOT_SENT)
