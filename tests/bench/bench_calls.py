"""Telegram calls per partner per hold over whole sessions, in-process, as people would.

`python -m tests.bench.bench_calls` drives `lower-back` and `quick` from the home group
on the fake Bot API (both join, both tap Ready at every setup, every hold and switch runs
out) and counts the sends, edits and deletes to each phone and the answers to its taps:
once for partners who read the safety note before, once for a first session (the note
and Got it). It prints the numbers; the budget itself (4 per hold for `lower-back`) is asserted by
tests/bot/test_session_flow.py.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from routines.plan import PlanOptions, Seat, StepKind
from tests.bot.session_helpers import (
    ANA,
    BEN,
    HOME,
    calls_to,
    card_of,
    pair_in_database,
    through_get_set,
)
from tests.clock import FakeClock
from tests.conftest import make_settings
from tests.harness import BotHarness, running_bot


async def _drive(bot: BotHarness, routine: str, first_session: bool) -> int:
    plan = bot.app.bot_data.plan(routine, PlanOptions())
    phones = {Seat.A: ANA, Seat.B: BEN}
    await bot.say(ANA, f"/stretch {routine}", chat=HOME)
    for person in phones.values():
        await bot.press(person, bot.new(person.id)[-1], "Join")
    if first_session:
        for person in phones.values():
            await bot.press(person, bot.new(person.id)[-1], "Got it")
    for step in plan.steps:
        if step.kind is StepKind.SETUP:
            # Each phone keeps one session card: the setup, to tap Ready on.
            for person in phones.values():
                await bot.press(person, card_of(bot, person), "Ready")
            continue
        if plan.steps[step.index - 2].kind is StepKind.SETUP:
            await through_get_set(bot)
        await bot.advance(step.seconds)
    return sum(1 for s in plan.steps if s.kind is StepKind.HOLD)


async def measure(routine: str, first_session: bool) -> str:
    with tempfile.TemporaryDirectory() as folder:
        settings = make_settings(f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}")
        async with running_bot(settings, FakeClock()) as bot:
            await pair_in_database(bot, safety_read=not first_session)
            before = len(bot.world.calls)
            holds = await _drive(bot, routine, first_session)
            counts = [calls_to(bot, person, before) for person in (ANA, BEN)]
    kind = "first session" if first_session else "later session"
    per_phone = "; ".join(
        f"{c.sends} sends, {c.edits} edits, {c.deletes} deletes, {c.tap_answers} tap answers"
        f" ({(c.sends + c.edits + c.deletes + c.tap_answers) / holds:.2f} per hold)"
        for c in counts
    )
    return f"{routine:<10} {kind:<13} {holds:>2} holds: {per_phone} (Ana; Ben)"


def main() -> int:
    for routine in ("lower-back", "quick"):
        for first_session in (False, True):
            print(asyncio.run(measure(routine, first_session)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
