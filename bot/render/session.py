"""What each phone shows during a session: pure functions of the session state."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import (
    SESSION_EASE_OFF,
    SESSION_JOIN,
    SESSION_KEEP_GOING,
    SESSION_NOT_NOW,
    SESSION_PAUSE,
    SESSION_RATE,
    SESSION_READY,
    SESSION_RESUME,
    SESSION_SAFETY_OK,
    SESSION_SKIP,
    SESSION_STOP,
    SESSION_STOP_ASK,
    pack,
)
from bot.render.buttons import data_button
from bot.render.instructions import instruction
from bot.render.routine_lines import routine_line, stretch_lines
from bot.render.safety import ACKNOWLEDGED, safety_keyboard, waiting_keyboard
from routines.engine import GET_SET, EndReason, EventRefusal, Phase, SessionState
from routines.model import Routine
from routines.plan import FIRST_SIDE, Plan, Role, Seat, Step, StepKind

_ROLE = {Role.RECEIVER: "You are stretched", Role.HELPER: "You help"}
_REFUSALS = {
    EventRefusal.NOT_A_PARTNER: "These buttons belong to the two partners of this session.",
    EventRefusal.OUT_OF_DATE: "That button is out of date; use the newest message.",
    EventRefusal.SESSION_ENDED: "This session has ended.",
    EventRefusal.NOT_NOW: "That doesn't apply right now.",
    EventRefusal.RECEIVER_ONLY: "Only the partner being stretched can ask to ease off.",
    EventRefusal.ALREADY: "Already done. Waiting for your partner.",
    EventRefusal.ALREADY_SENT: "Already sent to your partner.",
}


# The answer to a tap that moved the session on, by the button's action.
_TAPPED = {
    SESSION_JOIN: "You're in.",
    SESSION_NOT_NOW: "No problem, maybe later.",
    SESSION_READY: "Ready. Waiting for your partner.",
    SESSION_PAUSE: "Paused for both of you.",
    SESSION_RESUME: "Back on.",
    SESSION_SKIP: "Skipped for both of you.",
    SESSION_STOP: "Stopped for both of you.",
    SESSION_SAFETY_OK: ACKNOWLEDGED,
}

# A card's Stop only asks: one stray tap on a phone lying on the mat must not end the
# session for both. The question is the tap's answer; the card's buttons become the choice.
STOP_QUESTION = "Stop for both of you?"
KEPT_GOING = "Carrying on."

# What an old card of a session shrinks to where Telegram will not delete it (older than
# 48 hours, or "message can't be deleted"): one line, no buttons. The current card is
# always newer, so it is below.
LEFT_BEHIND = "<i>An earlier step of this session; your current card is below.</i>"

WHO_WITH = "Who do you want to stretch with?"
NOT_YOUR_BUTTON = "That button isn't yours or no longer works."


def unknown_routine(known: list[str]) -> str:
    examples = " or ".join(f"/stretch {escape(routine_id)}" for routine_id in known)
    return f"I don't know that routine. Try {examples}."


def no_partner_here(private: bool) -> str:
    if private:
        return (
            "You need a partner first: send /invite and share the link, "
            "or reply to your partner's message in a group with /pair."
        )
    return (
        "None of your partners calls this group home. Reply to your partner's message "
        "here with /pair, or send /stretch in our private chat."
    )


def asked_to_join(partner: str) -> str:
    return f"Asked {escape(partner)} to join. I'll start once they tap Join."


def refusal(reason: EventRefusal) -> str:
    return _REFUSALS[reason]


def tapped(action: str) -> str:
    """The toast for a tap the session took (Ease off has its own, naming the helper)."""
    return _TAPPED[action]


def get_set_seconds(state: SessionState) -> int:
    """The seconds between the second Ready and the start of the hold, as cards say them."""
    return whole_seconds(GET_SET * state.time_scale)


def get_set_toast(state: SessionState) -> str:
    """The answer to the second Ready: the cards turn into the hold when it starts."""
    return f"Get set: the hold starts in {get_set_seconds(state)} s."


def minutes(seconds: float) -> int:
    """Whole minutes for an estimate: never "0 min" for something that takes time."""
    return max(1, math.ceil(seconds / 60)) if seconds > 0 else 0


def _button(label: str, action: str, state_id: int, version: int) -> InlineKeyboardButton:
    # Every step renders these for both phones: made without PTB's per-attribute cost.
    return data_button(label, pack(action, state_id, version))


def lobby_card(
    session_id: int, state: SessionState, routine: Routine, starter: str, private: bool
) -> tuple[str, InlineKeyboardMarkup]:
    """The invitation each partner gets in private, with Join (and Not now): the
    routine's length, summary and one line per stretch."""
    about = _routine_block(routine, state.plan)
    if private:
        text = f"{escape(starter)} wants to stretch now.\n{about}"
        row = [
            _button("Join", SESSION_JOIN, session_id, state.version),
            _button("Not now", SESSION_NOT_NOW, session_id, state.version),
        ]
    else:
        text = f"Time to stretch together.\n{about}\n\nTap Join when you're on the mat."
        row = [_button("Join", SESSION_JOIN, session_id, state.version)]
    return text, InlineKeyboardMarkup([row])


def _routine_block(routine: Routine, plan: Plan) -> str:
    lines = "\n".join(stretch_lines(routine))
    return f"{routine_line(routine, plan)}\n<i>{escape(routine.summary)}</i>\n\n{lines}"


def group_start_line(names: tuple[str, str], routine: Routine) -> str:
    first, second = (escape(name) for name in names)
    return (
        f"{first} and {second} are about to stretch: {escape(routine.title)}. "
        "Check your private chat with me to join."
    )


def open_chat_keyboard(names: list[str], link: str) -> InlineKeyboardMarkup | None:
    """Under the group's line: a button for each partner I can't write to yet."""
    if not names:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(f"{name}: open a chat with me", url=link)] for name in names]
    )


def group_end_line(names: tuple[str, str], state: SessionState) -> str:
    first, second = (escape(name) for name in names)
    return (
        f"{first} and {second} just stretched: {_count(state.holds_done, 'hold')}, "
        f"{minutes(state.held_seconds)} min."
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _side_words(step: Step) -> str | None:
    """The side a per-side stretch is on; its setup readies the first side."""
    if not step.exercise.per_side:
        return None
    return f"{(step.side or FIRST_SIDE).value} side"


def _header(state: SessionState, seat: Seat) -> str:
    """Where the pair is, counted in stretches (a partner thinks in those, not in steps),
    which side, and this partner's role; then the stretch's name."""
    step = state.step
    parts = [f"Stretch {step.exercise_number} of {state.plan.exercise_count}"]
    side = _side_words(step)
    if side is not None:
        parts.append(side)
    parts.append(_ROLE[step.role_of(seat)])
    return f"{' · '.join(parts)}\n<b>{escape(step.exercise.name)}</b>"


def _swapped(state: SessionState) -> bool:
    """This setup hands the stretched role to the other partner than the turn before."""
    index = state.step_index
    return index > 0 and state.plan.steps[index - 1].receiver is not state.step.receiver


def _swap_line(state: SessionState, seat: Seat, names: tuple[str, str]) -> str:
    if state.step.role_of(seat) is Role.RECEIVER:
        return "<b>Now you are stretched.</b>"
    return f"<b>Now {escape(names[state.step.receiver])} is stretched.</b>"


def _ready_line(state: SessionState, seat: Seat, names: tuple[str, str]) -> str:
    """Who has tapped Ready: each phone shows the other partner's readiness. The card
    also says when the hold will start, since it stays as it is until then: it turns
    into the hold card at the hold's start (see SessionFlow), never before."""
    wait = get_set_seconds(state)
    other = escape(names[seat.other])
    if seat in state.ready:
        return (
            f"You're ready. Waiting for {other}: the hold starts {wait} s after {other}'s Ready."
        )
    if seat.other in state.ready:
        return (
            f"{other} is ready. Tap Ready when you're in position: the hold starts {wait} s later."
        )
    return f"Tap Ready when you're in position. The hold starts {wait} s after you both did."


def setup_card(
    session_id: int, state: SessionState, seat: Seat, names: tuple[str, str]
) -> tuple[str, InlineKeyboardMarkup]:
    step = state.step
    lines = [_header(state, seat), ""]
    if _swapped(state):
        lines += [_swap_line(state, seat, names), ""]
    lines += [escape(instruction(step, seat))]
    if step.role_of(seat) is Role.RECEIVER:
        lines += ["", f"<i>{escape(step.exercise.purpose)}</i>"]
    lines += ["", *(f"• {escape(cue)}" for cue in step.exercise.safety)]
    lines += ["", _ready_line(state, seat, names)]
    return "\n".join(lines), _setup_keyboard(session_id, state, seat)


def _setup_keyboard(session_id: int, state: SessionState, seat: Seat) -> InlineKeyboardMarkup:
    # Skip here skips a whole exercise, so it says which one. A partner who tapped Ready
    # has no Ready left to tap: a second tap would only be told "already done".
    skip = f"Skip {state.step.exercise.name}"
    keyboard = [
        [
            _button(skip, SESSION_SKIP, session_id, state.version),
            _button("Stop", SESSION_STOP_ASK, session_id, state.version),
        ],
    ]
    if seat not in state.ready:
        keyboard.insert(0, [_button("Ready", SESSION_READY, session_id, state.version)])
    return InlineKeyboardMarkup(keyboard)


def whole_seconds(left: timedelta) -> int:
    """Seconds as a hold card shows them: rounded up, so "0 s" never shows early."""
    return math.ceil(left.total_seconds() - 1e-6)


def seconds_left(state: SessionState, now: datetime) -> int:
    return whole_seconds(state.time_left(now) or timedelta(0))


def hold_card(
    session_id: int, state: SessionState, seat: Seat, now: datetime
) -> tuple[str, InlineKeyboardMarkup]:
    step = state.step
    if step.kind is StepKind.SWITCH:
        text = f"{_header(state, seat)}\n\n{escape(instruction(step, seat))}"
        left = seconds_left(state, now)
        return f"{text}\n\n{left} s to switch.", _hold_keyboard(session_id, state, seat)
    text = (
        f"{_header(state, seat)}\n\n{_clock_line(state, now)}\n"
        f"{_cue_line(state, seat, now)}{escape(instruction(step, seat))}"
    )
    return text + _intensity_line(state, seat), _hold_keyboard(session_id, state, seat)


def _clock_line(state: SessionState, now: datetime) -> str:
    """The time left on the hold; inside the get-set window, when it starts and how long."""
    starts_at = state.hold_starts_at()
    if starts_at is not None and now < starts_at:
        wait = whole_seconds(starts_at - now)
        length = whole_seconds(timedelta(seconds=state.step.seconds * state.time_scale))
        return f"<b>Get set: the hold starts in {wait} s</b>\nHold: {length} s"
    return f"<b>Hold: {seconds_left(state, now)} s left</b>"


def _intensity_line(state: SessionState, seat: Seat) -> str:
    """How hard to go, in this partner's role: on every hold card, under the words."""
    words = state.step.intensity(seat)
    return "" if words is None else f"\n\n<i>{escape(words)}</i>"


# A countdown tick set for a cue's moment runs at it or just after; a rounding error in
# the arithmetic below must not hide the very cue the tick was set for.
_CUE_SLACK_SECONDS = 0.001


def _cue_line(state: SessionState, seat: Seat, now: datetime) -> str:
    """The routine's cue for this partner once its moment in the hold has come."""
    step = state.step
    left = state.time_left(now)
    if left is None:
        return ""
    elapsed = step.seconds - left.total_seconds() / state.time_scale
    cue = step.cue_at(elapsed + _CUE_SLACK_SECONDS)
    if cue is None:
        return ""
    words = cue.receiver if step.role_of(seat) is Role.RECEIVER else cue.helper
    return f"<b>Now:</b> {escape(words)}\n"


def _hold_keyboard(session_id: int, state: SessionState, seat: Seat) -> InlineKeyboardMarkup:
    row = [
        _button("Pause", SESSION_PAUSE, session_id, state.version),
        _button("Skip", SESSION_SKIP, session_id, state.version),
        _button("Stop", SESSION_STOP_ASK, session_id, state.version),
    ]
    rows = [row]
    if state.phase is Phase.HOLDING and state.step.role_of(seat) is Role.RECEIVER:
        rows.insert(0, [_button("Ease off", SESSION_EASE_OFF, session_id, state.version)])
    return InlineKeyboardMarkup(rows)


def paused_card(
    session_id: int, state: SessionState, seat: Seat, by_name: str | None
) -> tuple[str, InlineKeyboardMarkup]:
    who = f"Paused by {escape(by_name)}." if by_name else "Paused: I was offline for a moment."
    left = state.remaining
    detail = (
        f" {math.ceil(left.total_seconds())} s of this hold left."
        if left is not None and left > timedelta(0)
        else ""
    )
    text = f"{_header(state, seat)}\n\n{who}{detail}\nResume when you're both set."
    return text, _paused_keyboard(session_id, state)


def _paused_keyboard(session_id: int, state: SessionState) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                _button("Resume", SESSION_RESUME, session_id, state.version),
                _button("Stop", SESSION_STOP_ASK, session_id, state.version),
            ]
        ]
    )


def stop_choice_keyboard(session_id: int, version: int) -> InlineKeyboardMarkup:
    """The buttons a card's Stop turns into: the confirmed Stop, or back to the card."""
    return InlineKeyboardMarkup(
        [
            [
                _button("Stop for both", SESSION_STOP, session_id, version),
                _button("Keep going", SESSION_KEEP_GOING, session_id, version),
            ]
        ]
    )


def card_keyboard(session_id: int, state: SessionState, seat: Seat) -> InlineKeyboardMarkup:
    """The buttons of the card a phone shows now: what Keep going puts back.

    Only cards with Stop get here (setup, hold, switch, paused); a lobby card has Not now.
    """
    if state.phase is Phase.SETUP:
        return _setup_keyboard(session_id, state, seat)
    if state.phase is Phase.PAUSED:
        return _paused_keyboard(session_id, state)
    if state.phase is Phase.SAFETY:
        if seat in state.safety_due:
            return safety_keyboard(session_id, state.version)
        return waiting_keyboard(session_id, state.version)
    return _hold_keyboard(session_id, state, seat)


def unreachable_pause_note(name: str) -> str:
    return (
        f"Paused: I can't reach {escape(name)} any more (did they block me?). "
        "Ask them to open our chat, then tap Resume."
    )


def cannot_reach_yet(name: str, link: str) -> str:
    return (
        f"I can't write to {escape(name)} yet. Send them this link so they can open a chat "
        f"with me, and their Join button will be waiting: {escape(link)}"
    )


def eased_off(helper_name: str) -> str:
    """The receiver's toast after Ease off (HTML-safe; `limits.toast` makes it plain)."""
    return f"Sent: {escape(helper_name)} will ease off."


def already_sent(helper_name: str) -> str:
    """A second Ease off in the same hold: the first one reached the helper."""
    return f"Already sent to {escape(helper_name)}."


def ease_off_alert(receiver_name: str) -> str:
    return f"⚠️ <b>Ease off now.</b> {escape(receiver_name)} needs less pressure."


def ease_off_alert_keyboard(session_id: int, version: int) -> InlineKeyboardMarkup:
    """The helper's Pause on the alert itself: the hand that must act is already there."""
    return InlineKeyboardMarkup([[_button("Pause", SESSION_PAUSE, session_id, version)]])


def summary(state: SessionState, exercises_done: int, streak_days: int) -> str:
    """The end of a session on both phones.

    After at least one hold, however it ended, what was done and the rating question;
    before any hold, one line.
    """
    if not state.holds_done:
        if state.phase is Phase.ABANDONED:
            return (
                "This session ended because it sat idle. "
                "Start again with /stretch whenever you like."
            )
        if state.started_at is None:
            return "This session was called off before it began. Start again with /stretch."
        return "Stopped before the first hold. Start again with /stretch whenever you like."
    headline = _HEADLINES[state.end_reason or EndReason.STOPPED]
    return (
        f"{headline}\n"
        f"Stretches: {exercises_done} · holds: {state.holds_done} · "
        f"{minutes(state.held_seconds)} min\n"
        f"Planned: about {state.plan.estimated_minutes} min\n"
        f"Your streak: {_count(streak_days, 'day')}\n\n"
        "How does your back feel? (1 = sore, 5 = great)"
    )


_HEADLINES = {
    EndReason.COMPLETED: "Well done, session complete!",
    EndReason.STOPPED: "Session stopped. Every stretch counts.",
    EndReason.ABANDONED: "This session ended because it sat idle. Here is what you did.",
}


def rating_keyboard(session_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(str(n), callback_data=pack(SESSION_RATE, session_id, n))
                for n in range(1, 6)
            ]
        ]
    )


def rated(rating: int) -> str:
    return f"Thanks, noted: {rating} of 5."


def already_in_session(*, private: bool) -> str:
    """/stretch during one's session, when its card could not be brought back here."""
    if private:
        return "You're already in a session. Its card is just above: carry on there."
    return "You're already in a session. Your card is in our private chat."


def partner_busy(partner: str | None) -> str:
    """`partner` None: the bot has not met them (yet), so no name to give."""
    who = escape(partner) if partner is not None else "Your partner"
    return f"{who} is in another session right now. Try again once it's over."


def refusal_missing() -> str:
    return "This session no longer exists."
