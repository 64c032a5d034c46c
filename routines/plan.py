"""Expand a routine into the ordered steps of one session for two partners."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any

from routines.model import Cue, Exercise, Routine
from routines.timing import GET_SET, SETUP_ALLOWANCE


class Seat(IntEnum):
    """The two places in a session; A is the partner listed first."""

    A = 0
    B = 1

    @property
    def other(self) -> Seat:
        return Seat.B if self is Seat.A else Seat.A


class Role(StrEnum):
    RECEIVER = "receiver"
    HELPER = "helper"


class Side(StrEnum):
    RIGHT = "right"
    LEFT = "left"


# Per-side stretches are held on this side first, then on the other after a switch.
FIRST_SIDE, SECOND_SIDE = Side.RIGHT, Side.LEFT


class SwapMode(StrEnum):
    """How the receiver role moves between the partners."""

    PER_EXERCISE = "per-exercise"
    WHOLE_ROUTINE = "whole-routine"
    ONE_WAY = "one-way"


class StepKind(StrEnum):
    SETUP = "setup"
    HOLD = "hold"
    SWITCH = "switch"


@dataclass(frozen=True, slots=True)
class PlanOptions:
    first_receiver: Seat = Seat.A
    swap_mode: SwapMode = SwapMode.PER_EXERCISE
    hold_scale: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.hold_scale <= 10:
            raise ValueError(f"hold_scale must be in (0, 10], got {self.hold_scale}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, so storage can rebuild the plan from routine id + options."""
        return {
            "first_receiver": self.first_receiver.name,
            "swap_mode": self.swap_mode.value,
            "hold_scale": self.hold_scale,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlanOptions:
        return cls(
            first_receiver=Seat[data["first_receiver"]],
            swap_mode=SwapMode(data["swap_mode"]),
            hold_scale=float(data["hold_scale"]),
        )


@dataclass(frozen=True, slots=True)
class Step:
    """One thing both partners do together; `index` is 1-based, for "step 3 of 40"."""

    index: int
    kind: StepKind
    exercise: Exercise
    receiver: Seat
    side: Side | None
    seconds: float
    exercise_number: int
    turn_number: int
    turn_count: int

    @property
    def helper(self) -> Seat:
        return self.receiver.other

    @property
    def is_timed(self) -> bool:
        return self.kind is not StepKind.SETUP

    @property
    def cue_moments(self) -> tuple[float, ...]:
        """When this hold's cues come, in seconds after it starts, scaled like the hold."""
        if self.kind is not StepKind.HOLD:
            return ()
        ratio = self.seconds / self.exercise.hold_seconds
        return tuple(cue.at_seconds * ratio for cue in self.exercise.cues)

    def cue_at(self, elapsed: float) -> Cue | None:
        """The latest cue whose moment has come `elapsed` seconds into this hold: it
        stays on the card until the next one, since it says what to do from then on."""
        current = None
        for moment, cue in zip(self.cue_moments, self.exercise.cues, strict=False):
            if moment <= elapsed:
                current = cue
        return current

    def role_of(self, seat: Seat) -> Role:
        return Role.RECEIVER if seat is self.receiver else Role.HELPER

    def intensity(self, seat: Seat) -> str | None:
        """The routine file's one line on how hard to go, for this partner's role."""
        if self.role_of(seat) is Role.RECEIVER:
            return self.exercise.receiver_intensity
        return self.exercise.helper_intensity

    def routine_words(self, seat: Seat) -> str | None:
        """The routine file's words for this partner now: how to get into position, or
        what to do during the hold. A switch reads the file's left-side words when it
        has them; without, None, and the bot asks for the mirror image
        (bot/render/instructions.py). Safety cues are separate."""
        receiving = self.role_of(seat) is Role.RECEIVER
        exercise = self.exercise
        if self.kind is StepKind.SETUP:
            return exercise.receiver_setup if receiving else exercise.helper_setup
        if self.kind is StepKind.HOLD:
            return exercise.receiver_during if receiving else exercise.helper_during
        return exercise.receiver_setup_left if receiving else exercise.helper_setup_left


@dataclass(frozen=True, slots=True)
class Plan:
    routine: Routine
    options: PlanOptions
    steps: tuple[Step, ...]
    turn_count: int

    @property
    def total_seconds(self) -> float:
        """Estimated time of all holds and switches; setups are untimed."""
        return sum(step.seconds for step in self.steps)

    @property
    def estimated_seconds(self) -> float:
        """How long the session takes, start to summary: every hold and switch, and for
        each setup the stated allowance for getting into position plus the get-set wait
        before its hold. The one estimate the lobby, reminders, /routines, the summary
        and `python -m routines check` all give."""
        setups = sum(1 for step in self.steps if step.kind is StepKind.SETUP)
        per_setup = (SETUP_ALLOWANCE + GET_SET).total_seconds()
        return self.total_seconds + setups * per_setup

    @property
    def estimated_minutes(self) -> int:
        """`estimated_seconds` in whole minutes, rounded up: never "0 min"."""
        return max(1, math.ceil(self.estimated_seconds / 60))

    @property
    def exercise_count(self) -> int:
        return len(self.routine.exercises)

    @property
    def step_count(self) -> int:
        return len(self.steps)


def _turn_order(routine: Routine, options: PlanOptions) -> list[tuple[Exercise, Seat]]:
    first = options.first_receiver
    exercises = routine.exercises
    if options.swap_mode is SwapMode.PER_EXERCISE:
        return [(exercise, seat) for exercise in exercises for seat in (first, first.other)]
    if options.swap_mode is SwapMode.WHOLE_ROUTINE:
        return [(exercise, seat) for seat in (first, first.other) for exercise in exercises]
    return [(exercise, first) for exercise in exercises]


def build_plan(routine: Routine, options: PlanOptions | None = None) -> Plan:
    """Each turn is a setup, then one hold, or for per-side: first side, switch, second."""
    options = PlanOptions() if options is None else options
    turns = _turn_order(routine, options)
    number_of = {exercise.id: n for n, exercise in enumerate(routine.exercises, start=1)}
    steps: list[Step] = []

    def add(
        kind: StepKind,
        exercise: Exercise,
        receiver: Seat,
        side: Side | None,
        seconds: float,
        turn: int,
    ) -> None:
        steps.append(
            Step(
                index=len(steps) + 1,
                kind=kind,
                exercise=exercise,
                receiver=receiver,
                side=side,
                seconds=seconds,
                exercise_number=number_of[exercise.id],
                turn_number=turn,
                turn_count=len(turns),
            )
        )

    for turn, (exercise, receiver) in enumerate(turns, start=1):
        hold = exercise.hold_seconds * options.hold_scale
        add(StepKind.SETUP, exercise, receiver, None, 0.0, turn)
        if exercise.per_side:
            if exercise.switch_seconds is None:
                raise ValueError(f"per-side exercise {exercise.id!r} has no switch_seconds")
            add(StepKind.HOLD, exercise, receiver, FIRST_SIDE, hold, turn)
            switch = exercise.switch_seconds * options.hold_scale
            add(StepKind.SWITCH, exercise, receiver, SECOND_SIDE, switch, turn)
            add(StepKind.HOLD, exercise, receiver, SECOND_SIDE, hold, turn)
        else:
            add(StepKind.HOLD, exercise, receiver, None, hold, turn)
    return Plan(routine=routine, options=options, steps=tuple(steps), turn_count=len(turns))
