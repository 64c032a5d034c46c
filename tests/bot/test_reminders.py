"""Daily reminders in-process: the commands, and what arrives on both phones when.

The dispatcher's own schedule is held; each test moves the clock and ticks by hand
(tests/bot/test_reminder_wakeup.py lets it run on its own).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import Settings
from bot.reminder_dispatch import ReminderDispatcher, TickReport, dispatcher_job, pitch_of
from bot.services.reminder_slots import reschedule_pair
from storage.records import PairRecord, ReminderDeliveryRecord, ReminderSlotRecord
from tests.bot.history_helpers import finished
from tests.clock import FakeClock
from tests.fake_telegram import SentMessage
from tests.harness import BotHarness, Group, Person, running_bot

ANA = Person(101, "Ana", "ana")
BEN = Person(202, "Ben")
CLEO = Person(303, "Cleo")
BERLIN = ZoneInfo("Europe/Berlin")


def berlin(
    year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0
) -> datetime:
    """A wall-clock moment in Berlin, as the aware instant the bot's clock holds."""
    return datetime(year, month, day, hour, minute, second, tzinfo=BERLIN)


async def tick(bot: BotHarness, when: datetime | None = None) -> TickReport:
    """One run of the dispatcher job, at the test clock's now (set to `when` first, if given)."""
    if when is not None:
        bot.clock.set(when)
    job = dispatcher_job(bot.app)
    assert isinstance(job.data, ReminderDispatcher)
    return await job.data.tick(bot.app.bot, bot.app.bot_data)


async def pair_up(
    bot: BotHarness, first: Person = ANA, second: Person = BEN, zone: str = "Europe/Berlin"
) -> PairRecord:
    """Both have opened a private chat with the bot and are partners in `zone`."""
    for person in (first, second):
        await bot.say(person, "/start")
    async with bot.app.bot_data.db.unit() as unit:
        pair, _ = await unit.pairs.create(first.id, second.id, bot.clock.now(), timezone=zone)
        await unit.commit()
    bot.new(first.id)
    bot.new(second.id)
    return pair


async def pair_with_reminders(bot: BotHarness, *times: str) -> PairRecord:
    """Ana and Ben, partners in Berlin; Ana has asked for a daily reminder at each time.

    Ben's notes of each new reminder are taken as read (tested on their own below).
    """
    pair = await pair_up(bot)
    for clock_time in times:
        await bot.say(ANA, f"/remind {clock_time}")
    bot.new(BEN.id)
    return pair


async def slots_of(bot: BotHarness, pair: PairRecord) -> list[ReminderSlotRecord]:
    async with bot.app.bot_data.db.unit() as unit:
        return await unit.reminders.slots_of(pair.id)


async def deliveries_of(bot: BotHarness, pair: PairRecord) -> list[ReminderDeliveryRecord]:
    async with bot.app.bot_data.db.unit() as unit:
        return await unit.reminders.deliveries_of(pair.id)


def reminders_in(bot: BotHarness, person: Person) -> list[SentMessage]:
    """The reminders a person got, as they look now (a snoozed one says so instead)."""
    return [m for m in bot.inbox(person.id) if m.text.startswith("⏰")]


def at(hour: int, minute: int = 0) -> time:
    return time(hour, minute)


TEAM = Group(-100700, "Back office")


@pytest.fixture
async def bot(settings: Settings, clock: FakeClock) -> AsyncIterator[BotHarness]:
    """The running bot with its dispatcher held: each test ticks it by hand, on its clock."""
    async with running_bot(settings, clock, reminders_held=True) as harness:
        yield harness


# -- commands --------------------------------------------------------------------------


async def test_remind_adds_a_daily_slot_due_at_the_next_local_time(bot: BotHarness) -> None:
    pair = await pair_up(bot)

    await bot.say(ANA, "/remind 07:30")

    [reply] = bot.new(ANA.id)
    assert reply.text == (
        "Done! I'll remind you and Ben at 07:30 (daily, Europe/Berlin). "
        "Next one: Tue 3 Nov, 07:30."
    )
    [slot] = await slots_of(bot, pair)
    assert slot.local_time == at(7, 30) and slot.weekdays == 0b1111111
    assert slot.next_due_at == berlin(2026, 11, 3, 7, 30).astimezone(UTC)


async def test_remind_with_days_and_again_at_the_same_time_updates_the_days(
    bot: BotHarness,
) -> None:
    pair = await pair_up(bot)

    await bot.say(ANA, "/remind 19:00 weekdays")
    await bot.say(BEN, "/remind 19:00 sat,sun")

    to_ana, told_ana = bot.new(ANA.id)
    told_ben, to_ben = bot.new(BEN.id)
    assert "19:00 (weekdays, Europe/Berlin)" in to_ana.text
    assert to_ben.text.startswith("Updated: I'll remind you and Ana at 19:00 (weekends")
    assert told_ben.text == (
        "Ana added a reminder for you both: 19:00 (weekdays, Europe/Berlin). "
        "See them all in /reminders."
    )
    assert told_ana.text == (
        "Ben changed a reminder for you both: 19:00 (weekends, Europe/Berlin). "
        "See them all in /reminders."
    )
    [slot] = await slots_of(bot, pair)
    assert slot.weekdays == 0b1100000


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        ("/remind 25:00", "That time does not exist."),
        ("/remind 7 o'clock", "Please give the time like 07:30, 7pm, 7:30pm or 19h."),
        ("/remind 13pm", "That time does not exist."),
        ("/remind 07:30 someday", 'I don\'t know the day "someday".'),
        ("/remind 07:30 mon <b>", 'I don\'t know the day "&lt;b&gt;".'),
        ("/remind", "Tell me when: /remind 07:30, /remind 7pm"),
        ("/pause", "Pause for how long? Like /pause 3 days or /pause 1 week"),
        ("/pause 0", "Please pause for 1 to 60 days, like /pause 7."),
        ("/pause 61", "Please pause for 1 to 60 days, like /pause 7."),
        ("/pause 9 weeks", "Please pause for 1 to 60 days, like /pause 7."),
        ("/pause soon", "Pause for how long? Like /pause 3 days or /pause 1 week"),
        ("/pause 3 months", "Pause for how long? Like /pause 3 days or /pause 1 week"),
    ],
)
async def test_bad_input_gets_one_clear_line_and_changes_nothing(
    bot: BotHarness, command: str, answer: str
) -> None:
    pair = await pair_up(bot)

    await bot.say(ANA, command)

    [reply] = bot.new(ANA.id)
    assert reply.text.startswith(answer)
    assert await slots_of(bot, pair) == []
    async with bot.app.bot_data.db.unit() as unit:
        stored = await unit.pairs.get(pair.id)
    assert stored is not None and stored.reminders_paused_until is None


async def test_without_a_partner_the_commands_say_how_to_get_one(bot: BotHarness) -> None:
    await bot.say(CLEO, "/start")
    bot.new(CLEO.id)

    for command in ("/remind 07:30", "/reminders", "/pause 3", "/resume"):
        await bot.say(CLEO, command)

    assert [m.text for m in bot.new(CLEO.id)] == [
        "You don't have a partner yet. Send /invite to pair up first."
    ] * 4


async def test_a_fifth_slot_is_refused(bot: BotHarness) -> None:
    pair = await pair_up(bot)
    for hour in (7, 12, 18, 21):
        await bot.say(ANA, f"/remind {hour:02}:00")
    bot.new(ANA.id)

    await bot.say(ANA, "/remind 22:00")

    [reply] = bot.new(ANA.id)
    assert reply.text.startswith("You already have 4 reminders with Ben, the most I keep.")
    assert len(await slots_of(bot, pair)) == 4


async def test_reminders_lists_the_slots_and_a_button_removes_one_once(bot: BotHarness) -> None:
    pair = await pair_with_reminders(bot, "07:30")
    await bot.say(ANA, "/remind 18:00 mon,wed,fri")
    bot.new(ANA.id)

    await bot.say(ANA, "/reminders")
    [listing] = bot.new(ANA.id)
    assert listing.text == (
        "<b>Reminders with Ben</b> (Europe/Berlin)\n07:30 · daily\n18:00 · Mon, Wed, Fri"
    )
    remove_morning = listing.button("Remove 07:30")
    await bot.press(ANA, listing, remove_morning)
    refused = await bot.press(CLEO, listing, "Remove 18:00")
    again = await bot.press_data(ANA, listing, remove_morning)

    assert (
        bot.last(ANA.id).text == "<b>Reminders with Ben</b> (Europe/Berlin)\n18:00 · Mon, Wed, Fri"
    )
    assert again == "That reminder was already removed."
    assert refused == "This reminder belongs to another pair."
    assert [slot.local_time for slot in await slots_of(bot, pair)] == [at(18)]


async def test_with_several_partners_the_bot_asks_which_pair(bot: BotHarness) -> None:
    await pair_up(bot, ANA, BEN)
    with_cleo = await pair_up(bot, ANA, CLEO, zone="Asia/Kathmandu")

    await bot.say(ANA, "/remind 06:45 weekends")
    [question] = bot.new(ANA.id)
    assert question.text == "Which partner is /remind for?"
    assert [label for label, _ in question.buttons] == ["Ben", "Cleo"]
    await bot.press(BEN, question, "Cleo")
    assert await slots_of(bot, with_cleo) == []
    await bot.press(ANA, question, "Cleo")

    [slot] = await slots_of(bot, with_cleo)
    assert (slot.local_time, slot.weekdays) == (at(6, 45), 0b1100000)
    assert bot.last(ANA.id).text.startswith(
        "Done! I'll remind you and Cleo at 06:45 (weekends, Asia/Kathmandu). Next one: Sat 7 Nov"
    )


async def test_in_a_group_only_the_pair_at_home_there_is_in_reach(bot: BotHarness) -> None:
    pair = await pair_up(bot)
    async with bot.app.bot_data.db.unit() as unit:
        await unit.pairs.set_home_chat(pair.id, TEAM.id)
        await unit.commit()
    other = Group(-100800, "Family")

    await bot.say(BEN, "/remind 08:15", chat=TEAM)
    await bot.say(BEN, "/remind 09:15", chat=other)

    assert bot.inbox(TEAM.id)[-1].text.startswith("Done! I'll remind you and Ana at 08:15")
    assert bot.inbox(other.id)[-1].text.startswith("No pair of yours calls this group home.")
    assert [slot.local_time for slot in await slots_of(bot, pair)] == [at(8, 15)]


async def test_pause_and_resume_answer_in_the_pairs_zone(bot: BotHarness) -> None:
    await pair_with_reminders(bot, "07:30")
    bot.new(ANA.id)

    await bot.say(ANA, "/pause 7")
    await bot.say(BEN, "/resume")
    await bot.say(BEN, "/resume")

    assert [m.text for m in bot.new(ANA.id)] == [
        "Reminders with Ben are paused, back on Mon 9 Nov. "
        "Your streak is safe. /resume brings them back sooner.",
        "Ben turned your reminders back on. Next one: Tue 3 Nov, 07:30.",
    ]
    assert [m.text for m in bot.new(BEN.id)] == [
        "Ana paused your reminders, back on Mon 9 Nov. "
        "Your streak is safe. /resume brings them back sooner.",
        "Reminders with Ana are back on. Next one: Tue 3 Nov, 07:30.",
        "Reminders with Ana aren't paused.",
    ]


async def test_a_new_time_zone_moves_the_slots_at_once(bot: BotHarness) -> None:
    pair = await pair_with_reminders(bot, "07:30")

    async with bot.app.bot_data.db.unit() as unit:
        await unit.pairs.set_timezone(pair.id, "America/New_York")
        await reschedule_pair(unit, pair.id, bot.clock.now())
        await unit.commit()

    [slot] = await slots_of(bot, pair)
    assert slot.next_due_at == datetime(2026, 11, 2, 7, 30, tzinfo=ZoneInfo("America/New_York"))


# -- what arrives ----------------------------------------------------------------------


async def test_a_reminder_arrives_on_both_phones_once_with_its_buttons(bot: BotHarness) -> None:
    pair = await pair_with_reminders(bot, "10:05")
    bot.new(ANA.id)

    await tick(bot, berlin(2026, 11, 2, 10, 4, 59))
    assert reminders_in(bot, ANA) == []
    await tick(bot, berlin(2026, 11, 2, 10, 5))
    await tick(bot)

    [to_ana] = reminders_in(bot, ANA)
    [to_ben] = reminders_in(bot, BEN)
    assert to_ana.text == (
        "⏰ Time to stretch, together with Ben.\n"
        "<b>Lower back relief</b>: 7 stretches, about "
        f"{_minutes(bot)} minutes."
    )
    assert to_ben.text.startswith("⏰ Time to stretch, together with Ana.")
    assert [label for label, _ in to_ana.buttons] == [
        "Start now",
        "Snooze 15 min",
        "Skip the rest of today",
    ]
    [delivery] = await deliveries_of(bot, pair)
    assert delivery.status == "sent" and delivery.local_date == berlin(2026, 11, 2, 0).date()
    [slot] = await slots_of(bot, pair)
    assert slot.next_due_at == berlin(2026, 11, 3, 10, 5).astimezone(UTC)


async def test_snooze_sends_the_reminder_once_more_fifteen_minutes_later(bot: BotHarness) -> None:
    pair = await pair_with_reminders(bot, "10:05")
    await tick(bot, berlin(2026, 11, 2, 10, 5))
    [to_ana] = reminders_in(bot, ANA)
    [to_ben] = reminders_in(bot, BEN)

    bens_snooze = to_ben.button("Snooze")

    bot.clock.set(berlin(2026, 11, 2, 10, 7))
    await bot.press(ANA, to_ana, "Snooze")
    assert to_ben.text == "Ana snoozed until 10:22. I'll remind you both then."
    assert [label for label, _ in to_ben.buttons] == ["Start now"]
    second = await bot.press_data(BEN, to_ben, bens_snooze)
    await tick(bot, berlin(2026, 11, 2, 10, 21, 59))
    assert len(reminders_in(bot, BEN)) == 0  # his first copy says Ana snoozed it
    await tick(bot, berlin(2026, 11, 2, 10, 22))
    await tick(bot, berlin(2026, 11, 2, 10, 40))

    assert to_ana.text == "Snoozed. I'll remind you both again at 10:22."
    assert [label for label, _ in to_ana.buttons] == ["Start now"]
    assert second == "Already snoozed."
    assert len(reminders_in(bot, BEN)) == 1
    for person in (ANA, BEN):
        again = reminders_in(bot, person)[-1]
        assert again.text.startswith("⏰ Here's your snoozed reminder, together with")
        assert [label for label, _ in again.buttons] == ["Start now", "Skip the rest of today"]
    [delivery] = await deliveries_of(bot, pair)
    assert delivery.status == "resent"


async def test_skip_today_silences_the_rest_of_the_day_but_not_tomorrow(bot: BotHarness) -> None:
    pair = await pair_with_reminders(bot, "10:05", "18:00")
    await tick(bot, berlin(2026, 11, 2, 10, 5))
    [to_ana] = reminders_in(bot, ANA)
    [to_ben] = reminders_in(bot, BEN)

    anas_skip = to_ana.button("Skip the rest of today")

    await bot.press(BEN, to_ben, "Skip the rest of today")
    assert to_ana.text == "Ben skipped the rest of today. See you next time!"
    assert to_ana.buttons == []
    again = await bot.press_data(ANA, to_ana, anas_skip)
    await tick(bot, berlin(2026, 11, 2, 18, 0))
    assert len(reminders_in(bot, ANA)) == 0  # her copy says Ben skipped the day
    await tick(bot, berlin(2026, 11, 3, 10, 5))

    assert bot.last(BEN.id).text.startswith("⏰ Time to stretch")
    assert to_ben.text == "Skipped the rest of today. See you next time!" and to_ben.buttons == []
    assert again == "Today is already skipped."
    assert [d.status for d in await deliveries_of(bot, pair)] == ["skipped", "skipped", "sent"]


async def test_no_reminder_after_a_session_finished_that_local_day(bot: BotHarness) -> None:
    pair = await pair_with_reminders(bot, "23:30")
    bot.clock.set(berlin(2026, 11, 2, 20, 0))
    await finished(bot, pair, date(2026, 11, 2), zone="Europe/Berlin")

    await tick(bot, berlin(2026, 11, 2, 23, 30))
    await tick(bot, berlin(2026, 11, 3, 23, 30))

    assert len(reminders_in(bot, ANA)) == 1
    assert [d.status for d in await deliveries_of(bot, pair)] == ["done", "sent"]


async def test_a_pause_holds_reminders_until_it_ends(bot: BotHarness) -> None:
    pair = await pair_with_reminders(bot, "10:05")
    await bot.say(ANA, "/pause 2")

    for day in (2, 3, 4, 5):
        await tick(bot, berlin(2026, 11, day, 10, 5))

    statuses = [(d.local_date.day, d.status) for d in await deliveries_of(bot, pair)]
    # /pause 2 on Monday: Monday and Tuesday (local dates) stay quiet,
    # from Wednesday on the reminders come again.
    assert statuses == [(2, "paused"), (3, "paused"), (4, "sent"), (5, "sent")]
    assert len(reminders_in(bot, BEN)) == 2


async def test_a_partner_who_blocked_the_bot_is_skipped_and_the_other_told_once(
    bot: BotHarness,
) -> None:
    pair = await pair_with_reminders(bot, "10:05")
    bot.world.blocked.add(BEN.id)

    await tick(bot, berlin(2026, 11, 2, 10, 5))
    [to_ana] = reminders_in(bot, ANA)
    await bot.press(ANA, to_ana, "Snooze")
    await tick(bot, berlin(2026, 11, 2, 10, 25))

    assert [m.text.split(".")[0] for m in bot.new(ANA.id)[1:]] == [
        "Snoozed",
        "I couldn't reach Ben in private, so only you got this reminder",
        "⏰ Here's your snoozed reminder, together with Ben",
    ]
    async with bot.app.bot_data.db.unit() as unit:
        ben = await unit.users.get(BEN.id)
    assert ben is not None and not ben.reachable
    assert [d.status for d in await deliveries_of(bot, pair)] == ["resent"]


async def test_when_neither_partner_can_be_reached_the_reminder_is_recorded_as_such(
    bot: BotHarness,
) -> None:
    pair = await pair_with_reminders(bot, "10:05")
    bot.world.blocked.update({ANA.id, BEN.id})

    await tick(bot, berlin(2026, 11, 2, 10, 5))

    assert [d.status for d in await deliveries_of(bot, pair)] == ["unreachable"]


async def test_buttons_of_a_reminder_refuse_other_people_politely(bot: BotHarness) -> None:
    pair = await pair_up(bot)
    await bot.say(CLEO, "/start")
    await bot.say(ANA, "/remind 10:05")
    await tick(bot, berlin(2026, 11, 2, 10, 5))
    [to_ana] = reminders_in(bot, ANA)

    answers = [await bot.press(CLEO, to_ana, label) for label in ("Snooze", "Skip", "Start")]

    assert answers == ["This reminder belongs to another pair."] * 3
    assert [d.status for d in await deliveries_of(bot, pair)] == ["sent"]
    assert to_ana.buttons and to_ana.edits == 0


async def test_start_now_starts_a_session_as_stretch_would(bot: BotHarness) -> None:
    await pair_with_reminders(bot, "10:05")
    await tick(bot, berlin(2026, 11, 2, 10, 5))
    bot.new(ANA.id)
    bot.new(BEN.id)

    await bot.press(BEN, reminders_in(bot, BEN)[0], "Start now")

    [asked] = bot.new(BEN.id)
    assert asked.text == "Asked Ana to join. I'll start once they tap Join."
    [invitation] = bot.new(ANA.id)
    assert invitation.text.startswith("Ben wants to stretch now.")
    await bot.press(ANA, invitation, "Join")
    # Their first session: each reads the safety note before the first setup.
    for person in (ANA, BEN):
        [note] = bot.new(person.id)
        await bot.press(person, note, "Got it")
    for person in (ANA, BEN):
        assert "Stretch 1 of 7 · " in bot.new(person.id)[-1].text


async def test_a_reminder_late_by_more_than_the_grace_window_is_skipped(bot: BotHarness) -> None:
    pair = await pair_with_reminders(bot, "10:05", "11:00")

    # The bot was down from before 10:05 to 11:06: 10:05 is 61 minutes late, 11:00 is fresh.
    await tick(bot, berlin(2026, 11, 2, 11, 6))

    assert [(d.status, d.due_at) for d in await deliveries_of(bot, pair)] == [
        ("late-skipped", berlin(2026, 11, 2, 10, 5).astimezone(UTC)),
        ("sent", berlin(2026, 11, 2, 11, 0).astimezone(UTC)),
    ]
    assert len(reminders_in(bot, ANA)) == 1
    assert all(slot.next_due_at.astimezone(BERLIN).day == 3 for slot in await slots_of(bot, pair))


async def test_after_days_down_the_newest_reminder_within_grace_is_sent(bot: BotHarness) -> None:
    pair = await pair_with_reminders(bot, "10:05")

    await tick(bot, berlin(2026, 11, 5, 10, 30))

    [delivery] = await deliveries_of(bot, pair)
    assert (delivery.status, delivery.local_date.day) == ("sent", 5)
    assert len(reminders_in(bot, BEN)) == 1


async def test_on_the_fall_back_night_a_slot_in_the_repeated_hour_fires_once(
    bot: BotHarness,
) -> None:
    pair = await pair_with_reminders(bot, "02:30")

    instant = datetime(2026, 10, 24, 22, 0, tzinfo=UTC)
    bot.clock.set(instant)
    async with bot.app.bot_data.db.unit() as unit:
        await reschedule_pair(unit, pair.id, instant)
        await unit.commit()
    while instant < datetime(2026, 10, 25, 6, 0, tzinfo=UTC):
        instant += timedelta(minutes=10)
        await tick(bot, instant)

    [delivery] = await deliveries_of(bot, pair)
    assert delivery.due_at == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert len(reminders_in(bot, ANA)) == 1


def _minutes(bot: BotHarness) -> int:
    return pitch_of(bot.app.bot_data.library).minutes
