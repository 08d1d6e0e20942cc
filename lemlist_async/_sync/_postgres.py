"""``PostgresStore``: PostgreSQL through asyncpg (the ``postgres`` extra).

One connection, one writer: batches are applied one after the other, each in
a transaction. asyncpg is imported when the store opens, so the SDK imports
without it.
https://magicstack.github.io/asyncpg/current/
"""

from __future__ import annotations

import asyncio
import datetime as dt
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self

from ._ops import (
    Batch,
    DropState,
    MarkPending,
    Op,
    PutMeta,
    PutRun,
    PutState,
    Retire,
    Snapshot,
    Upsert,
)
from ._schema import ACTIVITIES, SCHEMA_VERSION
from ._sql import (
    SELECT_LAST_RUN,
    SELECT_META,
    SELECT_STATE,
    Dialect,
    create_statements,
    drop_state_sql,
    mark_pending_sql,
    put_meta_sql,
    put_run_sql,
    put_state_sql,
    retire_sql,
    upsert_sql,
)
from ._store import check_schema_version, snapshot_from

if TYPE_CHECKING:
    import asyncpg

__all__ = ["PostgresStore"]

_D: Final = Dialect.POSTGRES
#: Two syncs opening one new database at once would race to create its tables;
#: this advisory lock (any constant both agree on) makes them take turns.
_SCHEMA_LOCK: Final = 0x6C656D6C


def _count(status: str) -> int:
    # asyncpg returns the command tag: "INSERT 0 12", "UPDATE 3".
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


def _read_time(value: Any) -> dt.datetime:
    assert isinstance(value, dt.datetime)
    return value


class PostgresStore:
    """A sync's database in PostgreSQL (9.5 or newer), through asyncpg.

    Use it with ``async with``: opening connects, creates the tables and checks
    the schema version; closing closes the connection.

    Args:
        dsn: A libpq connection URI, e.g. ``postgresql://user@host:5432/lemlist``.
            It is never shown in a ``repr`` or an error (it may hold a password).
    """

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._connection: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return "<PostgresStore>"

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def open(self) -> None:
        """Connect, create what is missing, and check the schema version.

        Raises:
            ImportError: asyncpg is missing (``pip install "lemlist-async[postgres]"``).
            SyncError: The database was written by a newer lemlist-async.
        """
        if self._connection is not None:
            return
        try:
            import asyncpg
        except ImportError as exc:
            raise ImportError(
                'PostgresStore needs asyncpg: pip install "lemlist-async[postgres]"'
            ) from exc
        connection = await asyncpg.connect(self._dsn)
        try:
            async with connection.transaction():
                await connection.execute("SELECT pg_advisory_xact_lock($1)", _SCHEMA_LOCK)
                for statement in create_statements(_D):
                    await connection.execute(statement)
                found = await connection.fetchval(
                    "SELECT value FROM _lemlist_meta WHERE key = 'schema_version'"
                )
                if check_schema_version(found):
                    await connection.execute(
                        put_meta_sql(_D), "schema_version", str(SCHEMA_VERSION)
                    )
        except Exception:
            await connection.close()
            raise
        self._connection = connection

    async def close(self) -> None:
        """Close the connection. Safe to call twice."""
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()

    async def snapshot(self) -> Snapshot:
        db = self._db()
        async with self._lock:
            meta = await db.fetch(SELECT_META)
            state = await db.fetch(SELECT_STATE)
            run = await db.fetchrow(SELECT_LAST_RUN)
        return snapshot_from(
            [tuple(r) for r in meta],
            [tuple(r) for r in state],
            None if run is None else tuple(run),
            _read_time,
        )

    async def apply(self, batch: Batch) -> tuple[int, ...]:
        db = self._db()
        async with self._lock, db.transaction():
            return tuple([await self._run(db, op, batch.at) for op in batch.ops])

    def _db(self) -> asyncpg.Connection:
        if self._connection is None:
            raise RuntimeError("the store is not open: use it with `async with`")
        return self._connection

    @staticmethod
    async def _run(db: asyncpg.Connection, op: Op, at: dt.datetime) -> int:
        match op:
            case Upsert(table=table, rows=rows):
                if not rows:
                    return 0
                columns = [list(values) for values in zip(*rows, strict=True)]
                return _count(await db.execute(upsert_sql(table, _D), *columns, at))
            case Retire(table=table, scope=scope, keep=keep):
                keys = sorted(keep)
                arrays = [[key[i] for key in keys] for i in range(len(table.key))]
                sql = retire_sql(table, tuple(column for column, _ in scope), _D)
                values = [value for _, value in scope]
                return _count(await db.execute(sql, at, *values, *arrays))
            case PutState(stream=stream, scope=scope, value=value):
                await db.execute(put_state_sql(_D), stream, scope, value)
            case DropState(stream=stream, scope=None):
                await db.execute(drop_state_sql(_D, whole_stream=True), stream)
            case DropState(stream=stream, scope=scope):
                await db.execute(drop_state_sql(_D, whole_stream=False), stream, scope)
            case MarkPending(exported=exported):
                await db.execute(mark_pending_sql(ACTIVITIES, _D), at, exported)
            case PutRun(run=run):
                await db.execute(
                    put_run_sql(_D),
                    run.run_id,
                    run.team_id,
                    run.started_at,
                    run.finished_at,
                    run.status,
                    run.full,
                    run.error,
                )
            case PutMeta(key=key, value=value):
                await db.execute(put_meta_sql(_D), key, value)
        return 0
