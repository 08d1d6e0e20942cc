"""The store protocol, the schema-version rule both stores share, and ``open_store``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote, urlsplit

from ._ops import Batch, RunRecord, Snapshot
from ._report import SyncError
from ._schema import SCHEMA_VERSION

if TYPE_CHECKING:
    from ._postgres import PostgresStore
    from ._sqlite import SQLiteStore

__all__ = ["Store", "check_schema_version", "open_store", "snapshot_from"]


class Store(Protocol):
    """Where a sync writes. ``SQLiteStore`` and ``PostgresStore`` are the two provided."""

    async def snapshot(self) -> Snapshot:
        """What the database holds about past syncs."""
        ...

    async def apply(self, batch: Batch) -> tuple[int, ...]:
        """Apply every operation of ``batch`` in one transaction, all or none.

        Returns:
            Per operation, the rows it wrote (inserted, changed, soft-deleted).
        """
        ...


def check_schema_version(found: str | None) -> bool:
    """Whether the database needs its schema version written (a new database).

    Raises:
        SyncError: The database was written by a newer lemlist-async.
    """
    if found is None:
        return True
    if not found.isdigit() or int(found) > SCHEMA_VERSION:
        raise SyncError(
            f"this database has schema version {found}, newer than this lemlist-async"
            f" knows ({SCHEMA_VERSION}): upgrade lemlist-async to sync into it"
        )
    return False


def snapshot_from(
    meta: Iterable[tuple[str, str]],
    state: Iterable[tuple[str, str, str]],
    last_run: tuple[Any, ...] | None,
    read_time: Callable[[Any], dt.datetime],
) -> Snapshot:
    """A ``Snapshot`` from the rows of the three ``SELECT_*`` reads of ``_sql``."""
    run = None
    if last_run is not None:
        run_id, team_id, started_at, full, status, finished_at, error = last_run
        run = RunRecord(
            run_id=int(run_id),
            team_id=team_id,
            started_at=read_time(started_at),
            full=bool(full),
            status=status,
            finished_at=None if finished_at is None else read_time(finished_at),
            error=error,
        )
    return Snapshot(
        meta=dict(meta),
        state={(stream, scope): value for stream, scope, value in state},
        last_run=run,
    )


def open_store(url: str) -> SQLiteStore | PostgresStore:
    """The store a URL names, not opened yet (use it with ``async with``).

    ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``, or a
    PostgreSQL DSN (``postgresql://user@host:5432/db``, needs the ``postgres``
    extra).

    Raises:
        ValueError: Not a URL of either kind.
    """
    from ._postgres import PostgresStore
    from ._sqlite import SQLiteStore

    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        if parts.netloc or not parts.path.startswith("/") or parts.path == "/":
            raise ValueError(
                "a SQLite URL is sqlite:///relative/path.db or sqlite:////absolute/path.db"
            )
        return SQLiteStore(unquote(parts.path[1:]))
    if parts.scheme in ("postgresql", "postgres"):
        return PostgresStore(url)
    # The URL itself is not repeated: it may hold a password.
    raise ValueError(
        f"expected a sqlite:/// or postgresql:// URL, got one with scheme {parts.scheme!r}"
    )
