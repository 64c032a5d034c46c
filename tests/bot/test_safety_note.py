"""The safety note before a person's first session: shown once per person, both must
tap Got it before the first setup, and a failed or refused send loses nothing."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.render.safety import ACKNOWLEDGED, SAFETY_NOTE
from tests.bot.session_helpers import ANA, BEN, CAL, pair_in_database, stop_for_both
from tests.clock import FakeClock
from tests.conftest import make_settings
from tests.fake_telegram import SentMessage, World
from tests.harness import BotHarness, Person, running_bot

WAITING = "is reading a short safety note before your first stretch together"


async def both_joined(bot: BotHarness, starter: Person = ANA, other: Person = BEN) -> None:
    """`starter` sends /stretch in private (its answer taken as read); `other` taps Join."""
    await bot.say(starter, "/stretch")
    bot.new(starter.id)
    await bot.press(other, bot.new(other.id)[-1], "Join")


def labels(card: SentMessage) -> list[str]:
    return [label for label, _ in card.buttons]


async def acknowledged_at(bot: BotHarness, person: Person) -> object:
    async with bot.app.bot_data.db.unit(read_only=True) as unit:
        user = await unit.users.get(person.id)
    assert user is not None
    return user.safety_acknowledged_at


async def test_a_first_session_waits_for_both_to_read_the_note_then_sets_up(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot, safety_read=False)
    await both_joined(bot)

    notes = {person: bot.new(person.id) for person in (ANA, BEN)}
    for [note] in notes.values():
        assert note.text == SAFETY_NOTE
        assert labels(note) == ["Got it", "Stop"]
    for words in ("doctor", "back injury or back surgery", "down a leg", "numbness or tingling"):
        assert words in SAFETY_NOTE
    for words in ("pregnancy", "osteoporosis", "never pain", "breathing", "Ease off", "Pause"):
        assert words in SAFETY_NOTE

    assert await bot.press(ANA, notes[ANA][0], "Got it") == ACKNOWLEDGED
    assert bot.new(ANA.id) == [] and bot.new(BEN.id) == []
    assert await acknowledged_at(bot, ANA) == bot.clock.now()
    assert await acknowledged_at(bot, BEN) is None

    await bot.press(BEN, notes[BEN][0], "Got it")
    for person in (ANA, BEN):
        [setup] = bot.new(person.id)
        assert setup.text.startswith("Stretch 1 of 7 · ")
        assert "Ready" in labels(setup)
    assert await acknowledged_at(bot, BEN) is not None


async def test_the_note_comes_once_per_person_and_not_at_the_next_session(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot, safety_read=False)
    await both_joined(bot)
    for person in (ANA, BEN):
        await bot.press(person, bot.new(person.id)[-1], "Got it")
    await stop_for_both(bot, ANA, bot.new(ANA.id)[-1])
    bot.new(ANA.id)
    bot.new(BEN.id)

    await both_joined(bot, BEN, ANA)

    for person in (ANA, BEN):
        [setup] = bot.new(person.id)
        assert setup.text.startswith("Stretch 1 of 7 · ")
    assert not any(m.text == SAFETY_NOTE for m in bot.inbox(ANA.id)[2:] if "Step" in m.text)
    assert sum(m.text == SAFETY_NOTE for m in bot.inbox(ANA.id)) == 1


async def test_a_partner_who_joins_later_reads_it_at_their_first_session_alone(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot, ANA, BEN)  # Ana and Ben read it long ago
    await pair_in_database(bot, CAL, ANA, home=None, safety_read=False)

    await both_joined(bot, CAL, ANA)

    [cal_note] = bot.new(CAL.id)
    [ana_wait] = bot.new(ANA.id)
    assert cal_note.text == SAFETY_NOTE
    assert ana_wait.text == f"Cal {WAITING}. The first setup comes as soon as they tap Got it."
    assert labels(ana_wait) == ["Stop"]
    # Ana has nothing to acknowledge: her forged Got it changes nothing.
    answer = await bot.press_data(ANA, ana_wait, cal_note.button("Got it"))
    assert answer == "Already done. Waiting for your partner."
    assert bot.new(ANA.id) == [] and bot.new(CAL.id) == []

    await bot.press(CAL, cal_note, "Got it")
    for person in (ANA, CAL):
        assert bot.new(person.id)[-1].text.startswith("Stretch 1 of 7 · ")


async def test_double_stale_and_strangers_taps_on_got_it_are_refused_politely(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot, safety_read=False)
    await bot.say(CAL, "/start")
    await both_joined(bot)
    ana_note, ben_note = bot.new(ANA.id)[-1], bot.new(BEN.id)[-1]

    stranger = await bot.press_data(CAL, ana_note, ana_note.button("Got it"))
    assert stranger == "These buttons belong to the two partners of this session."
    assert await acknowledged_at(bot, CAL) is None

    await bot.press(ANA, ana_note, "Got it")
    assert await bot.press(ANA, ana_note, "Got it") == "Already done. Waiting for your partner."
    # Ready belongs to the setup card, not to the note.
    ready = ana_note.button("Got it").replace("sy:", "sr:")
    assert await bot.press_data(ANA, ana_note, ready) == "That doesn't apply right now."
    assert bot.new(ANA.id) == [] and bot.new(BEN.id) == []

    await bot.press(BEN, ben_note, "Got it")
    [setup] = bot.new(BEN.id)
    # Once the session moved on, the note's button is out of date.
    stale = await bot.press_data(BEN, setup, ben_note.button("Got it"))
    assert stale == "That button is out of date; use the newest message."
    assert bot.new(BEN.id) == [] and len(bot.new(ANA.id)) == 1


async def test_stop_on_the_note_asks_then_ends_the_session_for_both(bot: BotHarness) -> None:
    await pair_in_database(bot, safety_read=False)
    await both_joined(bot)
    ana_note = bot.new(ANA.id)[-1]
    bot.new(BEN.id)

    assert await bot.press(ANA, ana_note, "Stop") == "Stop for both of you?"
    assert await bot.press(ANA, ana_note, "Keep going") == "Carrying on."
    assert labels(ana_note) == ["Got it", "Stop"]
    await stop_for_both(bot, ANA, ana_note)

    for person in (ANA, BEN):
        [ended] = bot.new(person.id)
        assert ended.text.startswith("Stopped before the first hold.")
    # Stopping is not reading it: the next session shows the note again.
    assert await acknowledged_at(bot, ANA) is None


@pytest.mark.parametrize("failure", ["server_error", "timeout", "dropped"])
async def test_a_note_that_fails_to_send_arrives_on_retry_and_the_session_starts(
    bot: BotHarness, failure: str
) -> None:
    await pair_in_database(bot, safety_read=False)
    await bot.say(ANA, "/stretch")
    bot.new(ANA.id)
    bot.world.fail("sendMessage", failure, chat_id=BEN.id)

    await bot.press(BEN, bot.new(BEN.id)[-1], "Join")
    [ana_note] = bot.new(ANA.id)
    assert bot.new(BEN.id) == []

    await bot.advance(1)
    [ben_note] = bot.new(BEN.id)
    assert ben_note.text == SAFETY_NOTE
    for person, note in ((ANA, ana_note), (BEN, ben_note)):
        await bot.press(person, note, "Got it")
    for person in (ANA, BEN):
        assert bot.new(person.id)[-1].text.startswith("Stretch 1 of 7 · ")


async def test_a_partner_who_blocked_the_bot_gets_the_note_once_back_and_can_start(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot, safety_read=False)
    await bot.say(ANA, "/stretch")
    bot.new(ANA.id)
    ben_lobby = bot.new(BEN.id)[-1]
    bot.world.blocked.add(BEN.id)

    await bot.press(BEN, ben_lobby, "Join")

    ana_note, link_note = bot.new(ANA.id)
    assert ana_note.text == SAFETY_NOTE
    assert link_note.text.startswith("I can't write to Ben yet.")
    await bot.press(ANA, ana_note, "Got it")
    await bot.advance(60)
    assert bot.new(BEN.id) == []  # a refused person is not tried again on a timer

    bot.world.blocked.discard(BEN.id)
    await bot.say(BEN, "/start hello")
    [ben_note] = [m for m in bot.new(BEN.id) if m.text == SAFETY_NOTE]
    await bot.press(BEN, ben_note, "Got it")
    for person in (ANA, BEN):
        assert bot.new(person.id)[-1].text.startswith("Stretch 1 of 7 · ")


async def test_a_note_still_owed_when_the_bot_stops_is_sent_after_the_restart(
    settings: Settings, clock: FakeClock
) -> None:
    world = World(clock=lambda: clock.now().timestamp())
    async with running_bot(settings, clock, world) as bot:
        await pair_in_database(bot, safety_read=False)
        await bot.say(ANA, "/stretch")
        bot.new(ANA.id)
        bot.world.fail("sendMessage", "timeout", chat_id=BEN.id)
        await bot.press(BEN, bot.new(BEN.id)[-1], "Join")
        ana_note = bot.new(ANA.id)[-1]
        await bot.press(ANA, ana_note, "Got it")
        # Ben's note is still owed when the process stops.

    async with running_bot(settings, clock, world) as bot:
        ben_note = bot.inbox(BEN.id)[-1]
        assert ben_note.text == SAFETY_NOTE
        assert sum(m.text == SAFETY_NOTE for m in bot.inbox(ANA.id)) == 1
        bot.new(ANA.id)
        await bot.press(BEN, ben_note, "Got it")
        for person in (ANA, BEN):
            assert bot.new(person.id)[-1].text.startswith("Stretch 1 of 7 · ")


async def test_export_names_when_the_note_was_acknowledged(bot: BotHarness) -> None:
    await pair_in_database(bot, safety_read=False)
    await both_joined(bot)
    await bot.press(ANA, bot.new(ANA.id)[-1], "Got it")

    await bot.say(ANA, "/export")

    document = bot.last(ANA.id)
    assert document.file is not None
    exported = document.file.decode() if isinstance(document.file, bytes) else document.file
    assert f'"safety_note_acknowledged_at": "{bot.clock.now().isoformat()}"' in exported


async def test_an_acknowledgement_is_kept_once_on_each_database(
    database_url: str, clock: FakeClock
) -> None:
    async with running_bot(make_settings(database_url), clock) as bot:
        await pair_in_database(bot, safety_read=False)
        first = clock.now()
        async with bot.app.bot_data.db.unit() as unit:
            await unit.users.acknowledge_safety(ANA.id, first)
            await unit.commit()
        clock.advance(60)
        async with bot.app.bot_data.db.unit() as unit:
            await unit.users.acknowledge_safety(ANA.id, clock.now())
            await unit.commit()
        assert await acknowledged_at(bot, ANA) == first
        assert await acknowledged_at(bot, BEN) is None
        await both_joined(bot)
        # Only Ben is owed the note now.
        assert bot.new(BEN.id)[-1].text == SAFETY_NOTE
        assert WAITING in bot.new(ANA.id)[-1].text


async def test_a_got_it_whose_answer_times_out_still_brings_the_first_setup(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot, safety_read=False)
    await both_joined(bot)
    await bot.press(ANA, bot.new(ANA.id)[-1], "Got it")
    bot.world.fail("answerCallbackQuery", "timeout")

    await bot.press(BEN, bot.new(BEN.id)[-1], "Got it")

    for person in (ANA, BEN):
        assert bot.new(person.id)[-1].text.startswith("Stretch 1 of 7 · ")
    assert await acknowledged_at(bot, BEN) is not None
