"""Sessions as units of work: load, let the engine decide, save, hand back the effects."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.live_session import Applied, Live, edited_in_place, touches_cards
from bot.services import history
from bot.services.resources import Resources
from bot.session_timers import Lane, cards_at, cards_held, cards_retry, shown_from, timers_of
from routines.engine import (
    Acknowledge,
    ArmTimer,
    CancelTimer,
    Effect,
    EndReason,
    Event,
    Finished,
    SessionState,
    ShowResumed,
    ShowStep,
    Transition,
    advance,
    new_session,
    opening_effects,
)
from routines.pair_settings import FirstReceiver, first_receiver
from routines.plan import PlanOptions, Seat, SwapMode
from routines.snapshot import from_snapshot, to_snapshot
from storage.records import (
    CardRecord,
    DeliveryNote,
    LeftoverRecord,
    OwedCardRecord,
    PairRecord,
    ResultRow,
    SessionChange,
    SessionRecord,
    TimerRecord,
    UserRecord,
)
from storage.session_start import Opening, StartRead
from storage.session_steps import Settled, StepWrite

log = logging.getLogger(__name__)

# Compare-and-set retries: a lost race re-reads and re-decides; more than a handful in a
# row would mean something else is wrong.
_ATTEMPTS = 5


class SessionMissing(Exception):
    """A button or timer names a session that does not exist (forged or deleted)."""


class AlreadyInSession(Exception):
    """`user_id` (the starter, or the partner they asked) is in the live session `record`."""

    def __init__(self, record: SessionRecord, user_id: int) -> None:
        super().__init__(record.id)
        self.record = record
        self.user_id = user_id


def _change(state: SessionState) -> SessionChange:
    return SessionChange(
        phase=state.phase.value,
        live=not state.is_over,
        version=state.version,
        deadline=state.deadline,
        state=to_snapshot(state),
    )


def owed_seats(state: SessionState, effects: tuple[Effect, ...]) -> tuple[Seat, ...]:
    """The phones that get a new message for this state: a step card, or the summary."""
    if any(isinstance(e, ShowResumed | Finished) for e in effects):
        # Resuming shows the step again as a new message (it makes a sound); the end
        # brings the summary to both phones.
        return tuple(Seat)
    return tuple(e.seat for e in effects if isinstance(e, ShowStep))


@dataclass(frozen=True, slots=True)
class _Arming:
    """The timer rows a transition writes, in the transaction that saves it."""

    drop: tuple[str, ...]
    timers: tuple[TimerRecord, ...]
    wake_at: datetime | None  # the first instant armed, for this worker to wake at
    later: bool  # the owed cards wait for their row (a hold's, at its start)


def _arming(
    data: Resources,
    session_id: int,
    state: SessionState,
    effects: tuple[Effect, ...],
    owed: tuple[Seat, ...],
    now: datetime,
) -> _Arming:
    """Cards owed get a row held by this worker while it sends them: if it dies before
    Telegram took them, another worker sends them once the hold is over. Cards shown
    later (a hold's, at its start) get a row due then, for any worker, and the outbox
    holds them till then."""
    plan = timers_of(session_id, state, effects, now)
    armed = list(plan.arm)
    later = shown_from(state, now) if owed else None
    if later is not None:
        armed.append(cards_at(session_id, state.version, later))
    held = [cards_held(session_id, state.version, now, data.worker_id)] if owed else []
    return _Arming(
        tuple(plan.drop),
        tuple(armed if later is not None else armed + held),
        min((timer.due_at for timer in armed), default=None),
        later is not None,
    )


def _safety_due(partners: tuple[int, int], users: dict[int, UserRecord]) -> frozenset[Seat]:
    """The seats whose person never tapped Got it under the safety note: their first
    session (ever, with any partner) shows it before the first setup."""
    return frozenset(
        seat
        for seat in Seat
        if partners[seat] not in users or users[partners[seat]].safety_acknowledged_at is None
    )


def _live(data: Resources, record: SessionRecord) -> Live:
    """The engine's view of a stored session; names and zone were kept when it began."""
    plan = data.plan(record.routine_id, PlanOptions.from_dict(record.options["plan"]))
    first, second = record.options["names"]
    return Live(record, from_snapshot(record.state, plan), (first, second), record.options["zone"])


@dataclass
class _Opener:
    """Opens the lobby from the rows the start read, inside its unit (it is pure); keeps
    what it decided for the caller."""

    data: Resources
    pair: PairRecord
    starter_id: int
    routine_id: str
    origin_chat_id: int
    now: datetime
    state: SessionState | None = None
    effects: tuple[Effect, ...] = ()
    owed: tuple[Seat, ...] = ()
    wake_at: datetime | None = None

    def __call__(self, read: StartRead) -> Opening:
        starter_id, data, now = self.starter_id, self.data, self.now
        partner_id = self.pair.partner_of(starter_id)
        for user_id in (starter_id, partner_id):
            busy = read.busy.get(user_id)
            if busy is not None:
                raise AlreadyInSession(busy, user_id)
        # The settings as they are now (a tap in /settings may have come after the
        # caller read the pair); taking turns also needs the last session's first.
        pair = read.pair or self.pair
        first = first_receiver(
            FirstReceiver(pair.first_receiver), starter_id, partner_id, pair.last_first_id
        )
        # The starter always sits in seat A (they joined by asking); who is stretched
        # first is the plan's choice of seat.
        options = PlanOptions(
            first_receiver=Seat.A if first == starter_id else Seat.B,
            swap_mode=SwapMode(pair.swap_mode),
        )
        plan = data.plan(self.routine_id, options)
        state = new_session(
            (starter_id, partner_id),
            plan,
            now,
            time_scale=data.settings.session_time_scale,
            joined=frozenset({Seat.A}) if self.origin_chat_id > 0 else frozenset(),
            safety_due=_safety_due((starter_id, partner_id), read.users),
        )
        # Names and zone are kept with the session: every tap reads them, none changes them.
        # Both rows exist: the pair is active, and /forget ends a user's pairs in the
        # transaction that deletes the user, under the same row locks this start holds.
        names = [read.users[u].first_name for u in state.partners]
        self.state = state
        self.effects = opening_effects(state)
        self.owed = owed_seats(state, self.effects)
        return Opening(
            pair_id=pair.id,
            routine_id=self.routine_id,
            seats=(starter_id, partner_id),
            origin_chat_id=self.origin_chat_id,
            options={"plan": options.to_dict(), "names": names, "zone": pair.timezone},
            change=_change(state),
            first_id=first,
            write=self._write,
        )

    def _write(self, session_id: int) -> StepWrite:
        state = self.state
        assert state is not None
        arming = _arming(self.data, session_id, state, self.effects, self.owed, self.now)
        self.wake_at = arming.wake_at
        return StepWrite(
            None,
            owed=[state.user_of(seat) for seat in self.owed],
            owed_kind=state.phase.value,
            drop_lanes=arming.drop,
            timers=arming.timers,
        )


async def start(
    data: Resources,
    *,
    pair: PairRecord,
    starter_id: int,
    routine_id: str,
    origin_chat_id: int,
) -> Applied:
    """Open a lobby for the pair; from private, the starter has joined by asking.

    Two /stretch at once for the same people never open two lobbies: the start holds
    both people's rows while it checks that neither is in a live session."""
    now = data.clock.now()
    opener = _Opener(data, pair, starter_id, routine_id, origin_chat_id, now)
    people = (starter_id, pair.partner_of(starter_id))
    record = await data.db.starts.start(pair.id, people, opener, now)
    return Applied(_live(data, record), opener.effects, opener.owed, opener.wake_at)


async def load(data: Resources, session_id: int) -> Live | None:
    record = await data.db.steps.read(session_id)
    return None if record is None else _live(data, record)


async def live_of_user(data: Resources, user_id: int) -> SessionRecord | None:
    async with data.db.unit() as unit:
        return await unit.sessions.live_of_user(user_id)


async def check(data: Resources, session_id: int, event: Event) -> Live:
    """The session if the engine would take `event` now; nothing is saved.

    For a question asked before an event (Stop asks first): the same refusals as `apply`
    (EventRefused, SessionMissing), so a stale or forged button is turned down alike.
    """
    live = await load(data, session_id)
    if live is None:
        raise SessionMissing(session_id)
    advance(live.state, event, data.clock.now())
    return live


@dataclass
class _Decision:
    """What the engine made of the row read inside the unit, for the caller."""

    live: Live
    transition: Transition
    owed: tuple[Seat, ...] = ()
    wake_at: datetime | None = None


def _step_write(
    data: Resources, event: Event, record: SessionRecord, now: datetime, claim_edits: bool
) -> tuple[_Decision, StepWrite | None]:
    """The engine's answer to `event` for the session as read, and what it writes."""
    live = _live(data, record)
    transition = advance(live.state, event, now)
    effects = transition.effects
    if transition.state is live.state:
        # Nothing to save (a stale timer, or Recover re-arming a running hold), but the
        # effects, if any, still have to be carried out.
        if not any(isinstance(e, ArmTimer | CancelTimer) for e in effects):
            return _Decision(live, transition), None
        arming = _arming(data, record.id, live.state, effects, (), now)
        return _Decision(live, transition, wake_at=arming.wake_at), StepWrite(
            None, drop_lanes=arming.drop, timers=arming.timers
        )
    state = transition.state
    owed = owed_seats(state, effects)
    arming = _arming(data, record.id, state, effects, owed, now)
    now_owed = () if arming.later else owed
    acknowledged = event.user_id if isinstance(event, Acknowledge) else None
    finished = any(isinstance(effect, Finished) for effect in effects)
    write = StepWrite(
        _change(state),
        owed=[state.user_of(seat) for seat in owed],
        owed_kind=state.phase.value,
        drop_lanes=arming.drop,
        timers=arming.timers,
        # In the transaction that saves the Got it: never shown to them again.
        acknowledged=acknowledged,
        result=_result(live, state, now) if finished else None,
        # Claimed with the save: saves are serialized on the session row, so the claims
        # of two racing transitions are in the order of their revisions.
        claim=_EditsInPlace(state, effects, now_owed, claim_edits)
        if touches_cards(effects, now_owed)
        else None,
    )
    return _Decision(live, transition, now_owed, arming.wake_at), write


@dataclass(frozen=True)
class _EditsInPlace:
    """Which of the phones' cards this transition edits in place (claimed for it, when
    `claim` is set); runs inside the unit, on the cards as read there."""

    state: SessionState
    effects: tuple[Effect, ...]
    owed: tuple[Seat, ...]
    claim: bool

    def __call__(self, cards: Sequence[CardRecord]) -> list[int]:
        if not self.claim:
            return []
        return [
            card.user_id
            for card in cards
            if edited_in_place(card, self.state, self.effects, self.owed)
        ]


@dataclass
class _Decider:
    """The engine, called inside the unit between its read and its writes (it is pure);
    keeps what it decided for the caller."""

    data: Resources
    event: Event
    now: datetime
    claim_edits: bool
    decision: _Decision | None = None

    def __call__(self, record: SessionRecord) -> StepWrite | None:
        self.decision, write = _step_write(
            self.data, self.event, record, self.now, self.claim_edits
        )
        return write


async def apply(
    data: Resources, session_id: int, event: Event, *, claim_edits: bool = True
) -> Applied:
    """Run one event through the engine and save the result before anything is sent.

    Raises EventRefused (with the reason to show) when the event changes nothing. The
    cards the transition edits in place are claimed for it (`claim_edits`), and whoever
    carries it out marks them landed (bot/session_flow.py): without that, the next edit
    of those cards would wait for one that never comes.
    """
    for _ in range(_ATTEMPTS):
        now = data.clock.now()
        decider = _Decider(data, event, now, claim_edits)
        outcome = await data.db.steps.step(session_id, decider, now)
        if outcome.record is None:
            raise SessionMissing(session_id)
        decision = decider.decision
        assert decision is not None
        live, transition = decision.live, decision.transition
        if outcome.write is None or outcome.write.change is None:
            return Applied(live, transition.effects, wake_at=decision.wake_at)
        if not outcome.saved:
            continue  # another writer came first: read again, decide again
        change = outcome.write.change
        saved = replace(
            outcome.record,
            phase=change.phase,
            live=change.live,
            version=change.version,
            revision=outcome.record.revision + 1,
            deadline=change.deadline,
            state=change.state,
        )
        return Applied(
            replace(live, record=saved, state=transition.state),
            transition.effects,
            decision.owed,
            decision.wake_at,
            outcome.cards,
            outcome.claimed,
        )
    raise RuntimeError(f"session {session_id}: too many concurrent writers")


def _result(live: Live, state: SessionState, now: datetime) -> ResultRow | None:
    if state.started_at is None:
        return None  # called off in the lobby: nothing was stretched, nothing to remember
    return ResultRow(
        pair_id=live.record.pair_id,
        routine_id=live.record.routine_id,
        end_reason=(state.end_reason or EndReason.STOPPED).value,
        holds_done=state.holds_done,
        exercises_done=state.exercises_done,
        seconds_stretched=round(state.held_seconds),
        local_date=now.astimezone(ZoneInfo(live.timezone)).date(),
        ended_at=now,
    )


async def streak(data: Resources, live: Live) -> int:
    """The pair's current streak, by the one rule /streak uses too."""
    try:
        streaks = await history.streak_of(data, live.record.pair_id, data.clock.now())
    except history.HistoryRefused:
        return 0  # the pair ended while the session ran
    return streaks.current


async def note_cards(
    data: Resources, session_id: int, cards: list[CardRecord]
) -> list[LeftoverRecord]:
    """Remember the message each phone shows now, so a countdown edits it; hand back
    what those phones should no longer keep (the cards replaced, older leftovers).

    The leftovers of earlier deletes that failed are taken out of the table here (the
    caller writes back the ones that fail again): kept out of the table on the way that
    works, so a step costs no extra write; a crash between this commit and the deletes
    leaves an old card whose buttons are answered "out of date"."""
    if not cards:
        return []
    return await data.db.steps.note_cards(session_id, cards)


def delivery_note(
    data: Resources,
    session_id: int,
    version: int,
    shown: list[CardRecord],
    unreachable: list[int],
    *,
    failed_attempt: int | None = None,
) -> DeliveryNote | None:
    """What Telegram did with the cards of `version`, to write down (`write_delivery`);
    None when no card was tried (a transition that owes none: the cards' row, if any, is
    another delivery's, and a retry set for this step's cards must stay). Cards that
    merely failed stay owed: with `failed_attempt` (the tries so far) the note carries
    their retry after a backoff (None when the tries are used up: the next start tries
    again)."""
    if not shown and not unreachable and failed_attempt is None:
        return None
    now = data.clock.now()
    retry = (
        None if failed_attempt is None else cards_retry(session_id, version, failed_attempt, now)
    )
    return DeliveryNote(version, shown, unreachable, retry, Lane.CARDS, now)


async def write_delivery(
    data: Resources, session_id: int, note: DeliveryNote
) -> list[LeftoverRecord]:
    """Write `note` down, in one transaction: a card Telegram accepted is noted (a
    countdown edits it) and leaves the outbox; a person Telegram refused is marked
    unreachable and is owed nothing more; the cards' row is set to the retry, or goes.
    What the phones shown a card should no longer keep comes back: the card each
    replaced, and any leftover not deleted yet (see `note_cards`)."""
    return await data.db.steps.delivered(
        session_id,
        note.version,
        note.shown,
        note.unreachable,
        note.retry,
        note.cards_lane,
        note.now,
    )


async def leave_behind(data: Resources, leftovers: list[LeftoverRecord]) -> None:
    """Messages a phone should lose with its next card: a note, an alert, an old card
    whose delete Telegram did not answer."""
    if leftovers:
        await data.db.steps.leave_behind(leftovers)


async def take_leftovers(data: Resources, session_id: int) -> list[LeftoverRecord]:
    """A session's leftovers, out of the table: the caller deletes them and writes back
    the ones that fail again."""
    async with data.db.unit() as unit:
        leftovers = await unit.sessions.leftovers(session_id)
        await unit.sessions.drop_leftovers(leftovers)
        await unit.commit()
    return leftovers


async def sessions_with_leftovers(data: Resources) -> list[int]:
    async with data.db.unit(read_only=True) as unit:
        return await unit.sessions.sessions_with_leftovers()


async def owed_cards(data: Resources, session_id: int, version: int | None = None) -> OwedCards:
    """A session, the seats still owed the card of its current version, the cards the
    phones show, and which of those the owed cards edit in place: claimed for it (see
    `apply`), when the session is still at `version` (any, if None)."""
    chooser = _OwedEdits(data)
    found = await data.db.steps.owed(session_id, version, chooser)
    if found.record is None:
        return OwedCards(None)
    live = chooser.live if chooser.live is not None else _live(data, found.record)
    seats = _seats_of(live, found.owed)
    return OwedCards(live, seats, found.cards, found.claimed)


def _seats_of(live: Live, user_ids: Sequence[int]) -> tuple[Seat, ...]:
    return tuple(
        seat for seat in (live.state.seat_of(user_id) for user_id in user_ids) if seat is not None
    )


@dataclass
class _OwedEdits:
    """Which phones' cards the owed cards edit in place, decided inside the unit on the
    session as read there (it is pure); keeps the session for the caller."""

    data: Resources
    live: Live | None = None

    def __call__(
        self, record: SessionRecord, owed: Sequence[int], cards: Sequence[CardRecord]
    ) -> list[int]:
        self.live = live = _live(self.data, record)
        seats = _seats_of(live, owed)
        if not seats:
            return []
        return [card.user_id for card in cards if edited_in_place(card, live.state, (), seats)]


@dataclass(frozen=True, slots=True)
class OwedCards:
    """What `owed_cards` found."""

    live: Live | None
    seats: tuple[Seat, ...] = ()
    cards: tuple[CardRecord, ...] = ()
    claimed: tuple[int, ...] = ()


async def sessions_owing_cards(data: Resources) -> list[int]:
    """Every session with a card still owed for its current version (start-up)."""
    async with data.db.unit(read_only=True) as unit:
        owed: list[OwedCardRecord] = await unit.outbox.owed()
    return sorted({card.session_id for card in owed})


async def load_with_cards(
    data: Resources, session_id: int
) -> tuple[Live | None, list[CardRecord]]:
    """A session and the message each phone shows, read together (countdowns)."""
    record, cards = await data.db.steps.read_with_cards(session_id)
    return (None if record is None else _live(data, record)), cards


async def cards(data: Resources, session_id: int) -> list[CardRecord]:
    return await data.db.steps.cards(session_id)


async def claim_latest(
    data: Resources, session_id: int, user_ids: list[int]
) -> tuple[Live | None, list[CardRecord]]:
    """The session as it is now, and these phones' cards claimed for an edit that shows
    it (those an edit of a newer revision claimed meanwhile are left to that edit)."""
    record, claimed = await data.db.steps.claim_latest(session_id, user_ids)
    if record is None:
        return None, []
    return _live(data, record), claimed


async def edits_landed(
    data: Resources,
    session_id: int,
    revision: int,
    user_ids: list[int],
    *,
    settled: Settled = lambda _cards: False,
    then: DeliveryNote | None = None,
) -> tuple[list[CardRecord], list[LeftoverRecord] | None]:
    """The edits claimed for `revision` on these phones' cards are done: the cards as
    they are now come back. With `then`, and when `settled` says those cards need no
    newer edit, `then` is written down in the same trip (as `write_delivery` would) and
    its leftovers come back too (else None: nothing more was written)."""
    if then is None:
        return await data.db.steps.edits_landed(session_id, revision, user_ids), None
    return await data.db.steps.landed_then_delivered(session_id, revision, user_ids, settled, then)


async def live_sessions(data: Resources) -> list[int]:
    async with data.db.unit() as unit:
        return [record.id for record in await unit.sessions.live()]


async def rate(data: Resources, session_id: int, user_id: int, rating: int) -> bool:
    """Store a partner's 1-5 answer; False when the session or the person doesn't fit."""
    async with data.db.unit() as unit:
        record = await unit.sessions.get(session_id)
        result = await unit.results.of_session(session_id)
        if record is None or result is None or user_id not in record.seats:
            return False
        await unit.results.rate(result.id, user_id, rating, data.clock.now())
        await unit.commit()
    return True
