"""The update types the bot asks Telegram for: derived from the handlers it registered."""

from __future__ import annotations

from typing import Any

from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
)

# What each kind of handler acts on. Commands and messages are new messages only: an
# edited message is not a new command, and channel posts have no sender to answer.
_TYPES_OF: tuple[tuple[type[BaseHandler[Any, Any, Any]], tuple[str, ...]], ...] = (
    (CommandHandler, ("message",)),
    (MessageHandler, ("message",)),
    (CallbackQueryHandler, ("callback_query",)),
)


class UnmappedHandler(TypeError):
    """A handler kind this module does not know: say here which updates it needs."""


def handled_update_types(app: Application[Any, Any, Any, Any, Any, Any]) -> list[str]:
    """Every update type some registered handler acts on, sorted; nothing else is fetched.

    Telegram then never sends the others (a poll answer, a reaction, a chat member
    change), so an update of a kind the bot ignores cannot trouble it.
    """
    types: set[str] = set()
    for handlers in app.handlers.values():
        for handler in handlers:
            kinds = next((k for cls, k in _TYPES_OF if isinstance(handler, cls)), None)
            if kinds is None:
                raise UnmappedHandler(
                    f"{type(handler).__name__} is not in bot/update_types.py: add the "
                    "update types it handles there"
                )
            types.update(kinds)
    return sorted(types)
