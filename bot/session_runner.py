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
from dataclasses import dataclass
from datetime import datetime

from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.clock import Clock
from bot.delivery import Undelivered, is_not_modified, offer_private, send_private
from bot.live_session import Applied, Live
from bot.render import safety as render_safety
from bot.render import session as render
from routines.engine import AlertHelper, Phase, PostToGroup, ShowPaused
from routines.model import Routine
from routines.plan import Seat
from storage.records import CardRecord

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
    """What carrying out a transition did: its cards, and paused cards sent anew."""

    delivery: Delivery
    paused_cards: tuple[CardRecord, ...] = ()
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

        `cards` are the messages the phones show now (a pause edits them), `streak` the
        pair's streak for a summary.
        """
        live = applied.live
        paused: tuple[CardRecord, ...] = ()
        missed: tuple[Seat, Undelivered] | None = None
        for effect in applied.effects:
            if isinstance(effect, AlertHelper):
                why = await self.alert_helper(live, effect.seat)
                missed = None if why is None else (effect.seat, why)
            elif isinstance(effect, ShowPaused):
                paused = await self.show_paused(live, effect.by, cards)
            elif isinstance(effect, PostToGroup) and effect.kind == "end" and live.in_group:
                await self._post_group(live, render.group_end_line(live.names, live.state))
            # PostToGroup("start") needs nothing: the lobby line already told the group,
            # and MarkJoined / MarkReady are answered on the button that was tapped.
        delivery = Delivery(live.state.version)
        if applied.owed:
            delivery = await self.show_cards(live, applied.owed, streak=streak)
        return Outcome(delivery, paused, missed)

    async def show_cards(self, live: Live, seats: Sequence[Seat], *, streak: int = 0) -> Delivery:
        """The cards the outbox holds for `seats`: a new message on each phone at once.

        New messages make a sound. What happened to each is reported, not written down.
        """
        now = self.clock.now()
        summary = self._summary(live, streak) if live.state.is_over else None
        cards = [summary or self._card(live, seat, now) for seat in seats]
        outcomes = await asyncio.gather(
            *(
                offer_private(self.bot, live.state.user_of(seat), text, markup)
                for seat, (text, markup) in zip(seats, cards, strict=True)
            )
        )
        version = live.state.version
        phase = live.state.phase.value
        return Delivery(
            version=version,
            shown=tuple(
                CardRecord(outcome.chat.id, outcome.chat.id, outcome.message_id, version, phase)
                for outcome in outcomes
                if isinstance(outcome, Message)
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

    async def lobby_unreachable(self, live: Live, seat: Seat, link: str) -> None:
        """The session waits; from private, the starter gets a link to pass on.

        From a group, the group's line already carries the button that opens the chat.
        """
        if live.in_group:
            return
        await self._send(
            live.state.user_of(seat.other), render.cannot_reach_yet(live.name_of(seat), link), None
        )

    async def paused_for_unreachable(self, paused: Live, seat: Seat) -> None:
        """Tell the partner of `seat`, whom Telegram refused, why the session paused."""
        other = seat.other
        await self._send(
            paused.state.user_of(other),
            render.unreachable_pause_note(paused.name_of(seat)),
            render.paused_card(paused.id, paused.state, other, None)[1],
        )

    def _card(self, live: Live, seat: Seat, now: datetime) -> tuple[str, InlineKeyboardMarkup]:
        """The step card of the session's current version for one phone."""
        state = live.state
        if state.phase is Phase.LOBBY:
            routine = self.library[live.record.routine_id]
            return render.lobby_card(live.id, state, routine, live.names[0], not live.in_group)
        if state.phase is Phase.SAFETY:
            return safety_card_for(live, seat)
        if state.phase is Phase.SETUP:
            return render.setup_card(live.id, state, seat)
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
        by_name = None if by is None else live.name_of(by)
        shown = {card.user_id: card for card in cards}
        fresh: list[CardRecord] = []
        for seat in Seat:
            user_id = live.state.user_of(seat)
            text, markup = render.paused_card(live.id, live.state, seat, by_name)
            card = shown.get(user_id)
            if card is not None and await self._edit(card.chat_id, card.message_id, text, markup):
                continue
            message = await offer_private(self.bot, user_id, text, markup)
            if isinstance(message, Message):
                fresh.append(
                    CardRecord(user_id, user_id, message.message_id, live.state.version, "paused")
                )
        return tuple(fresh)

    async def edit_hold_cards(self, live: Live, cards: Sequence[CardRecord]) -> None:
        """A countdown step: the time left on the hold cards of the current version."""
        state = live.state
        now = self.clock.now()
        for card in cards:
            seat = state.seat_of(card.user_id)
            if seat is not None and card.version == state.version:
                text, markup = render.hold_card(live.id, state, seat, now)
                await self._edit(card.chat_id, card.message_id, text, markup)

    async def alert_helper(self, live: Live, helper: Seat) -> Undelivered | None:
        """Ease off, as a new message (it makes a sound) with the helper's own Pause.

        None once Telegram took it; otherwise why not, for the caller to try again or
        to pause for a helper it cannot reach: a lost alert is a safety problem.
        """
        receiver = live.name_of(helper.other)
        text = render.ease_off_alert(receiver)
        markup = render.ease_off_alert_keyboard(live.id, live.state.version)
        outcome = await offer_private(self.bot, live.state.user_of(helper), text, markup)
        return None if isinstance(outcome, Message) else outcome

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
        try:
            await self.bot.edit_message_text(text, chat_id, message_id, reply_markup=markup)
        except BadRequest as error:
            if is_not_modified(error):
                return True
            log.info("could not edit message %s in %s: %s", message_id, chat_id, error)
            return False
        except Forbidden:
            return False
        except (NetworkError, RetryAfter) as error:
            log.warning("an edit of %s in %s did not go through: %s", message_id, chat_id, error)
            return False
        return True
