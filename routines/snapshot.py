"""A session's state as JSON-safe data, and back: what storage keeps between events.

The plan is not stored: it is rebuilt from the routine id and the plan options, and
`from_snapshot` checks that the snapshot fits the plan it is given.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from routines.engine import EndReason, Phase, SessionState
from routines.plan import Plan, PlanOptions, Seat

SNAPSHOT_FORMAT = 1


class SnapshotError(ValueError):
    """A stored snapshot that does not fit the plan it is restored with."""


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _from_iso(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _seats(seats: frozenset[Seat]) -> list[str]:
    return sorted(seat.name for seat in seats)


def to_snapshot(state: SessionState) -> dict[str, Any]:
    """A JSON-safe dict of the state without the plan (it is rebuilt from id + options)."""
    remaining = state.remaining
    return {
        "format": SNAPSHOT_FORMAT,
        "routine_id": state.plan.routine.id,
        "options": state.plan.options.to_dict(),
        "partners": list(state.partners),
        "phase": state.phase.value,
        "step_index": state.step_index,
        "version": state.version,
        "revision": state.revision,
        "joined": _seats(state.joined),
        "ready": _seats(state.ready),
        "deadline": _iso(state.deadline),
        "remaining_us": None if remaining is None else remaining // timedelta(microseconds=1),
        "paused_phase": None if state.paused_phase is None else state.paused_phase.value,
        "paused_by": None if state.paused_by is None else state.paused_by.name,
        "time_scale": state.time_scale,
        "steps_done": state.steps_done,
        "holds_done": state.holds_done,
        "held_seconds": state.held_seconds,
        "skips": state.skips,
        "ease_offs": state.ease_offs,
        "created_at": _iso(state.created_at),
        "started_at": _iso(state.started_at),
        "ended_at": _iso(state.ended_at),
        "end_reason": None if state.end_reason is None else state.end_reason.value,
        "safety_due": _seats(state.safety_due),
        "eased_step": state.eased_step,
    }


def from_snapshot(data: dict[str, Any], plan: Plan) -> SessionState:
    """Rebuild a state saved by `to_snapshot`, with the plan rebuilt by the caller."""
    try:
        if data["format"] != SNAPSHOT_FORMAT:
            raise SnapshotError(f"unknown snapshot format {data['format']!r}")
        if data["routine_id"] != plan.routine.id:
            raise SnapshotError(f"snapshot is for routine {data['routine_id']!r}")
        if PlanOptions.from_dict(data["options"]) != plan.options:
            raise SnapshotError("snapshot was taken with other plan options")
        step_index = int(data["step_index"])
        if not 0 <= step_index < len(plan.steps):
            raise SnapshotError(f"step {step_index} is outside the plan")
        remaining_us = data["remaining_us"]
        first, second = (int(user) for user in data["partners"])
        created_at = _from_iso(data["created_at"])
        if created_at is None:
            raise SnapshotError("snapshot has no creation time")
        return SessionState(
            partners=(first, second),
            plan=plan,
            phase=Phase(data["phase"]),
            step_index=step_index,
            version=int(data["version"]),
            revision=int(data["revision"]),
            joined=frozenset(Seat[name] for name in data["joined"]),
            ready=frozenset(Seat[name] for name in data["ready"]),
            deadline=_from_iso(data["deadline"]),
            remaining=None if remaining_us is None else timedelta(microseconds=remaining_us),
            paused_phase=None if data["paused_phase"] is None else Phase(data["paused_phase"]),
            paused_by=None if data["paused_by"] is None else Seat[data["paused_by"]],
            time_scale=float(data["time_scale"]),
            steps_done=int(data["steps_done"]),
            holds_done=int(data["holds_done"]),
            held_seconds=float(data["held_seconds"]),
            skips=int(data["skips"]),
            ease_offs=int(data["ease_offs"]),
            created_at=created_at,
            started_at=_from_iso(data["started_at"]),
            ended_at=_from_iso(data["ended_at"]),
            end_reason=None if data["end_reason"] is None else EndReason(data["end_reason"]),
            # Absent from sessions saved before the safety note: nobody owes it there.
            safety_due=frozenset(Seat[name] for name in data.get("safety_due", [])),
            eased_step=None if data.get("eased_step") is None else int(data["eased_step"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, SnapshotError):
            raise
        raise SnapshotError(f"snapshot is malformed: {error!r}") from error
