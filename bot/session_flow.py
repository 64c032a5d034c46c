"""What follows a saved session step: its timers, its messages, and what Telegram did.

A handler, a session's job or start-up comes here once the service saved a step. The
timers are set first; the runner then talks to Telegram and reports. What it reports is
written down through the service (a card counts as shown only once Telegram accepted
it), a retry is set for what failed, and a partner Telegram refused pauses the session,
or in the lobby leaves the starter a link to pass on. The service and the runner never
call each other: this module carries the outcome of one to the other.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from telegram import Bot
from telegram.ext import JobQueue

from bot.context import BotData, Context
from bot.live_session import Applied, Live
from bot.services import sessions
from bot.services.pairing import open_chat_link
from bot.session_runner import Delivery, Runner
from bot.session_timers import (
    CardRetry,
    CountdownTick,
    JobCallbacks,
    SessionTimer,
    SessionTimers,
    TidyRetry,
    catch_up,
    ringing_seats,
)
from routines.engine import (
    EventRefused,
    IdleTimeout,
    MarkReady,
    Pause,
    Phase,
    Recover,
    ShowPaused,
    TimerElapsed,
    TimerKind,
)
from routines.plan import Seat
from storage.records import CardRecord, LeftoverRecord

log = logging.getLogger(__name__)


class SessionFlow:
    """One per update or job: the service, the runner and the timers of one process."""

    def __init__(self, bot: Bot, job_queue: JobQueue[Any], data: BotData) -> None:
        self.data = data
        self.runner = Runner(bot, data.clock, data.library)
        self.timers = SessionTimers(
            job_queue,
            data.clock,
            JobCallbacks(
                timer=on_timer,
                countdown=on_countdown,
                card_retry=on_card_retry,
                tidy_retry=on_tidy_retry,
            ),
        )

    async def follow(self, applied: Applied) -> None:
        """Carry out a saved transition and write down what Telegram did with it."""
        self.timers.follow(applied)
        live = applied.live
        # The cards each phone shows now: a pause or a Ready edits them, a new card
        # replaces them (and a hold may be its setup card, edited).
        touches_cards = applied.owed or any(
            isinstance(effect, ShowPaused | MarkReady) for effect in applied.effects
        )
        cards = await sessions.cards(self.data, live.id) if touches_cards else []
        streak = await self._streak(live) if applied.owed else 0
        outcome = await self.runner.carry_out(applied, cards=cards, streak=streak)
        await sessions.leave_behind(self.data, list(outcome.left))
        await self._noted(live, outcome.paused_cards)
        await self._delivered(live, outcome.delivery, attempt=0)

    async def _show_owed(self, live: Live, seats: Sequence[Seat], attempt: int) -> None:
        cards = await sessions.cards(self.data, live.id)
        delivery = await self.runner.show_cards(
            live, seats, current=cards, streak=await self._streak(live)
        )
        await self._delivered(live, delivery, attempt)

    async def show_again(self, live: Live, seat: Seat) -> bool:
        """ "Back to my card": the phone's current card once more, as a quiet new message
        (it was asked for); the one it had goes. Whether it arrived."""
        if live.state.phase is Phase.PAUSED:
            card = await self.runner.send_paused(live, seat)
            shown: tuple[CardRecord, ...] = () if card is None else (card,)
        else:
            shown = (await self.runner.show_cards(live, [seat], again=True)).shown
        await self._noted(live, shown)
        return bool(shown)

    async def _noted(self, live: Live, cards: Sequence[CardRecord]) -> None:
        """Note the cards phones show now, then take the ones they replaced away."""
        if cards:
            await self._tidy(live, await sessions.note_cards(self.data, live.id, list(cards)))

    async def _tidy(
        self, live: Live, leftovers: Sequence[LeftoverRecord], attempt: int = 0
    ) -> None:
        """Delete what phones should no longer keep, after their new card is out.

        A delete Telegram did not answer (500, timeout, dropped) is not tried again at
        once: the new card is there, and the old one's buttons are answered "out of
        date" and change nothing. It goes with that phone's next card, which costs no
        extra call and comes within a step; once the session is over, after a backoff;
        and at start-up.
        """
        if not leftovers:
            return
        remaining = await self.runner.tidy(leftovers)
        await sessions.leave_behind(self.data, remaining)
        if remaining and live.state.is_over and not self.timers.retry_tidy(live.id, attempt):
            log.warning(
                "session %s: %s old cards stay until the next start", live.id, len(remaining)
            )

    async def tidy_again(self, retry: TidyRetry) -> None:
        """A finished session's old cards that Telegram did not delete, tried again."""
        live = await sessions.load(self.data, retry.session_id)
        if live is None:
            return
        await self._tidy(
            live, await sessions.take_leftovers(self.data, live.id), retry.attempt + 1
        )

    async def _streak(self, live: Live) -> int:
        """The pair's streak, read only for the summary of a session they stretched in."""
        if not (live.state.is_over and live.stretched):
            return 0
        return await sessions.streak(self.data, live)

    async def _delivered(self, live: Live, delivery: Delivery, attempt: int) -> None:
        """Write down what Telegram did with the cards, then decide what follows."""
        unreachable = [live.state.user_of(seat) for seat in delivery.unreachable]
        # Written down before a retry is set: a retry that read a card as still owed
        # while its send was being noted would send it twice.
        leftovers = await sessions.cards_delivered(
            self.data, live.id, delivery.version, list(delivery.shown), unreachable
        )
        if delivery.failed and not self.timers.retry_cards(live, attempt):
            log.warning("session %s: giving up on its cards until the next start", live.id)
        # Only now, with every new card out, do the old ones go: a delete never holds
        # up a card, and a phone is never left with no card at all.
        await self._tidy(live, leftovers)
        if not delivery.unreachable or live.state.is_over:
            return
        seat = delivery.unreachable[0]
        if live.state.phase is Phase.LOBBY:
            link = open_chat_link(self.data.bot_username)
            note = await self.runner.lobby_unreachable(live, seat, link)
            await sessions.leave_behind(self.data, [] if note is None else [note])
        else:
            await self._pause_for_unreachable(live, seat)

    async def _pause_for_unreachable(self, live: Live, seat: Seat) -> None:
        """A partner who blocked the bot can't follow along: pause, tell the other one."""
        event = Pause(user_id=live.state.user_of(seat), version=live.state.version)
        try:
            applied = await sessions.apply(self.data, live.id, event)
        except (EventRefused, sessions.SessionMissing):
            return  # already paused or moved on, or the pair ended meanwhile
        # The other partner gets a note with Resume instead of the paused card: it is
        # their card now, and the one before goes.
        self.timers.follow(applied)
        note = await self.runner.paused_for_unreachable(applied.live, seat)
        await self._noted(applied.live, [] if note is None else [note])

    async def retry_cards(self, retry: CardRetry) -> None:
        """Send what the session still owes, unless its step is over (then nothing)."""
        live, seats = await sessions.owed_cards(self.data, retry.session_id)
        if live is None or live.state.version != retry.version or not seats:
            return
        await self._show_owed(live, seats, retry.attempt + 1)

    async def countdown(self, tick: CountdownTick) -> None:
        """Edit both hold cards with the time left, then set the next tick."""
        live, cards = await sessions.load_with_cards(self.data, tick.session_id)
        if live is None or live.state.version != tick.version:
            return
        if live.state.phase is not Phase.HOLDING or live.state.deadline is None:
            return
        ring = ringing_seats(live.state, tick.due_at)
        fresh, missed = await self.runner.edit_hold_cards(live, cards, ring)
        await self._noted(live, fresh)
        latest = await sessions.load(self.data, live.id)
        if latest is not None and latest.state.phase is Phase.PAUSED:
            # A pause landed while these edits were on their way and may have been
            # overwritten by them: show the paused card again (unchanged ones are no-ops).
            shown = await sessions.cards(self.data, latest.id)
            fresh = await self.runner.show_paused(latest, latest.state.paused_by, shown)
            await self._noted(latest, fresh)
            return
        if missed:
            # A cue must not be lost to one failed edit: a tick soon shows it again.
            tick = replace(tick, later=catch_up(live.state, self.data.clock.now(), tick.later))
        self.timers.next_tick(live, tick)

    async def show_waiting_lobby(self, user_id: int) -> None:
        """Someone who just opened the chat gets the Join card a session holds for them."""
        record = await sessions.live_of_user(self.data, user_id)
        if record is None:
            return
        live = await sessions.load(self.data, record.id)
        seat = None if live is None else live.state.seat_of(user_id)
        if live is None or seat is None or live.state.phase is not Phase.LOBBY:
            return
        if seat not in live.state.joined:
            await self._show_owed(live, [seat], attempt=0)

    async def recover(self) -> None:
        """At start-up: re-arm every live session's timer, pausing holds that ran out,
        then send every card still owed for a session's current version, and take old
        cards that a delete did not reach off the phones."""
        for session_id in await sessions.live_sessions(self.data):
            try:
                await self._recover_one(session_id)
            except Exception:
                # One session Telegram or its data fails for must neither stop the others
                # from being re-armed nor keep the bot from starting.
                log.exception("could not recover session %s", session_id)
        for session_id in await sessions.sessions_owing_cards(self.data):
            try:
                live, seats = await sessions.owed_cards(self.data, session_id)
                if live is not None and seats:
                    await self._show_owed(live, seats, attempt=0)
            except Exception:
                log.exception("could not send the cards session %s owes", session_id)
        for session_id in await sessions.sessions_with_leftovers(self.data):
            try:
                await self.tidy_again(TidyRetry(session_id, 0, self.data.clock.now()))
            except Exception:
                log.exception("could not tidy the old cards of session %s", session_id)

    async def _recover_one(self, session_id: int) -> None:
        live = await sessions.load(self.data, session_id)
        if live is None:
            return
        recover = Recover(version=live.state.version)
        applied = await sessions.apply(self.data, session_id, recover)
        if applied.effects:
            await self.follow(applied)


def flow_for(context: Context) -> SessionFlow:
    assert context.job_queue is not None
    return SessionFlow(context.bot, context.job_queue, context.bot_data)


async def on_timer(context: Context) -> None:
    """A hold, switch or idle limit ran out."""
    assert context.job is not None
    timer = context.job.data
    assert isinstance(timer, SessionTimer)
    event = (
        TimerElapsed(version=timer.version)
        if timer.kind is TimerKind.HOLD
        else IdleTimeout(version=timer.version)
    )
    try:
        applied = await sessions.apply(context.bot_data, timer.session_id, event)
    except sessions.SessionMissing:
        return
    await flow_for(context).follow(applied)


async def on_card_retry(context: Context) -> None:
    """Cards Telegram did not take, tried again."""
    assert context.job is not None
    retry = context.job.data
    assert isinstance(retry, CardRetry)
    await flow_for(context).retry_cards(retry)


async def on_countdown(context: Context) -> None:
    """A coarse countdown step of a hold."""
    assert context.job is not None
    tick = context.job.data
    assert isinstance(tick, CountdownTick)
    await flow_for(context).countdown(tick)


async def on_tidy_retry(context: Context) -> None:
    """Old cards of a finished session that Telegram did not delete, tried again."""
    assert context.job is not None
    retry = context.job.data
    assert isinstance(retry, TidyRetry)
    await flow_for(context).tidy_again(retry)
