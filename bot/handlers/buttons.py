"""Reading a tapped button, and answering a tap that changes nothing.

Callback data comes from the client, so every handler parses it here, through
`bot.callbacks.unpack`: what does not parse gets the polite answer and goes no further.
"""

from __future__ import annotations

from telegram import CallbackQuery, Update

from bot.callbacks import ButtonData, Ints, unpack_any
from bot.delivery import edit_tapped
from bot.render.basics import BUTTON_GONE
from bot.render.limits import toast


async def parse_tap(
    update: Update, actions: tuple[str, ...], *places: Ints
) -> tuple[CallbackQuery, ButtonData] | None:
    """The tapped button's data if it is one of `actions` and fits `places`.

    Anything else (stale, malformed, forged) is answered "This button no longer works."
    and gives None.
    """
    query = update.callback_query
    if query is None:
        return None
    button = unpack_any(query.data, actions, *places)
    if button is None:
        await query.answer(BUTTON_GONE)
        return None
    return query, button


async def refuse_tap(
    query: CallbackQuery, text: str, *, alert: bool = False, settle: bool = False
) -> None:
    """Answer a tap that changes nothing with `text` (HTML, as every render text is).

    The answer to a tap is plain text, so `toast` resolves the escapes a name got for
    HTML ("Ben <3", not "Ben &lt;3") and keeps within Telegram's 200 characters.
    `alert` pops it up (a tap by someone the button is not for); `settle` also puts it
    in place of the message, whose buttons can no longer do anything.
    """
    await query.answer(toast(text), show_alert=alert)
    if settle:
        await edit_tapped(query, text)
