"""A routine as data: the exercises and the words each partner reads."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Cue:
    """Words for each partner at a moment of a hold, `at_seconds` after it starts."""

    at_seconds: int
    receiver: str
    helper: str
    # The roles ("receiver", "helper") whose phone rings for it: what they do changes
    # here, so their card comes anew. The others' card is edited, silently.
    sound: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Exercise:
    """One partner stretch: the receiver is stretched, the helper assists."""

    id: str
    name: str
    purpose: str
    hold_seconds: int
    per_side: bool
    receiver_setup: str
    helper_setup: str
    receiver_during: str
    helper_during: str
    safety: tuple[str, ...]
    # Seconds between the two sides of a per-side exercise, set per exercise in the
    # routine file because re-crossing legs takes longer than moving a hand; None on a
    # one-sided exercise, which has no switch.
    switch_seconds: int | None = None
    # How each role gets into the left side, for per-side exercises whose hands or legs
    # are not symmetric, so nobody works out a mirror image on the mat. Both or neither.
    receiver_setup_left: str | None = None
    helper_setup_left: str | None = None
    # Moments inside the hold where what someone does changes, in the order they come.
    cues: tuple[Cue, ...] = ()
    # One short line per role that every hold card carries: how hard is right (a mild
    # pull, never pain) for the one stretched, and when to back off for the helper. The
    # loader requires both; None only for exercises built in code (tests).
    receiver_intensity: str | None = None
    helper_intensity: str | None = None


@dataclass(frozen=True, slots=True)
class Routine:
    """An ordered list of exercises, as read from one library file."""

    id: str
    title: str
    summary: str
    exercises: tuple[Exercise, ...]

    def exercise(self, exercise_id: str) -> Exercise:
        for exercise in self.exercises:
            if exercise.id == exercise_id:
                return exercise
        raise KeyError(exercise_id)
