"""Carries out a session's effects: messages on both phones, timers, the group lines.

State is saved before this runs (see bot/services/sessions.py), together with the card
each phone is owed (the outbox). A card Telegram did not accept is tried again with
backoff until it goes through or its step is over, and a restart sends what is still
owed, so neither a failed call nor a crash here loses a step.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Forbidden, NetworkError
from telegram.ext import JobQueue

from bot.context import BotData, Context
from bot.delivery import Undelivered, is_not_modified, offer_private, send_private
from bot.render import session as render
from bot.services import sessions
from bot.services.pairing import open_chat_link
from bot.services.sessions import Applied, Live
from routines.engine import (
    AlertHelper,
    ArmTimer,
    CancelTimer,
    EventRefused,
    IdleTimeout,
    Pause,
    Phase,
    PostToGroup,
    Recover,
    ShowPaused,
    TimerElapsed,
    TimerKind,
)
from routines.plan import Seat
from storage.repositories.sessions import CardRecord

log = logging.getLogger(__name__)

# A countdown edit costs an API call on each phone, and edits make no sound anyway, so a
# few coarse steps are plenty: a 30 s hold is edited once (at 15 s left), a 60 s hold
# twice; with the card itself a hold stays within 4 calls per phone.
COUNTDOWN_MIN_INTERVAL = timedelta(seconds=15)
COUNTDOWN_EDITS = 2
# Timers whose moment passed while the loop was busy still run: being late is better
# than APScheduler's default of silently dropping a run that is a second late.
MISFIRE_GRACE_SECONDS = 3600
# A card Telegram did not take is tried again after 1 s, 2 s, 4 s ... at most a minute
# apart. A live session moves on within its idle limit (30 min at most), after which its
# card is not owed any more; a summary is given up after about an hour of tries here
# and tried again at the next start.
RETRY_FIRST = timedelta(seconds=1)
RETRY_LONGEST = timedelta(minutes=1)
RETRY_ATTEMPTS = 64


@dataclass(frozen=True, slots=True)
class SessionTimer:
    """What a timer job carries; `due_at` is on the bot's clock (tests move it)."""

    session_id: int
    version: int
    kind: TimerKind
    due_at: datetime


@dataclass(frozen=True, slots=True)
class CardRetry:
    """Try again the cards a session still owes for `version`."""

    session_id: int
    version: int
    attempt: int
    due_at: datetime


@dataclass(frozen=True, slots=True)
class CountdownTick:
    session_id: int
    version: int
    due_at: datetime
    interval: timedelta  # fixed for the whole hold, so a hold gets COUNTDOWN_EDITS at most


class Runner:
    """One per update or job: the bot, the job queue and the process's resources."""

    def __init__(self, bot: Bot, job_queue: JobQueue[Any], data: BotData) -> None:
        self.bot = bot
        self.jobs = job_queue
        self.data = data

    # -- the effects --------------------------------------------------------------------
    async def carry_out(self, applied: Applied) -> None:
        live = applied.live
        # Timers first: they cannot fail, and a Telegram call that does must not leave
        # the saved step without its timer.
        for effect in applied.effects:
            if isinstance(effect, CancelTimer):
                self._cancel_timers(live.id)
            elif isinstance(effect, ArmTimer):
                self._arm(live, effect)
        for effect in applied.effects:
            if isinstance(effect, AlertHelper):
                await self._alert_helper(live, effect.seat)
            elif isinstance(effect, ShowPaused):
                await self._show_paused(live, effect.by)
            elif isinstance(effect, PostToGroup) and effect.kind == "end" and live.in_group:
                await self._post_group(live, render.group_end_line(live.names, live.state))
            # PostToGroup("start") needs nothing: the lobby line already told the group,
            # and MarkJoined / MarkReady are answered on the button that was tapped.
        if applied.owed:
            await self._show_cards(live, list(applied.owed))

    async def _show_cards(self, live: Live, seats: list[Seat], attempt: int = 0) -> None:
        """The cards the outbox holds for `seats`: a new message on each phone at once.

        New messages make a sound. What Telegram did not take is tried again later.
        """
        now = self.data.clock.now()
        summary = await self._summary(live) if live.state.is_over else None
        cards = [summary or self._card(live, seat, now) for seat in seats]
        outcomes = await asyncio.gather(
            *(
                offer_private(self.bot, live.state.user_of(seat), text, markup)
                for seat, (text, markup) in zip(seats, cards, strict=True)
            )
        )
        shown = [
            CardRecord(
                outcome.chat.id,
                outcome.chat.id,
                outcome.message_id,
                live.state.version,
                live.state.phase.value,
            )
            for outcome in outcomes
            if isinstance(outcome, Message)
        ]
        missing = [
            seat
            for seat, outcome in zip(seats, outcomes, strict=True)
            if outcome is Undelivered.UNREACHABLE
        ]
        unreachable = [live.state.user_of(seat) for seat in missing]
        # Written down before a retry is set: a retry that read a card as still owed
        # while its send was being noted would send it twice.
        await sessions.cards_delivered(self.data, live, shown, unreachable)
        if any(outcome is Undelivered.TRY_AGAIN for outcome in outcomes):
            self._retry_cards(live, attempt)
        if not missing or live.state.is_over:
            return
        if live.state.phase is Phase.LOBBY:
            await self._lobby_unreachable(live, missing[0])
        else:
            await self._pause_for_unreachable(live, missing[0])

    def _retry_cards(self, live: Live, attempt: int) -> None:
        """Try the owed cards of this version again after a backoff (one job a session)."""
        if attempt >= RETRY_ATTEMPTS:
            log.warning("session %s: giving up on its cards until the next start", live.id)
            return
        delay = min(RETRY_FIRST * 2**attempt, RETRY_LONGEST)
        name = f"{self._name(live.id)}-cards"
        for job in self.jobs.get_jobs_by_name(name):
            job.schedule_removal()
        due_at = self.data.clock.now() + delay
        self.jobs.run_once(
            on_card_retry,
            self._delay(due_at),
            data=CardRetry(live.id, live.state.version, attempt, due_at),
            name=name,
            job_kwargs={"misfire_grace_time": MISFIRE_GRACE_SECONDS},
        )

    async def retry_cards(self, retry: CardRetry) -> None:
        """Send what the session still owes, unless its step is over (then nothing)."""
        live, seats = await sessions.owed_cards(self.data, retry.session_id)
        if live is None or live.state.version != retry.version or not seats:
            return
        await self._show_cards(live, seats, retry.attempt + 1)

    async def _lobby_unreachable(self, live: Live, seat: Seat) -> None:
        """The session waits; from private, the starter gets a link to pass on.

        From a group, the group's line already carries the button that opens the chat.
        """
        if live.in_group:
            return
        link = open_chat_link(self.data.bot_username)
        await self._send(
            live.state.user_of(seat.other), render.cannot_reach_yet(live.name_of(seat), link), None
        )

    def _card(self, live: Live, seat: Seat, now: datetime) -> tuple[str, InlineKeyboardMarkup]:
        """The step card of the session's current version for one phone."""
        state = live.state
        if state.phase is Phase.LOBBY:
            routine = self.data.library[live.record.routine_id]
            return render.lobby_card(live.id, state, routine, live.names[0], not live.in_group)
        if state.phase is Phase.SETUP:
            return render.setup_card(live.id, state, seat)
        return render.hold_card(live.id, state, seat, now)

    async def _pause_for_unreachable(self, live: Live, seat: Seat) -> None:
        """A partner who blocked the bot can't follow along: pause, tell the other one."""
        event = Pause(user_id=live.state.user_of(seat), version=live.state.version)
        try:
            applied = await sessions.apply(self.data, live.id, event)
        except (EventRefused, sessions.SessionMissing):
            return  # already paused or moved on, or the pair ended meanwhile
        self._arm_all(applied)
        other = seat.other
        await self._send(
            live.state.user_of(other),
            render.unreachable_pause_note(live.name_of(seat)),
            render.paused_card(live.id, applied.live.state, other, None)[1],
        )

    def _arm_all(self, applied: Applied) -> None:
        for effect in applied.effects:
            if isinstance(effect, ArmTimer):
                self._arm(applied.live, effect)

    async def _show_paused(self, live: Live, by: Seat | None) -> None:
        """Turn the card on each phone into the paused card, silently, in place."""
        by_name = None if by is None else live.name_of(by)
        shown = {card.user_id: card for card in await sessions.cards(self.data, live.id)}
        fresh: list[CardRecord] = []
        for seat in Seat:
            user_id = live.state.user_of(seat)
            text, markup = render.paused_card(live.id, live.state, seat, by_name)
            card = shown.get(user_id)
            if card is not None and await self._edit(card.chat_id, card.message_id, text, markup):
                continue
            message = await self._send(user_id, text, markup)
            if message is not None:
                fresh.append(
                    CardRecord(user_id, user_id, message.message_id, live.state.version, "paused")
                )
        await sessions.note_cards(self.data, live.id, fresh)

    async def _alert_helper(self, live: Live, helper: Seat) -> None:
        receiver = live.name_of(helper.other)
        await self._send(live.state.user_of(helper), render.ease_off_alert(receiver), None)

    async def _summary(self, live: Live) -> tuple[str, InlineKeyboardMarkup | None]:
        """The end of a session, the same on both phones; a rating when they stretched."""
        state = live.state
        if state.phase is Phase.ABANDONED or state.started_at is None:
            return render.summary(state, 0, 0), None
        streak = await sessions.streak(self.data, live)
        text = render.summary(state, state.exercises_done, streak)
        return text, render.rating_keyboard(live.id)

    async def _post_group(self, live: Live, text: str) -> None:
        try:
            await self.bot.send_message(live.record.origin_chat_id, text)
        except (Forbidden, BadRequest) as error:
            # The bot was removed from the group, or the group is gone: the partners
            # still got everything in private.
            log.info("could not post to group %s: %s", live.record.origin_chat_id, error)
        except NetworkError as error:
            # The group line is a courtesy; the partners' summaries are in the outbox.
            log.warning(
                "the line for group %s did not go through: %s", live.record.origin_chat_id, error
            )

    # -- Telegram calls that may fail for reasons that are facts, not bugs --------------
    async def _send(
        self, user_id: int, text: str, markup: InlineKeyboardMarkup | None
    ) -> Message | None:
        return await send_private(self.bot, user_id, text, markup)

    async def _edit(
        self, chat_id: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None
    ) -> bool:
        try:
            await self.bot.edit_message_text(text, chat_id, message_id, reply_markup=markup)
        except BadRequest as error:
            if is_not_modified(error):
                return True
            log.info("could not edit message %s in %s: %s", message_id, chat_id, error)
            return False
        except Forbidden:
            return False
        return True

    # -- timers -------------------------------------------------------------------------
    def _name(self, session_id: int) -> str:
        return f"session-{session_id}"

    def _cancel_timers(self, session_id: int) -> None:
        for name in (self._name(session_id), f"{self._name(session_id)}-tick"):
            for job in self.jobs.get_jobs_by_name(name):
                job.schedule_removal()

    def _delay(self, at: datetime) -> float:
        # Timers are set as delays from the bot's clock, so a test that moves its clock
        # by hand is never overtaken by the job queue's own wall clock.
        return max(0.0, (at - self.data.clock.now()).total_seconds())

    def _arm(self, live: Live, timer: ArmTimer) -> None:
        self._cancel_timers(live.id)
        self.jobs.run_once(
            on_timer,
            self._delay(timer.at),
            data=SessionTimer(live.id, timer.version, timer.kind, timer.at),
            name=self._name(live.id),
            job_kwargs={"misfire_grace_time": MISFIRE_GRACE_SECONDS},
        )
        if timer.kind is TimerKind.HOLD and live.state.phase is Phase.HOLDING:
            self._arm_countdown(live, timer.at)

    def _arm_countdown(self, live: Live, deadline: datetime) -> None:
        """Split the hold into equal parts, at least 10 s (scaled) apart, and edit at each."""
        hold = timedelta(seconds=live.state.step.seconds * live.state.time_scale)
        interval = max(
            COUNTDOWN_MIN_INTERVAL * live.state.time_scale, hold / (COUNTDOWN_EDITS + 1)
        )
        self._next_tick(live, self.data.clock.now() + interval, interval, deadline)

    def _next_tick(
        self, live: Live, at: datetime, interval: timedelta, deadline: datetime
    ) -> None:
        # A tick too close to the end would show "1 s left" just before the next card,
        # and one that would show the same whole seconds as before (short, scaled holds)
        # would only earn a "message is not modified": both are left out.
        while deadline - at >= interval / 2:
            if render.whole_seconds(deadline - at) != render.whole_seconds(
                deadline - at + interval
            ):
                self.jobs.run_once(
                    on_countdown,
                    self._delay(at),
                    data=CountdownTick(live.id, live.state.version, at, interval),
                    name=f"{self._name(live.id)}-tick",
                    job_kwargs={"misfire_grace_time": MISFIRE_GRACE_SECONDS},
                )
                return
            at += interval

    async def countdown(self, tick: CountdownTick) -> None:
        """Edit both hold cards with the time left, then set the next tick."""
        live, cards = await sessions.load_with_cards(self.data, tick.session_id)
        state = None if live is None else live.state
        if live is None or state is None or state.version != tick.version:
            return
        if state.phase is not Phase.HOLDING or state.deadline is None:
            return
        now = self.data.clock.now()
        for card in cards:
            seat = state.seat_of(card.user_id)
            if seat is not None and card.version == state.version:
                text, markup = render.hold_card(live.id, state, seat, now)
                await self._edit(card.chat_id, card.message_id, text, markup)
        latest = await sessions.load(self.data, live.id)
        if latest is not None and latest.state.phase is Phase.PAUSED:
            # A pause landed while these edits were on their way and may have been
            # overwritten by them: show the paused card again (unchanged ones are no-ops).
            await self._show_paused(latest, latest.state.paused_by)
            return
        self._next_tick(live, tick.due_at + tick.interval, tick.interval, state.deadline)

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
            await self._show_cards(live, [seat])

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
                    await self._show_cards(live, seats)
            except Exception:
                log.exception("could not send the cards session %s owes", session_id)

    async def _recover_one(self, session_id: int) -> None:
        live = await sessions.load(self.data, session_id)
        if live is None:
            return
        applied = await sessions.apply(self.data, session_id, Recover(version=live.state.version))
        if applied.effects:
            await self.carry_out(applied)


def runner_for(context: Context) -> Runner:
    assert context.job_queue is not None
    return Runner(context.bot, context.job_queue, context.bot_data)


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
    await runner_for(context).carry_out(applied)


async def on_card_retry(context: Context) -> None:
    """Cards Telegram did not take, tried again."""
    assert context.job is not None
    retry = context.job.data
    assert isinstance(retry, CardRetry)
    await runner_for(context).retry_cards(retry)


async def on_countdown(context: Context) -> None:
    """A coarse countdown step of a hold."""
    assert context.job is not None
    tick = context.job.data
    assert isinstance(tick, CountdownTick)
    await runner_for(context).countdown(tick)
