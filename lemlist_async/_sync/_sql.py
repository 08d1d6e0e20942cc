"""The SQL of a sync, for SQLite and PostgreSQL: pure builders, tested without a database.

Both databases take the same upsert, ``INSERT ... ON CONFLICT (key) DO UPDATE
SET ... WHERE``: the ``WHERE`` keeps a row whose content did not change
untouched, so a run that finds nothing new writes nothing. They differ in
placeholders (``?`` or ``$n``), column types, and how a list travels as one
parameter: SQLite reads a JSON array with ``json_each``, PostgreSQL an array
with ``unnest``. PostgreSQL inserts a whole batch from arrays in one statement,
which also reports how many rows it wrote.
https://sqlite.org/lang_upsert.html
https://www.postgresql.org/docs/current/sql-insert.html#SQL-ON-CONFLICT
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from typing import Any, Final

import attrs

from ._ops import (
    DropState,
    MarkPending,
    Op,
    PutMeta,
    PutRun,
    PutState,
    Retire,
    Upsert,
)
from ._schema import ACTIVITIES, BOOKKEEPING, DATA_TABLES, META, RUNS, STATE, Column, Kind, Table

__all__ = [
    "Dialect",
    "Statement",
    "create_statements",
    "drop_state_sql",
    "mark_pending_sql",
    "put_meta_sql",
    "put_run_sql",
    "put_state_sql",
    "retire_sql",
    "sqlite_time",
    "statement",
    "upsert_sql",
]


class Dialect(enum.Enum):
    SQLITE = "sqlite"
    POSTGRES = "postgres"

    def param(self, n: int) -> str:
        """The ``n``-th placeholder (from 1)."""
        return "?" if self is Dialect.SQLITE else f"${n}"

    def type(self, kind: Kind) -> str:
        return _TYPES[self][kind]


_TYPES: Final = {
    Dialect.SQLITE: {
        Kind.TEXT: "TEXT",
        Kind.INTEGER: "INTEGER",
        Kind.BOOLEAN: "INTEGER",
        # ISO 8601 in UTC, one fixed format, so text order is time order.
        Kind.TIMESTAMP: "TEXT",
        Kind.JSON: "TEXT",
    },
    Dialect.POSTGRES: {
        Kind.TEXT: "TEXT",
        Kind.INTEGER: "BIGINT",
        Kind.BOOLEAN: "BOOLEAN",
        Kind.TIMESTAMP: "TIMESTAMPTZ",
        Kind.JSON: "JSONB",
    },
}


def _columns(table: Table) -> tuple[Column, ...]:
    return table.columns + BOOKKEEPING


def create_statements(dialect: Dialect) -> list[str]:
    """Every table and index of schema version 1, each created only if missing."""
    statements = [
        f"CREATE TABLE IF NOT EXISTS {META} (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS {STATE} (stream TEXT NOT NULL, scope TEXT NOT NULL,"
        " state TEXT NOT NULL, PRIMARY KEY (stream, scope))",
        f"CREATE TABLE IF NOT EXISTS {RUNS} (run_id {dialect.type(Kind.INTEGER)} PRIMARY KEY,"
        f" team_id TEXT NOT NULL, started_at {dialect.type(Kind.TIMESTAMP)} NOT NULL,"
        f" finished_at {dialect.type(Kind.TIMESTAMP)}, status TEXT NOT NULL,"
        f" full_run {dialect.type(Kind.BOOLEAN)} NOT NULL, error TEXT)",
    ]
    for table in DATA_TABLES:
        key = set(table.key)
        columns = ", ".join(
            f"{c.name} {dialect.type(c.kind)}{' NOT NULL' if c.name in key else ''}"
            for c in _columns(table)
        )
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {table.name} ({columns},"
            f" PRIMARY KEY ({', '.join(table.key)}))"
        )
        for index in table.indexes:
            name = f"{table.name}_{'_'.join(c.strip('_') for c in index)}_idx"
            statements.append(
                f"CREATE INDEX IF NOT EXISTS {name} ON {table.name} ({', '.join(index)})"
            )
    return statements


def _on_conflict(table: Table) -> str:
    key = set(table.key)
    updated = [c.name for c in table.columns if c.name not in key]
    updated += ["raw", "_raw_hash", "_changed_at"]
    sets = ", ".join(f"{name} = excluded.{name}" for name in updated)
    return (
        f" ON CONFLICT ({', '.join(table.key)}) DO UPDATE SET {sets}, _deleted_at = NULL"
        f" WHERE {table.name}._raw_hash <> excluded._raw_hash"
        f" OR {table.name}._deleted_at IS NOT NULL"
    )


def upsert_sql(table: Table, dialect: Dialect) -> str:
    """Write rows: insert new ones; update those that changed or were deleted.

    Parameters: SQLite, once per row (``executemany``): the row's values, then
    the batch's time twice (first seen, changed). PostgreSQL, once per batch: an
    array per value of the row, in order, then the batch's time.
    """
    names = ", ".join(c.name for c in _columns(table))
    if dialect is Dialect.SQLITE:
        marks = ", ".join("?" for _ in range(table.width + 2))
        return f"INSERT INTO {table.name} ({names}) VALUES ({marks}, NULL)" + _on_conflict(table)
    cast = {Kind.JSON: "jsonb", Kind.TIMESTAMP: "timestamptz"}
    values = [*table.columns, Column("raw", Kind.JSON), Column("_raw_hash")]
    arrays = ", ".join(f"${n}::{_array_type(c.kind)}[]" for n, c in enumerate(values, start=1))
    selected = ", ".join(
        f"u.{c.name}::{cast[c.kind]}" if c.kind is Kind.JSON else f"u.{c.name}" for c in values
    )
    at = f"${len(values) + 1}"
    return (
        f"INSERT INTO {table.name} ({names})"
        f" SELECT {selected}, {at}, {at}, NULL"
        f" FROM unnest({arrays}) AS u({', '.join(c.name for c in values)})"
    ) + _on_conflict(table)


def _array_type(kind: Kind) -> str:
    # JSON travels as text and is cast per element: asyncpg encodes a text[] as is.
    return {
        Kind.TEXT: "text",
        Kind.JSON: "text",
        Kind.INTEGER: "bigint",
        Kind.BOOLEAN: "boolean",
        Kind.TIMESTAMP: "timestamptz",
    }[kind]


def retire_sql(table: Table, scope: tuple[str, ...], dialect: Dialect) -> str:
    """Soft-delete the live rows of a scope whose key a complete read did not list.

    Parameters: the time; each scope column's value; the keys kept, as one JSON
    array (of strings, or of arrays for a key of several columns) for SQLite,
    one array per key column for PostgreSQL.
    """
    p = dialect.param
    where = [f"{column} = {p(n)}" for n, column in enumerate(scope, start=2)]
    first = len(scope) + 2
    key = table.key
    if dialect is Dialect.SQLITE:
        if len(key) == 1:
            kept = f"{key[0]} NOT IN (SELECT value FROM json_each(?))"
        else:
            parts = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(key)))
            kept = f"({', '.join(key)}) NOT IN (SELECT {parts} FROM json_each(?))"
    else:
        arrays = ", ".join(f"${first + i}::text[]" for i in range(len(key)))
        kept = f"({', '.join(key)}) NOT IN (SELECT * FROM unnest({arrays}))"
        if len(key) == 1:
            kept = f"{key[0]} NOT IN (SELECT * FROM unnest({arrays}))"
    conditions = " AND ".join(["_deleted_at IS NULL", *where, kept])
    return f"UPDATE {table.name} SET _deleted_at = {p(1)} WHERE {conditions}"


def put_state_sql(dialect: Dialect) -> str:
    """Parameters: stream, scope, state."""
    p = dialect.param
    return (
        f"INSERT INTO {STATE} (stream, scope, state) VALUES ({p(1)}, {p(2)}, {p(3)})"
        " ON CONFLICT (stream, scope) DO UPDATE SET state = excluded.state"
    )


def drop_state_sql(dialect: Dialect, *, whole_stream: bool) -> str:
    """Parameters: stream, and scope unless ``whole_stream``."""
    p = dialect.param
    scope = "" if whole_stream else f" AND scope = {p(2)}"
    return f"DELETE FROM {STATE} WHERE stream = {p(1)}{scope}"


#: The state streams the rules below name.
PENDING: Final = "leads.pending"
EXPORTED: Final = "leads.exported"


def mark_pending_sql(activities: Table, dialect: Dialect) -> str:
    """Mark the campaigns of the activities first seen at a time for a new export.

    Parameters: the batch's time; the ``leads.exported`` state of this run.
    """
    p = dialect.param
    return (
        f"INSERT INTO {STATE} (stream, scope, state)"
        f" SELECT DISTINCT '{PENDING}', a.campaign_id, '{{}}' FROM {activities.name} a"
        f" WHERE a._first_seen_at = {p(1)} AND a.campaign_id IS NOT NULL"
        f" AND NOT EXISTS (SELECT 1 FROM {STATE} s WHERE s.stream = '{EXPORTED}'"
        f" AND s.scope = a.campaign_id AND s.state = {p(2)})"
        " ON CONFLICT (stream, scope) DO NOTHING"
    )


def put_run_sql(dialect: Dialect) -> str:
    """Parameters: run_id, team_id, started_at, finished_at, status, full_run, error."""
    marks = ", ".join(dialect.param(n) for n in range(1, 8))
    return (
        f"INSERT INTO {RUNS} (run_id, team_id, started_at, finished_at, status, full_run, error)"
        f" VALUES ({marks}) ON CONFLICT (run_id) DO UPDATE SET finished_at = excluded.finished_at,"
        " status = excluded.status, full_run = excluded.full_run, error = excluded.error"
    )


def put_meta_sql(dialect: Dialect) -> str:
    """Parameters: key, value."""
    p = dialect.param
    return (
        f"INSERT INTO {META} (key, value) VALUES ({p(1)}, {p(2)})"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
    )


#: Reads, the same text in both databases (no parameters).
SELECT_META: Final = f"SELECT key, value FROM {META}"
SELECT_STATE: Final = f"SELECT stream, scope, state FROM {STATE}"
SELECT_LAST_RUN: Final = (
    f"SELECT run_id, team_id, started_at, full_run, status, finished_at, error FROM {RUNS}"
    " ORDER BY run_id DESC LIMIT 1"
)


def sqlite_time(moment: dt.datetime) -> str:
    """A timestamp as stored in SQLite: UTC, one fixed width, so text order is time order."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@attrs.frozen
class Statement:
    """One operation of a batch as SQL and its parameters, ready for a driver.

    Attributes:
        sql: The statement.
        params: Its parameters; with ``many``, a list of them (one per row).
        many: Run once per parameter tuple (SQLite's ``executemany``).
        counts: The rows it touches are the operation's result.
    """

    sql: str
    params: Any
    many: bool = False
    counts: bool = False


def statement(op: Op, at: dt.datetime, dialect: Dialect) -> Statement | None:
    """The SQL that applies ``op`` at the batch's time ``at``; None when there is nothing to do.

    Values are shaped for the dialect's driver: SQLite's sqlite3 takes dates as
    text and a list as one JSON parameter; PostgreSQL's asyncpg takes dates as
    they are and lists as arrays, a column each.
    """
    sqlite = dialect is Dialect.SQLITE

    def value(item: Any) -> Any:
        return sqlite_time(item) if sqlite and isinstance(item, dt.datetime) else item

    stamp = value(at)
    match op:
        case Upsert(table=table, rows=rows):
            if not rows:
                return None
            sql = upsert_sql(table, dialect)
            if sqlite:
                params = [(*(value(v) for v in row), stamp, stamp) for row in rows]
                return Statement(sql, params, many=True, counts=True)
            columns = [list(values) for values in zip(*rows, strict=True)]
            return Statement(sql, (*columns, stamp), counts=True)
        case Retire(table=table, scope=scope, keep=keep):
            keys = sorted(keep)
            sql = retire_sql(table, tuple(column for column, _ in scope), dialect)
            scoped = [scope_value for _, scope_value in scope]
            if sqlite:
                kept = [key[0] if len(key) == 1 else list(key) for key in keys]
                return Statement(sql, (stamp, *scoped, json.dumps(kept)), counts=True)
            arrays = [[key[i] for key in keys] for i in range(len(table.key))]
            return Statement(sql, (stamp, *scoped, *arrays), counts=True)
        case PutState(stream=stream, scope=state_scope, value=text):
            return Statement(put_state_sql(dialect), (stream, state_scope, text))
        case DropState(stream=stream, scope=None):
            return Statement(drop_state_sql(dialect, whole_stream=True), (stream,))
        case DropState(stream=stream, scope=state_scope):
            return Statement(drop_state_sql(dialect, whole_stream=False), (stream, state_scope))
        case MarkPending(exported=exported):
            return Statement(mark_pending_sql(ACTIVITIES, dialect), (stamp, exported))
        case PutRun(run=run):
            record = (
                run.run_id,
                run.team_id,
                value(run.started_at),
                None if run.finished_at is None else value(run.finished_at),
                run.status,
                run.full,
                run.error,
            )
            return Statement(put_run_sql(dialect), record)
        case PutMeta(key=key, value=text):
            return Statement(put_meta_sql(dialect), (key, text))
    raise TypeError(f"not an operation of a batch: {op!r}")
