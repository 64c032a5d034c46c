"""/routines: the library in short, a preview of one routine, and Start."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.callbacks import ROUTINE_PREVIEW, ROUTINE_START, STRETCH_WITH, Ints, pack, pattern
from bot.context import BotApplication, BotData, Context
from bot.handlers.buttons import parse_tap
from bot.handlers.sessions import start_for_pair
from bot.render import routines as render
from bot.render import session as render_session
from bot.render.pairs import choose_pair_keyboard
from bot.services import pairing, users
from bot.services.pairing import Partners
from bot.services.users import Account
from routines.model import Routine
from routines.plan import Plan, PlanOptions


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler("routines", list_routines))
    app.add_handler(CallbackQueryHandler(preview, pattern=pattern(ROUTINE_PREVIEW)))
    app.add_handler(CallbackQueryHandler(start, pattern=pattern(ROUTINE_START)))


def _library(data: BotData) -> list[tuple[Routine, Plan]]:
    """The routines in library order (sorted ids: what a button's position means)."""
    return [(data.library[rid], data.plan(rid, PlanOptions())) for rid in sorted(data.library)]


def _positions(data: BotData) -> Ints:
    return Ints(0, len(data.library) - 1)


async def list_routines(update: Update, context: Context) -> None:
    """Each routine with its title, length and stretches, and a button to preview it."""
    if update.effective_message is None:
        return
    text, keyboard = render.routines_list(_library(context.bot_data))
    await update.effective_message.reply_text(text, reply_markup=keyboard)


async def preview(update: Update, context: Context) -> None:
    """One routine, a line per stretch, with Start: sent as a new message."""
    parsed = await parse_tap(update, (ROUTINE_PREVIEW,), _positions(context.bot_data))
    if parsed is None:
        return
    query, button = parsed
    (position,) = button.ids
    routine, plan = _library(context.bot_data)[position]
    text, keyboard = render.preview(routine, plan, position)
    # The list stays where it is, so another routine can be looked at after this one.
    try:
        if query.message is not None:
            await query.get_bot().send_message(query.message.chat.id, text, reply_markup=keyboard)
    finally:
        await query.answer()


async def start(update: Update, context: Context) -> None:
    """Start: /stretch with this routine for the tapper's pair, or ask which partner."""
    data = context.bot_data
    parsed = await parse_tap(update, (ROUTINE_START,), _positions(data))
    if parsed is None:
        return
    query, button = parsed
    (position,) = button.ids
    routine_id = sorted(data.library)[position]
    if query.message is None:
        await query.answer()
        return
    chat = query.message.chat
    private = chat.type == ChatType.PRIVATE
    await users.remember(data, Account.of(query.from_user), reachable=True if private else None)
    reach = await pairing.pairs_in_reach(
        data, query.from_user.id, None if private else chat.id, only_home=True
    )
    # What the tap does comes first: a failed answer to it must not keep the session from
    # starting.
    try:
        await _start_in(update, context, reach, routine_id, position)
    finally:
        await query.answer()


async def _start_in(
    update: Update, context: Context, reach: Partners, routine_id: str, position: int
) -> None:
    """Start with the one pair in reach, ask which one, or say there is none."""
    query = update.callback_query
    assert query is not None and query.message is not None
    chat = query.message.chat
    private = chat.type == ChatType.PRIVATE
    if not reach.pairs:
        await query.get_bot().send_message(chat.id, render_session.no_partner_here(private))
    elif len(reach.pairs) > 1:
        keyboard = choose_pair_keyboard(
            reach.pairs,
            query.from_user.id,
            reach.users,
            lambda p: pack(STRETCH_WITH, p.id, position),
        )
        await query.get_bot().send_message(
            chat.id, render_session.WHO_WITH, reply_markup=keyboard
        )
    else:
        await start_for_pair(update, context, reach.pairs[0], routine_id)
