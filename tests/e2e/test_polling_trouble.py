"""The real process while polling goes wrong: a second instance on the token, Telegram
failing or asking to wait, and updates the bot cannot read."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.playground.double import BotApiDouble
from tests.e2e.process import STARTUP_LIMIT_SECONDS, Stopped, bot_process
from tests.harness import Person

pytestmark = pytest.mark.e2e

ANA = Person(101, "Ana", "ana")
# The bound the issue sets for SIGTERM while polling fails.
STOP_LIMIT_SECONDS = 10.0


def started(double: BotApiDouble) -> None:
    """Until the process answers, so it is past start-up and polling."""
    double.push_message(ANA, "/help")
    double.wait_for_message(ANA.id, timeout=STARTUP_LIMIT_SECONDS)


def lines_with(stopped: Stopped, words: str) -> list[str]:
    return [line for line in stopped.output.splitlines() if words in line]


def test_another_instance_on_the_token_is_said_once_and_polling_resumes_after_it(
    double: BotApiDouble, tmp_path: Path
) -> None:
    with bot_process(double, tmp_path) as stop:
        started(double)
        double.refuse_polls(
            409,
            "Conflict: terminated by other getUpdates request; make sure that only one bot "
            "instance is running",
        )
        double.wait_for_refused_polls(3)
        double.accept_polls()
        double.push_message(ANA, "/start")
        greeting = double.wait_for_message(ANA.id, lambda m: m.text.startswith("Hi"), 40)
        stopped = stop()

    print(stopped.output)
    assert greeting.text.startswith("Hi Ana")
    assert len(lines_with(stopped, "another instance is polling with this token")) == 1
    assert "Traceback" not in stopped.output
    assert stopped.status == 0


def test_sigterm_during_telegrams_retry_after_stops_at_once(
    double: BotApiDouble, tmp_path: Path
) -> None:
    with bot_process(double, tmp_path) as stop:
        started(double)
        # The rate limiter honours it by pausing every call, this poll included.
        double.refuse_polls(429, "Too Many Requests: retry after 30", retry_after=30)
        double.wait_for_refused_polls(1)
        stopped = stop(limit=40)

    print(f"SIGTERM during a 30 s Retry-After: stopped in {stopped.shutdown_seconds:.2f} s")
    assert stopped.status == 0, stopped.output
    assert stopped.shutdown_seconds < STOP_LIMIT_SECONDS
    assert "Traceback" not in stopped.output


def test_sigterm_while_polls_fail_stops_within_ten_seconds_with_one_line_said(
    double: BotApiDouble, tmp_path: Path
) -> None:
    with bot_process(double, tmp_path) as stop:
        started(double)
        double.refuse_polls(500, "Internal Server Error")
        # Failures 1 s, 2 s and 4 s apart: the process is in its longest wait yet.
        double.wait_for_refused_polls(3)
        stopped = stop(limit=40)

    print(f"SIGTERM while every poll fails: stopped in {stopped.shutdown_seconds:.2f} s")
    assert stopped.status == 0, stopped.output
    assert stopped.shutdown_seconds < STOP_LIMIT_SECONDS
    assert len(lines_with(stopped, "cannot poll Telegram")) == 1
    assert "Traceback" not in stopped.output


def test_updates_the_bot_cannot_read_or_did_not_ask_for_do_not_stop_it(
    double: BotApiDouble, tmp_path: Path
) -> None:
    with bot_process(double, tmp_path) as stop:
        started(double)
        # A poll answer as an older Bot API server shaped it, with a bare user id.
        double.push_update({"poll_answer": {"poll_id": "7", "user": {"id": ANA.id}}})
        # A message whose sender lacks the fields every user has.
        unreadable = double.push_update(
            {
                "message": {
                    "message_id": 99,
                    "date": 0,
                    "chat": {"id": ANA.id, "type": "private"},
                    "from": {"id": ANA.id},
                    "text": "/start",
                }
            }
        )
        double.push_message(ANA, "/start")
        greeting = double.wait_for_message(ANA.id, lambda m: m.text.startswith("Hi"), 10)
        stopped = stop()

    print(stopped.output)
    assert greeting.text.startswith("Hi Ana")
    assert {tuple(poll["allowed_updates"]) for poll in double.polls} == {
        ("callback_query", "message")
    }
    [skipped] = lines_with(stopped, "skipped update")
    assert f"skipped update {unreadable} (message)" in skipped
    assert "CRITICAL" not in stopped.output
    assert stopped.status == 0
    assert double.pending_updates() == 0
