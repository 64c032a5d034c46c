"""/remind, /reminders, /pause, /resume, and the buttons on a reminder."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import time
from typing import Any

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import reminder_dispatch
from bot.callbacks import (
    PICK_LIST,
    PICK_PAUSE,
    PICK_REMIND,
    PICK_RESUME,
    REMINDER_REMOVE,
    REMINDER_SKIP,
    REMINDER_SNOOZE,
    REMINDER_START,
    ROW_ID,
    Ints,
    pack,
    pattern,
)
from bot.context import BotApplication, Context
from bot.delivery import edit_elsewhere, edit_tapped, send_private
from bot.handlers import sessions
from bot.handlers.buttons import parse_tap, refuse_tap
from bot.handlers.which_pair import PairQuestion, one_pair, tapped_pair, typed_command
from bot.render import reminders as render
from bot.render.pairs import partner_name
from bot.services import reminder_slots as service
from bot.services import users
from bot.services.pair_settings import default_routine_of
from routines.reminder_time import (
    MAX_PAUSE_DAYS,
    MIN_PAUSE_DAYS,
    ReminderInputError,
    parse_clock,
    parse_days,
    parse_pause,
)
from storage.records import PairRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    markup: InlineKeyboardMarkup | None = None
    # What the other partner is told of the change: (their user id, the text).
    tell: tuple[int, str] | None = None


# What a command does once it knows the pair: (context, pair, user id, arguments).
Act = Callable[[Context, PairRecord, int, tuple[int, ...]], Awaitable[Reply]]

# What the "which partner?" buttons may carry after the pair id (see callbacks.PICK_*).
MINUTES_OF_DAY = Ints(0, 24 * 60 - 1)
WEEKDAY_MASKS = Ints(1, 0b111_1111)
PAUSE_DAYS = Ints(MIN_PAUSE_DAYS, MAX_PAUSE_DAYS)
# How "am" and "pm" are written as a word of their own ("/remind 7 pm", "7 p.m.").
_HALVES = frozenset({"am", "pm", "a.m", "p.m"})


def register(app: BotApplication) -> None:
    """Wire the reminder commands and buttons into the application."""
    app.add_handler(CommandHandler("remind", remind))
    app.add_handler(CommandHandler("reminders", list_reminders))
    app.add_handler(CommandHandler("pause", pause))
    app.add_handler(CommandHandler("resume", resume))
    picks: dict[str, tuple[tuple[Ints, ...], Act]] = {
        PICK_REMIND: ((MINUTES_OF_DAY, WEEKDAY_MASKS), _remind),
        PICK_LIST: ((), _list),
        PICK_PAUSE: ((PAUSE_DAYS,), _pause),
        PICK_RESUME: ((), _resume),
    }
    for action, (places, act) in picks.items():
        picked = _picked(action, places, act)
        app.add_handler(CallbackQueryHandler(picked, pattern=pattern(action)))
    app.add_handler(CallbackQueryHandler(remove_pressed, pattern=pattern(REMINDER_REMOVE)))
    app.add_handler(CallbackQueryHandler(start_pressed, pattern=pattern(REMINDER_START)))
    app.add_handler(CallbackQueryHandler(snooze_pressed, pattern=pattern(REMINDER_SNOOZE)))
    app.add_handler(CallbackQueryHandler(skip_pressed, pattern=pattern(REMINDER_SKIP)))


# -- commands --------------------------------------------------------------------------


async def remind(update: Update, context: Context) -> None:
    """/remind HH:MM [days]: add a daily reminder slot."""
    args = context.args or []
    if not args:
        await _reply(update, Reply(render.REMIND_USAGE))
        return
    # "7 pm" arrives as two words; the half of the day belongs to the time.
    if len(args) > 1 and args[1].lower().rstrip(".") in _HALVES:
        args = [args[0] + args[1], *args[2:]]
    try:
        at = parse_clock(args[0])
        days = parse_days(" ".join(args[1:]) or None)
    except ReminderInputError as error:
        await _reply(update, Reply(render.refused(error.problem, error.token)))
        return
    await _for_pair(update, context, PICK_REMIND, (at.hour * 60 + at.minute, days.mask), _remind)


async def list_reminders(update: Update, context: Context) -> None:
    """/reminders: the pair's slots, each with a remove button."""
    await _for_pair(update, context, PICK_LIST, (), _list)


async def pause(update: Update, context: Context) -> None:
    """/pause N, /pause 3 days, /pause 1 week: no reminders for that long (1-60 days)."""
    try:
        days = parse_pause(" ".join(context.args or []))
    except ReminderInputError as error:
        await _reply(update, Reply(render.refused(error.problem)))
        return
    await _for_pair(update, context, PICK_PAUSE, (days,), _pause)


async def resume(update: Update, context: Context) -> None:
    """/resume: end a pause now."""
    await _for_pair(update, context, PICK_RESUME, (), _resume)


# -- what each command does for one pair -----------------------------------------------


async def _remind(context: Context, pair: PairRecord, me: int, args: tuple[int, ...]) -> Reply:
    minutes, mask = args
    data, now = context.bot_data, context.bot_data.clock.now()
    names, mine = await _people(context, pair, me)
    try:
        result = await service.add_slot(
            data, pair.id, time(minutes // 60, minutes % 60), mask, now
        )
    except service.TooManySlots:
        return Reply(render.too_many(names, service.MAX_SLOTS))
    reminder_dispatch.wake_for(context.job_queue, data, result.slot.next_due_at)
    return Reply(
        render.slot_set(
            names, result.slot, pair.timezone, added=result.added, paused=result.paused
        ),
        tell=(
            pair.partner_of(me),
            render.slot_set_for_partner(mine, result.slot, pair.timezone, added=result.added),
        ),
    )


async def _list(context: Context, pair: PairRecord, me: int, args: tuple[int, ...]) -> Reply:
    found = await service.slots(context.bot_data, pair.id, context.bot_data.clock.now())
    name = await _names(context, pair, me)
    return Reply(
        render.slot_list(name, found.slots, found.pair.timezone, found.paused_until),
        render.slot_list_keyboard(pair.id, found.slots),
    )


async def _pause(context: Context, pair: PairRecord, me: int, args: tuple[int, ...]) -> Reply:
    (days,) = args
    until = await service.pause(context.bot_data, pair.id, days, context.bot_data.clock.now())
    names, mine = await _people(context, pair, me)
    return Reply(
        render.paused(names, until, pair.timezone),
        tell=(pair.partner_of(me), render.paused_for_partner(mine, until, pair.timezone)),
    )


async def _resume(context: Context, pair: PairRecord, me: int, args: tuple[int, ...]) -> Reply:
    resumed = await service.resume(context.bot_data, pair.id, context.bot_data.clock.now())
    name, mine = await _people(context, pair, me)
    if not resumed.was_paused:
        return Reply(render.not_paused(name))
    return Reply(
        render.resumed(name, resumed.next_due_at, pair.timezone),
        tell=(
            pair.partner_of(me),
            render.resumed_for_partner(mine, resumed.next_due_at, pair.timezone),
        ),
    )


async def _names(context: Context, pair: PairRecord, me: int) -> str:
    return partner_name(pair, me, await users.by_id(context.bot_data, pair.members))


async def _people(context: Context, pair: PairRecord, me: int) -> tuple[str, str | None]:
    """The partner's first name (or "your partner"), and mine if the bot has seen it."""
    known = await users.by_id(context.bot_data, pair.members)
    mine = known.get(me)
    return partner_name(pair, me, known), None if mine is None else mine.first_name


# -- which pair ------------------------------------------------------------------------


async def _for_pair(
    update: Update, context: Context, action: str, args: tuple[int, ...], act: Act
) -> None:
    """Run `act` for the one pair in reach, or ask which, encoding `args` in the buttons."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    question = PairQuestion(
        no_partner_private=render.NO_PARTNER_PRIVATE,
        no_partner_group=render.NO_PARTNER_GROUP,
        which=render.which_pair(typed_command(message)),
        button=lambda pair: pack(action, pair.id, *args),
    )
    found = await one_pair(context, message, user, question)
    if found is None:
        return
    reply = await act(context, found.pairs[0], user.id, args)
    try:
        await _reply(update, reply)
    finally:
        await _tell_partner(context, reply)


def _picked(
    action: str, places: tuple[Ints, ...], act: Act
) -> Callable[[Update, Context], Coroutine[Any, Any, None]]:
    async def picked(update: Update, context: Context) -> None:
        """A partner chosen for a command: run it for that pair, in place of the question."""
        parsed = await parse_tap(update, (action,), ROW_ID, *places)
        if parsed is None:
            return
        query, button = parsed
        pair = await _tapped_pair(context, query, button.ids[0])
        if pair is None:
            return
        reply = await act(context, pair, query.from_user.id, button.ids[1:])
        try:
            await query.answer()
            await edit_tapped(query, reply.text, reply.markup)
        finally:
            await _tell_partner(context, reply)

    return picked


async def _tapped_pair(context: Context, query: CallbackQuery, pair_id: int) -> PairRecord | None:
    """The pair a reminder's button names, or None once a stranger's tap is refused."""
    found = await tapped_pair(context, query, pair_id, render.NOT_YOURS)
    return None if found is None else found.pairs[0]


# -- buttons ---------------------------------------------------------------------------


async def remove_pressed(update: Update, context: Context) -> None:
    """Remove one slot from the list, and show the list again."""
    parsed = await parse_tap(update, (REMINDER_REMOVE,), ROW_ID, ROW_ID)
    if parsed is None:
        return
    query, button = parsed
    pair_id, slot_id = button.ids
    pair = await _tapped_pair(context, query, pair_id)
    if pair is None:
        return
    removed = await service.remove_slot(
        context.bot_data, pair_id, slot_id, context.bot_data.clock.now()
    )
    await query.answer(None if removed else render.ALREADY_REMOVED)
    reply = await _list(context, pair, query.from_user.id, ())
    await edit_tapped(query, reply.text, reply.markup)


async def start_pressed(update: Update, context: Context) -> None:
    """Start now: hand over to the sessions code."""
    parsed = await parse_tap(update, (REMINDER_START,), ROW_ID)
    if parsed is None:
        return
    query, button = parsed
    pair = await _tapped_pair(context, query, button.ids[0])
    if pair is None:
        return
    await query.answer()
    routine_id = default_routine_of(pair, sorted(context.bot_data.library))
    await sessions.start_for_pair(update, context, pair, routine_id)


async def snooze_pressed(update: Update, context: Context) -> None:
    """Snooze 15 min: the reminder comes once more to both partners."""
    parsed = await parse_tap(update, (REMINDER_SNOOZE,), ROW_ID)
    if parsed is None:
        return
    query, button = parsed
    now = context.bot_data.clock.now()
    result = await service.snooze(context.bot_data, button.ids[0], query.from_user.id, now)
    if (
        result.outcome is not service.ReminderTapOutcome.DONE
        or result.pair is None
        or result.until is None
    ):
        await refuse_tap(query, _tap_answer(result.outcome, render.ALREADY_SNOOZED), alert=True)
        return
    await query.answer()
    pair, until = result.pair, result.until
    reminder_dispatch.wake_for(context.job_queue, context.bot_data, until)
    by, start = query.from_user.first_name, render.start_keyboard(pair.id)
    try:
        await edit_tapped(query, render.snoozed(until, pair.timezone), start)
    finally:
        await _edit_partners_copies(
            context, pair, query.from_user.id, result.partner_messages,
            render.snoozed_by(by, until, pair.timezone), start,
        )  # fmt: skip


async def skip_pressed(update: Update, context: Context) -> None:
    """Skip the rest of today: no more reminders for this pair until tomorrow."""
    parsed = await parse_tap(update, (REMINDER_SKIP,), ROW_ID)
    if parsed is None:
        return
    query, button = parsed
    now = context.bot_data.clock.now()
    result = await service.skip_today(context.bot_data, button.ids[0], query.from_user.id, now)
    if result.outcome is not service.ReminderTapOutcome.DONE:
        await refuse_tap(query, _tap_answer(result.outcome, render.ALREADY_SKIPPED), alert=True)
        return
    await query.answer()
    try:
        await edit_tapped(query, render.skipped())
    finally:
        if result.pair is not None:
            await _edit_partners_copies(
                context, result.pair, query.from_user.id, result.partner_messages,
                render.skipped_by(query.from_user.first_name), None,
            )  # fmt: skip


async def _edit_partners_copies(
    context: Context,
    pair: PairRecord,
    me: int,
    message_ids: tuple[int, ...],
    text: str,
    markup: InlineKeyboardMarkup | None,
) -> None:
    """Show the partner, on their own reminder, what the one who tapped chose."""
    partner = pair.partner_of(me)
    for message_id in message_ids:
        await edit_elsewhere(context.bot, partner, message_id, text, markup)


def _tap_answer(outcome: service.ReminderTapOutcome, already: str) -> str:
    return {
        service.ReminderTapOutcome.NOT_YOURS: render.NOT_YOURS,
        service.ReminderTapOutcome.GONE: render.GONE,
        service.ReminderTapOutcome.ALREADY: already,
        service.ReminderTapOutcome.TOO_LATE: render.CANNOT_SNOOZE,
    }.get(outcome, render.GONE)


# -- small pieces ----------------------------------------------------------------------


async def _tell_partner(context: Context, reply: Reply) -> None:
    """Tell the other partner what changed; the change is saved, so a failure is logged."""
    if reply.tell is None:
        return
    partner, text = reply.tell
    try:
        await send_private(context.bot, partner, text)
    except TelegramError as error:
        log.warning("could not tell user %s of a reminder change: %r", partner, error)


async def _reply(update: Update, reply: Reply) -> None:
    if update.effective_message is not None:
        await update.effective_message.reply_text(reply.text, reply_markup=reply.markup)
