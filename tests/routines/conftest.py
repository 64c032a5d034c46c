"""Shared pieces for the engine tests: a small routine, two partners, a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from routines.model import Exercise, Routine

ALICE = 101
BOB = 202
STRANGER = 999
T0 = datetime(2025, 3, 10, 7, 30, tzinfo=UTC)


def make_exercise(id: str, hold: int, per_side: bool) -> Exercise:
    return Exercise(
        id=id,
        name=id.title(),
        purpose="For tests.",
        hold_seconds=hold,
        per_side=per_side,
        receiver_setup="Lie down.",
        helper_setup="Kneel down.",
        receiver_during="Breathe out.",
        helper_during="Press gently.",
        safety=("Gentle pressure.",),
        switch_seconds=12 if per_side else None,
    )


@pytest.fixture
def small_routine() -> Routine:
    """One plain exercise then one per-side exercise: every kind of step appears."""
    return Routine(
        id="small",
        title="Small",
        summary="For tests.",
        exercises=(make_exercise("fold", 60, False), make_exercise("twist", 30, True)),
    )
