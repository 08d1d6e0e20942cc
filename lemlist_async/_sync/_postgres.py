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

from ._ops import Batch, Op, Snapshot
from ._schema import SCHEMA_VERSION
from ._sql import (
    SELECT_LAST_RUN,
    SELECT_META,
    SELECT_STATE,
    Dialect,
    create_statements,
    put_meta_sql,
    statement,
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
        found = statement(op, at, _D)
        if found is None:
            return 0
        status = await db.execute(found.sql, *found.params)
        return _count(status) if found.counts else 0
