"""/export: the user's data as a JSON document, and nothing of anyone else's pairs."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from bot.render import history as render
from tests.bot.history_helpers import finished
from tests.bot.session_helpers import ANA, BEN, CAL, HOME, pair_in_database
from tests.harness import BotHarness

MONDAY = date(2026, 11, 2)


def exported(bot: BotHarness) -> dict[str, Any]:
    document = bot.last(ANA.id)
    assert document.file is not None, document.text
    assert document.file_name == "pairstretch-export.json"
    assert document.text == render.export_caption()
    data: dict[str, Any] = json.loads(document.file)
    return data


async def test_export_holds_profile_pairs_sessions_ratings_and_slots(bot: BotHarness) -> None:
    pair = await pair_in_database(bot, ANA, BEN)
    others = await pair_in_database(bot, BEN, CAL, home=None)
    await finished(bot, pair, MONDAY - timedelta(days=1), {ANA.id: 2, BEN.id: 5})
    await finished(bot, others, MONDAY, {CAL.id: 1})
    await bot.say(ANA, "/remind 07:30 weekdays", chat=HOME)
    await bot.say(ANA, "/invite")

    await bot.say(ANA, "/export")
    data = exported(bot)

    assert data["profile"]["id"] == ANA.id
    assert data["profile"]["first_name"] == "Ana"
    [only_pair] = data["pairs"]
    assert only_pair["partner"] == {"id": BEN.id, "first_name": "Ben"}
    assert only_pair["settings"] == {
        "stretched_first": "starter",
        "roles_swap": "per-exercise",
        "default_routine": None,
        "weekly_recap": True,
    }
    assert only_pair["reminder_slots"] == [
        {
            "local_time": "07:30",
            "weekdays": [0, 1, 2, 3, 4],
            "next_due_at": "2026-11-03T07:30:00+00:00",
        }
    ]
    [session] = only_pair["sessions"]
    assert session["local_date"] == "2026-11-01"
    assert (session["your_back_feel"], session["partner_back_feel"]) == (2, 5)
    assert session["holds_done"] == 6
    assert len(data["invites"]) == 1 and data["invites"][0]["sent_by_you"] is True
    assert "Cal" not in json.dumps(data)


async def test_export_of_someone_unknown_says_nothing_is_held(bot: BotHarness) -> None:
    await bot.say(ANA, "/export")  # /export remembers nobody: Ana never sent /start
    assert bot.last(ANA.id).text == render.nothing_held()


async def test_export_is_private_only(bot: BotHarness) -> None:
    await pair_in_database(bot)
    await bot.say(ANA, "/export", chat=HOME)
    assert bot.last(HOME.id).text == render.ONLY_PRIVATE
    assert bot.world.calls_of("sendDocument") == []


async def test_a_failed_upload_loses_nothing_and_the_next_export_works(bot: BotHarness) -> None:
    pair = await pair_in_database(bot)
    await finished(bot, pair, MONDAY, {ANA.id: 4})
    for kind in ("server_error", "timeout"):
        bot.world.fail("sendDocument", kind, chat_id=ANA.id)
        await bot.say(ANA, "/export")
        assert bot.last(ANA.id).file is None
    await bot.say(ANA, "/export")
    assert exported(bot)["pairs"][0]["sessions"][0]["your_back_feel"] == 4
