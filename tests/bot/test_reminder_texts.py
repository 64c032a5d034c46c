"""The words of reminders: what the time rules refuse, days, names, said by bot.render."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.render import reminders as render
from routines.reminder_time import (
    InputProblem,
    ReminderInputError,
    Weekdays,
    parse_clock,
    parse_days,
)

DAYS_HINT = "Please name the days: daily, weekdays, weekends or a list like mon,wed,fri."


def refusal_of(parse: Callable[[str], object], text: str) -> str:
    """The line a user reads when `parse` refuses `text`."""
    with pytest.raises(ReminderInputError) as caught:
        parse(text)
    return render.refused(caught.value.problem, caught.value.token)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("25:00", "That time does not exist. Please give a time from 00:00 to 23:59."),
        ("12:60", "That time does not exist. Please give a time from 00:00 to 23:59."),
        ("7 o'clock", "Please give the time like 07:30, 7pm, 7:30pm or 19h."),
        ("", "Please give the time like 07:30, 7pm, 7:30pm or 19h."),
    ],
)
def test_a_bad_clock_time_reads_as_one_short_sentence(text: str, line: str) -> None:
    assert refusal_of(parse_clock, text) == line


def test_empty_days_ask_for_days() -> None:
    assert refusal_of(parse_days, " , ") == DAYS_HINT


def test_an_unknown_day_is_named_escaped_for_html() -> None:
    assert refusal_of(parse_days, "mon <b>") == f'I don\'t know the day "&lt;b&gt;". {DAYS_HINT}'


def test_a_long_unknown_day_is_cut_to_twenty_characters() -> None:
    assert refusal_of(parse_days, "x" * 500) == f'I don\'t know the day "{"x" * 20}…". {DAYS_HINT}'
    assert refusal_of(parse_days, "y" * 20) == f'I don\'t know the day "{"y" * 20}". {DAYS_HINT}'


def test_a_pause_out_of_range_names_the_range() -> None:
    assert (
        render.refused(InputProblem.PAUSE_RANGE) == "Please pause for 1 to 60 days, like /pause 7."
    )


def test_every_problem_the_rules_can_raise_has_its_own_words() -> None:
    lines = {render.refused(problem, "zz") for problem in InputProblem}
    assert len(lines) == len(InputProblem)


@pytest.mark.parametrize(
    ("days", "label"),
    [
        (Weekdays.DAILY, "daily"),
        (Weekdays.WEEKDAYS, "weekdays"),
        (Weekdays.WEEKENDS, "weekends"),
        (Weekdays.of(0, 1, 2, 3, 4), "weekdays"),
        (Weekdays.of(4, 0, 2), "Mon, Wed, Fri"),
        (Weekdays.of(6), "Sun"),
        (Weekdays.of(5, 6, 2), "Wed, Sat, Sun"),
    ],
)
def test_a_slots_days_read_as_a_keyword_or_short_names_monday_first(
    days: Weekdays, label: str
) -> None:
    assert render.days(days.mask) == label


def test_a_reminder_names_the_partner_escaped_or_says_your_partner() -> None:
    pitch = render.Pitch("Lower back", 7, 25)

    named = render.reminder("Sam & <Co>", pitch, again=False)
    unnamed = render.reminder(None, pitch, again=True)

    assert named.startswith("⏰ Time to stretch, together with Sam &amp; &lt;Co&gt;.\n")
    assert unnamed.startswith("⏰ Here's your snoozed reminder, together with your partner.\n")
    assert render.partner_unreachable(None).startswith("I couldn't reach your partner in private")
