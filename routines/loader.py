"""Read routine files (TOML) and refuse any that the bot could not coach from."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from routines.model import Cue, Exercise, Routine

LIBRARY_DIR = Path(__file__).resolve().parent / "library"
MIN_HOLD_SECONDS = 1
MAX_HOLD_SECONDS = 600
# Below this a couple cannot let go, re-cross legs or walk round and take hold again.
MIN_SWITCH_SECONDS = 8
MAX_SWITCH_SECONDS = 60
# Ids travel in button data and storage keys, so they stay short and plain.
ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
MAX_TEXT_LENGTH = 600
# The bot sends texts as HTML; a stray angle bracket or ampersand breaks the message.
FORBIDDEN_CHARACTERS = frozenset("<>&")

ROUTINE_KEYS = ("id", "title", "summary", "exercises")
TEXT_FIELDS = (
    "name",
    "purpose",
    "receiver_setup",
    "helper_setup",
    "receiver_during",
    "helper_during",
)
# The one line on every hold card about how hard to go, per role: required, and short
# enough to read at a glance from a phone on the mat.
INTENSITY_KEYS = ("receiver_intensity", "helper_intensity")
MAX_INTENSITY_LENGTH = 90
EXERCISE_KEYS = ("id", *TEXT_FIELDS, *INTENSITY_KEYS, "hold_seconds", "per_side", "safety")
# Keys only a per-side exercise has: required there, refused on a one-sided exercise.
PER_SIDE_KEYS = ("switch_seconds",)
# A per-side exercise may give each role its own words for the left side: both or neither.
LEFT_SIDE_KEYS = ("receiver_setup_left", "helper_setup_left")
# Cues inside a hold: each a [[exercises.cues]] table with a moment and words for both.
CUE_KEYS = ("at_seconds", "receiver", "helper")
# Optional: the roles whose phone rings for the cue (a new message) because what they do
# changes there; the other phone's card is edited silently. Without it the cue is silent.
CUE_SOUND = "sound"
CUE_ROLES = ("receiver", "helper")
# The bot shows a cue by editing both hold cards, and a hold gets at most two edits
# (bot/session_timers.py), so a hold carries at most two cues.
MAX_CUES_PER_HOLD = 2


class RoutineFileError(Exception):
    """A routine file the bot refuses; the message names the file, exercise and field."""

    def __init__(
        self,
        path: Path,
        problem: str,
        *,
        exercise_id: str | None = None,
        field: str | None = None,
    ) -> None:
        self.path = path
        self.problem = problem
        self.exercise_id = exercise_id
        self.field = field
        where = [path.name]
        if exercise_id is not None:
            where.append(f"exercise {exercise_id!r}")
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(f"{', '.join(where)}: {problem}")


class _Checker:
    """Reads fields out of one table and raises with the right location on a problem."""

    def __init__(
        self,
        path: Path,
        table: Mapping[str, Any],
        exercise_id: str | None,
        prefix: str = "",
    ) -> None:
        self.path = path
        self.table = table
        self.exercise_id = exercise_id
        # Names a nested table's field in full, e.g. "cues[2]." + "at_seconds".
        self.prefix = prefix

    def fail(self, problem: str, field: str | None = None) -> RoutineFileError:
        named = None if field is None else f"{self.prefix}{field}"
        return RoutineFileError(self.path, problem, exercise_id=self.exercise_id, field=named)

    def check_keys(self, allowed: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
        for key in self.table:
            if key not in allowed and key not in optional:
                raise self.fail(f"unknown key (allowed: {', '.join((*allowed, *optional))})", key)
        for key in allowed:
            if key not in self.table:
                raise self.fail("missing", key)

    def text(self, field: str) -> str:
        return self._check_text(self.table[field], field)

    def _check_text(self, value: object, field: str) -> str:
        if not isinstance(value, str):
            raise self.fail(f"must be text, got {type(value).__name__}", field)
        cleaned = " ".join(value.split())
        if not cleaned:
            raise self.fail("must not be empty", field)
        if len(cleaned) > MAX_TEXT_LENGTH:
            raise self.fail(f"longer than {MAX_TEXT_LENGTH} characters", field)
        bad = sorted(FORBIDDEN_CHARACTERS.intersection(cleaned))
        if bad:
            raise self.fail(f"must not contain {' '.join(bad)} (texts are sent as HTML)", field)
        return cleaned

    def short_text(self, field: str, longest: int) -> str:
        cleaned = self.text(field)
        if len(cleaned) > longest:
            raise self.fail(
                f"longer than {longest} characters (one short line on the hold card)", field
            )
        return cleaned

    def identifier(self, field: str) -> str:
        value = self.table[field]
        if not isinstance(value, str):
            raise self.fail(f"must be text, got {type(value).__name__}", field)
        if not ID_PATTERN.fullmatch(value):
            raise self.fail(
                f"{value!r} is not an id (lowercase letters, digits and -, at most 32)", field
            )
        return value

    def hold_seconds(self, field: str) -> int:
        value = self.table[field]
        # bool is an int in Python; `hold_seconds = true` is a typo, not one second.
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"must be a whole number of seconds, got {value!r}", field)
        if not MIN_HOLD_SECONDS <= value <= MAX_HOLD_SECONDS:
            raise self.fail(
                f"must be between {MIN_HOLD_SECONDS} and {MAX_HOLD_SECONDS} seconds, got {value}",
                field,
            )
        return value

    def switch_seconds(self, field: str) -> int:
        value = self.table[field]
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"must be a whole number of seconds, got {value!r}", field)
        if not MIN_SWITCH_SECONDS <= value <= MAX_SWITCH_SECONDS:
            raise self.fail(
                f"must be between {MIN_SWITCH_SECONDS} and {MAX_SWITCH_SECONDS} seconds "
                f"(time to change sides), got {value}",
                field,
            )
        return value

    def flag(self, field: str) -> bool:
        value = self.table[field]
        if not isinstance(value, bool):
            raise self.fail(f"must be true or false, got {value!r}", field)
        return value

    def texts(self, field: str) -> tuple[str, ...]:
        value = self.table[field]
        if not isinstance(value, list):
            raise self.fail(f"must be a list of texts, got {type(value).__name__}", field)
        if not value:
            raise self.fail("must name at least one safety cue", field)
        return tuple(self._check_text(item, field) for item in value)


def _parse_cues(path: Path, exercise_id: str, hold: int, raw: object) -> tuple[Cue, ...]:
    """The cues of one exercise, each inside its hold, at distinct moments, in order."""
    where = _Checker(path, {}, exercise_id)
    if not isinstance(raw, list) or not raw:
        raise where.fail("must be a list of [[exercises.cues]] tables", "cues")
    if len(raw) > MAX_CUES_PER_HOLD:
        raise where.fail(f"at most {MAX_CUES_PER_HOLD} cues per hold, got {len(raw)}", "cues")
    cues: list[Cue] = []
    for number, table in enumerate(raw, start=1):
        if not isinstance(table, dict):
            raise where.fail("must be a table", f"cues[{number}]")
        checker = _Checker(path, table, exercise_id, prefix=f"cues[{number}].")
        checker.check_keys(CUE_KEYS, optional=(CUE_SOUND,))
        sound = _cue_sound(checker, table.get(CUE_SOUND, []))
        at = table["at_seconds"]
        if isinstance(at, bool) or not isinstance(at, int):
            raise checker.fail(f"must be a whole number of seconds, got {at!r}", "at_seconds")
        if not 0 < at < hold:
            raise checker.fail(
                f"{at} s is outside its {hold} s hold (a cue falls inside it)", "at_seconds"
            )
        if cues and at <= cues[-1].at_seconds:
            raise checker.fail("cues come in the order of their moments", "at_seconds")
        cues.append(
            Cue(
                at,
                receiver=checker.text("receiver"),
                helper=checker.text("helper"),
                sound=sound,
            )
        )
    return tuple(cues)


def _cue_sound(checker: _Checker, value: object) -> frozenset[str]:
    """`sound = ["helper"]`: each a role, each named once."""
    if not isinstance(value, list) or not all(isinstance(role, str) for role in value):
        raise checker.fail(f"must be a list of roles ({', '.join(CUE_ROLES)})", CUE_SOUND)
    unknown = sorted(set(value) - set(CUE_ROLES))
    if unknown:
        raise checker.fail(
            f"{', '.join(unknown)} is not a role ({', '.join(CUE_ROLES)})", CUE_SOUND
        )
    if len(set(value)) != len(value):
        raise checker.fail("names a role twice", CUE_SOUND)
    return frozenset(value)


def _parse_exercise(path: Path, position: int, raw: object) -> Exercise:
    label = f"#{position}"
    if not isinstance(raw, dict):
        raise RoutineFileError(path, "must be a table", exercise_id=label)
    raw_id = raw.get("id")
    checker = _Checker(path, raw, raw_id if isinstance(raw_id, str) and raw_id else label)
    checker.check_keys(EXERCISE_KEYS, optional=(*PER_SIDE_KEYS, *LEFT_SIDE_KEYS, "cues"))
    exercise_id = checker.identifier("id")
    per_side = checker.flag("per_side")
    for key in PER_SIDE_KEYS:
        if per_side and key not in raw:
            raise checker.fail("missing (a per-side exercise needs it)", key)
    for key in (*PER_SIDE_KEYS, *LEFT_SIDE_KEYS):
        if not per_side and key in raw:
            raise checker.fail("only a per-side exercise has this (per_side = false)", key)
    given = [key for key in LEFT_SIDE_KEYS if key in raw]
    if given and len(given) < len(LEFT_SIDE_KEYS):
        missing = next(key for key in LEFT_SIDE_KEYS if key not in raw)
        raise checker.fail(
            f"missing (both roles need left-side words, {given[0]} is set)", missing
        )
    hold_seconds = checker.hold_seconds("hold_seconds")
    return Exercise(
        id=exercise_id,
        name=checker.text("name"),
        purpose=checker.text("purpose"),
        hold_seconds=hold_seconds,
        per_side=per_side,
        receiver_setup=checker.text("receiver_setup"),
        helper_setup=checker.text("helper_setup"),
        receiver_during=checker.text("receiver_during"),
        helper_during=checker.text("helper_during"),
        safety=checker.texts("safety"),
        switch_seconds=checker.switch_seconds("switch_seconds") if per_side else None,
        receiver_setup_left=checker.text("receiver_setup_left") if given else None,
        helper_setup_left=checker.text("helper_setup_left") if given else None,
        cues=_parse_cues(path, exercise_id, hold_seconds, raw["cues"]) if "cues" in raw else (),
        receiver_intensity=checker.short_text("receiver_intensity", MAX_INTENSITY_LENGTH),
        helper_intensity=checker.short_text("helper_intensity", MAX_INTENSITY_LENGTH),
    )


def parse_routine(path: Path, data: Mapping[str, Any]) -> Routine:
    """Validate an already-parsed TOML document; `path` is used for naming and the id."""
    checker = _Checker(path, data, None)
    checker.check_keys(ROUTINE_KEYS)
    routine_id = checker.identifier("id")
    if routine_id != path.stem:
        raise checker.fail(f"{routine_id!r} must match the file name {path.stem!r}", "id")
    raw_exercises = data["exercises"]
    if not isinstance(raw_exercises, list):
        raise checker.fail("must be a list of [[exercises]] tables", "exercises")
    if not raw_exercises:
        raise checker.fail("a routine needs at least one exercise", "exercises")
    exercises: list[Exercise] = []
    seen: set[str] = set()
    for position, raw in enumerate(raw_exercises, start=1):
        exercise = _parse_exercise(path, position, raw)
        if exercise.id in seen:
            raise RoutineFileError(
                path, "duplicate exercise id", exercise_id=exercise.id, field="id"
            )
        seen.add(exercise.id)
        exercises.append(exercise)
    return Routine(
        id=routine_id,
        title=checker.text("title"),
        summary=checker.text("summary"),
        exercises=tuple(exercises),
    )


def load_routine(path: Path | str) -> Routine:
    """Read and validate one routine file, or raise RoutineFileError."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as error:
        raise RoutineFileError(path, f"cannot be read ({error.strerror})") from error
    except tomllib.TOMLDecodeError as error:
        raise RoutineFileError(path, f"is not valid TOML ({error})") from error
    return parse_routine(path, data)


def load_library(directory: Path | None = None) -> dict[str, Routine]:
    """Load every `*.toml` routine in `directory` (default: the bundled library), by id."""
    directory = LIBRARY_DIR if directory is None else directory
    paths = sorted(directory.glob("*.toml"))
    if not paths:
        raise RoutineFileError(directory, "holds no routine files (*.toml)")
    library: dict[str, Routine] = {}
    for path in paths:
        routine = load_routine(path)
        library[routine.id] = routine
    return library
