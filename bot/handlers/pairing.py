"""Becoming partners: /invite and its deep link, /pair in a group, /partners, /unpair."""

from __future__ import annotations

import logging

from telegram import CallbackQuery, Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import notices
from bot.callbacks import (
    INVITE_ACCEPT,
    INVITE_DECLINE,
    REQUEST_ACCEPT,
    REQUEST_DECLINE,
    ROW_ID,
    UNPAIR_CONFIRM,
    UNPAIR_KEEP,
    UNPAIR_PICK,
    pattern,
)
from bot.context import BotApplication, Context
from bot.delivery import edit_tapped, send_private
from bot.handlers import standing
from bot.handlers.buttons import parse_tap, refuse_tap
from bot.render import pairing as render
from bot.services import pairing
from bot.services.pairing import Paired, PairingRefusal, PairingRefused, Unpaired
from bot.services.users import Account
from bot.session_flow import flow_for
from storage.records import PairRecord

# Refusals that settle the message they came from: its buttons go, the line stays.
_SETTLED = {
    PairingRefusal.EXPIRED,
    PairingRefusal.USED,
    PairingRefusal.TAKEN,
    PairingRefusal.ALREADY_PAIRED,
}

log = logging.getLogger(__name__)


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler("invite", invite))
    app.add_handler(CommandHandler("pair", pair))
    app.add_handler(CommandHandler("partners", partners))
    app.add_handler(CommandHandler("unpair", unpair))
    for action in (INVITE_ACCEPT, INVITE_DECLINE):
        app.add_handler(CallbackQueryHandler(answer_invite, pattern=pattern(action)))
    for action in (REQUEST_ACCEPT, REQUEST_DECLINE):
        app.add_handler(CallbackQueryHandler(answer_pair_request, pattern=pattern(action)))
    for action in (UNPAIR_PICK, UNPAIR_KEEP):
        app.add_handler(CallbackQueryHandler(unpair_pick_or_keep, pattern=pattern(action)))
    app.add_handler(CallbackQueryHandler(unpair_confirm, pattern=pattern(UNPAIR_CONFIRM)))
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, group_migrated))


# -- invites ---------------------------------------------------------------------------------


async def invite(update: Update, context: Context) -> None:
    """Hand out a fresh single-use invite link with a Share button."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    if message.chat.type != ChatType.PRIVATE:
        await message.reply_text(render.invite_only_in_private())
        return
    created = await pairing.create_invite(context.bot_data, Account.of(user))
    link = pairing.invite_link(context.bot_data.bot_username, created.token)
    text, markup = render.invite_created(link)
    await message.reply_text(text, reply_markup=markup)


async def open_deep_link(update: Update, context: Context) -> None:
    """`/start <payload>` in private: an invite to answer, or a link that opened the chat."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or not context.args:
        return
    if context.args[0] == pairing.OPEN_CHAT_PAYLOAD:
        await standing.greet(message, context, user.first_name, user.id)
        # A session may be waiting in its lobby for exactly this person.
        await flow_for(context).show_waiting_lobby(user.id)
        return
    try:
        opened = await pairing.open_invite(context.bot_data, Account.of(user), context.args[0])
    except PairingRefused as refused:
        await message.reply_text(render.refusal(refused.refusal, refused.other))
        return
    text, markup = render.invite_offer(opened.inviter, opened.invite_id)
    await message.reply_text(text, reply_markup=markup)


async def answer_invite(update: Update, context: Context) -> None:
    """Accept or Decline under an invite: tell both people what happened."""
    parsed = await parse_tap(update, (INVITE_ACCEPT, INVITE_DECLINE), ROW_ID)
    if parsed is None:
        return
    query, button = parsed
    accept = button.action == INVITE_ACCEPT
    try:
        outcome = await pairing.answer_invite(
            context.bot_data, Account.of(query.from_user), button.ids[0], accept=accept
        )
    except PairingRefused as refused:
        await refuse(query, render.refusal(refused.refusal, refused.other), refused.refusal)
        return
    await query.answer()
    if isinstance(outcome, Paired):
        await edit_tapped(query, render.paired_for_answerer(outcome))
        await send_private(context.bot, outcome.asker.id, render.paired_for_asker(outcome))
    else:
        await edit_tapped(query, render.declined_for_answerer(outcome))
        await send_private(context.bot, outcome.asker.id, render.declined_for_asker(outcome))


# -- /pair in a group ------------------------------------------------------------------------


async def pair(update: Update, context: Context) -> None:
    """In a group, as a reply: ask the replied-to person to be the sender's partner."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    problem = _pair_problem(message)
    if problem is not None:
        await message.reply_text(problem)
        return
    assert message.reply_to_message is not None and message.reply_to_message.from_user
    partner = message.reply_to_message.from_user
    try:
        asked = await pairing.ask_in_group(
            context.bot_data, Account.of(user), Account.of(partner), message.chat_id
        )
    except PairingRefused as refused:
        await message.reply_text(render.refusal(refused.refusal, refused.other))
        return
    text, markup = render.group_request(asked, context.bot_data.bot_username)
    await message.reply_text(text, reply_markup=markup)


def _pair_problem(message: Message) -> str | None:
    """What is wrong with a /pair, in the words the sender needs; None if nothing."""
    if message.chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
        return render.pair_only_in_groups()
    reply = message.reply_to_message
    # In a forum topic every message "replies" to the topic's first message.
    if reply is None or reply.from_user is None or reply.forum_topic_created is not None:
        return render.pair_needs_reply()
    if reply.from_user.is_bot:
        return render.pair_with_bot()
    if message.from_user is not None and reply.from_user.id == message.from_user.id:
        return render.pair_with_yourself()
    return None


async def answer_pair_request(update: Update, context: Context) -> None:
    """The partner's Accept or Decline under a group /pair; anyone else gets an alert."""
    parsed = await parse_tap(update, (REQUEST_ACCEPT, REQUEST_DECLINE), ROW_ID)
    if parsed is None:
        return
    query, button = parsed
    accept = button.action == REQUEST_ACCEPT
    try:
        outcome = await pairing.answer_pair_request(
            context.bot_data, Account.of(query.from_user), button.ids[0], accept=accept
        )
    except PairingRefused as refused:
        text = render.request_refusal(refused.refusal, refused.other)
        await refuse(query, text, refused.refusal)
        return
    await query.answer()
    if isinstance(outcome, Paired):
        text, markup = render.group_paired(outcome, context.bot_data.bot_username)
        await edit_tapped(query, text, markup)
    else:
        await edit_tapped(query, render.group_declined(outcome))


# -- partners and unpairing ------------------------------------------------------------------


async def partners(update: Update, context: Context) -> None:
    """List the user's partners with each pair's time zone and home group."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    found = await pairing.pairs_in_reach(context.bot_data, user.id)
    if not found.pairs:
        await message.reply_text(render.no_partners())
        return
    titles = await _group_titles(context, found.pairs)
    await message.reply_text(render.partners_list(found, titles))


async def _group_titles(context: Context, pairs: list[PairRecord]) -> dict[int, str]:
    titles: dict[int, str] = {}
    for chat_id in {p.home_chat_id for p in pairs if p.home_chat_id is not None}:
        try:
            chat = await context.bot.get_chat(chat_id)
        except (BadRequest, Forbidden):  # the bot left or was removed: no title to show
            continue
        if chat.title:
            titles[chat_id] = chat.title
    return titles


async def unpair(update: Update, context: Context) -> None:
    """Ask which partnership to end (when there are several), then confirm."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    found = await pairing.pairs_in_reach(context.bot_data, user.id)
    if not found.pairs:
        await message.reply_text(render.no_partners())
        return
    if len(found.pairs) == 1:
        text, markup = render.unpair_confirm(found, found.pairs[0])
    else:
        text, markup = render.unpair_choose(found)
    await message.reply_text(text, reply_markup=markup)


async def unpair_pick_or_keep(update: Update, context: Context) -> None:
    """A partner chosen from /unpair's list (ask to confirm), or Keep it (say so)."""
    parsed = await parse_tap(update, (UNPAIR_PICK, UNPAIR_KEEP), ROW_ID)
    if parsed is None:
        return
    query, button = parsed
    try:
        found = await pairing.pair_of_member(context.bot_data, query.from_user.id, button.ids[0])
    except PairingRefused as refused:
        await refuse(query, render.unpair_refusal(refused.refusal), refused.refusal)
        return
    await query.answer()
    if button.action == UNPAIR_PICK:
        await edit_tapped(query, *render.unpair_confirm(found, found.pairs[0]))
    else:
        await edit_tapped(query, render.unpair_kept(found, found.pairs[0]))


async def unpair_confirm(update: Update, context: Context) -> None:
    """End the partnership and tell the other partner."""
    parsed = await parse_tap(update, (UNPAIR_CONFIRM,), ROW_ID)
    if parsed is None:
        return
    query, button = parsed
    try:
        ended = await pairing.end_pair(context.bot_data, query.from_user.id, button.ids[0])
    except PairingRefused as refused:
        await refuse(query, render.unpair_refusal(refused.refusal), refused.refusal)
        return
    try:
        await query.answer()
        await edit_tapped(query, render.unpaired_for_me(ended))
    finally:
        # The partner is told even when the asker's own screen could not be updated.
        await _close_cards(context, ended)
        if ended.partner is not None:
            assert context.job_queue is not None
            text = render.unpaired_for_partner(ended)
            await notices.tell(
                context.bot, context.job_queue, context.bot_data.clock, ended.partner.id, text
            )


async def _close_cards(context: Context, ended: Unpaired) -> None:
    """Each phone's card of the ended session says so and loses its buttons (best effort:
    a card that could not be edited answers any tap with "no longer exists")."""
    text = render.session_ended_by_unpair(ended)
    for card in ended.session_cards:
        try:
            await context.bot.edit_message_text(text, card.chat_id, card.message_id)
        except TelegramError as error:
            log.info("could not close card %s of %s: %s", card.message_id, card.user_id, error)


async def group_migrated(update: Update, context: Context) -> None:
    """A group became a supergroup: its pairs keep it as their home, under its new id."""
    message = update.effective_message
    if message is None:
        return
    if message.migrate_to_chat_id is not None:  # said in the old group
        old, new = message.chat.id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id is not None:  # said in the new supergroup
        old, new = message.migrate_from_chat_id, message.chat.id
    else:
        return
    await pairing.move_home(context.bot_data, old, new)


async def refuse(query: CallbackQuery, text: str, reason: PairingRefusal) -> None:
    """Answer a pairing tap that changed nothing; a tap by the wrong person gets an alert."""
    await refuse_tap(
        query, text, alert=reason == PairingRefusal.NOT_YOURS, settle=reason in _SETTLED
    )
