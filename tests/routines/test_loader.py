"""The loader refuses any routine file the bot could not coach from, and says where."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from routines.loader import RoutineFileError, load_library, load_routine

REPO_ROOT = Path(__file__).resolve().parents[2]

GOOD_EXERCISE = """
[[exercises]]
id = "{id}"
name = "Butterfly"
purpose = "Loosens the hips."
hold_seconds = {hold}
per_side = false
receiver_setup = "Sit with your soles together."
helper_setup = "Stand behind your partner."
receiver_during = "Breathe out and relax."
helper_during = "Press the thighs gently."
safety = ["Gentle pressure only."]
receiver_intensity = "A mild pull, never pain."
helper_intensity = "Press slowly; stop when they say so."
"""

HEADER = """
id = "{stem}"
title = "Test routine"
summary = "Only for tests."
"""


def write(
    tmp_path: Path,
    *exercises: str,
    stem: str = "sample",
    header: str = HEADER,
) -> Path:
    path = tmp_path / f"{stem}.toml"
    path.write_text(header.format(stem=stem) + "".join(exercises), encoding="utf-8")
    return path


def swap_line(text: str, key: str, line: str) -> str:
    """Replace (or, when `line` is empty, drop) the line that sets `key`."""
    lines = [row for row in text.splitlines() if not row.startswith(f"{key} =")]
    if line:
        lines.append(line)
    return "\n".join(lines) + "\n"


def exercise(id: str = "butterfly", hold: int | str = 30, **changes: str) -> str:
    """A valid exercise, with some keys' lines replaced or dropped."""
    text = GOOD_EXERCISE.format(id=id, hold=hold)
    for key, line in changes.items():
        text = swap_line(text, key, line)
    return text


def refusal(path: Path) -> RoutineFileError:
    with pytest.raises(RoutineFileError) as caught:
        load_routine(path)
    return caught.value


def test_a_well_formed_file_loads_into_a_routine(tmp_path: Path) -> None:
    routine = load_routine(write(tmp_path, exercise()))
    assert routine.id == "sample"
    assert [e.id for e in routine.exercises] == ["butterfly"]
    assert routine.exercises[0].safety == ("Gentle pressure only.",)


def test_multiline_texts_are_folded_into_one_line(tmp_path: Path) -> None:
    text = exercise(helper_setup='helper_setup = """\nStand behind\nyour partner.\n"""')
    routine = load_routine(write(tmp_path, text))
    assert routine.exercises[0].helper_setup == "Stand behind your partner."


def test_a_missing_helper_instruction_names_file_exercise_and_field(tmp_path: Path) -> None:
    error = refusal(write(tmp_path, exercise(helper_setup="")))
    assert (error.exercise_id, error.field) == ("butterfly", "helper_setup")
    assert "sample.toml" in str(error)
    assert "'butterfly'" in str(error)
    assert "'helper_setup'" in str(error)
    assert "missing" in str(error)


def test_an_unknown_key_is_refused(tmp_path: Path) -> None:
    error = refusal(write(tmp_path, exercise(colour='colour = "red"')))
    assert error.field == "colour"
    assert "unknown key" in str(error)


def test_an_unknown_key_at_the_top_of_the_file_is_refused(tmp_path: Path) -> None:
    error = refusal(write(tmp_path, exercise(), header=HEADER + 'author = "me"\n'))
    assert error.field == "author"
    assert error.exercise_id is None


@pytest.mark.parametrize("field", ["receiver_intensity", "helper_intensity"])
def test_a_missing_intensity_line_names_file_exercise_and_field(
    tmp_path: Path, field: str
) -> None:
    error = refusal(write(tmp_path, exercise(**{field: ""})))
    assert (error.exercise_id, error.field) == ("butterfly", field)
    assert str(error) == f"sample.toml, exercise 'butterfly', field '{field}': missing"


def test_an_intensity_line_too_long_for_a_glance_is_refused(tmp_path: Path) -> None:
    long_line = 'helper_intensity = "' + "Slowly, " * 12 + 'stop."'
    error = refusal(write(tmp_path, exercise(helper_intensity=long_line)))
    assert (error.exercise_id, error.field) == ("butterfly", "helper_intensity")
    assert "one short line" in str(error)


def test_each_role_gets_its_own_intensity_line(tmp_path: Path) -> None:
    [butterfly] = load_routine(write(tmp_path, exercise())).exercises
    assert butterfly.receiver_intensity == "A mild pull, never pain."
    assert butterfly.helper_intensity == "Press slowly; stop when they say so."


@pytest.mark.parametrize("hold", [0, -5, 601, 3 * 60 * 60])
def test_a_hold_of_zero_or_of_hours_is_refused(tmp_path: Path, hold: int) -> None:
    error = refusal(write(tmp_path, exercise(hold=hold)))
    assert error.field == "hold_seconds"
    assert "sample.toml" in str(error)


def test_a_hold_of_the_limits_is_accepted(tmp_path: Path) -> None:
    routine = load_routine(write(tmp_path, exercise("a", hold=1), exercise("b", hold=600)))
    assert [e.hold_seconds for e in routine.exercises] == [1, 600]


def test_a_duplicate_exercise_id_is_refused(tmp_path: Path) -> None:
    error = refusal(write(tmp_path, exercise(), exercise()))
    assert (error.exercise_id, error.field) == ("butterfly", "id")
    assert "duplicate" in str(error)


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ('hold_seconds = "30"', "hold_seconds"),
        ("hold_seconds = 30.5", "hold_seconds"),
        ("hold_seconds = true", "hold_seconds"),
        ('per_side = "yes"', "per_side"),
        ("name = 7", "name"),
        ('safety = "be careful"', "safety"),
        ("safety = []", "safety"),
        ("safety = [3]", "safety"),
        ('purpose = "   "', "purpose"),
        ('purpose = "Hips <b>open</b>"', "purpose"),
        ('purpose = "Hips & back"', "purpose"),
    ],
)
def test_a_field_of_the_wrong_type_or_shape_is_refused(
    tmp_path: Path, line: str, field: str
) -> None:
    text = swap_line(exercise(), line.split(" =")[0], line)
    error = refusal(write(tmp_path, text))
    assert (error.exercise_id, error.field) == ("butterfly", field)


PER_SIDE = {"per_side": "per_side = true", "switch_seconds": "switch_seconds = 12"}


def test_a_per_side_exercise_loads_with_its_switch_time(tmp_path: Path) -> None:
    routine = load_routine(write(tmp_path, exercise(**PER_SIDE)))
    assert routine.exercises[0].switch_seconds == 12


@pytest.mark.parametrize("seconds", [0, 5, 7])
def test_a_switch_time_below_the_floor_is_refused_naming_file_exercise_and_field(
    tmp_path: Path, seconds: int
) -> None:
    text = exercise(per_side="per_side = true", switch_seconds=f"switch_seconds = {seconds}")
    error = refusal(write(tmp_path, text))
    assert (error.path.name, error.exercise_id, error.field) == (
        "sample.toml",
        "butterfly",
        "switch_seconds",
    )
    assert f"between 8 and 60 seconds (time to change sides), got {seconds}" in str(error)


def test_the_floor_itself_is_an_accepted_switch_time(tmp_path: Path) -> None:
    text = exercise(per_side="per_side = true", switch_seconds="switch_seconds = 8")
    assert load_routine(write(tmp_path, text)).exercises[0].switch_seconds == 8


@pytest.mark.parametrize("line", ['switch_seconds = "12"', "switch_seconds = 12.5"])
def test_a_switch_time_that_is_not_whole_seconds_is_refused(tmp_path: Path, line: str) -> None:
    error = refusal(write(tmp_path, exercise(per_side="per_side = true", switch_seconds=line)))
    assert (error.exercise_id, error.field) == ("butterfly", "switch_seconds")


def test_a_per_side_exercise_without_a_switch_time_is_refused(tmp_path: Path) -> None:
    error = refusal(write(tmp_path, exercise(per_side="per_side = true")))
    assert (error.exercise_id, error.field) == ("butterfly", "switch_seconds")
    assert "per-side exercise needs it" in error.problem


def test_a_switch_time_on_a_one_sided_exercise_is_refused(tmp_path: Path) -> None:
    error = refusal(write(tmp_path, exercise(switch_seconds="switch_seconds = 12")))
    assert (error.exercise_id, error.field) == ("butterfly", "switch_seconds")
    assert "only a per-side exercise" in error.problem


LEFT_WORDS = {
    "receiver_setup_left": 'receiver_setup_left = "Hug your left knee in."',
    "helper_setup_left": 'helper_setup_left = "Stand at their left side."',
}


def test_a_per_side_exercise_loads_its_left_side_words_for_both_roles(tmp_path: Path) -> None:
    loaded = load_routine(write(tmp_path, exercise(**PER_SIDE, **LEFT_WORDS))).exercises[0]
    assert (loaded.receiver_setup_left, loaded.helper_setup_left) == (
        "Hug your left knee in.",
        "Stand at their left side.",
    )


def test_a_per_side_exercise_may_go_without_left_side_words(tmp_path: Path) -> None:
    loaded = load_routine(write(tmp_path, exercise(**PER_SIDE))).exercises[0]
    assert loaded.receiver_setup_left is loaded.helper_setup_left is None


@pytest.mark.parametrize("field", ["receiver_setup_left", "helper_setup_left"])
def test_a_left_side_text_on_a_one_sided_exercise_is_refused(tmp_path: Path, field: str) -> None:
    error = refusal(write(tmp_path, exercise(**{field: LEFT_WORDS[field]})))
    assert (error.path.name, error.exercise_id, error.field) == ("sample.toml", "butterfly", field)
    assert "only a per-side exercise" in error.problem


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ("receiver_setup_left", "helper_setup_left"),
        ("helper_setup_left", "receiver_setup_left"),
    ],
)
def test_left_side_words_for_one_role_only_are_refused(
    tmp_path: Path, given: str, missing: str
) -> None:
    error = refusal(write(tmp_path, exercise(**PER_SIDE, **{given: LEFT_WORDS[given]})))
    assert (error.exercise_id, error.field) == ("butterfly", missing)


def test_left_side_words_are_checked_like_every_other_text(tmp_path: Path) -> None:
    words = {**LEFT_WORDS, "helper_setup_left": 'helper_setup_left = "Left <b>side</b>"'}
    error = refusal(write(tmp_path, exercise(**PER_SIDE, **words)))
    assert (error.exercise_id, error.field) == ("butterfly", "helper_setup_left")


def cue(at: object = 15, receiver: str = "Breathe out.", helper: str = "Lean in.") -> str:
    return f"""
[[exercises.cues]]
at_seconds = {at}
receiver = "{receiver}"
helper = "{helper}"
"""


def test_cues_load_in_their_order_with_words_for_both_roles(tmp_path: Path) -> None:
    text = exercise(hold=60) + cue(30) + cue(50, "Nearly there.", "Get ready.")
    [loaded] = load_routine(write(tmp_path, text)).exercises
    assert [(c.at_seconds, c.receiver, c.helper) for c in loaded.cues] == [
        (30, "Breathe out.", "Lean in."),
        (50, "Nearly there.", "Get ready."),
    ]


def test_a_cue_names_the_roles_whose_phone_rings_for_it_and_is_silent_without(
    tmp_path: Path,
) -> None:
    text = exercise(hold=60) + cue(30) + 'sound = ["helper"]\n' + cue(50)
    [loaded] = load_routine(write(tmp_path, text)).exercises
    assert [c.sound for c in loaded.cues] == [frozenset({"helper"}), frozenset()]


@pytest.mark.parametrize("at", [0, -5, 30, 45])
def test_a_cue_outside_its_hold_is_refused_naming_file_exercise_and_field(
    tmp_path: Path, at: int
) -> None:
    error = refusal(write(tmp_path, exercise(hold=30) + cue(at)))
    assert (error.path.name, error.exercise_id, error.field) == (
        "sample.toml",
        "butterfly",
        "cues[1].at_seconds",
    )
    assert f"{at} s is outside its 30 s hold" in error.problem


@pytest.mark.parametrize(
    ("cues", "field", "problem"),
    [
        (cue(10) + cue(20) + cue(25), "cues", "at most 2 cues per hold, got 3"),
        (cue(20) + cue(10), "cues[2].at_seconds", "in the order of their moments"),
        (cue(20) + cue(20), "cues[2].at_seconds", "in the order of their moments"),
        (cue('"15"'), "cues[1].at_seconds", "whole number of seconds"),
        (cue(15, helper="Lean <b>in</b>"), "cues[1].helper", "must not contain"),
        (cue(15).replace('receiver = "Breathe out."\n', ""), "cues[1].receiver", "missing"),
        ("cues = []\n", "cues", "list of [[exercises.cues]] tables"),
        (cue(15) + 'sound = ["partner"]\n', "cues[1].sound", "partner is not a role"),
        (cue(15) + 'sound = "helper"\n', "cues[1].sound", "must be a list of roles"),
        (cue(15) + 'sound = ["helper", "helper"]\n', "cues[1].sound", "names a role twice"),
    ],
)
def test_a_malformed_cue_is_refused_with_its_place(
    tmp_path: Path, cues: str, field: str, problem: str
) -> None:
    error = refusal(write(tmp_path, exercise(hold=30) + cues))
    assert (error.exercise_id, error.field) == ("butterfly", field)
    assert problem in error.problem


def test_a_routine_without_exercises_is_refused(tmp_path: Path) -> None:
    error = refusal(write(tmp_path, header=HEADER + "exercises = []\n"))
    assert error.field == "exercises"


def test_a_routine_whose_id_differs_from_its_file_name_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.toml"
    path.write_text(HEADER.format(stem="sample") + exercise(), encoding="utf-8")
    error = refusal(path)
    assert error.field == "id"
    assert "other.toml" in str(error)


def test_an_exercise_without_an_id_is_named_by_its_position(tmp_path: Path) -> None:
    nameless = exercise().replace('id = "butterfly"\n', "")
    error = refusal(write(tmp_path, exercise("a"), nameless))
    assert (error.exercise_id, error.field) == ("#2", "id")
    assert "missing" in str(error)


def test_a_file_that_is_not_toml_is_refused_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("id = [unclosed\n", encoding="utf-8")
    assert "broken.toml" in str(refusal(path))


def test_a_missing_file_is_refused_with_its_name(tmp_path: Path) -> None:
    assert "nowhere.toml" in str(refusal(tmp_path / "nowhere.toml"))


def test_the_library_loads_every_file_by_id(tmp_path: Path) -> None:
    write(tmp_path, exercise(), stem="one")
    write(tmp_path, exercise(), stem="two")
    assert sorted(load_library(tmp_path)) == ["one", "two"]


def test_an_empty_library_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RoutineFileError):
        load_library(tmp_path)


def test_one_bad_file_stops_the_whole_library(tmp_path: Path) -> None:
    write(tmp_path, exercise(), stem="good")
    write(tmp_path, exercise(hold=0), stem="worse")
    with pytest.raises(RoutineFileError, match=r"worse\.toml"):
        load_library(tmp_path)


def run_check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "routines", "check", *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )


def test_the_check_command_passes_the_bundled_library() -> None:
    result = run_check()
    assert result.returncode == 0, result.stdout + result.stderr
    # The one estimate (routines/plan.py): holds, switches, and per setup its allowance
    # and the get-set wait, as the lobby and reminders give it.
    assert "ok lower-back.toml: 7 exercises, ~20 min" in result.stdout
    assert "ok quick.toml: 3 exercises, ~8 min" in result.stdout


def test_the_check_command_fails_on_a_broken_file_and_names_the_field(tmp_path: Path) -> None:
    good = write(tmp_path, exercise(), stem="good")
    bad = write(tmp_path, exercise(helper_setup=""), stem="bad")
    result = run_check(str(good), str(bad))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ok good.toml: 1 exercises")
    assert lines[1].startswith("error bad.toml")
    assert "helper_setup" in lines[1]


def test_the_check_command_says_which_switch_time_is_too_short(tmp_path: Path) -> None:
    text = exercise(per_side="per_side = true", switch_seconds="switch_seconds = 5")
    result = run_check(str(write(tmp_path, text, stem="rushed")))
    assert result.returncode == 1
    assert result.stdout.startswith(
        "error rushed.toml, exercise 'butterfly', field 'switch_seconds': must be between 8"
    )


def test_the_check_command_says_which_one_sided_exercise_has_left_side_words(
    tmp_path: Path,
) -> None:
    text = exercise(receiver_setup_left=LEFT_WORDS["receiver_setup_left"])
    result = run_check(str(write(tmp_path, text, stem="lopsided")))
    assert result.returncode == 1
    assert result.stdout.startswith(
        "error lopsided.toml, exercise 'butterfly', field 'receiver_setup_left': only a per-side"
    )


def test_the_check_command_says_which_cue_falls_outside_its_hold(tmp_path: Path) -> None:
    result = run_check(str(write(tmp_path, exercise(hold=30) + cue(40), stem="late")))
    assert result.returncode == 1
    assert result.stdout.startswith(
        "error late.toml, exercise 'butterfly', field 'cues[1].at_seconds': 40 s is outside"
    )
