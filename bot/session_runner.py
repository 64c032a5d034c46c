"""Carries out a session's effects on Telegram and reports what happened.

State is saved before this runs (see bot/services/sessions.py), together with the card
each phone is owed (the outbox). The runner only talks to Telegram: it sends and edits,
and hands back which cards Telegram accepted, which people it refused and which calls
failed. Its caller (bot/session_flow.py) writes that down through the service, sets a
retry for what failed and decides what follows (a pause for a partner it cannot reach),
so neither a failed call nor a crash here loses a step.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.clock import Clock
from bot.delivery import Undelivered, is_not_modified, offer_private, send_private
from bot.live_session import Applied, Live, edited_into_hold
from bot.render import safety as render_safety
from bot.render import session as render
from routines.engine import AlertHelper, MarkReady, Phase, PostToGroup, ShowPaused
from routines.model import Routine
from routines.plan import Seat
from storage.records import CardRecord, LeftoverRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Delivery:
    """What Telegram did with the cards of one session version.

    `shown`: the messages it accepted (a countdown edits them); `unreachable`: the seats
    whose person it refused (blocked the bot, or never opened a chat); `failed`: the
    seats whose send may go through on a later try (500, timeout, dropped connection).
    """

    version: int
    shown: tuple[CardRecord, ...] = ()
    unreachable: tuple[Seat, ...] = ()
    failed: tuple[Seat, ...] = ()


@dataclass(frozen=True, slots=True)
class Outcome:
    """What carrying out a transition did: its cards, paused cards sent anew, and
    messages that are not cards (an alert) for the phone's next card to take away."""

    delivery: Delivery
    paused_cards: tuple[CardRecord, ...] = ()
    left: tuple[LeftoverRecord, ...] = ()
    # An Ease off alert Telegram did not take: to whom, and whether to try again.
    alert_missed: tuple[Seat, Undelivered] | None = None


def safety_card_for(live: Live, seat: Seat) -> tuple[str, InlineKeyboardMarkup]:
    """The safety note for a partner who owes its Got it; the other one waits."""
    state = live.state
    if seat in state.safety_due:
        return render_safety.safety_card(live.id, state.version)
    return render_safety.waiting_card(live.id, state.version, live.name_of(seat.other))


class Runner:
    """One per update or job: the bot, the clock, and the routines for the lobby card."""

    def __init__(self, bot: Bot, clock: Clock, library: Mapping[str, Routine]) -> None:
        self.bot = bot
        self.clock = clock
        self.library = library

    # -- the effects --------------------------------------------------------------------
    async def carry_out(
        self, applied: Applied, *, cards: Sequence[CardRecord] = (), streak: int = 0
    ) -> Outcome:
        """Everything a saved transition owes the phones and the group; timers aside.

        `cards` are the messages the phones show now (a pause or a Ready edits them, a
        hold turns the setup card into itself), `streak` the pair's streak for a summary.
        """
        live = applied.live
        paused: tuple[CardRecord, ...] = ()
        missed: tuple[Seat, Undelivered] | None = None
        left: list[LeftoverRecord] = []
        for effect in applied.effects:
            if isinstance(effect, AlertHelper):
                alert = await self.alert_helper(live, effect.seat)
                if isinstance(alert, LeftoverRecord):
                    left.append(alert)
                else:
                    missed = (effect.seat, alert)
            elif isinstance(effect, ShowPaused):
                paused = await self.show_paused(live, effect.by, cards)
            elif isinstance(effect, MarkReady):
                await self.show_ready(live, cards)
            elif isinstance(effect, PostToGroup) and effect.kind == "end" and live.in_group:
                await self._post_group(live, render.group_end_line(live.names, live.state))
            # PostToGroup("start") needs nothing: the lobby line already told the group,
            # and MarkJoined is answered on the button that was tapped.
        delivery = Delivery(live.state.version)
        if applied.owed:
            delivery = await self.show_cards(live, applied.owed, current=cards, streak=streak)
        return Outcome(delivery, paused, tuple(left), missed)

    async def show_cards(
        self,
        live: Live,
        seats: Sequence[Seat],
        *,
        current: Sequence[CardRecord] = (),
        streak: int = 0,
        again: bool = False,
    ) -> Delivery:
        """The cards the outbox holds for `seats`, on each phone at once.

        A new message rings, which a new setup, a switch and the end call for. A hold
        that follows its setup or its switch card is that card edited, silently: both
        partners just tapped Ready, or are moving to the other side, and are looking.
        `again` (the card asked for once more) is a new message that does not ring.
        `current` are the cards the phones show now. What happened to each is reported,
        not written down.
        """
        now = self.clock.now()
        state = live.state
        summary = self._summary(live, streak) if state.is_over else None
        noted = {card.user_id: card for card in current}

        async def put(seat: Seat) -> int | Undelivered:
            user_id = state.user_of(seat)
            text, markup = summary or self._card(live, seat, now)
            in_place = None if again else edited_into_hold(noted.get(user_id), state)
            return await self._put(user_id, in_place, text, markup, ring=not again)

        outcomes = await asyncio.gather(*(put(seat) for seat in seats))
        version = state.version
        phase = state.phase.value
        return Delivery(
            version=version,
            shown=tuple(
                CardRecord(state.user_of(seat), state.user_of(seat), outcome, version, phase)
                for seat, outcome in zip(seats, outcomes, strict=True)
                if isinstance(outcome, int)
            ),
            unreachable=tuple(
                seat
                for seat, outcome in zip(seats, outcomes, strict=True)
                if outcome is Undelivered.UNREACHABLE
            ),
            failed=tuple(
                seat
                for seat, outcome in zip(seats, outcomes, strict=True)
                if outcome is Undelivered.TRY_AGAIN
            ),
        )

    async def _put(
        self,
        user_id: int,
        in_place: CardRecord | None,
        text: str,
        markup: InlineKeyboardMarkup | None,
        *,
        ring: bool,
    ) -> int | Undelivered:
        """Show a card on one phone: by editing `in_place`, or as a new message; the id
        of the message that shows it, or why it did not arrive."""
        if in_place is not None:
            try:
                await self.bot.edit_message_text(
                    text, in_place.chat_id, in_place.message_id, reply_markup=markup
                )
                return in_place.message_id
            except BadRequest as error:
                if is_not_modified(error):
                    return in_place.message_id
                # The message is gone (the partner deleted it): the card comes anew,
                # as quietly as the edit would have.
                log.info("card %s of %s is gone: %s", in_place.message_id, user_id, error)
                ring = False
            except Forbidden:
                return Undelivered.UNREACHABLE
            except (NetworkError, RetryAfter) as error:
                log.warning("an edit for user %s did not go through: %s", user_id, error)
                return Undelivered.TRY_AGAIN
        outcome = await offer_private(self.bot, user_id, text, markup, silent=not ring)
        return outcome.message_id if isinstance(outcome, Message) else outcome

    async def tidy(self, leftovers: Sequence[LeftoverRecord]) -> list[LeftoverRecord]:
        """Take messages that are no longer a phone's card off the phones, all at once;
        hand back those to try again (Telegram did not answer)."""
        done = await asyncio.gather(*(self._take_away(leftover) for leftover in leftovers))
        return [leftover for leftover, gone in zip(leftovers, done, strict=True) if not gone]

    async def _take_away(self, leftover: LeftoverRecord) -> bool:
        """Delete one message; where Telegram keeps it, strip it to one line without
        buttons. False when it may go on a later try."""
        chat_id, message_id = leftover.chat_id, leftover.message_id
        try:
            await self.bot.delete_message(chat_id, message_id)
            return True
        except BadRequest as error:
            if "not found" in error.message.lower():
                return True  # deleted already, by the partner or by an earlier try
            # Older than 48 hours, or "can't be deleted": Telegram keeps it.
            log.info("message %s in %s stays: %s", message_id, chat_id, error)
        except Forbidden:
            return True  # blocked: the phone is out of reach, and so is the message
        except (NetworkError, RetryAfter) as error:
            log.warning("deleting %s in %s did not go through: %s", message_id, chat_id, error)
            return False
        return await self._edit(chat_id, message_id, render.LEFT_BEHIND, None) or True

    async def lobby_unreachable(self, live: Live, seat: Seat, link: str) -> LeftoverRecord | None:
        """The session waits; from private, the starter gets a link to pass on (which
        their first card takes away).

        From a group, the group's line already carries the button that opens the chat.
        """
        if live.in_group:
            return None
        user_id = live.state.user_of(seat.other)
        message = await self._send(
            user_id, render.cannot_reach_yet(live.name_of(seat), link), None
        )
        if message is None:
            return None
        return LeftoverRecord(live.id, user_id, user_id, message.message_id)

    async def paused_for_unreachable(self, paused: Live, seat: Seat) -> CardRecord | None:
        """Tell the partner of `seat`, whom Telegram refused, why the session paused.

        The note carries Resume, so it is that phone's card now.
        """
        other = seat.other
        user_id = paused.state.user_of(other)
        message = await self._send(
            user_id,
            render.unreachable_pause_note(paused.name_of(seat)),
            render.paused_card(paused.id, paused.state, other, None)[1],
        )
        if message is None:
            return None
        return CardRecord(user_id, user_id, message.message_id, paused.state.version, "paused")

    def _card(self, live: Live, seat: Seat, now: datetime) -> tuple[str, InlineKeyboardMarkup]:
        """The step card of the session's current version for one phone."""
        state = live.state
        if state.phase is Phase.LOBBY:
            routine = self.library[live.record.routine_id]
            return render.lobby_card(live.id, state, routine, live.names[0], not live.in_group)
        if state.phase is Phase.SAFETY:
            return safety_card_for(live, seat)
        if state.phase is Phase.SETUP:
            return render.setup_card(live.id, state, seat, live.names)
        return render.hold_card(live.id, state, seat, now)

    async def show_paused(
        self, live: Live, by: Seat | None, cards: Sequence[CardRecord]
    ) -> tuple[CardRecord, ...]:
        """Turn the card on each phone into the paused card, silently, in place.

        A phone whose card cannot be edited (none noted, or the edit failed) gets the
        paused card as a new message; those messages are returned, so the caller notes
        them as the cards shown now. Otherwise that phone would keep buttons of the
        step before the pause, all of them out of date, and no Resume.
        """
        shown = {card.user_id: card for card in cards}

        async def one(seat: Seat) -> CardRecord | None:
            card = shown.get(live.state.user_of(seat))
            text, markup = self._paused(live, seat, by)
            if card is not None and await self._edit(card.chat_id, card.message_id, text, markup):
                return None
            return await self.send_paused(live, seat)

        fresh = await asyncio.gather(*(one(seat) for seat in Seat))
        return tuple(card for card in fresh if card is not None)

    async def send_paused(self, live: Live, seat: Seat) -> CardRecord | None:
        """The paused card as a new message that does not ring: it stands in for an edit,
        or was asked for again."""
        user_id = live.state.user_of(seat)
        text, markup = self._paused(live, seat, live.state.paused_by)
        message = await offer_private(self.bot, user_id, text, markup, silent=True)
        if not isinstance(message, Message):
            return None
        return CardRecord(user_id, user_id, message.message_id, live.state.version, "paused")

    def _paused(self, live: Live, seat: Seat, by: Seat | None) -> tuple[str, InlineKeyboardMarkup]:
        by_name = None if by is None else live.name_of(by)
        return render.paused_card(live.id, live.state, seat, by_name)

    async def show_ready(self, live: Live, cards: Sequence[CardRecord]) -> None:
        """One partner tapped Ready: their card says they wait, the other's that they are
        ready. Silent edits of both setup cards; one that fails leaves a card whose
        buttons still work (the version did not change)."""
        state = live.state
        edits = []
        for card in cards:
            seat = state.seat_of(card.user_id)
            if seat is not None and card.version == state.version and card.kind == "setup":
                text, markup = render.setup_card(live.id, state, seat, live.names)
                edits.append(self._edit(card.chat_id, card.message_id, text, markup))
        await asyncio.gather(*edits)

    async def show_latest(self, live: Live, cards: Sequence[CardRecord]) -> list[CardRecord]:
        """Show these cards once more as the session is now, silently, in place; the ones
        whose edit Telegram did not answer come back. A card that a newer step replaces
        with a new message is left for that message to take away, and the summary is
        always a new message."""
        state = live.state
        now = self.clock.now()

        async def one(card: CardRecord, seat: Seat) -> bool:
            if state.phase is Phase.PAUSED:
                text, markup = self._paused(live, seat, state.paused_by)
            elif card.version == state.version or edited_into_hold(card, state) is not None:
                text, markup = self._card(live, seat, now)
            else:
                return False
            missed = await self._try_edit(card.chat_id, card.message_id, text, markup)
            return missed is Undelivered.TRY_AGAIN

        jobs = {}
        for card in cards:
            seat = state.seat_of(card.user_id)
            if seat is not None and not state.is_over:
                jobs[card] = one(card, seat)
        done = await asyncio.gather(*jobs.values())
        return [card for card, failed in zip(jobs, done, strict=True) if failed]

    async def edit_hold_cards(
        self, live: Live, cards: Sequence[CardRecord], ring: frozenset[Seat] = frozenset()
    ) -> tuple[tuple[CardRecord, ...], bool]:
        """A countdown step or a cue: the hold cards of the current version, on both
        phones at once. The phones of `ring` get the card as a new message (the cue
        changes what that partner does); those are returned, to be noted. A card that
        could not be sent is edited instead, so the cue still shows. Also whether an
        edit did not go through (the caller sets a tick to catch it up)."""
        state = live.state
        now = self.clock.now()

        async def one(card: CardRecord, seat: Seat) -> tuple[CardRecord | None, bool]:
            text, markup = render.hold_card(live.id, state, seat, now)
            if seat in ring:
                message = await offer_private(self.bot, card.user_id, text, markup)
                if isinstance(message, Message):
                    return replace(card, message_id=message.message_id), False
            failed = await self._try_edit(card.chat_id, card.message_id, text, markup)
            return None, failed is Undelivered.TRY_AGAIN

        jobs = []
        for card in cards:
            seat = state.seat_of(card.user_id)
            if seat is not None and card.version == state.version:
                jobs.append(one(card, seat))
        done = await asyncio.gather(*jobs)
        fresh = tuple(card for card, _ in done if card is not None)
        return fresh, any(missed for _, missed in done)

    async def alert_helper(self, live: Live, helper: Seat) -> LeftoverRecord | Undelivered:
        """Ease off, as a new message (it makes a sound) with the helper's own Pause.

        Once Telegram took it, the message, for the helper's next card to take away;
        otherwise why not, for the caller to try again or to pause for a helper it
        cannot reach: a lost alert is a safety problem.
        """
        receiver = live.name_of(helper.other)
        text = render.ease_off_alert(receiver)
        markup = render.ease_off_alert_keyboard(live.id, live.state.version)
        user_id = live.state.user_of(helper)
        outcome = await offer_private(self.bot, user_id, text, markup)
        if not isinstance(outcome, Message):
            return outcome
        return LeftoverRecord(live.id, user_id, user_id, outcome.message_id)

    def _summary(self, live: Live, streak: int) -> tuple[str, InlineKeyboardMarkup | None]:
        """The end of a session, the same on both phones; a rating when they stretched."""
        state = live.state
        if not live.stretched:
            return render.summary(state, 0, 0), None
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
        """Edit a card in place; False when it was not changed, so the caller may send it.

        A failed edit is not raised: the other phone's edit and the next countdown tick
        must still happen.
        """
        return await self._try_edit(chat_id, message_id, text, markup) is None

    async def _try_edit(
        self, chat_id: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None
    ) -> Undelivered | None:
        """Edit a message; None when it shows `text`, else whether trying again may help
        (TRY_AGAIN: Telegram did not answer) or not (UNREACHABLE: the message is gone,
        or the person blocked the bot)."""
        try:
            await self.bot.edit_message_text(text, chat_id, message_id, reply_markup=markup)
        except BadRequest as error:
            if is_not_modified(error):
                return None
            log.info("could not edit message %s in %s: %s", message_id, chat_id, error)
            return Undelivered.UNREACHABLE
        except Forbidden:
            return Undelivered.UNREACHABLE
        except (NetworkError, RetryAfter) as error:
            log.warning("an edit of %s in %s did not go through: %s", message_id, chat_id, error)
            return Undelivered.TRY_AGAIN
        return None
