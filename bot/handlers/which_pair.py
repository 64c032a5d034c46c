"""Which of a user's pairs a command or a button means, and the answers when it is not one.

A command in private may mean any of the user's pairs; in a group, only the pairs whose
home it is, so a colleague's command in the office group never touches the user's pair
with a flatmate. No pair there: the command says how to get one. Several: it asks which,
a button per partner. Each command keeps its own words for both answers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from telegram import CallbackQuery, Chat, InlineKeyboardMarkup, Message, User
from telegram.constants import ChatType

from bot.context import Context
from bot.handlers.buttons import refuse_tap
from bot.render.pairs import choose_pair_keyboard
from bot.services import pairing, users
from bot.services.pairing import PairingRefused, Partners
from bot.services.users import Account
from storage.records import PairRecord


@dataclass(frozen=True, slots=True)
class PairQuestion:
    """What a command says when it cannot act on one pair yet."""

    no_partner_private: str
    no_partner_group: str
    which: str
    # The callback data of the button that picks `pair`.
    button: Callable[[PairRecord], str]


def typed_command(message: Message) -> str:
    """The command as the user typed it, without the slash and the bot's @name."""
    return (message.text or "/").split()[0].lstrip("/").split("@")[0]


async def pairs_here(context: Context, chat: Chat, user_id: int) -> Partners:
    """The pairs a command from `user_id` in `chat` may mean."""
    group_id = None if chat.type == ChatType.PRIVATE else chat.id
    return await pairing.pairs_in_reach(context.bot_data, user_id, group_id, only_home=True)


async def one_pair(
    context: Context,
    where: Message | Chat,
    user: User,
    question: PairQuestion,
    *,
    remember: bool = False,
) -> Partners | None:
    """The one pair in reach (the only one in `Partners.pairs`), or None once answered.

    `where` is the command to reply to, or the chat to answer in with a new message (a
    button on one of the bot's own messages). With `remember` the user is stored first,
    as reachable when this is the private chat.
    """
    chat = where.chat if isinstance(where, Message) else where
    private = chat.type == ChatType.PRIVATE
    if remember:
        await users.remember(
            context.bot_data, Account.of(user), reachable=True if private else None
        )
    reach = await pairs_here(context, chat, user.id)
    if len(reach.pairs) == 1:
        return reach
    if not reach.pairs:
        text = question.no_partner_private if private else question.no_partner_group
        markup = None
    else:
        text = question.which
        markup = choose_pair_keyboard(reach.pairs, user.id, reach.users, question.button)
    await _answer(context, where, text, markup)
    return None


async def _answer(
    context: Context, where: Message | Chat, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    if isinstance(where, Message):
        await where.reply_text(text, reply_markup=markup)
    else:
        await context.bot.send_message(where.id, text, reply_markup=markup)


async def tapped_pair(
    context: Context, query: CallbackQuery, pair_id: int, not_yours: str
) -> Partners | None:
    """The pair a button names, if the one who tapped is in it; else an alert and None."""
    try:
        return await pairing.pair_of_member(context.bot_data, query.from_user.id, pair_id)
    except PairingRefused:
        await refuse_tap(query, not_yours, alert=True)
        return None
