"""Keep the bot token out of everything the process writes: logs, tracebacks, warnings."""

from __future__ import annotations

import logging
import threading

from bot.json_logs import JsonLinesFormatter

REDACTED = "<TELEGRAM_BOT_TOKEN>"


class Redactor:
    """Replaces the token, and its secret half on its own, in any text."""

    def __init__(self, token: str) -> None:
        # The secret half alone shows up too, e.g. in a URL httpx could not parse
        # ("Invalid port: '8080123456789:AAE-...'"), so it is removed on its own as well.
        secret = token.split(":", 1)[-1]
        self._secrets = [s for s in (token, secret) if s]

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text


class RedactingFormatter(logging.Formatter):
    """A formatter whose output, traceback included, never carries the token.

    PTB puts the token into some exception texts ("The token `…` was rejected") and the
    request URL carries it, so filtering messages is not enough: the whole formatted
    record, with its traceback, goes through the redactor.
    """

    def __init__(
        self, fmt: str, redact: Redactor, *, inner: logging.Formatter | None = None
    ) -> None:
        super().__init__(fmt)
        self._redact = redact
        # Another layout (JSON lines) is formatted first and redacted all the same.
        self._inner = inner

    def format(self, record: logging.LogRecord) -> str:
        text = self._inner.format(record) if self._inner else super().format(record)
        return self._redact(text)


def install(level: str, redact: Redactor, *, json_lines: bool = False) -> None:
    """Log to stderr through the redacting formatter; Python's warnings go there too."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        RedactingFormatter(
            "%(asctime)s %(levelname)s %(name)s: %(message)s",
            redact,
            inner=JsonLinesFormatter() if json_lines else None,
        )
    )
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.captureWarnings(True)
    # A library thread that dies would print its traceback straight to stderr.
    threading.excepthook = _log_thread_death


def _log_thread_death(args: threading.ExceptHookArgs) -> None:
    name = args.thread.name if args.thread is not None else "a thread"
    exc_info = (args.exc_type, args.exc_value, args.exc_traceback)
    logging.getLogger(__name__).error("%s died", name, exc_info=exc_info)  # type: ignore[arg-type]
