"""Which routine a person means by what they typed after /stretch."""

from __future__ import annotations

import pytest

from routines.model import Routine
from routines.routine_names import routine_named

LIBRARY = (
    Routine(id="lower-back", title="Lower back relief", summary="", exercises=()),
    Routine(id="low-impact", title="Gentle start", summary="", exercises=()),
    Routine(id="quick", title="Quick unwind", summary="", exercises=()),
)


@pytest.mark.parametrize(
    ("typed", "routine_id"),
    [
        ("lower-back", "lower-back"),
        ("  Lower   Back ", "lower-back"),
        ("lower_back", "lower-back"),
        ("LOWER BACK RELIEF", "lower-back"),
        ("lowe", "lower-back"),
        ("gentle", "low-impact"),
        ("quick unwind", "quick"),
        ("q", "quick"),
    ],
)
def test_an_id_or_title_in_any_case_and_spacing_names_its_routine(
    typed: str, routine_id: str
) -> None:
    assert routine_named(LIBRARY, typed) == routine_id


@pytest.mark.parametrize("typed", ["", "  ", "-", "low", "yoga", "back", "quick unwinds"])
def test_a_name_that_fits_several_routines_or_none_names_nothing(typed: str) -> None:
    assert routine_named(LIBRARY, typed) is None
