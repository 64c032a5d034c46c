"""A database the bot cannot use, said in one line that names the URL and the cause."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError


class DatabaseUnusable(Exception):
    """The database cannot be opened, migrated or written; the message is for a human."""

    def __init__(self, url: str, cause: str) -> None:
        self.url = safe_url(url)
        self.cause = cause
        super().__init__(f"{self.url}: {cause}")


def safe_url(url: str) -> str:
    """The URL as it may be shown: the password, if any, is masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (SQLAlchemyError, ValueError):
        return "(unparseable URL)"


def cause_of(error: BaseException) -> str:
    """The driver's own words, first line only: they name the cause well enough.

    `database "x" does not exist`, `role "y" does not exist`, `file is not a database`,
    `attempt to write a readonly database`, `[Errno 111] Connect call failed ...`.
    """
    inner = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    lines = str(inner).strip().splitlines()
    text = lines[0] if lines else type(inner).__name__
    if isinstance(inner, ConnectionError | TimeoutError):
        return f"no database server answers ({text})"
    return text
