"""The runner talks to Telegram and reports what happened; it never calls the service."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.services import sessions
from bot.session_runner import Delivery, Runner
from routines.plan import Seat
from storage.records import CardRecord
from tests.bot.session_helpers import ANA, BEN, pair_in_database
from tests.harness import BotHarness

ROOT = Path(__file__).resolve().parents[2]


def _loaded_after_import(module: str) -> set[str]:
    """The modules importing `module` pulls in, in a fresh interpreter."""
    script = f"import sys, {module}\nprint('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return set(result.stdout.split())


def test_the_runner_and_the_timers_do_not_import_the_services() -> None:
    for module in ("bot.session_runner", "bot.session_timers"):
        loaded = _loaded_after_import(module)
        assert module in loaded
        assert not {m for m in loaded if m.startswith("bot.services")}, module


def test_the_sessions_service_does_not_import_telegram() -> None:
    loaded = _loaded_after_import("bot.services.sessions")
    assert "bot.services.sessions" in loaded
    assert not {m for m in loaded if m.split(".")[0] == "telegram"}


async def test_the_runner_reports_each_phones_card_and_writes_nothing_down(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot)
    await bot.say(ANA, "/stretch")
    bot.new(ANA.id)
    bot.new(BEN.id)
    data = bot.app.bot_data
    live = await sessions.load(data, 1)
    assert live is not None
    async with data.db.unit() as unit:
        cards_before = await unit.sessions.cards(1)
        owed_before = await unit.outbox.owed(1)
    runner = Runner(bot.app.bot, bot.clock, data.library)

    bot.world.blocked.add(ANA.id)
    bot.world.fail("sendMessage", "server_error", chat_id=BEN.id)
    refused = await runner.show_cards(live, [Seat.A, Seat.B])
    bot.world.blocked.discard(ANA.id)
    accepted = await runner.show_cards(live, [Seat.B])

    assert refused == Delivery(version=1, unreachable=(Seat.A,), failed=(Seat.B,))
    [card] = bot.new(BEN.id)
    assert card.text.startswith("Ana wants to stretch now.")
    assert accepted == Delivery(
        version=1, shown=(CardRecord(BEN.id, BEN.id, card.message_id, 1, "lobby"),)
    )
    # Writing it down is the caller's part: the runner left the database as it was.
    async with data.db.unit() as unit:
        assert await unit.sessions.cards(1) == cards_before
        assert await unit.outbox.owed(1) == owed_before
        ana = await unit.users.get(ANA.id)
    assert ana is not None and ana.reachable
