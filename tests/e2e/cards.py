"""Which step a session card shows, read from its text as a phone would.

A card's first line says the stretch, the side and the partner's role ("Stretch 3 of 3 ·
left side · You help"), and the rest whether it is a setup, a hold or a side switch: on
one phone, that pair names one step of the plan. A hold is its setup or switch card
edited, so a message's history (every text it showed) is read, not only its last text.
"""

from __future__ import annotations

from routines.plan import Plan, Seat, StepKind
from tests.bot.session_helpers import header
from tests.fake_telegram import SentMessage

Key = tuple[str, str]


def card_key(text: str) -> Key | None:
    """(first line, kind) of a step card's text; None for anything else."""
    if "Tap Ready" in text or "You're ready." in text:
        kind = "setup"
    elif "Hold:" in text:
        kind = "hold"
    elif "to switch." in text:
        kind = "switch"
    else:
        return None
    return text.split("\n", 1)[0], kind


def step_numbers(plan: Plan, seat: Seat) -> dict[Key, int]:
    """Each step's card key on the phone of `seat`, to its 1-based step number."""
    exercises = plan.exercise_count
    return {(header(s, seat, exercises), s.kind.value): s.index for s in plan.steps}


def steps_shown(messages: list[SentMessage], numbers: dict[Key, int]) -> list[int]:
    """Every step a phone showed, in order (one edited into the next counts for both)."""
    shown: list[int] = []
    for message in messages:
        for text in message.history:
            key = card_key(text)
            if key in numbers and (not shown or shown[-1] != numbers[key]):
                shown.append(numbers[key])
    return shown


def steps_sent(messages: list[SentMessage], numbers: dict[Key, int]) -> list[int]:
    """The step each new message arrived with (a setup, a switch, a cue's hold card)."""
    keys = (card_key(m.history[0]) if m.history else None for m in messages)
    return [numbers[key] for key in keys if key in numbers]


def steps_of(messages: list[SentMessage], plan: Plan) -> list[int]:
    """Every step of `plan` a phone showed, in order, when the phone's seat is not known:
    a first line names the role, so the messages are read as each seat's, and the seat
    is the one whose reading starts at step 1 (as every session does)."""
    readings = [steps_shown(messages, step_numbers(plan, seat)) for seat in Seat]
    return max(readings, key=lambda shown: (shown[:1] == [1], len(shown)))


def new_message_steps(plan: Plan) -> list[Key]:
    """The (stretch, kind) of each step that comes as a new message on both phones: the
    setups and side switches (a hold is the card before it, edited)."""
    return [
        (f"Stretch {s.exercise_number} of {plan.exercise_count}", s.kind.value)
        for s in plan.steps
        if s.kind is not StepKind.HOLD
    ]
