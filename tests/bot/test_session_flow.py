"""A whole session on two phones, started from the pair's home group."""

from __future__ import annotations

import re
from html import escape

from routines.engine import LOBBY_IDLE_LIMIT
from routines.plan import PlanOptions, Seat, StepKind
from tests.bot.session_helpers import (
    ANA,
    BEN,
    HOME,
    CallCounts,
    calls_to,
    card_of,
    expect_card,
    on_screen,
    pair_in_database,
    stop_for_both,
    through_get_set,
    with_buttons,
)
from tests.fake_telegram import SentMessage
from tests.harness import BotHarness, Person


async def test_a_whole_lower_back_session_from_the_group_keeps_both_phones_in_step(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot)
    plan = bot.app.bot_data.plan("lower-back", PlanOptions())
    exercises = plan.exercise_count
    phones = {Seat.A: ANA, Seat.B: BEN}
    names = {Seat.A: "Ana", Seat.B: "Ben"}
    since = {person: len(bot.inbox(person.id)) for person in phones.values()}
    first_call = len(bot.world.calls)

    await bot.say(ANA, "/stretch", chat=HOME)

    [announcement] = bot.new(HOME.id)
    assert announcement.text.startswith("Ana and Ben are about to stretch")
    for person in phones.values():
        [lobby] = bot.new(person.id)
        assert "Lower back relief" in lobby.text and "7 stretches" in lobby.text
        assert not lobby.disable_notification
        assert await bot.press(person, lobby, "Join") == "You're in."

    def only_card(person: Person) -> SentMessage:
        """The phone shows one message of the session, and it is the current card."""
        [shown] = on_screen(bot, person, since[person])
        assert card_of(bot, person) is shown
        return shown

    holds_seen: list[tuple[str, str | None, int]] = []
    cards: dict[Seat, SentMessage] = {}
    for step in plan.steps:
        if step.kind is StepKind.HOLD:
            # The hold is the card before it, edited silently when the hold starts: the
            # setup card both tapped Ready on (after the get-set), or the switch card.
            for seat, person in phones.items():
                assert bot.new(person.id) == []
                assert only_card(person) is cards[seat]
                expect_card(cards[seat], step, seat, exercises)
                assert f"<b>Hold: {round(step.seconds)} s left</b>" in cards[seat].text
                # Each hold card carries its role's own line on how hard to go.
                assert f"<i>{escape(step.intensity(seat) or '')}</i>" in cards[seat].text
            assert step.intensity(step.receiver) != step.intensity(step.helper)
        else:
            # A setup and a switch come as a new message that rings; the card before goes.
            for seat, person in phones.items():
                [cards[seat]] = bot.new(person.id)
                assert not cards[seat].disable_notification
                assert only_card(person) is cards[seat]
                expect_card(cards[seat], step, seat, exercises)
        if step.kind is StepKind.SETUP:
            receiver, helper = step.receiver, step.helper
            if step.turn_number > 1:
                # Roles swap after each exercise, and the card says so plainly.
                assert "Now you are stretched." in cards[receiver].text
                assert f"Now {names[receiver]} is stretched." in cards[helper].text
            first, second = (helper, receiver) if step.turn_number % 2 else (receiver, helper)
            await bot.press(phones[first], cards[first], "Ready")
            # Silent edits: the tapper waits, the other sees them ready.
            assert f"You're ready. Waiting for {names[second]}:" in cards[first].text
            assert "Ready" not in [label for label, _ in cards[first].buttons]
            assert f"{names[first]} is ready." in cards[second].text
            for person in phones.values():
                assert bot.new(person.id) == []
            get_set = "Get set: the hold starts in 4 s."
            assert await bot.press(phones[second], cards[second], "Ready") == get_set
            # Both cards say when the hold starts, and stay until it does.
            assert "the hold starts 4 s after" in cards[first].text
            assert all("Hold:" not in card.text for card in cards.values())
            await through_get_set(bot)
            continue
        if step.kind is StepKind.SWITCH:
            await bot.advance(step.seconds)
            continue
        receiver_card, helper_card = cards[step.receiver], cards[step.helper]
        assert any(label == "Ease off" for label, _ in receiver_card.buttons)
        assert all(label != "Ease off" for label, _ in helper_card.buttons)
        holds_seen.append((step.exercise.id, step.side, int(step.receiver)))
        edits = (receiver_card.edits, helper_card.edits)
        for moment, cue in zip(step.cue_moments, step.exercise.cues, strict=True):
            await bot.advance(moment - (step.seconds - _left(receiver_card)))
            left = round(step.seconds - moment)
            for seat, words in ((step.receiver, cue.receiver), (step.helper, cue.helper)):
                person = phones[seat]
                rings = step.role_of(seat).value in cue.sound
                new = bot.new(person.id)
                if rings:
                    # The cue changes what this partner does: a new card that rings.
                    [cards[seat]] = new
                    assert not cards[seat].disable_notification
                else:
                    assert new == []
                assert only_card(person) is cards[seat]
                assert escape(words) in cards[seat].text
                assert f"Hold: {left} s left" in cards[seat].text
        if not step.exercise.cues:
            await bot.advance(step.seconds)
            # No plain countdown edit: the card says how long, the next card rings.
            assert (receiver_card.edits, helper_card.edits) == edits
        else:
            await bot.advance(_left(cards[step.receiver]))

    # Holds in the routine's order, right before left, receivers taking turns.
    assert holds_seen == [
        (s.exercise.id, s.side, int(s.receiver)) for s in plan.steps if s.kind is StepKind.HOLD
    ]
    assert [r for _, _, r in holds_seen[:4]] == [0, 1, 0, 1]
    for person in phones.values():
        [summary] = bot.new(person.id)
        assert summary.text.startswith("Well done, session complete!")
        assert "Stretches: 7 · holds: 22" in summary.text
        assert "Your streak: 1 day" in summary.text
        assert [label for label, _ in summary.buttons] == ["1", "2", "3", "4", "5"]
        # The end leaves the summary and nothing else of the session on the phone, and
        # no message anywhere in the chat with a session's buttons but the summary.
        assert on_screen(bot, person, since[person]) == [summary]
        assert with_buttons(bot, person) == [summary]
    # Telegram's budget (a product decision): sends, edits and deletes to each phone stay
    # within 4 a hold; the answers to taps are counted and reported apart.
    holds = len(holds_seen)
    for person in phones.values():
        counts = calls_to(bot, person, first_call)
        print(f"{person.first_name}, lower-back, {holds} holds: {counts}")
        assert counts.sends + counts.edits + counts.deletes <= 4 * holds
        assert counts == CallCounts(sends=25, edits=39, deletes=24, tap_answers=15)
    [closing] = bot.new(HOME.id)
    assert closing.text == "Ana and Ben just stretched: 22 holds, 12 min."
    assert len(bot.inbox(HOME.id)) == 2


def _left(card: SentMessage) -> float:
    """The seconds a hold card said were left when it was last shown (all of them on a
    get-set card, once get-set is over)."""
    found = re.search(r"Hold: (\d+) s", card.text)
    assert found is not None, card.text
    return float(found[1])


async def test_each_partner_rates_their_own_back_once_the_session_is_over(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot)
    await bot.say(ANA, "/stretch quick")
    [ben_lobby] = bot.new(BEN.id)
    await bot.press(BEN, ben_lobby, "Join")
    # One hold done, then stopped: a rating is asked only of a session with work in it.
    for person in (ANA, BEN):
        await bot.press(person, bot.new(person.id)[-1], "Ready")
    await through_get_set(bot)
    await bot.advance(60)
    bot.new(BEN.id)
    await stop_for_both(bot, ANA, bot.new(ANA.id)[-1])

    summaries = {p: bot.new(p.id)[-1] for p in (ANA, BEN)}
    five_on_anas_phone = summaries[ANA].button("5")
    assert await bot.press(ANA, summaries[ANA], "4") == "Thanks, noted: 4 of 5."
    assert summaries[ANA].buttons == []
    assert await bot.press(BEN, summaries[BEN], "2") == "Thanks, noted: 2 of 5."
    # Ben changing his mind counts; data from Ana's message still rates Ben, never Ana.
    assert (
        await bot.press_data(BEN, summaries[ANA], five_on_anas_phone) == "Thanks, noted: 5 of 5."
    )
    data = bot.app.bot_data
    async with data.db.unit() as unit:
        result = await unit.results.of_session(1)
        assert result is not None
        assert await unit.results.ratings(result.id) == {ANA.id: 4, BEN.id: 5}


async def test_a_lobby_nobody_joins_ends_politely_after_its_idle_limit(bot: BotHarness) -> None:
    await pair_in_database(bot)
    await bot.say(ANA, "/stretch", chat=HOME)
    bot.new(ANA.id)
    bot.new(BEN.id)

    await bot.advance(LOBBY_IDLE_LIMIT.total_seconds() + 1)

    for person in (ANA, BEN):
        [note] = bot.new(person.id)
        assert "sat idle" in note.text
    # Nobody stretched, so the group hears nothing more.
    assert len(bot.inbox(HOME.id)) == 1


async def test_a_partner_who_never_opened_the_bot_gets_a_button_and_the_session_waits(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot)
    # Ben is known from the group only: Telegram refuses to let the bot write first.
    bot.world.opened.discard(BEN.id)
    async with bot.app.bot_data.db.unit() as unit:
        await unit.users.set_reachable(BEN.id, False, bot.clock.now())
        await unit.commit()

    await bot.say(ANA, "/stretch", chat=HOME)

    [announcement] = bot.new(HOME.id)
    assert announcement.buttons == [
        ("Ben: open a chat with me", "https://t.me/pairstretch_test_bot?start=hello")
    ]
    [ana_lobby] = bot.new(ANA.id)
    await bot.press(ANA, ana_lobby, "Join")
    assert bot.new(ANA.id) == []

    # Ben follows the button: the chat opens with /start hello, and his Join card waits.
    await bot.say(BEN, "/start hello")
    welcome, ben_lobby = bot.new(BEN.id)
    assert welcome.text.startswith("Hi Ben!")
    await bot.press(BEN, ben_lobby, "Join")
    for person in (ANA, BEN):
        [setup] = bot.new(person.id)
        assert "Stretch 1 of 7 · " in setup.text


async def test_from_private_a_partner_who_blocked_the_bot_leaves_a_link_to_pass_on(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot)
    bot.world.blocked.add(BEN.id)

    await bot.say(ANA, "/stretch")

    asked, note = bot.new(ANA.id)
    assert asked.text == "Asked Ben to join. I'll start once they tap Join."
    assert note.text == (
        "I can't write to Ben yet. Send them this link so they can open a chat with me, "
        "and their Join button will be waiting: https://t.me/pairstretch_test_bot?start=hello"
    )
    async with bot.app.bot_data.db.unit() as unit:
        ben = await unit.users.get(BEN.id)
    assert ben is not None and not ben.reachable

    bot.world.blocked.discard(BEN.id)
    await bot.say(BEN, "/start hello")
    _, join_card = bot.new(BEN.id)
    await bot.press(BEN, join_card, "Join")
    assert "Stretch 1 of 7 · " in bot.new(ANA.id)[-1].text
