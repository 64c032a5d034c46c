"""/stretch and every button of a running session."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.callbacks import COUNTER, ROW_ID, Ints, pack, pattern, unpack
from bot.context import Context
from bot.live_session import Applied, Live
from bot.render import session as render
from bot.render.basics import BUTTON_GONE
from bot.render.limits import toast
from bot.render.pairs import choose_pair_keyboard
from bot.services import pairing, sessions, users
from bot.services.pairing import PairingRefused, open_chat_link
from bot.session_flow import flow_for
from routines.engine import (
    EaseOff,
    EventRefused,
    Join,
    Pause,
    Ready,
    Resume,
    Skip,
    Stop,
)
from routines.plan import Seat
from storage.records import PairRecord

CHOOSE = "sw"  # pair id, routine position in the library
_EVENTS: dict[str, type[Join | Ready | Pause | Resume | Skip | Stop | EaseOff]] = {
    render.JOIN: Join,
    render.NOT_NOW: Stop,
    render.READY: Ready,
    render.PAUSE: Pause,
    render.RESUME: Resume,
    render.SKIP: Skip,
    render.STOP: Stop,
    render.EASE_OFF: EaseOff,
}
_TOASTS = {
    render.JOIN: "You're in.",
    render.NOT_NOW: "No problem, maybe later.",
    render.READY: "Ready. Waiting for your partner if needed.",
    render.PAUSE: "Paused for both of you.",
    render.RESUME: "Back on.",
    render.SKIP: "Skipped for both of you.",
    render.STOP: "Stopped for both of you.",
}


async def stretch(update: Update, context: Context) -> None:
    """Start a session with the partner (asking which one when there are several)."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    data = context.bot_data
    routine_id = (context.args or ["lower-back"])[0].lower()
    if routine_id not in data.library:
        await message.reply_text(render.unknown_routine(sorted(data.library)))
        return
    private = message.chat.type == ChatType.PRIVATE
    await users.remember(data, user, reachable=True if private else None)
    group_id = None if private else message.chat.id
    reach = await pairing.pairs_in_reach(data, user.id, group_id, only_home=True)
    if not reach.pairs:
        await message.reply_text(render.no_partner_here(private))
        return
    if len(reach.pairs) > 1:
        position = sorted(data.library).index(routine_id)
        keyboard = choose_pair_keyboard(
            reach.pairs, user.id, reach.users, lambda p: pack(CHOOSE, p.id, position)
        )
        await message.reply_text(render.WHO_WITH, reply_markup=keyboard)
        return
    await start_for_pair(update, context, reach.pairs[0], routine_id)


async def choose_partner(update: Update, context: Context) -> None:
    """The answer to "Who do you want to stretch with?"."""
    query = update.callback_query
    assert query is not None
    routines = sorted(context.bot_data.library)
    parsed = unpack(query.data, CHOOSE, ROW_ID, Ints(0, len(routines) - 1))
    if parsed is None:
        await query.answer(BUTTON_GONE)
        return
    try:
        found = await pairing.pair_of_member(context.bot_data, query.from_user.id, parsed.ids[0])
    except PairingRefused:
        await query.answer(render.NOT_YOUR_BUTTON, show_alert=True)
        return
    await query.answer()
    await start_for_pair(update, context, found.pairs[0], routines[parsed.ids[1]])


async def start_for_pair(
    update: Update, context: Context, pair: PairRecord, routine_id: str
) -> None:
    """Open a lobby for `pair` from the chat of this update (/stretch, Start now)."""
    message, user = update.effective_message, update.effective_user
    assert message is not None
    assert user is not None
    data = context.bot_data
    try:
        applied = await sessions.start(
            data,
            pair=pair,
            starter_id=user.id,
            routine_id=routine_id,
            origin_chat_id=message.chat.id,
        )
    except sessions.AlreadyInSession as busy:
        if busy.user_id != user.id:
            # The partner's session is theirs to stop, not the starter's.
            known = await users.by_id(data, [busy.user_id])
            name = known[busy.user_id].first_name if busy.user_id in known else "Your partner"
            await message.reply_text(render.partner_busy(name))
            return
        text, label = render.already_in_session()
        button = InlineKeyboardButton(
            label, callback_data=pack(render.STOP, busy.record.id, busy.record.version)
        )
        await message.reply_text(text, reply_markup=InlineKeyboardMarkup([[button]]))
        return
    # The lobby is saved: its cards and idle timer must follow even if this line fails.
    try:
        if applied.live.in_group:
            await _announce_in_group(context, applied.live)
        else:
            await message.reply_text(render.asked_to_join(applied.live.name_of(Seat.B)))
    finally:
        await flow_for(context).follow(applied)


async def _announce_in_group(context: Context, live: Live) -> None:
    """One line in the group; a button for each partner I can't write to yet."""
    data = context.bot_data
    members = await users.by_id(data, live.state.partners)
    buttons = [
        [render.open_chat_button(members[u].first_name, open_chat_link(data.bot_username))]
        for u in live.state.partners
        if u in members and not members[u].reachable
    ]
    routine = data.library[live.record.routine_id]
    await context.bot.send_message(
        live.record.origin_chat_id,
        render.group_start_line(live.names, routine),
        reply_markup=InlineKeyboardMarkup(buttons) if buttons else None,
    )


async def session_button(update: Update, context: Context) -> None:
    """Join, Ready, Pause, Resume, Skip, Stop, Ease off: from either phone, for both."""
    query = update.callback_query
    assert query is not None
    action = (query.data or "").split(":", 1)[0]
    parsed = unpack(query.data, action, ROW_ID, COUNTER) if action in _EVENTS else None
    if parsed is None:
        await query.answer(BUTTON_GONE)
        return
    session_id, version = parsed.ids
    event = _EVENTS[action](user_id=query.from_user.id, version=version)
    try:
        applied = await sessions.apply(context.bot_data, session_id, event)
    except EventRefused as refused:
        await query.answer(render.refusal(refused.reason), show_alert=True)
        return
    except sessions.SessionMissing:
        await query.answer(render.refusal_missing())
        return
    # The step is saved: its cards and timer must follow even if the toast fails
    # (a timeout, or a query too old after a restart).
    try:
        await query.answer(toast(_toast(action, applied)))
    finally:
        await flow_for(context).follow(applied)


def _toast(action: str, applied: Applied) -> str:
    if action == render.EASE_OFF:
        return render.eased_off(applied.live.name_of(applied.live.state.step.helper))
    return _TOASTS[action]


async def rate(update: Update, context: Context) -> None:
    """A partner's answer to "How does your back feel?"."""
    query = update.callback_query
    assert query is not None
    parsed = unpack(query.data, render.RATE, ROW_ID, Ints(1, 5))
    if parsed is None:
        await query.answer(BUTTON_GONE)
        return
    if not await sessions.rate(context.bot_data, parsed.ids[0], query.from_user.id, parsed.ids[1]):
        await query.answer(render.NOT_YOUR_BUTTON, show_alert=True)
        return
    await query.answer(render.rated(parsed.ids[1]))
    if query.message is not None:
        await query.edit_message_reply_markup(None)


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("stretch", stretch))
    app.add_handler(CallbackQueryHandler(choose_partner, pattern=pattern(CHOOSE)))
    app.add_handler(CallbackQueryHandler(rate, pattern=pattern(render.RATE)))
    actions = "|".join(_EVENTS)
    app.add_handler(CallbackQueryHandler(session_button, pattern=rf"^({actions}):"))
