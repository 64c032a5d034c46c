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
from typing import Any

from telegram import Bot
from telegram.ext import JobQueue

from bot.context import BotData, Context
from bot.delivery import Undelivered
from bot.live_session import Applied, Live
from bot.services import sessions
from bot.services.pairing import open_chat_link
from bot.session_runner import Delivery, Runner
from bot.session_timers import (
    AlertRetry,
    CardRetry,
    CountdownTick,
    JobCallbacks,
    SessionTimer,
    SessionTimers,
)
from routines.engine import (
    EventRefused,
    IdleTimeout,
    Pause,
    Phase,
    Recover,
    ShowPaused,
    TimerElapsed,
    TimerKind,
)
from routines.plan import Seat

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
                alert_retry=on_alert_retry,
            ),
        )

    async def follow(self, applied: Applied) -> None:
        """Carry out a saved transition and write down what Telegram did with it."""
        self.timers.follow(applied)
        live = applied.live
        pausing = any(isinstance(effect, ShowPaused) for effect in applied.effects)
        cards = await sessions.cards(self.data, live.id) if pausing else []
        streak = await self._streak(live) if applied.owed else 0
        outcome = await self.runner.carry_out(applied, cards=cards, streak=streak)
        await sessions.note_cards(self.data, live.id, list(outcome.paused_cards))
        await self._delivered(live, outcome.delivery, attempt=0)
        if outcome.alert_missed is not None:
            await self._alert_missed(live, *outcome.alert_missed, attempt=0)

    async def _alert_missed(
        self, live: Live, helper: Seat, why: Undelivered, attempt: int
    ) -> None:
        """An Ease off alert Telegram did not take: try again, or pause for both when the
        helper cannot be reached, so nobody keeps pressing on a partner who asked."""
        if why is Undelivered.UNREACHABLE:
            await self._pause_for_unreachable(live, helper)
        elif not self.timers.retry_alert(live, attempt):
            log.warning("session %s: gave up on an Ease off alert", live.id)

    async def retry_alert(self, retry: AlertRetry) -> None:
        """Send the Ease off alert again, if its hold still runs."""
        live = await sessions.load(self.data, retry.session_id)
        if live is None or live.state.phase is not Phase.HOLDING:
            return
        if live.state.step_index != retry.step_index:
            return
        helper = live.state.step.helper
        why = await self.runner.alert_helper(live, helper)
        if why is not None:
            await self._alert_missed(live, helper, why, retry.attempt + 1)

    async def _show_owed(self, live: Live, seats: Sequence[Seat], attempt: int) -> None:
        delivery = await self.runner.show_cards(live, seats, streak=await self._streak(live))
        await self._delivered(live, delivery, attempt)

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
        await sessions.cards_delivered(
            self.data, live.id, delivery.version, list(delivery.shown), unreachable
        )
        if delivery.failed and not self.timers.retry_cards(live, attempt):
            log.warning("session %s: giving up on its cards until the next start", live.id)
        if not delivery.unreachable or live.state.is_over:
            return
        seat = delivery.unreachable[0]
        if live.state.phase in (Phase.LOBBY, Phase.SAFETY):
            # Nothing runs yet to pause: the session waits, as in the lobby.
            link = open_chat_link(self.data.bot_username)
            await self.runner.lobby_unreachable(live, seat, link)
        else:
            await self._pause_for_unreachable(live, seat)

    async def _pause_for_unreachable(self, live: Live, seat: Seat) -> None:
        """A partner who blocked the bot can't follow along: pause, tell the other one."""
        event = Pause(user_id=live.state.user_of(seat), version=live.state.version)
        try:
            applied = await sessions.apply(self.data, live.id, event)
        except (EventRefused, sessions.SessionMissing):
            return  # already paused or moved on, or the pair ended meanwhile
        # The other partner gets a note with Resume instead of the paused card.
        self.timers.follow(applied)
        await self.runner.paused_for_unreachable(applied.live, seat)

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
        await self.runner.edit_hold_cards(live, cards)
        latest = await sessions.load(self.data, live.id)
        if latest is not None and latest.state.phase is Phase.PAUSED:
            # A pause landed while these edits were on their way and may have been
            # overwritten by them: show the paused card again (unchanged ones are no-ops).
            shown = await sessions.cards(self.data, latest.id)
            fresh = await self.runner.show_paused(latest, latest.state.paused_by, shown)
            await sessions.note_cards(self.data, latest.id, list(fresh))
            return
        self.timers.next_tick(live, tick)

    async def show_waiting_lobby(self, user_id: int) -> None:
        """Someone who just opened the chat gets the Join card a session holds for them,
        or the safety note it waits on."""
        record = await sessions.live_of_user(self.data, user_id)
        if record is None:
            return
        live = await sessions.load(self.data, record.id)
        seat = None if live is None else live.state.seat_of(user_id)
        if live is None or seat is None:
            return
        state = live.state
        waits_for_them = (state.phase is Phase.LOBBY and seat not in state.joined) or (
            state.phase is Phase.SAFETY and seat in state.safety_due
        )
        if waits_for_them:
            await self._show_owed(live, [seat], attempt=0)

    async def recover(self) -> None:
        """At start-up: re-arm every live session's timer, pausing holds that ran out,
        then send every card still owed for a session's current version."""
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


async def on_alert_retry(context: Context) -> None:
    """An Ease off alert Telegram did not take, tried again."""
    assert context.job is not None
    retry = context.job.data
    assert isinstance(retry, AlertRetry)
    await flow_for(context).retry_alert(retry)


async def on_countdown(context: Context) -> None:
    """A coarse countdown step of a hold."""
    assert context.job is not None
    tick = context.job.data
    assert isinstance(tick, CountdownTick)
    await flow_for(context).countdown(tick)
