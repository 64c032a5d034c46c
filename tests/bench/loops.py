"""The event loop a bench runs on: asyncio's own, or uvloop when it is installed."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

LOOPS = ("asyncio", "uvloop")


def run_on(loop: str, main: Coroutine[Any, Any, T]) -> T:
    if loop == "uvloop":
        import uvloop  # the optional `fast` extra

        result: T = uvloop.run(main)
        return result
    return asyncio.run(main)
