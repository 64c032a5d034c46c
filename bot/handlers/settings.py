"""/settings for a pair, its buttons, and the weekly recap's "Turn off" button."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.callbacks import (
    RECAP_OFF,
    ROW_ID,
    SETTINGS_CHOOSE,
    SETTINGS_PICK,
    Ints,
    pack,
    pattern,
)
from bot.context import BotApplication, Context
from bot.delivery import edit_tapped, send_private
from bot.handlers.buttons import parse_tap, refuse_tap
from bot.handlers.which_pair import PairQuestion, one_pair
from bot.render import recap as render_recap
from bot.render import settings as render
from bot.render.basics import BUTTON_GONE
from bot.services import pair_settings as service
from bot.services.pair_settings import Changed, Setting
from bot.services.pairing import PairingRefusal, PairingRefused

log = logging.getLogger(__name__)

SETTINGS = Ints(min(Setting), max(Setting))
# A choice's position; the handler checks it against the setting's own number of choices.
CHOICE = Ints(0, 63)
_QUESTION = PairQuestion(
    no_partner_private=render.NO_PARTNER_PRIVATE,
    no_partner_group=render.NO_PARTNER_GROUP,
    which=render.WHICH_PAIR,
    button=lambda pair: pack(SETTINGS_PICK, pair.id),
)


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler("settings", settings))
    app.add_handler(CallbackQueryHandler(pair_picked, pattern=pattern(SETTINGS_PICK)))
    app.add_handler(CallbackQueryHandler(choice_pressed, pattern=pattern(SETTINGS_CHOOSE)))
    app.add_handler(CallbackQueryHandler(recap_off_pressed, pattern=pattern(RECAP_OFF)))


async def settings(update: Update, context: Context) -> None:
    """The pair's settings with a button for each choice; asks whose with several partners."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    reach = await one_pair(context, message, user, _QUESTION)
    if reach is None:
        return
    found = await service.settings_of(context.bot_data, user.id, reach.pairs[0].id)
    text, markup = _shown(context, found, user.id)
    await message.reply_text(text, reply_markup=markup)


async def pair_picked(update: Update, context: Context) -> None:
    """A partner picked from "Whose settings?" (their settings in place of the question),
    or the Settings button under /start (their settings as a new message)."""
    parsed = await parse_tap(update, (SETTINGS_PICK,), ROW_ID)
    if parsed is None:
        return
    query, button = parsed
    try:
        found = await service.settings_of(context.bot_data, query.from_user.id, button.ids[0])
    except PairingRefused as refused:
        await refuse_tap(query, _refusal(refused), alert=True)
        return
    await query.answer()
    text, markup = _shown(context, found, query.from_user.id)
    message = query.message
    if isinstance(message, Message) and message.text == render.WHICH_PAIR:
        await edit_tapped(query, text, markup)
    elif message is not None:
        # The Settings button of /start: the welcome stays, the settings come below it.
        await context.bot.send_message(message.chat.id, text, reply_markup=markup)


async def choice_pressed(update: Update, context: Context) -> None:
    """One choice tapped: stored, the message edited in place, the partner told."""
    parsed = await parse_tap(update, (SETTINGS_CHOOSE,), ROW_ID, SETTINGS, CHOICE)
    if parsed is None:
        return
    query, button = parsed
    data = context.bot_data
    pair_id, setting, value = button.ids[0], Setting(button.ids[1]), button.ids[2]
    routine_ids = sorted(data.library)
    if value >= service.choices(setting, routine_ids):
        await refuse_tap(query, BUTTON_GONE)
        return
    try:
        result = await service.change(
            data, query.from_user.id, pair_id, setting, value, routine_ids, data.clock.now()
        )
    except PairingRefused as refused:
        await refuse_tap(query, _refusal(refused), alert=True)
        return
    await query.answer(render.SAVED if result.changed else render.UNCHANGED)
    text, markup = _shown(context, result.now, query.from_user.id)
    await edit_tapped(query, text, markup)
    await _tell_partner(context, result, query.from_user.id, setting, value)


async def recap_off_pressed(update: Update, context: Context) -> None:
    """ "Turn off weekly recap" on a recap: off for the pair; the partner is told."""
    parsed = await parse_tap(update, (RECAP_OFF,), ROW_ID)
    if parsed is None:
        return
    query, button = parsed
    data = context.bot_data
    try:
        result = await service.change(
            data,
            query.from_user.id,
            button.ids[0],
            Setting.RECAP,
            0,
            sorted(data.library),
            data.clock.now(),
        )
    except PairingRefused as refused:
        await refuse_tap(query, _refusal(refused), alert=True)
        return
    await query.answer(render_recap.TURNED_OFF if result.changed else render_recap.ALREADY_OFF)
    # The recap stays; only its switch goes, since it has done its work.
    await edit_tapped(query, None, render_recap.recap_keyboard(button.ids[0], with_off=False))
    await _tell_partner(context, result, query.from_user.id, Setting.RECAP, 0)


def _shown(
    context: Context, found: service.PairSettings, me: int
) -> tuple[str, InlineKeyboardMarkup]:
    library = context.bot_data.library
    return render.settings_text(found, me, library), render.settings_keyboard(found, library)


async def _tell_partner(
    context: Context, result: Changed, me: int, setting: Setting, value: int
) -> None:
    """One line to the other partner; the change is saved, so a failure is only logged."""
    if not result.changed:
        return
    pair = result.now.pair
    who = result.now.users.get(me)
    partner = pair.partner_of(me)
    text = render.told_partner(
        who.first_name if who else "Your partner", setting, value, context.bot_data.library
    )
    try:
        await send_private(context.bot, partner, text)
    except TelegramError as error:
        log.warning("could not tell user %s of a settings change: %r", partner, error)


def _refusal(refused: PairingRefused) -> str:
    return render.NOT_YOURS if refused.refusal is PairingRefusal.NOT_YOURS else render.PAIR_GONE
