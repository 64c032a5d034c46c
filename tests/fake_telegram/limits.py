"""Telegram's limits live in the package now (the playground enforces them too); kept
here so tests import them where they always did."""

from bot.playground.limits import (
    CALLBACK_ANSWER,
    CALLBACK_DATA_BYTES,
    CAPTION,
    MESSAGE_TEXT,
    EntityError,
    refusal,
    utf16_length,
    visible_text,
)

__all__ = [
    "CALLBACK_ANSWER",
    "CALLBACK_DATA_BYTES",
    "CAPTION",
    "MESSAGE_TEXT",
    "EntityError",
    "refusal",
    "utf16_length",
    "visible_text",
]
