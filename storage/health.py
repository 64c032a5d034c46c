"""Is the database there? The cheapest questions that go all the way to it."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text

from storage.db import Database
from storage.unusable import cause_of

log = logging.getLogger(__name__)


async def database_answers(database: Database, *, within: float = 2.0) -> bool:
    """True when a trivial query comes back within `within` seconds.

    A database server that stopped answering would otherwise hold a health probe for
    the driver's whole connect timeout, and the probe's caller gives up long before.
    """
    try:
        async with asyncio.timeout(within):
            async with database.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as error:  # whatever the driver raises, the answer is "no"
        # Probes come every few seconds; the caller says once when the answer changes.
        log.debug("the database does not answer: %s", cause_of(error))
        return False
    return True


async def live_sessions(database: Database) -> int:
    """Sessions not yet finished or abandoned."""
    async with database.unit(read_only=True) as unit:
        return await unit.sessions.count_live()
