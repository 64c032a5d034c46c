"""A session as the service hands it to the runner: the stored row, the engine's state and
the partners' names, plus what a saved transition left to do.

It lives apart from the service so that the runner, which talks to Telegram, can take it
without importing the service (the runner reports back; it never calls the service).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from routines.engine import Effect, MarkReady, Phase, SessionState, ShowPaused
from routines.plan import Seat
from storage.records import CardRecord, SessionRecord


@dataclass(frozen=True, slots=True)
class Live:
    """A session as the runner needs it: the row, the engine state, the two names."""

    record: SessionRecord
    state: SessionState
    names: tuple[str, str]
    timezone: str

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def in_group(self) -> bool:
        return self.record.origin_chat_id < 0

    @property
    def stretched(self) -> bool:
        """At least one hold ran to its end: however the session ended (completed,
        stopped, left idle), its summary shows that work, the streak and a rating."""
        return self.state.holds_done > 0

    def name_of(self, seat: Seat) -> str:
        return self.names[seat]


def touches_cards(effects: tuple[Effect, ...], owed: tuple[Seat, ...]) -> bool:
    """Whether a transition changes the cards the phones show now: a pause or a Ready
    edits them, a new card replaces them (and a hold may be its setup card, edited)."""
    return bool(owed) or any(isinstance(effect, ShowPaused | MarkReady) for effect in effects)


def edited_into_hold(card: CardRecord | None, state: SessionState) -> CardRecord | None:
    """The card a hold turns into itself, if the phone shows it: the setup card both
    tapped Ready on, the switch card of the side before, or the hold's own card asked
    for again before the hold started. None: a new message."""
    if card is None or state.phase is not Phase.HOLDING:
        return None
    if (
        card.kind in (Phase.SETUP.value, Phase.SWITCHING.value)
        and card.version == state.version - 1
    ) or (card.kind == Phase.HOLDING.value and card.version == state.version):
        return card
    return None


def edited_in_place(
    card: CardRecord, state: SessionState, effects: tuple[Effect, ...], owed: tuple[Seat, ...]
) -> bool:
    """Whether carrying out a transition to `state` edits this card where it is: a pause
    edits every card, a Ready the setup cards, a hold the card it turns into itself."""
    if any(isinstance(effect, ShowPaused) for effect in effects):
        return True
    if any(isinstance(effect, MarkReady) for effect in effects):
        return card.kind == Phase.SETUP.value and card.version == state.version
    seat = state.seat_of(card.user_id)
    return seat in owed and edited_into_hold(card, state) is not None


@dataclass(frozen=True, slots=True)
class Applied:
    """A saved transition: its effects, the seats owed a new card (in the outbox), the
    first timer instant it wrote (this worker wakes its poller then), the cards the
    phones showed when it was saved, and the phones whose card it edits in place (their
    edits were claimed in the transaction that saved it)."""

    live: Live
    effects: tuple[Effect, ...]
    owed: tuple[Seat, ...] = ()
    wake_at: datetime | None = None
    cards: tuple[CardRecord, ...] = ()
    claimed: tuple[int, ...] = ()
