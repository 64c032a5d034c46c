"""The world lives in the package now (the playground serves it); kept here so tests
import it where they always did."""

from bot.playground.world import (
    BOT_ID,
    BOT_USER,
    BOT_USERNAME,
    DELETE_WINDOW,
    FILES,
    PHONE_METHODS,
    Call,
    ConnectionDropped,
    Failure,
    FaultPlan,
    SentMessage,
    TimeoutRequested,
    World,
)

__all__ = [
    "BOT_ID",
    "BOT_USER",
    "BOT_USERNAME",
    "DELETE_WINDOW",
    "FILES",
    "PHONE_METHODS",
    "Call",
    "ConnectionDropped",
    "Failure",
    "FaultPlan",
    "SentMessage",
    "TimeoutRequested",
    "World",
]
