"""The databases the sync tests write to, opened and read back the same way for both stores."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg

from lemlist_async._sync._schema import DATA_TABLES, RUNS, STATE
from lemlist_async.sync import PostgresStore, SQLiteStore

#: Per table, its rows; per row, its columns as comparable values.
Dump = dict[str, list[tuple[Any, ...]]]

#: Columns whose value is the moment of a write: they differ between two
#: databases synced at different moments, so they are compared only when asked.
MOMENTS = frozenset({"_first_seen_at", "_changed_at", "_deleted_at"})


class Target:
    """One database a test syncs into: a SQLite file or a PostgreSQL database."""

    def __init__(self, kind: str, where: str, *, window: float = 2.0) -> None:
        self.kind = kind
        self.where = where
        #: The rate-limit window of the fake and the client the test uses.
        self.window = window

    def __repr__(self) -> str:
        return f"<Target {self.kind}>"

    def store(self) -> SQLiteStore | PostgresStore:
        return SQLiteStore(self.where) if self.kind == "sqlite" else PostgresStore(self.where)

    async def rows(self, sql: str) -> list[tuple[Any, ...]]:
        if self.kind == "sqlite":
            # closing(): sqlite3's own context manager commits but never closes.
            with contextlib.closing(sqlite3.connect(self.where)) as db:
                return [tuple(row) for row in db.execute(sql).fetchall()]
        connection = await asyncpg.connect(self.where)
        try:
            return [tuple(row) for row in await connection.fetch(sql)]
        finally:
            await connection.close()

    async def columns(self, table: str) -> list[str]:
        if self.kind == "sqlite":
            return [row[1] for row in await self.rows(f"PRAGMA table_info({table})")]
        found = await self.rows(
            "SELECT column_name FROM information_schema.columns"
            f" WHERE table_name = '{table}' ORDER BY ordinal_position"
        )
        return [row[0] for row in found]

    async def dump(self, *, moments: bool = False) -> Dump:
        """Every data row, the sync's state and its runs, in key order.

        Without ``moments``, the write times are left out (``_deleted_at`` is
        kept as deleted or not), and so is the activity watermark, a moment too.
        """
        out: Dump = {}
        for table in DATA_TABLES:
            names = await self.columns(table.name)
            order = ", ".join(table.key)
            rows = await self.rows(f"SELECT {', '.join(names)} FROM {table.name} ORDER BY {order}")
            out[table.name] = [self._row(names, row, moments=moments) for row in rows]
        state = await self.rows(f"SELECT stream, scope, state FROM {STATE} ORDER BY stream, scope")
        out[STATE] = [
            row if moments or (row[0], row[1]) != ("activities", "frontier") else row[:2]
            for row in state
        ]
        out[RUNS] = await self.rows(f"SELECT run_id, status FROM {RUNS} ORDER BY run_id")
        return out

    def _row(
        self, names: Sequence[str], row: tuple[Any, ...], *, moments: bool
    ) -> tuple[Any, ...]:
        values: list[Any] = []
        for name, value in zip(names, row, strict=True):
            if name == "raw" or name == "sending_channels":
                value = None if value is None else json.loads(value)
            elif isinstance(value, dt.datetime):
                value = value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            if name in MOMENTS and not moments:
                if name != "_deleted_at":
                    continue
                value = value is not None
            values.append(value)
        return tuple(values)

    async def count(self, table: str, where: str = "TRUE") -> int:
        rows = await self.rows(f"SELECT count(*) FROM {table} WHERE {where}")
        return int(rows[0][0])


def sqlite_target(directory: Path, name: str = "lemlist.db") -> Target:
    return Target("sqlite", str(directory / name))
