"""Session timers as units of work: claim what is due, finish or move on what was done.

The rows are written by the sessions service with the state that armed them; here any
worker takes them. A claim is a lease: the claimer's name and the instant until which
nobody else may take the row. The claim is committed before the timer is carried out,
so a worker that dies holding it delays it by the lease, and never strands it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.services.resources import Resources
from bot.session_timers import CARDS_KIND, Lane
from storage.records import TimerRecord
from storage.timer_steps import Claimed


async def claim(data: Resources, lease: timedelta, limit: int) -> Claimed:
    """Up to `limit` timers due now and free, held by this worker for `lease`, and the
    first instant a timer may be claimed after them (None: not known)."""
    now = data.clock.now()
    return await data.db.timers.claim(now, data.worker_id, now + lease, limit)


async def finish(data: Resources, timer: TimerRecord) -> None:
    """The claimed `timer` is done: its row goes, unless it was armed anew meanwhile."""
    await data.db.timers.finish(timer)


async def move_on(data: Resources, held: TimerRecord, following: TimerRecord | None) -> None:
    """Replace the claimed `held` with the lane's next instant (or nothing)."""
    await data.db.timers.move_on(held, following)


async def arm(data: Resources, timer: TimerRecord) -> None:
    """Write `timer` in its lane, replacing what the lane held."""
    await data.db.timers.arm(timer)


async def soonest(data: Resources) -> datetime | None:
    """When the next timer may be claimed, by any worker."""
    return await data.db.timers.soonest()


async def prepare_start(data: Resources, *, single_process: bool) -> list[int]:
    """Make the table whole at start-up; the live sessions with no step timer come back.

    With one process (SQLite) every claim in the table is a dead predecessor's: freed,
    so what it held is carried out now rather than after its lease; and its cards still
    owed are tried at once, as a restart always did. Cards still owed with no row to send
    them (the tries were used up) get one, due now.
    """
    now = data.clock.now()
    async with data.db.unit() as unit:
        if single_process:
            await unit.timers.release_all()
            await unit.timers.bring_forward(Lane.CARDS, now)
        owing = {card.session_id: card.version for card in await unit.outbox.owed()}
        for session_id, version in owing.items():
            lanes = {t.lane for t in await unit.timers.of_session(session_id)}
            if Lane.CARDS not in lanes:
                await unit.timers.set(
                    TimerRecord(session_id, Lane.CARDS, CARDS_KIND, version, now)
                )
        unarmed = await unit.timers.live_without(Lane.STEP)
        await unit.commit()
    return unarmed


async def release_mine(data: Resources) -> None:
    """This worker stops: what it holds is free for the others at once."""
    async with data.db.unit() as unit:
        await unit.timers.release_all(data.worker_id)
        await unit.commit()


async def of_session(data: Resources, session_id: int) -> list[TimerRecord]:
    async with data.db.unit(read_only=True) as unit:
        return await unit.timers.of_session(session_id)
