"""When a hold edits its cards: its cues, and on a hold over a minute countdown ticks, a cue
taking the nearest tick's place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.session_timers import countdown_moments
from routines.engine import GET_SET, Join, Ready, SessionState, advance, new_session
from routines.loader import load_library
from routines.plan import PlanOptions, build_plan

T0 = datetime(2026, 3, 10, 7, 30, tzinfo=UTC)
GET = GET_SET.total_seconds()
ANA, BEN = 101, 202


def first_hold(scale: float = 1.0) -> SessionState:
    """Child's Pose (60 s, a cue at 30 s), both ready at T0: its clock starts after the
    get-set window, at T0 + GET (scaled)."""
    plan = build_plan(load_library()["lower-back"], PlanOptions())
    state = new_session((ANA, BEN), plan, T0, time_scale=scale)
    for event in (Join, Ready):
        for user in (ANA, BEN):
            state = advance(state, event(user_id=user, version=state.version), T0).state
    assert state.step.exercise.id == "childs-pose" and state.deadline is not None
    return state


def seconds_in(moments: list[datetime]) -> list[float]:
    return [(at - T0).total_seconds() for at in moments]


def test_a_hold_of_a_minute_or_less_shows_its_cues_and_no_plain_countdown() -> None:
    state = first_hold()
    assert state.deadline == T0 + timedelta(seconds=GET + 60)
    # The call budget (bot/session_timers.py): Child's Pose is touched only at its cue,
    # 30 s into the hold. Asked at T0, inside the get-set window, the cue counts from
    # the hold's start.
    moments = seconds_in(countdown_moments(state, T0, state.deadline))
    assert moments == [GET + 30]
    # Asked again inside the window (a restart there), the moments are the same.
    halfway = T0 + GET_SET / 2
    assert seconds_in(countdown_moments(state, halfway, state.deadline)) == moments


def test_a_hold_over_a_minute_counts_down_and_its_cue_takes_the_nearest_ticks_place() -> None:
    plan = build_plan(load_library()["lower-back"], PlanOptions(hold_scale=2))
    state = new_session((ANA, BEN), plan, T0)
    for event in (Join, Ready):
        for user in (ANA, BEN):
            state = advance(state, event(user_id=user, version=state.version), T0).state
    assert state.deadline == T0 + timedelta(seconds=GET + 120)
    # Ticks at 40 s and 80 s into the hold (which starts after get-set); the cue, at the
    # half (60 s), replaces the 40 s one (a tie goes to the earlier tick), so the hold
    # still costs two edits.
    moments = seconds_in(countdown_moments(state, T0, state.deadline))
    assert moments == [GET + 60, GET + 80]
    halfway = T0 + GET_SET / 2
    assert seconds_in(countdown_moments(state, halfway, state.deadline)) == moments


def test_cue_moments_are_scaled_like_the_hold() -> None:
    state = first_hold(scale=0.1)
    assert state.deadline is not None
    moments = seconds_in(countdown_moments(state, T0, state.deadline))
    assert moments == pytest.approx([(GET + 30) * 0.1])


def test_a_resumed_hold_gets_its_cue_only_if_its_moment_is_still_to_come() -> None:
    # Paused at 15 s for a minute: the hold goes on from 75 s with 45 s left, and its
    # cue comes at 90 s. Paused at 35 s instead, resumed at 95 s with 25 s left: the
    # cue's moment passed (the resumed card shows it), and nothing else edits the card.
    state = first_hold()
    before = countdown_moments(state, T0 + timedelta(seconds=75), T0 + timedelta(seconds=120))
    assert seconds_in(before) == [90]
    after = countdown_moments(state, T0 + timedelta(seconds=95), T0 + timedelta(seconds=120))
    assert after == []
