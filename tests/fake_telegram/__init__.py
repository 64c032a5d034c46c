"""A stand-in for Telegram's Bot API: one world of chats and messages, two doors into it.

`FakeBotApi` is PTB's request layer for in-process tests; the HTTP double in
`bot/playground` serves the same world (kept there) to the real bot process.
"""

from bot.playground.world import (
    BOT_ID,
    BOT_USERNAME,
    Call,
    Failure,
    FaultPlan,
    SentMessage,
    World,
)
from tests.fake_telegram.request import FakeBotApi

__all__ = [
    "BOT_ID",
    "BOT_USERNAME",
    "Call",
    "Failure",
    "FakeBotApi",
    "FaultPlan",
    "SentMessage",
    "World",
]
