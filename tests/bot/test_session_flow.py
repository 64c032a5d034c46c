"""A whole session on two phones, started from the pair's home group."""

from __future__ import annotations

from html import escape

from routines.engine import LOBBY_IDLE_LIMIT
from routines.plan import PlanOptions, Seat, StepKind
from tests.bot.session_helpers import (
    ANA,
    BEN,
    HOME,
    expect_card,
    pair_in_database,
    stop_for_both,
    through_get_set,
)
from tests.harness import BotHarness


async def test_a_whole_lower_back_session_from_the_group_keeps_both_phones_in_step(
    bot: BotHarness,
) -> None:
    await pair_in_database(bot)
    plan = bot.app.bot_data.plan("lower-back", PlanOptions())
    phones = {Seat.A: ANA, Seat.B: BEN}

    await bot.say(ANA, "/stretch", chat=HOME)

    [announcement] = bot.new(HOME.id)
    assert announcement.text.startswith("Ana and Ben are about to stretch")
    for person in phones.values():
        [lobby] = bot.new(person.id)
        assert "Lower back relief" in lobby.text and "7 stretches" in lobby.text
        assert await bot.press(person, lobby, "Join") == "You're in."

    holds_seen: list[tuple[str, str | None, int]] = []
    for step in plan.steps:
        cards = {seat: bot.new(person.id) for seat, person in phones.items()}
        for seat, new in cards.items():
            assert len(new) == 1, f"step {step.index}: {[m.text for m in new]}"
            expect_card(new[0], step, seat, plan.step_count)
        if step.kind is StepKind.SETUP:
            for seat, person in phones.items():
                await bot.press(person, cards[seat][0], "Ready")
            continue
        receiver_card = cards[step.receiver][0]
        helper_card = cards[step.helper][0]
        if step.kind is StepKind.HOLD:
            assert any(label == "Ease off" for label, _ in receiver_card.buttons)
            assert all(label != "Ease off" for label, _ in helper_card.buttons)
            holds_seen.append((step.exercise.id, step.side, int(step.receiver)))
            # Each hold card carries its role's own line on how hard to go.
            for card, seat in ((receiver_card, step.receiver), (helper_card, step.helper)):
                assert f"<i>{escape(step.intensity(seat) or '')}</i>" in card.text
            assert step.intensity(step.receiver) != step.intensity(step.helper)
        if step.kind is StepKind.HOLD and plan.steps[step.index - 2].kind is StepKind.SETUP:
            # The hold after a setup says so and starts once both had time to get set.
            for card in (receiver_card, helper_card):
                assert f"Get set: the hold starts in 4 s</b>\nHold: {step.seconds:.0f} s" in (
                    card.text
                )
            await through_get_set(bot)
        await bot.advance(step.seconds)
        # The countdown edits each hold card silently: a 30 s hold once, at 15 s left;
        # the 60 s hold twice, at 40 s and 20 s left. A cue takes the nearest tick's
        # place: Child's Pose's at the half (30 s left), Straddle Fold's at 10 s left.
        if step.kind is StepKind.HOLD:
            edits = 2 if step.seconds >= 60 else 1
            assert (receiver_card.edits, helper_card.edits) == (edits, edits)
            last_shown = round(step.seconds / 3) if edits == 2 else round(step.seconds / 2)
            if step.exercise.id == "straddle-fold":
                last_shown = 10
            assert f"Hold: {last_shown} s left" in receiver_card.text
            cue = step.cue_at(step.seconds)
            if cue is not None:
                assert escape(cue.receiver) in receiver_card.text
                assert escape(cue.helper) in helper_card.text
        else:
            assert (receiver_card.edits, helper_card.edits) == (0, 0)

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
    # Telegram's budget, by construction: every call to a phone, taps answered included.
    holds = len(holds_seen)
    for person in phones.values():
        to_phone = [c for c in bot.world.calls if c.params.get("chat_id") == person.id]
        answered = [
            c
            for c in bot.world.calls_of("answerCallbackQuery")
            if c.params["callback_query_id"] in bot.queries_by(person)
        ]
        assert len(to_phone) + len(answered) <= 4 * holds
    [closing] = bot.new(HOME.id)
    assert closing.text == "Ana and Ben just stretched: 22 holds, 12 min."
    assert len(bot.inbox(HOME.id)) == 2


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
        assert "Step 1 of 44" in setup.text


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
    assert "Step 1 of 44" in bot.new(ANA.id)[-1].text
