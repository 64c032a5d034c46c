"""What follows a saved session step, and what a session's timer does when it comes due.

A handler, a timer or start-up comes here once the service saved a step (its timers
were written with it; this worker's poller is woken for them). The runner then talks to
Telegram and reports. What it reports is
written down through the service (a card counts as shown only once Telegram accepted
it), a retry is set for what failed, and a partner Telegram refused pauses the session,
or in the lobby leaves the starter a link to pass on. The service and the runner never
call each other: this module carries the outcome of one to the other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from telegram import Bot

from bot.context import BotData, Context
from bot.delivery import Undelivered
from bot.live_session import Applied, Live
from bot.services import sessions, timer_claims
from bot.services.pairing import open_chat_link
from bot.session_runner import Delivery, Runner
from bot.session_timers import Lane, alert_retry, catch_up, next_tick, ringing_seats, tidy_retry
from routines.engine import (
    ArmTimer,
    CancelTimer,
    Event,
    EventRefused,
    IdleTimeout,
    Pause,
    Phase,
    Recover,
    TimerElapsed,
    TimerKind,
)
from routines.plan import Seat
from storage.records import CardRecord, DeliveryNote, LeftoverRecord, TimerRecord

log = logging.getLogger(__name__)

# A hold or switch whose end is found this late was not carried out by any worker for a
# while (all of them were down): as after a restart (the engine's Recover), it pauses
# with nothing left, and the partners are told, instead of jumping on to a step they
# were not warned of. Longer than a claim's lease, so a takeover after a worker died
# holding the timer still moves the session on.
LATE_LIMIT = timedelta(seconds=45)

# Rounds of showing a card again after another worker's edit overtook it: each round
# needs yet another transition at that very moment; more than this means Telegram did
# not answer, and the next step's card will carry the truth.
SETTLE_ROUNDS = 3
# How long an edit waits for an older edit of the same card to land (a Telegram round
# trip, normally), polling for it, before it goes anyway.
EDIT_WAIT_POLL = 0.02
EDIT_WAIT_POLLS = 100


def timer_event(timer: TimerRecord, now: datetime) -> Event:
    """What the engine is told when a session's step timer comes due at `now`."""
    if timer.kind != TimerKind.HOLD.value:
        return IdleTimeout(version=timer.version)
    if now - timer.due_at > LATE_LIMIT:
        return Recover(version=timer.version)
    return TimerElapsed(version=timer.version)


# A delivery note written down with the edits' landing, and the leftovers it handed back.
Written = tuple[DeliveryNote | None, list[LeftoverRecord]]


class SessionFlow:
    """One per update or timer: the service and the runner of one process."""

    def __init__(self, bot: Bot, data: BotData) -> None:
        self.data = data
        self.runner = Runner(bot, data.clock, data.library)

    def _wake(self, due: datetime | None) -> None:
        if due is not None and self.data.timer_waker is not None:
            self.data.timer_waker.wake(due)

    async def follow(self, applied: Applied) -> None:
        """Carry out a saved transition and write down what Telegram did with it."""
        self._wake(applied.wake_at)
        live = applied.live
        cards = applied.cards
        claimed = [card for card in cards if card.user_id in applied.claimed]
        unsure = await self._after_older_edits(live, claimed)
        if unsure is None:
            # The session moved on while this waited: a newer step owes its own cards.
            applied = replace(applied, owed=())
            unsure = {}
        streak = await self._streak(live) if applied.owed else 0
        outcome = await self.runner.carry_out(applied, cards=cards, streak=streak)
        written = None
        if claimed:
            # Written with the edits' landing when nothing is to be written between.
            alone = not (outcome.left or outcome.paused_cards)
            delivery = outcome.delivery
            written = await self._settle(
                live,
                claimed,
                unsure,
                then=(lambda: self._delivery_note(live, delivery, 0)) if alone else None,
            )
        await sessions.leave_behind(self.data, list(outcome.left))
        await self._noted(live, outcome.paused_cards)
        await self._delivered(live, outcome.delivery, 0, written)
        if outcome.alert_missed is not None:
            await self._alert_missed(live, *outcome.alert_missed, failed=0)

    # -- edits of one card by two workers at once ---------------------------------------
    #
    # Two transitions of one session can be carried out at two workers at once (both
    # partners tap Ready together, a pause comes as the hold starts), and each edits the
    # same cards: the first Ready says "Ana is ready", the hold's start turns the card
    # into the hold at the worker that found its cards due. Telegram shows whichever
    # edit reaches it last, so the order of the saves must be the order of the edits.
    # An edit in place is claimed in the transaction that saves its transition (saves
    # are serialized on the session row, so claims come in the order of the revisions)
    # and marked landed once Telegram answered. An edit claimed while an older one is
    # still on its way waits for that one to land, then goes: the newer state has the
    # last word. A worker that is slow or died must not hold the session up for long:
    # after EDIT_WAIT_POLLS polls (2 s) the newer edit goes anyway, and whichever of the
    # two finds the other landed after it shows the newest state once more.

    async def _after_older_edits(
        self, live: Live, claimed: Sequence[CardRecord]
    ) -> dict[int, int] | None:
        """Wait until the edits of these cards claimed before ours landed; the phones
        whose older edit did not land in time come back, with that edit's revision.
        None: the session moved on to a newer step meanwhile."""
        pending = {card.user_id: card.shows for card in claimed if card.landed < card.shows}
        messages = {card.user_id: card.message_id for card in claimed}
        waited = bool(pending)
        for _ in range(EDIT_WAIT_POLLS):
            if not pending:
                break
            await asyncio.sleep(EDIT_WAIT_POLL)
            noted = {card.user_id: card for card in await sessions.cards(self.data, live.id)}
            pending = {
                user_id: older
                for user_id, older in pending.items()
                if (card := noted.get(user_id)) is not None
                and card.message_id == messages[user_id]
                and card.landed < older
            }
        if pending:
            log.info("session %s: edits of an older step did not land in time", live.id)
        latest = await sessions.load(self.data, live.id) if waited else None
        if latest is not None and latest.state.version != live.state.version:
            return None
        return pending

    async def _older_landed(self, live: Live, unsure: dict[int, int]) -> set[int]:
        """After our edits went without waiting: the phones where the older edit landed
        after all, possibly over ours (we have not marked ours yet, so `landed` rising
        to its revision is that edit's doing)."""
        landed: set[int] = set()
        for _ in range(EDIT_WAIT_POLLS):
            noted = {card.user_id: card for card in await sessions.cards(self.data, live.id)}
            landed |= {
                user_id
                for user_id, older in unsure.items()
                if (card := noted.get(user_id)) is not None and card.landed >= older
            }
            if landed >= set(unsure):
                break
            await asyncio.sleep(EDIT_WAIT_POLL)
        return landed

    async def _settle(
        self,
        live: Live,
        claimed: Sequence[CardRecord],
        unsure: dict[int, int],
        *,
        then: Callable[[], DeliveryNote | None] | None = None,
    ) -> Written | None:
        """Mark this transition's edits landed, and show the cards again as the session
        is now where a newer edit may have landed before ours: one that went without
        waiting for ours (it finished before we marked ours), or one we went ahead of
        (`unsure`: the older edit landed after we sent ours). An edit of these that
        Telegram did not answer is tried again in the next round.

        `then` makes the transition's delivery note, written down in the same trip as
        the landing when no card needs showing again: it comes back with its leftovers.
        None: it was not written, the caller writes it."""
        revision = live.record.revision
        messages = {card.user_id: card.message_id for card in claimed}
        again = await self._older_landed(live, unsure) if unsure else set()

        def overtaken_of(cards: Sequence[CardRecord]) -> list[int]:
            return [
                card.user_id
                for card in cards
                if card.message_id == messages.get(card.user_id)
                and (card.user_id in again or revision < card.shows <= card.landed)
            ]

        # Made now, not before the edits went: its instants (a retry's backoff) count
        # from here.
        note = None if then is None else then()
        for round_ in range(SETTLE_ROUNDS + 1):
            cards, written = await sessions.edits_landed(
                self.data,
                live.id,
                revision,
                list(messages),
                settled=lambda cards: not overtaken_of(cards),
                then=note if round_ == 0 else None,
            )
            overtaken = overtaken_of(cards)
            if not overtaken:
                return None if written is None else (note, written)
            if round_ == SETTLE_ROUNDS:
                break
            latest, reclaimed = await sessions.claim_latest(self.data, live.id, overtaken)
            if latest is None:
                return None
            missed = await self.runner.show_latest(latest, reclaimed)
            again = {card.user_id for card in missed}
            live, revision = latest, latest.record.revision
            messages = {card.user_id: card.message_id for card in reclaimed}
        log.warning("session %s: its cards kept changing while they were edited", live.id)
        return None

    async def _alert_missed(self, live: Live, helper: Seat, why: Undelivered, failed: int) -> None:
        """An Ease off alert Telegram did not take: try again, or pause for both when the
        helper cannot be reached, so nobody keeps pressing on a partner who asked."""
        if why is Undelivered.UNREACHABLE:
            await self._pause_for_unreachable(live, helper)
            return
        retry = alert_retry(live.id, live.state.version, failed, self.data.clock.now())
        if retry is None:
            log.warning("session %s: gave up on an Ease off alert", live.id)
            return
        await timer_claims.arm(self.data, retry)
        self._wake(retry.due_at)

    async def _retry_alert(self, timer: TimerRecord) -> None:
        """Send the Ease off alert again, if its hold still runs."""
        live = await sessions.load(self.data, timer.session_id)
        if (
            live is not None
            and live.state.phase is Phase.HOLDING
            and live.state.version == timer.version
        ):
            helper = live.state.step.helper
            alert = await self.runner.alert_helper(live, helper)
            if isinstance(alert, LeftoverRecord):
                # The helper's next card takes it away.
                await sessions.leave_behind(self.data, [alert])
            else:
                await self._alert_missed(live, helper, alert, timer.attempt)
        # The row goes unless the miss above armed the next try in its place.
        await timer_claims.finish(self.data, timer)

    async def _show_owed(self, owed: sessions.OwedCards, attempt: int) -> None:
        """The cards the outbox holds: a retry, a hold's cards at its start, a lobby card
        for someone who just opened the chat. Those edited in place were claimed."""
        live = owed.live
        assert live is not None
        claimed = [card for card in owed.cards if card.user_id in owed.claimed]
        unsure = await self._after_older_edits(live, claimed)
        if unsure is None:
            # The session moved on while this waited: a newer step owes its own cards.
            await self._settle(live, claimed, {})
            return
        delivery = await self.runner.show_cards(
            live, owed.seats, current=owed.cards, streak=await self._streak(live)
        )
        written = None
        if claimed:
            written = await self._settle(
                live, claimed, unsure, then=lambda: self._delivery_note(live, delivery, attempt)
            )
        await self._delivered(live, delivery, attempt, written)

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
        if not (remaining and live.state.is_over):
            return
        retry = tidy_retry(live.id, live.state.version, attempt, self.data.clock.now())
        if retry is None:
            log.warning(
                "session %s: %s old cards stay until the next start", live.id, len(remaining)
            )
            return
        await timer_claims.arm(self.data, retry)
        self._wake(retry.due_at)

    async def tidy_again(self, session_id: int, attempt: int) -> None:
        """A session's old cards that Telegram did not delete, tried again (try number
        `attempt`, from 0 at start-up)."""
        live = await sessions.load(self.data, session_id)
        if live is None:
            return
        await self._tidy(live, await sessions.take_leftovers(self.data, live.id), attempt)

    async def _retry_tidy(self, timer: TimerRecord) -> None:
        await self.tidy_again(timer.session_id, timer.attempt)
        # The row goes unless a delete that failed again armed the next try in its place.
        await timer_claims.finish(self.data, timer)

    async def _streak(self, live: Live) -> int:
        """The pair's streak, read only for the summary of a session they stretched in."""
        if not (live.state.is_over and live.stretched):
            return 0
        return await sessions.streak(self.data, live)

    def _delivery_note(self, live: Live, delivery: Delivery, attempt: int) -> DeliveryNote | None:
        """What Telegram did with the cards, to write down (None: no card was tried)."""
        return sessions.delivery_note(
            self.data,
            live.id,
            delivery.version,
            list(delivery.shown),
            [live.state.user_of(seat) for seat in delivery.unreachable],
            failed_attempt=attempt if delivery.failed else None,
        )

    async def _delivered(
        self, live: Live, delivery: Delivery, attempt: int, written: Written | None = None
    ) -> None:
        """Write down what Telegram did with the cards (unless it was, with the edits'
        landing: `written`), then decide what follows."""
        # Noted and the retry set in one transaction: a retry that read a card as still
        # owed while its send was being noted would send it twice.
        if written is None:
            note = self._delivery_note(live, delivery, attempt)
            leftovers = []
            if note is not None:
                leftovers = await sessions.write_delivery(self.data, live.id, note)
        else:
            note, leftovers = written
        retry = None if note is None else note.retry
        if retry is not None:
            self._wake(retry.due_at)
        elif delivery.failed:
            log.warning("session %s: giving up on its cards until the next start", live.id)
        # Only now, with every new card out, do the old ones go: a delete never holds
        # up a card, and a phone is never left with no card at all.
        await self._tidy(live, leftovers)
        if not delivery.unreachable or live.state.is_over:
            return
        seat = delivery.unreachable[0]
        if live.state.phase in (Phase.LOBBY, Phase.SAFETY):
            # Nothing runs yet to pause: the session waits, as in the lobby.
            link = open_chat_link(self.data.bot_username)
            waiting = await self.runner.lobby_unreachable(live, seat, link)
            await sessions.leave_behind(self.data, [] if waiting is None else [waiting])
        else:
            await self._pause_for_unreachable(live, seat)

    async def _pause_for_unreachable(self, live: Live, seat: Seat) -> None:
        """A partner who blocked the bot can't follow along: pause, tell the other one."""
        event = Pause(user_id=live.state.user_of(seat), version=live.state.version)
        try:
            # The note below stands in for the paused cards: no card is edited.
            applied = await sessions.apply(self.data, live.id, event, claim_edits=False)
        except (EventRefused, sessions.SessionMissing):
            return  # already paused or moved on, or the pair ended meanwhile
        # The other partner gets a note with Resume instead of the paused card: it is
        # their card now, and the one before goes.
        self._wake(applied.wake_at)
        note = await self.runner.paused_for_unreachable(applied.live, seat)
        await self._noted(applied.live, [] if note is None else [note])

    # -- a timer this worker claimed ------------------------------------------------------
    async def carry_out(self, timer: TimerRecord) -> None:
        """Do what a claimed timer is for, then move its row on or let it go."""
        if timer.lane == Lane.STEP:
            await self._step_ends(timer)
        elif timer.lane == Lane.TICK:
            await self._countdown(timer)
        elif timer.lane == Lane.CARDS:
            await self._retry_cards(timer)
        elif timer.lane == Lane.ALERT:
            await self._retry_alert(timer)
        elif timer.lane == Lane.TIDY:
            await self._retry_tidy(timer)
        else:
            log.warning("session %s: a timer in an unknown lane %r", timer.session_id, timer.lane)
            await timer_claims.finish(self.data, timer)

    async def _step_ends(self, timer: TimerRecord) -> None:
        """A hold, switch or idle limit ran out."""
        event = timer_event(timer, self.data.clock.now())
        try:
            applied = await sessions.apply(self.data, timer.session_id, event)
        except (sessions.SessionMissing, EventRefused):
            await timer_claims.finish(self.data, timer)
            return
        if not any(isinstance(e, ArmTimer | CancelTimer) for e in applied.effects):
            # A stale timer changed nothing; a transition that did rewrote the lane.
            await timer_claims.finish(self.data, timer)
        await self.follow(applied)

    async def _retry_cards(self, timer: TimerRecord) -> None:
        """Send what the session still owes, unless its step is over (then nothing): a
        retry, or a hold's cards at its start."""
        owed = await sessions.owed_cards(self.data, timer.session_id, timer.version)
        if owed.live is None or owed.live.state.version != timer.version or not owed.seats:
            await timer_claims.finish(self.data, timer)
            return
        await self._show_owed(owed, timer.attempt)

    async def _countdown(self, tick: TimerRecord) -> None:
        """Edit both hold cards with the time left, then set the next tick."""
        live, cards = await sessions.load_with_cards(self.data, tick.session_id)
        if (
            live is None
            or live.state.version != tick.version
            or live.state.phase is not Phase.HOLDING
            or live.state.deadline is None
            # Found after its hold ended (a worker died holding it): the next card says more.
            or live.state.deadline <= self.data.clock.now()
        ):
            await timer_claims.finish(self.data, tick)
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
            await timer_claims.finish(self.data, tick)
            return
        if missed:
            # A cue must not be lost to one failed edit: a tick soon shows it again.
            tick = replace(tick, later=catch_up(live.state, self.data.clock.now(), tick.later))
        following = next_tick(tick)
        await timer_claims.move_on(self.data, tick, following)
        self._wake(None if following is None else following.due_at)

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
            await self._show_owed(sessions.OwedCards(live, (seat,)), attempt=0)

    async def recover(self) -> list[int]:
        """At start-up: make the timers table whole and re-arm the live sessions that
        have no step timer in it (those of an older version of the bot), pausing holds
        that ran out, and take old cards that a delete did not reach off the phones.
        What the table holds is carried out by the poller, which start-up runs once
        before taking updates. The sessions re-armed come back."""
        single = self.data.db.dialect == "sqlite"
        unarmed = await timer_claims.prepare_start(self.data, single_process=single)
        for session_id in unarmed:
            try:
                await self._recover_one(session_id)
            except Exception:
                # One session Telegram or its data fails for must neither stop the others
                # from being re-armed nor keep the bot from starting.
                log.exception("could not recover session %s", session_id)
        for session_id in await sessions.sessions_with_leftovers(self.data):
            try:
                await self.tidy_again(session_id, 0)
            except Exception:
                log.exception("could not tidy the old cards of session %s", session_id)
        return unarmed

    async def _recover_one(self, session_id: int) -> None:
        live = await sessions.load(self.data, session_id)
        if live is None:
            return
        recover = Recover(version=live.state.version)
        applied = await sessions.apply(self.data, session_id, recover)
        if applied.effects:
            await self.follow(applied)


def flow_for(context: Context) -> SessionFlow:
    return SessionFlow(context.bot, context.bot_data)
