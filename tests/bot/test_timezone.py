"""/timezone and shared locations set the time zone of a pair (or of a user with none)."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from bot.services import reminder_slots, timezones
from tests.bot.test_pairing import (
    ANA,
    BEN,
    CAM,
    TEAM,
    pair_by_invite,
    pairs_in_db,
    started,
    user_in_db,
)
from tests.harness import BotHarness

# The FakeClock starts at 2026-11-02 09:00 UTC.
TO_BEN = "Ana set your pair's time zone to <b>{zone}</b>. Change it any time with /timezone."


@pytest.mark.parametrize(
    ("typed", "zone", "local"),
    [
        ("Europe/Berlin", "Europe/Berlin", "10:00"),
        ("europe/BERLIN", "Europe/Berlin", "10:00"),
        ("berlin", "Europe/Berlin", "10:00"),
        ("new york", "America/New_York", "04:00"),
        ("New_York", "America/New_York", "04:00"),
        ("Kathmandu", "Asia/Kathmandu", "14:45"),
        ("buenos aires", "America/Argentina/Buenos_Aires", "06:00"),
    ],
)
async def test_a_zone_or_city_name_sets_the_pairs_time_zone_and_tells_the_partner(
    bot: BotHarness, typed: str, zone: str, local: str
) -> None:
    await started(bot, ANA, BEN)
    await pair_by_invite(bot, ANA, BEN)

    await bot.say(ANA, f"/timezone {typed}")

    assert [m.text for m in bot.new(ANA.id)] == [
        f"Done: you and Ben &lt;3 now use <b>{zone}</b> (it's {local} there now)."
    ]
    assert [m.text for m in bot.new(BEN.id)] == [TO_BEN.format(zone=zone)]
    [pair] = await pairs_in_db(bot, ANA)
    assert pair.timezone == zone


async def test_without_a_partner_the_zone_is_kept_for_the_first_pair(bot: BotHarness) -> None:
    await bot.say(ANA, "/timezone Kathmandu")

    assert bot.texts(ANA.id) == [
        "Got it: <b>Asia/Kathmandu</b> (it's 14:45 there now). You have no partner yet; "
        "your first pair will start with this time zone."
    ]
    ana = await user_in_db(bot, ANA)
    assert ana is not None and ana.timezone == "Asia/Kathmandu"


async def test_an_ambiguous_name_lists_the_choices_and_changes_nothing(bot: BotHarness) -> None:
    await started(bot, ANA, BEN)
    await pair_by_invite(bot, ANA, BEN)

    await bot.say(ANA, "/timezone ber")

    assert [m.text for m in bot.new(ANA.id)] == [
        "“ber” matches several places. Which one?\n"
        "<code>/timezone Europe/Berlin</code>\n"
        "<code>/timezone Atlantic/Bermuda</code>"
    ]
    [pair] = await pairs_in_db(bot, ANA)
    assert pair.timezone == "UTC"
    assert bot.new(BEN.id) == []


async def test_a_misspelt_name_gets_the_closest_suggestions(bot: BotHarness) -> None:
    await bot.say(ANA, "/timezone Berln")

    assert bot.texts(ANA.id) == [
        "I don't know “Berln”. Did you mean:\n<code>/timezone Europe/Berlin</code>"
    ]
    assert await user_in_db(bot, ANA) is None


async def test_a_name_like_nothing_gets_advice_and_is_escaped(bot: BotHarness) -> None:
    await bot.say(ANA, "/timezone <b>Atlantis</b>")

    assert bot.texts(ANA.id) == [
        "I don't know “&lt;b&gt;Atlantis&lt;/b&gt;”. Try a big city near you or a zone, like "
        "<code>/timezone new york</code>, <code>/timezone Europe/Berlin</code> or "
        "<code>/timezone EST</code>, or share your location with me."
    ]


async def test_timezone_alone_shows_the_current_zones_and_how_to_set_one(
    bot: BotHarness,
) -> None:
    await started(bot, ANA, BEN)
    await pair_by_invite(bot, ANA, BEN)

    await bot.say(ANA, "/timezone")

    assert [m.text for m in bot.new(ANA.id)] == [
        "With Ben &lt;3: <b>UTC</b>\n\n"
        "Tell me your time zone or city, like <code>/timezone Europe/Berlin</code> or "
        "<code>/timezone new york</code>, or share your location with me."
    ]


async def test_a_shared_location_sets_the_zone_of_that_place(bot: BotHarness) -> None:
    await started(bot, ANA, BEN)
    await pair_by_invite(bot, ANA, BEN)

    await bot.say(ANA, "", location={"latitude": 27.7172, "longitude": 85.324})

    assert [m.text for m in bot.new(ANA.id)] == [
        "Done: you and Ben &lt;3 now use <b>Asia/Kathmandu</b> (it's 14:45 there now)."
    ]
    [pair] = await pairs_in_db(bot, BEN)
    assert pair.timezone == "Asia/Kathmandu"


async def test_with_several_partners_the_user_picks_the_pair(bot: BotHarness) -> None:
    await started(bot, ANA, BEN, CAM)
    await pair_by_invite(bot, ANA, BEN)
    await pair_by_invite(bot, CAM, ANA)

    await bot.say(ANA, "/timezone berlin")
    [choose] = bot.new(ANA.id)
    assert choose.text == "Which pair should use <b>Europe/Berlin</b>?"
    assert [label for label, _ in choose.buttons] == ["Ben <3", "Cam"]
    # Only the pair's members may use its button.
    assert await bot.press(BEN, choose, "Cam") == "Only the person asked can answer this."
    await bot.press(ANA, choose, "Cam")

    assert choose.text == "Done: you and Cam now use <b>Europe/Berlin</b> (it's 10:00 there now)."
    assert [m.text for m in bot.new(CAM.id)] == [TO_BEN.format(zone="Europe/Berlin")]
    assert bot.new(BEN.id) == []
    zones = {p.partner_of(ANA.id): p.timezone for p in await pairs_in_db(bot, ANA)}
    assert zones == {BEN.id: "UTC", CAM.id: "Europe/Berlin"}


async def test_in_the_home_group_timezone_sets_that_pair_without_asking(
    bot: BotHarness,
) -> None:
    await started(bot, ANA, BEN, CAM)
    await pair_by_invite(bot, CAM, ANA)
    said = await bot.say(BEN, "Stretch?", chat=TEAM)
    await bot.say(ANA, "/pair", chat=TEAM, reply_to=said)
    await bot.press(BEN, bot.last(TEAM.id), "Accept")

    await bot.say(ANA, "/timezone new york", chat=TEAM)

    assert bot.last(TEAM.id).text == (
        "Done: you and Ben &lt;3 now use <b>America/New_York</b> (it's 04:00 there now)."
    )
    zones = {p.partner_of(ANA.id): p.timezone for p in await pairs_in_db(bot, ANA)}
    assert zones == {BEN.id: "America/New_York", CAM.id: "UTC"}


async def test_a_forged_zone_button_changes_nothing(bot: BotHarness) -> None:
    await started(bot, ANA, BEN, CAM)
    await pair_by_invite(bot, ANA, BEN)
    await pair_by_invite(bot, CAM, ANA)
    await bot.say(ANA, "/timezone berlin")
    [choose] = bot.new(ANA.id)
    [pair, _] = await pairs_in_db(bot, ANA)

    unknown_zone = await bot.press_data(ANA, choose, f"tz_pick:{pair.id}:1")
    unknown_pair = await bot.press_data(
        ANA, choose, f"tz_pick:999:{timezones.zone_key('Europe/Berlin')}"
    )

    assert unknown_zone == unknown_pair == "This button no longer works."
    assert {p.timezone for p in await pairs_in_db(bot, ANA)} == {"UTC"}


def test_zone_keys_name_every_zone_on_a_button() -> None:
    for zone in ("Europe/Berlin", "America/Argentina/Buenos_Aires", "UTC"):
        assert timezones.zone_for_key(timezones.zone_key(zone)) == zone


async def test_a_new_zone_moves_the_pairs_reminders_to_the_same_local_time(
    bot: BotHarness,
) -> None:
    await started(bot, ANA, BEN)
    await pair_by_invite(bot, ANA, BEN)
    [pair] = await pairs_in_db(bot, ANA)
    data = bot.app.bot_data
    await reminder_slots.add_slot(data, pair.id, time(7, 30), 0b1111111, bot.clock.now())

    await bot.say(ANA, "/timezone berlin")

    async with data.db.unit() as unit:
        [slot] = await unit.reminders.slots_of(pair.id)
    # 07:30 in Berlin on 3 November 2026 (CET, UTC+1).
    assert slot.next_due_at == datetime(2026, 11, 3, 6, 30, tzinfo=UTC)
