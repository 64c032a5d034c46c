"""/timezone and shared locations: the time zone of the user's pair."""

from __future__ import annotations

from telegram import Chat, Message, Update, User
from telegram.constants import ChatType
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.callbacks import ROW_ID, TIMEZONE_CONFIRM, TIMEZONE_PICK, USER_ID, pattern
from bot.context import BotApplication, Context
from bot.delivery import edit_tapped, send_private
from bot.handlers.buttons import parse_tap, refuse_tap
from bot.render import pairing as render
from bot.services import pairing
from bot.services import timezones as zones
from bot.services.pairing import PairingRefusal, PairingRefused, Partners, ZoneSet
from bot.services.users import Account


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler("timezone", timezone))
    app.add_handler(MessageHandler(filters.LOCATION & filters.ChatType.PRIVATE, location))
    app.add_handler(CallbackQueryHandler(timezone_pick, pattern=pattern(TIMEZONE_PICK)))
    app.add_handler(CallbackQueryHandler(timezone_confirm, pattern=pattern(TIMEZONE_CONFIRM)))


async def timezone(update: Update, context: Context) -> None:
    """Set the pair's time zone from an IANA name or a city; anything else gets advice."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    query = " ".join(context.args or [])
    if not query:
        found = await _pairs_here(context, user, message.chat)
        await message.reply_text(render.timezone_usage(found))
        return
    match zones.lookup(query):
        case zones.Found(zone):
            await _apply(message, user, context, zone)
        case zones.Ambiguous(options):
            await message.reply_text(render.zone_ambiguous(query, options))
        case zones.NotFound(suggestions):
            await message.reply_text(render.zone_not_found(query, suggestions))
        case zones.Abbreviated(options):
            text, markup = render.zone_abbreviated(query, options, user.id)
            await message.reply_text(text, reply_markup=markup)


async def location(update: Update, context: Context) -> None:
    """A location shared in private sets the time zone of that place."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or message.location is None:
        return
    zone = await zones.zone_at(message.location.latitude, message.location.longitude)
    if zone is None:
        await message.reply_text(render.zone_of_location_unknown())
        return
    await _apply(message, user, context, zone)


async def _apply(message: Message, user: User, context: Context, zone: str) -> None:
    found = await _pairs_here(context, user, message.chat)
    if len(found.pairs) > 1:
        text, markup = render.zone_choose_pair(found, zone)
        await message.reply_text(text, reply_markup=markup)
        return
    pair_id = found.pairs[0].id if found.pairs else None
    result = await pairing.set_timezone(context.bot_data, Account.of(user), zone, pair_id)
    await message.reply_text(_done(result, context))
    await _tell_partner(result, context)


async def timezone_pick(update: Update, context: Context) -> None:
    """The pair chosen for a zone, when the user has several."""
    parsed = await parse_tap(update, (TIMEZONE_PICK,), ROW_ID, zones.ZONE_KEYS)
    if parsed is None:
        return
    query, button = parsed
    zone = zones.zone_for_key(button.ids[1])
    try:
        if zone is None:
            raise PairingRefused(PairingRefusal.GONE)
        result = await pairing.set_timezone(
            context.bot_data, Account.of(query.from_user), zone, button.ids[0]
        )
    except PairingRefused as refused:
        text = render.refusal(refused.refusal, refused.other)
        await refuse_tap(query, text, alert=refused.refusal == PairingRefusal.NOT_YOURS)
        return
    await query.answer()
    await edit_tapped(query, _done(result, context))
    await _tell_partner(result, context)


async def timezone_confirm(update: Update, context: Context) -> None:
    """The place the asker confirmed for a clock's abbreviation ("EST" is New York)."""
    parsed = await parse_tap(update, (TIMEZONE_CONFIRM,), USER_ID, zones.ZONE_KEYS)
    if parsed is None:
        return
    query, button = parsed
    asker, zone = button.ids[0], zones.zone_for_key(button.ids[1])
    if zone is None or query.message is None:
        await refuse_tap(query, render.refusal(PairingRefusal.GONE))
        return
    if query.from_user.id != asker:
        await refuse_tap(query, render.NOT_FOR_YOU, alert=True)
        return
    found = await _pairs_here(context, query.from_user, query.message.chat)
    await query.answer()
    if len(found.pairs) > 1:
        await edit_tapped(query, *render.zone_choose_pair(found, zone))
        return
    pair_id = found.pairs[0].id if found.pairs else None
    result = await pairing.set_timezone(
        context.bot_data, Account.of(query.from_user), zone, pair_id
    )
    # The zone is saved: the partner hears of it even if the asker's edit fails.
    try:
        await edit_tapped(query, _done(result, context))
    finally:
        await _tell_partner(result, context)


async def _pairs_here(context: Context, user: User, chat: Chat) -> Partners:
    """The user's pairs, or the one whose home is the group the message came from."""
    group_id = None if chat.type == ChatType.PRIVATE else chat.id
    return await pairing.pairs_in_reach(context.bot_data, user.id, group_id)


def _done(result: ZoneSet, context: Context) -> str:
    return render.zone_set(result, zones.local_time(result.zone, context.bot_data.clock.now()))


async def _tell_partner(result: ZoneSet, context: Context) -> None:
    if result.partner is not None:
        await send_private(context.bot, result.partner.id, render.zone_set_for_partner(result))
