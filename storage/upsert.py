"""INSERT ... ON CONFLICT on both backends we run on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import Insert as PostgresqlInsert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert


def conflict_insert(
    session: AsyncSession, model: type[Any] | Table
) -> PostgresqlInsert | SqliteInsert:
    """The dialect's own INSERT, the one that knows ON CONFLICT."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql_insert(model)
    return sqlite_insert(model)


def insert_or_ignore(
    session: AsyncSession, model: type[Any] | Table, values: dict[str, Any] | None = None
) -> Insert:
    """An insert that quietly does nothing when a unique key already holds the row.

    Without `values` the rows come at execution, many at once (an executemany).
    """
    statement = conflict_insert(session, model)
    if values is not None:
        statement = statement.values(**values)
    return statement.on_conflict_do_nothing()


def upsert(
    session: AsyncSession, model: type[Any], values: dict[str, Any], key: list[str]
) -> Insert:
    """An insert that overwrites the other columns when the row with `key` exists."""
    # The new values are known here, so they are set directly; `excluded` would build
    # an aliased copy of the table on every call.
    changed = {name: value for name, value in values.items() if name not in key}
    return (
        conflict_insert(session, model)
        .values(**values)
        .on_conflict_do_update(index_elements=key, set_=changed)
    )
