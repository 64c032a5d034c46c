"""`LOG_FORMAT=json`: one JSON object a line, with the update being handled where known.

The update id travels in a context variable: `bot.metered` sets it around the handling
of each update, and asyncio copies it into every task started from there, so a line
logged deep in a service or the error handler still names its update.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_update_id: ContextVar[int | None] = ContextVar("pairstretch_update_id", default=None)


@contextmanager
def handling_update(update_id: int | None) -> Iterator[None]:
    """Every line logged inside carries `update_id`."""
    token = _update_id.set(update_id)
    try:
        yield
    finally:
        _update_id.reset(token)


class JsonLinesFormatter(logging.Formatter):
    """timestamp (UTC, ISO 8601), level, logger, message, update_id, and any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        update_id = _update_id.get()
        if update_id is not None:
            line["update_id"] = update_id
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        # ensure_ascii keeps every line plain ASCII, whatever a user's name holds.
        return json.dumps(line, ensure_ascii=True)
