"""/stretch and every button of a running session."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.callbacks import (
    COUNTER,
    ROW_ID,
    SESSION_EASE_OFF,
    SESSION_JOIN,
    SESSION_KEEP_GOING,
    SESSION_NOT_NOW,
    SESSION_PAUSE,
    SESSION_RATE,
    SESSION_READY,
    SESSION_RESUME,
    SESSION_SAFETY_OK,
    SESSION_SKIP,
    SESSION_STOP,
    SESSION_STOP_ASK,
    STRETCH_WITH,
    Ints,
    pack,
    pattern,
)
from bot.context import BotApplication, BotData, Context
from bot.delivery import edit_tapped
from bot.handlers.buttons import parse_tap, refuse_tap
from bot.handlers.which_pair import PairQuestion, one_pair, tapped_pair
from bot.live_session import Applied, Live
from bot.render import session as render
from bot.render.limits import toast
from bot.services import sessions, users
from bot.services.pair_settings import default_routine_of
from bot.services.pairing import open_chat_link
from bot.session_flow import flow_for
from routines.engine import (
    Acknowledge,
    EaseOff,
    EventRefusal,
    EventRefused,
    Join,
    Pause,
    Phase,
    Ready,
    Resume,
    Skip,
    Stop,
)
from routines.plan import Seat
from routines.routine_names import routine_named
from storage.records import LeftoverRecord, PairRecord

_EVENTS: dict[str, type[Join | Ready | Pause | Resume | Skip | Stop | EaseOff | Acknowledge]] = {
    SESSION_JOIN: Join,
    SESSION_NOT_NOW: Stop,
    SESSION_READY: Ready,
    SESSION_PAUSE: Pause,
    SESSION_RESUME: Resume,
    SESSION_SKIP: Skip,
    SESSION_STOP: Stop,
    SESSION_EASE_OFF: EaseOff,
    SESSION_SAFETY_OK: Acknowledge,
}


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler("stretch", stretch))
    app.add_handler(CallbackQueryHandler(choose_partner, pattern=pattern(STRETCH_WITH)))
    app.add_handler(CallbackQueryHandler(rate, pattern=pattern(SESSION_RATE)))
    for action in (SESSION_STOP_ASK, SESSION_KEEP_GOING):
        app.add_handler(CallbackQueryHandler(stop_question, pattern=pattern(action)))
    for action in _EVENTS:
        app.add_handler(CallbackQueryHandler(session_button, pattern=pattern(action)))


async def stretch(update: Update, context: Context) -> None:
    """Start a session with the partner (asking which one when there are several)."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    data = context.bot_data
    typed = " ".join(context.args or [])
    # Without a name, the pair's own default routine (see /settings), once the pair is known.
    routine_id = routine_named(data.library.values(), typed) if typed else None
    if typed and routine_id is None:
        await message.reply_text(render.unknown_routine(sorted(data.library)))
        return
    position = (
        pair_default_position(data)
        if routine_id is None
        else sorted(data.library).index(routine_id)
    )
    found = await one_pair(context, message, user, stretch_question(position), remember=True)
    if found is None:
        return
    pair = found.pairs[0]
    if routine_id is None:
        routine_id = default_routine_of(pair, sorted(data.library))
    await start_for_pair(update, context, pair, routine_id)


def pair_default_position(data: BotData) -> int:
    """What STRETCH_WITH carries for "the pair's own default routine": one past the
    library's positions, so the choice is made once the pair is known."""
    return len(data.library)


def stretch_question(position: int) -> PairQuestion:
    """Where /stretch has no partner, or asks with whom; a pick starts routine `position`."""
    return PairQuestion(
        no_partner_private=render.no_partner_here(private=True),
        no_partner_group=render.no_partner_here(private=False),
        which=render.WHO_WITH,
        button=lambda pair: pack(STRETCH_WITH, pair.id, position),
    )


async def choose_partner(update: Update, context: Context) -> None:
    """The answer to "Who do you want to stretch with?"."""
    routines = sorted(context.bot_data.library)
    parsed = await parse_tap(update, (STRETCH_WITH,), ROW_ID, Ints(0, len(routines)))
    if parsed is None:
        return
    query, button = parsed
    found = await tapped_pair(context, query, button.ids[0], render.NOT_YOUR_BUTTON)
    if found is None:
        return
    await query.answer()
    pair, position = found.pairs[0], button.ids[1]
    routine_id = (
        routines[position] if position < len(routines) else default_routine_of(pair, routines)
    )
    await start_for_pair(update, context, pair, routine_id)


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
            partner = known.get(busy.user_id)
            name = None if partner is None else partner.first_name
            await message.reply_text(render.partner_busy(name))
            return
        await _already_in_session(update, context, busy.record.id)
        return
    # The lobby is saved: its cards and idle timer must follow even if this line fails.
    try:
        if applied.live.in_group:
            await _announce_in_group(context, applied.live)
        else:
            asked = await message.reply_text(render.asked_to_join(applied.live.name_of(Seat.B)))
            # The starter's first card takes this line away, as it takes a Join card.
            await sessions.leave_behind(
                data, [LeftoverRecord(applied.live.id, user.id, asked.chat_id, asked.message_id)]
            )
    finally:
        await flow_for(context).follow(applied)


async def _already_in_session(update: Update, context: Context, session_id: int) -> None:
    """/stretch during one's own session: only the current card carries the session's
    buttons, so in private that card comes back below as the new current card (the old
    one goes); from a group, or when Telegram did not take it, a line without buttons
    says where the card is."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    private = message.chat.type == ChatType.PRIVATE
    if private:
        live = await sessions.load(context.bot_data, session_id)
        seat = None if live is None else live.state.seat_of(user.id)
        if (
            live is not None
            and seat is not None
            and await flow_for(context).show_again(live, seat)
        ):
            return
    await message.reply_text(render.already_in_session(private=private))


async def _announce_in_group(context: Context, live: Live) -> None:
    """One line in the group; a button for each partner I can't write to yet."""
    data = context.bot_data
    members = await users.by_id(data, live.state.partners)
    unreachable = [
        members[u].first_name
        for u in live.state.partners
        if u in members and not members[u].reachable
    ]
    routine = data.library[live.record.routine_id]
    await context.bot.send_message(
        live.record.origin_chat_id,
        render.group_start_line(live.names, routine),
        reply_markup=render.open_chat_keyboard(unreachable, open_chat_link(data.bot_username)),
    )


async def session_button(update: Update, context: Context) -> None:
    """Join, Ready, Pause, Resume, Skip, Stop, Ease off, Got it: from either phone."""
    parsed = await parse_tap(update, tuple(_EVENTS), ROW_ID, COUNTER)
    if parsed is None:
        return
    query, button = parsed
    session_id, version = button.ids
    event = _EVENTS[button.action](user_id=query.from_user.id, version=version)
    try:
        applied = await sessions.apply(context.bot_data, session_id, event)
    except EventRefused as refused:
        text = await _refusal_text(context, session_id, refused.reason)
        await refuse_tap(query, text, alert=True)
        return
    except sessions.SessionMissing:
        await refuse_tap(query, render.refusal_missing())
        return
    # The step is saved: its cards and timer must follow even if the toast fails
    # (a timeout, or a query too old after a restart).
    try:
        await query.answer(toast(_toast(button.action, applied)))
    finally:
        await flow_for(context).follow(applied)


async def stop_question(update: Update, context: Context) -> None:
    """A card's Stop asks "Stop for both of you?"; Keep going puts the card's buttons back.

    Nothing is saved: only the confirmed Stop (SESSION_STOP) goes to the engine. Both
    taps are checked as a Stop would be, so a stale, forged or stranger's tap is refused.
    """
    parsed = await parse_tap(update, (SESSION_STOP_ASK, SESSION_KEEP_GOING), ROW_ID, COUNTER)
    if parsed is None:
        return
    query, button = parsed
    session_id, version = button.ids
    user_id = query.from_user.id
    try:
        live = await sessions.check(
            context.bot_data, session_id, Stop(user_id=user_id, version=version)
        )
    except EventRefused as refused:
        await refuse_tap(query, render.refusal(refused.reason), alert=True)
        return
    except sessions.SessionMissing:
        await refuse_tap(query, render.refusal_missing())
        return
    seat = live.state.seat_of(user_id)
    if seat is None or live.state.phase is Phase.LOBBY:
        # No lobby card carries this Stop: the lobby has Not now.
        await refuse_tap(query, render.refusal(EventRefusal.NOT_NOW), alert=True)
        return
    if button.action == SESSION_STOP_ASK:
        markup = render.stop_choice_keyboard(live.id, live.state.version)
        answer = render.STOP_QUESTION
    else:
        markup = render.card_keyboard(live.id, live.state, seat)
        answer = render.KEPT_GOING
    # Buttons first: if this edit fails the card keeps its Stop, and a second tap asks again.
    await edit_tapped(query, None, markup)
    await query.answer(answer)


async def _refusal_text(context: Context, session_id: int, reason: EventRefusal) -> str:
    """The answer to a refused tap; a second Ease off names the helper who has it."""
    if reason is EventRefusal.ALREADY_SENT:
        live = await sessions.load(context.bot_data, session_id)
        if live is not None:
            return render.already_sent(live.name_of(live.state.step.helper))
    return render.refusal(reason)


def _toast(action: str, applied: Applied) -> str:
    state = applied.live.state
    if action == SESSION_EASE_OFF:
        return render.eased_off(applied.live.name_of(state.step.helper))
    if action == SESSION_READY and state.phase is Phase.HOLDING:
        # The second Ready: the cards stay until the hold starts, so the tap says when.
        return render.get_set_toast(state)
    return render.tapped(action)


async def rate(update: Update, context: Context) -> None:
    """A partner's answer to "How does your back feel?"."""
    parsed = await parse_tap(update, (SESSION_RATE,), ROW_ID, Ints(1, 5))
    if parsed is None:
        return
    query, button = parsed
    session_id, rating = button.ids
    if not await sessions.rate(context.bot_data, session_id, query.from_user.id, rating):
        await refuse_tap(query, render.NOT_YOUR_BUTTON, alert=True)
        return
    await query.answer(render.rated(rating))
    if query.message is not None:
        await edit_tapped(query, None)
