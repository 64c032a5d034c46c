"""/history, /streak, /progress, /export, /forget, and their buttons."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import Message, Update, User
from telegram.constants import ChatType
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import forget_notices
from bot.callbacks import (
    COUNTER,
    FORGET_NO,
    FORGET_YES,
    HISTORY_PAGE,
    PROGRESS_PICK,
    ROW_ID,
    STREAK_PICK,
    USER_ID,
    Ints,
    pack,
    pattern,
)
from bot.context import BotApplication, Context
from bot.delivery import edit_tapped
from bot.handlers.buttons import parse_tap, refuse_tap
from bot.handlers.which_pair import PairQuestion, one_pair, pairs_here, tapped_pair, typed_command
from bot.progress_chart import ChartInput
from bot.render import history as render
from bot.render.basics import BUTTON_GONE
from bot.services import history as service
from bot.services.history import HistoryRefused, Subject
from storage.records import PairRecord, UserRecord

Handler = Callable[[Update, Context], Coroutine[Any, Any, None]]
# What a command does for the one pair it is about: (context, message to answer in,
# pair, the asker's id, the pair's users by id).
PairAct = Callable[[Context, Message, PairRecord, int, dict[int, UserRecord]], Awaitable[None]]
# Which history a page button names: a live pair or a former partnership.
SUBJECTS = Ints(min(Subject), max(Subject))


def register(app: BotApplication) -> None:
    """Wire the commands and buttons, and the job that retries notices to partners."""
    app.add_handler(CommandHandler("history", history))
    app.add_handler(CommandHandler("streak", _command(STREAK_PICK, _show_streak)))
    app.add_handler(CommandHandler("progress", _command(PROGRESS_PICK, _show_progress)))
    app.add_handler(CommandHandler("export", export))
    app.add_handler(CommandHandler("forget", forget))
    app.add_handler(CallbackQueryHandler(page_pressed, pattern=pattern(HISTORY_PAGE)))
    app.add_handler(
        CallbackQueryHandler(_picked(STREAK_PICK, _show_streak), pattern=pattern(STREAK_PICK))
    )
    app.add_handler(
        CallbackQueryHandler(
            _picked(PROGRESS_PICK, _show_progress), pattern=pattern(PROGRESS_PICK)
        )
    )
    app.add_handler(CallbackQueryHandler(forget_pressed, pattern=pattern(FORGET_YES)))
    app.add_handler(CallbackQueryHandler(forget_pressed, pattern=pattern(FORGET_NO)))
    forget_notices.start(app)


# -- /history ----------------------------------------------------------------------------


async def history(update: Update, context: Context) -> None:
    """The pair's sessions, newest first, ten a page; asks whose when there is a choice."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    private = message.chat.type == ChatType.PRIVATE
    reach = await pairs_here(context, message.chat, user.id)
    former = await service.former_partnerships(context.bot_data, user.id) if private else []
    if len(reach.pairs) + len(former) > 1:
        keyboard = render.history_subjects_keyboard(reach.pairs, user.id, reach.users, former)
        await message.reply_text(render.history_which(), reply_markup=keyboard)
        return
    if reach.pairs:
        subject, subject_id = Subject.PAIR, reach.pairs[0].id
    elif former:
        subject, subject_id = Subject.FORMER, former[0].id
    else:
        await message.reply_text(render.NO_PARTNER_PRIVATE if private else render.NO_PARTNER_GROUP)
        return
    page = await service.history_page(context.bot_data, user.id, subject, subject_id, 0)
    titles = _titles(context)
    await message.reply_text(
        render.history_page(page, titles), reply_markup=render.history_keyboard(page)
    )


async def page_pressed(update: Update, context: Context) -> None:
    """Older / Newer, or a partner picked: show that page in place of this one."""
    # The page number only has to parse here: one past the last page is refused below.
    parsed = await parse_tap(update, (HISTORY_PAGE,), SUBJECTS, ROW_ID, COUNTER)
    if parsed is None:
        return
    query, button = parsed
    subject, subject_id, number = Subject(button.ids[0]), button.ids[1], button.ids[2]
    try:
        page = await service.history_page(
            context.bot_data, query.from_user.id, subject, subject_id, number
        )
    except HistoryRefused as refused:
        await refuse_tap(query, render.refusal(refused.refusal), alert=True)
        return
    await query.answer()
    await edit_tapped(
        query, render.history_page(page, _titles(context)), render.history_keyboard(page)
    )


def _titles(context: Context) -> dict[str, str]:
    return {key: routine.title for key, routine in context.bot_data.library.items()}


# -- /streak and /progress ---------------------------------------------------------------


async def _show_streak(
    context: Context, message: Message, pair: PairRecord, me: int, users: dict[int, UserRecord]
) -> None:
    result = await service.streak_of(context.bot_data, pair.id, context.bot_data.clock.now())
    await message.reply_text(render.streak(_partner(pair, me, users), result))


async def _show_progress(
    context: Context, message: Message, pair: PairRecord, me: int, users: dict[int, UserRecord]
) -> None:
    """The chart as a photo, drawn in a worker process so the bot keeps answering."""
    now = context.bot_data.clock.now()
    found = await service.progress_of(context.bot_data, pair.id, me, now)
    partner = _partner(pair, me, users)
    if found.progress.total_sessions == 0:
        await message.reply_text(render.no_sessions_to_chart(partner))
        return
    chart = ChartInput(found.progress, found.partners)
    png = await context.bot_data.charts.render_off_loop(chart)
    await message.reply_photo(png, caption=render.progress_caption(partner, found.progress))


def _partner(pair: PairRecord, me: int, users: dict[int, UserRecord]) -> str:
    partner = users.get(pair.partner_of(me))
    return partner.first_name if partner else "your partner"


def _command(action: str, act: PairAct) -> Handler:
    async def command(update: Update, context: Context) -> None:
        """Run for the one pair in reach, or ask which partner."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:
            return
        question = PairQuestion(
            no_partner_private=render.NO_PARTNER_PRIVATE,
            no_partner_group=render.NO_PARTNER_GROUP,
            which=render.which_pair(typed_command(message)),
            button=lambda pair: pack(action, pair.id),
        )
        found = await one_pair(context, message, user, question)
        if found is not None:
            await act(context, message, found.pairs[0], user.id, found.users)

    return command


def _picked(action: str, act: PairAct) -> Handler:
    async def picked(update: Update, context: Context) -> None:
        """A partner picked from the question: answer for that pair."""
        parsed = await parse_tap(update, (action,), ROW_ID)
        if parsed is None:
            return
        query, button = parsed
        if not isinstance(query.message, Message):
            await refuse_tap(query, BUTTON_GONE)
            return
        found = await tapped_pair(context, query, button.ids[0], render.NOT_YOURS)
        if found is None:
            return
        await query.answer()
        await act(context, query.message, found.pairs[0], query.from_user.id, found.users)

    return picked


# -- /export and /forget -----------------------------------------------------------------


async def export(update: Update, context: Context) -> None:
    """Everything the bot holds about the user, as a JSON file."""
    asked = await _in_private(update)
    if asked is None:
        return
    message, user = asked
    data = await service.export(context.bot_data, user.id, context.bot_data.clock.now())
    if data is None:
        await message.reply_text(render.nothing_held())
        return
    document = json.dumps(data, ensure_ascii=False, indent=2).encode()
    await message.reply_document(
        document, filename="pairstretch-export.json", caption=render.export_caption()
    )


async def forget(update: Update, context: Context) -> None:
    """Ask before deleting everything about the user."""
    asked = await _in_private(update)
    if asked is None:
        return
    message, user = asked
    partners = await service.partner_names(context.bot_data, user.id)
    await message.reply_text(
        render.forget_confirm(partners), reply_markup=render.forget_keyboard(user.id)
    )


async def _in_private(update: Update) -> tuple[Message, User] | None:
    """The command and its sender when it came in private; elsewhere it says where to send
    it, since what it shows is the user's alone."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return None
    if message.chat.type != ChatType.PRIVATE:
        await message.reply_text(render.ONLY_PRIVATE)
        return None
    return message, user


async def forget_pressed(update: Update, context: Context) -> None:
    """Forget me (erase, then tell the partners) or Keep my data."""
    parsed = await parse_tap(update, (FORGET_YES, FORGET_NO), USER_ID)
    if parsed is None:
        return
    query, button = parsed
    if button.ids[0] != query.from_user.id:
        await refuse_tap(query, render.NOT_YOURS, alert=True)
        return
    await query.answer()
    if button.action == FORGET_NO:
        await edit_tapped(query, render.forget_kept())
        return
    await service.forget(context.bot_data, query.from_user.id, context.bot_data.clock.now())
    # The erasure is committed; the notices go out now, and again later if they fail.
    await forget_notices.tell_former_partners(context.bot, context.bot_data)
    await edit_tapped(query, render.forgotten())
