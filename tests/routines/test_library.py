"""The bundled routines: the article's facts, in our own words, safe to send as HTML."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from routines.loader import LIBRARY_DIR, load_library
from routines.model import Routine
from routines.plan import PlanOptions, build_plan

SEED_NAME = "shared/seed/000_86fc4cc19340ac5c.txt"
# The article sits beside the checkout (/work/shared next to /work/main), or beside the
# folder of worktrees: the first one found up the tree.
SEED = next(
    (
        folder / SEED_NAME
        for folder in Path(__file__).resolve().parents
        if (folder / SEED_NAME).exists()
    ),
    Path(__file__).resolve().parents[3] / SEED_NAME,
)
RUN_LENGTH = 8


@pytest.fixture(scope="module")
def library() -> dict[str, Routine]:
    return load_library()


def test_the_library_holds_the_lower_back_and_quick_routines(
    library: dict[str, Routine],
) -> None:
    assert {"lower-back", "quick"} <= set(library)


def test_lower_back_has_the_seven_stretches_in_the_articles_order_and_holds(
    library: dict[str, Routine],
) -> None:
    facts = [(e.name, e.hold_seconds, e.per_side) for e in library["lower-back"].exercises]
    assert facts == [
        ("Child's Pose", 60, False),
        ("Straddle Fold", 30, False),
        ("Butterfly", 30, False),
        ("Supine Hamstring Stretch", 30, True),
        ("Supine Figure 4", 30, True),
        ("Prone Quad Stretch", 30, True),
        ("Supine Twist", 30, True),
    ]


@pytest.mark.parametrize(
    ("exercise_id", "cue"),
    [
        ("straddle-fold", "small bend in the knee"),
        ("supine-hamstring", "small bend in the knee"),
        ("supine-hamstring", "hips stay down"),
        ("prone-quad", "no pain in the knee"),
        ("butterfly", "gentle pressure"),
        ("supine-twist", "breathe out"),
    ],
)
def test_lower_back_carries_the_safety_cues(
    library: dict[str, Routine], exercise_id: str, cue: str
) -> None:
    safety = " ".join(library["lower-back"].exercise(exercise_id).safety).lower()
    assert cue in safety


def test_the_quick_routine_copies_its_exercises_from_lower_back_unchanged(
    library: dict[str, Routine],
) -> None:
    lower_back = library["lower-back"]
    for exercise in library["quick"].exercises:
        assert exercise == lower_back.exercise(exercise.id)


def test_the_quick_routine_holds_about_five_minutes_and_takes_under_half_the_long_one(
    library: dict[str, Routine],
) -> None:
    quick = build_plan(library["quick"], PlanOptions())
    assert 4.5 <= quick.total_seconds / 60 <= 6
    # Its summary promises no number: the lobby gives the one estimate beside it.
    assert "minute" not in library["quick"].summary
    lower_back = build_plan(library["lower-back"], PlanOptions())
    assert quick.estimated_minutes * 2 < lower_back.estimated_minutes


def test_no_text_holds_raw_html_characters(library: dict[str, Routine]) -> None:
    for routine in library.values():
        texts = [routine.title, routine.summary]
        for e in routine.exercises:
            texts += [e.name, e.purpose, e.receiver_setup, e.helper_setup]
            texts += [e.receiver_during, e.helper_during, *e.safety]
            texts += [e.receiver_intensity or "", e.helper_intensity or ""]
        assert not [text for text in texts if set(text) & set("<>&")]


def words(text: str, *, join_inner: bool) -> list[str]:
    text = text.lower().replace("’", "'")
    # Both readings of "side-to-side" and "child's": as one word and as several.
    text = re.sub(r"[^\w\s]", "" if join_inner else " ", text)
    return text.split()


def runs(tokens: list[str]) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + RUN_LENGTH]) for i in range(len(tokens) - RUN_LENGTH + 1)}


@pytest.mark.skipif(not SEED.exists(), reason="the seed article is not beside the repo")
@pytest.mark.parametrize("path", sorted(LIBRARY_DIR.glob("*.toml")), ids=lambda p: p.name)
@pytest.mark.parametrize("join_inner", [True, False], ids=["joined", "split"])
def test_no_run_of_eight_words_of_the_article_appears_in_the_library(
    path: Path, join_inner: bool
) -> None:
    article = runs(words(SEED.read_text(encoding="utf-8"), join_inner=join_inner))
    ours = runs(words(path.read_text(encoding="utf-8"), join_inner=join_inner))
    assert not sorted(" ".join(run) for run in article & ours)


def test_every_switch_gives_more_than_the_old_five_seconds_and_figure_4_the_most(
    library: dict[str, Routine],
) -> None:
    for routine in library.values():
        for e in routine.exercises:
            assert (e.switch_seconds is not None) == e.per_side, e.id
            assert e.switch_seconds is None or e.switch_seconds >= 10, e.id
    lower_back = library["lower-back"]
    figure_4 = lower_back.exercise("supine-figure-4").switch_seconds
    assert figure_4 == max(e.switch_seconds or 0 for e in lower_back.exercises)


def test_every_per_side_exercise_says_in_its_own_words_how_each_role_moves_left(
    library: dict[str, Routine],
) -> None:
    for routine in library.values():
        for e in routine.exercises:
            if not e.per_side:
                continue
            for words in (e.receiver_setup_left, e.helper_setup_left):
                assert words is not None, e.id
                assert "mirror" not in words.lower(), e.id
            assert "left" in f"{e.receiver_setup_left} {e.helper_setup_left}".lower(), e.id


def test_childs_pose_asks_the_helper_to_rest_the_palms_and_lean_in_at_the_half(
    library: dict[str, Routine],
) -> None:
    for routine in library.values():
        childs_pose = routine.exercise("childs-pose")
        [halfway] = childs_pose.cues
        assert halfway.at_seconds * 2 == childs_pose.hold_seconds
        assert "palms" in halfway.helper and "lean in softly" in halfway.helper


def test_the_straddle_fold_readies_the_helper_at_ten_seconds_left(
    library: dict[str, Routine],
) -> None:
    straddle = library["lower-back"].exercise("straddle-fold")
    [nearly] = straddle.cues
    assert straddle.hold_seconds - nearly.at_seconds == 10
    assert "back up" in nearly.helper


def test_every_exercise_carries_a_short_intensity_line_for_each_role(
    library: dict[str, Routine],
) -> None:
    for routine in library.values():
        for e in routine.exercises:
            receiver, helper = e.receiver_intensity, e.helper_intensity
            assert receiver is not None and helper is not None, e.id
            assert receiver != helper, e.id
            # The one stretched hears the rule: a mild pull, never pain, and breathing.
            assert "never" in receiver.lower() and "breath" in receiver.lower(), e.id
