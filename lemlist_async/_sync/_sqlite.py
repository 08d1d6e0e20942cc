"""``SQLiteStore``: the standard library's sqlite3, on one thread of its own.

sqlite3 blocks, so every call runs on a single dedicated thread, which also
owns the connection (sqlite3 connections belong to the thread that made
them). WAL lets readers (a report, a notebook) read while the sync writes.
Each batch is one ``BEGIN IMMEDIATE ... COMMIT``. No dependency beyond Python:
aiosqlite would add the same thread and queue as a package.
https://docs.python.org/3/library/sqlite3.html
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, Final, Self, TypeVar

from ._ops import Batch, Op, Snapshot
from ._report import SyncError
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

__all__ = ["SQLiteStore"]

T = TypeVar("T")

_D: Final = Dialect.SQLITE
#: SQLite 3.24 brought upserts; JSON functions are built in from 3.38 (and in
#: Python's own builds long before).
MIN_SQLITE: Final = (3, 24, 0)
#: Milliseconds a write waits for another connection's lock before it fails.
BUSY_TIMEOUT_MS: Final = 30_000


def _read_time(value: Any) -> dt.datetime:
    return dt.datetime.fromisoformat(str(value)).astimezone(dt.UTC)


class SQLiteStore:
    """A sync's database in one SQLite file (created if missing).

    Use it with ``async with``: opening creates the tables and checks the
    schema version; closing closes the connection and its thread.

    Args:
        path: The database file.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = os.fspath(path)
        self._executor: ThreadPoolExecutor | None = None
        self._connection: sqlite3.Connection | None = None

    def __repr__(self) -> str:
        return f"<SQLiteStore {self._path!r}>"

    @property
    def path(self) -> str:
        """The database file."""
        return self._path

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
        """Open the file, create what is missing, and check the schema version.

        Raises:
            SyncError: SQLite is older than 3.24, or the database was written
                by a newer lemlist-async.
        """
        if self._executor is not None:
            return
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            raise SyncError(
                f"SQLite {sqlite3.sqlite_version} is too old: the sync needs 3.24 or newer"
            )
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lemlist-sqlite")
        try:
            await self._call(self._open)
        except Exception:
            await self.close()
            raise

    async def close(self) -> None:
        """Close the connection and stop its thread. Safe to call twice."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        try:
            await asyncio.get_running_loop().run_in_executor(executor, self._close)
        finally:
            executor.shutdown(wait=False)

    async def snapshot(self) -> Snapshot:
        return await self._call(self._snapshot)

    async def apply(self, batch: Batch) -> tuple[int, ...]:
        return await self._call(lambda: self._apply(batch))

    async def _call(self, fn: Callable[[], T]) -> T:
        if self._executor is None:
            raise RuntimeError("the store is not open: use it with `async with`")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    # -- on the store's thread ------------------------------------------------

    def _open(self) -> None:
        # isolation_level=None: the batches' BEGIN and COMMIT are the only ones.
        connection = sqlite3.connect(self._path, isolation_level=None)
        self._connection = connection
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA journal_mode = WAL")
        # WAL with NORMAL: a commit survives a crash of the process; only a
        # power loss may lose the last ones, which the next run reads again.
        connection.execute("PRAGMA synchronous = NORMAL")
        with _Transaction(connection):
            for statement in create_statements(_D):
                connection.execute(statement)
            found = connection.execute(
                "SELECT value FROM _lemlist_meta WHERE key = 'schema_version'"
            ).fetchone()
            if check_schema_version(None if found is None else str(found[0])):
                connection.execute(put_meta_sql(_D), ("schema_version", str(SCHEMA_VERSION)))

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def _db(self) -> sqlite3.Connection:
        assert self._connection is not None
        return self._connection

    def _snapshot(self) -> Snapshot:
        db = self._db()
        return snapshot_from(
            db.execute(SELECT_META).fetchall(),
            db.execute(SELECT_STATE).fetchall(),
            db.execute(SELECT_LAST_RUN).fetchone(),
            _read_time,
        )

    def _apply(self, batch: Batch) -> tuple[int, ...]:
        db = self._db()
        with _Transaction(db):
            return tuple(self._run(db, op, batch.at) for op in batch.ops)

    @staticmethod
    def _run(db: sqlite3.Connection, op: Op, at: dt.datetime) -> int:
        found = statement(op, at, _D)
        if found is None:
            return 0
        if found.many:
            cursor = db.executemany(found.sql, found.params)
        else:
            cursor = db.execute(found.sql, found.params)
        return cursor.rowcount if found.counts else 0


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` when the block raises."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        # IMMEDIATE takes the write lock at once, so a busy database fails (or
        # waits busy_timeout) before anything of the batch is done.
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
