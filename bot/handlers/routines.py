"""/routines: the library in short, a preview of one routine, and Start."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.callbacks import ROUTINE_PREVIEW, ROUTINE_START, Ints, pattern
from bot.context import BotApplication, BotData, Context
from bot.handlers.buttons import parse_tap
from bot.handlers.sessions import start_for_pair, stretch_question
from bot.handlers.which_pair import one_pair
from bot.render import routines as render
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
    # What the tap does comes first: a failed answer to it must not keep the session from
    # starting.
    try:
        found = await one_pair(
            context,
            query.message.chat,
            query.from_user,
            stretch_question(position),
            remember=True,
        )
        if found is not None:
            await start_for_pair(update, context, found.pairs[0], routine_id)
    finally:
        await query.answer()
