"""The token never reaches a log line, a traceback included."""

from __future__ import annotations

import logging

from bot.redaction import REDACTED, RedactingFormatter, Redactor
from tests.conftest import TEST_TOKEN

SECRET = TEST_TOKEN.split(":", 1)[1]


def formatted(record: logging.LogRecord) -> str:
    return RedactingFormatter("%(levelname)s %(message)s", Redactor(TEST_TOKEN)).format(record)


def test_a_message_quoting_the_token_shows_the_placeholder_instead() -> None:
    record = logging.LogRecord(
        "telegram", logging.ERROR, __file__, 1, "The token `%s` was rejected", (TEST_TOKEN,), None
    )

    assert formatted(record) == f"ERROR The token `{REDACTED}` was rejected"


def test_a_traceback_carrying_the_secret_half_alone_is_redacted() -> None:
    try:
        raise ValueError(f"Invalid port: '8080{SECRET}'")
    except ValueError as error:
        record = logging.LogRecord(
            "bot", logging.ERROR, __file__, 1, "failed", (), (type(error), error, None)
        )

    text = formatted(record)

    assert SECRET not in text
    assert f"Invalid port: '8080{REDACTED}'" in text
