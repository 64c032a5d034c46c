"""A stand-in for Telegram's Bot API: one world of chats and messages, two doors into it.

`FakeBotApi` is PTB's request layer for in-process tests; the HTTP double in
`tests/e2e` serves the same world to the real bot process.
"""

from tests.fake_telegram.request import FakeBotApi
from tests.fake_telegram.world import (
    BOT_ID,
    BOT_USERNAME,
    Call,
    Failure,
    FaultPlan,
    SentMessage,
    World,
)

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
