"""What a sync asks a store to write: batches of operations, each applied in one transaction.

The engine decides every row and every piece of state; a store only runs a
batch's operations, all or nothing. So a process killed at any point leaves the
database as it was after some batch: the rows of a page and the offset of the
next one are committed together, or neither is.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any, TypeAlias

import attrs

from ._schema import Table

__all__ = [
    "Batch",
    "DropState",
    "MarkPending",
    "Op",
    "PutMeta",
    "PutRun",
    "PutState",
    "Retire",
    "RunRecord",
    "Snapshot",
    "Upsert",
    "state_text",
]

#: A row of a data table: its typed columns' values, in the table's order, then
#: ``raw`` (canonical JSON text) and ``_raw_hash``.
Row: TypeAlias = tuple[Any, ...]


def state_text(value: Mapping[str, Any]) -> str:
    """A state value as stored: canonical JSON, so that equal states compare equal in SQL."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


@attrs.frozen
class Upsert:
    """Insert the rows, or update those whose content changed or that were deleted."""

    table: Table
    rows: tuple[Row, ...]


@attrs.frozen
class Retire:
    """Soft-delete the live rows of a scope whose key is not in ``keep``.

    Only after a complete read of the scope: a read that failed half-way would
    delete what it did not reach.

    Attributes:
        table: The table.
        scope: ``(column, value)`` pairs the rows must match (none: the whole table).
        keep: The keys the complete read listed.
    """

    table: Table
    scope: tuple[tuple[str, str], ...]
    keep: frozenset[tuple[str, ...]]


@attrs.frozen
class PutState:
    """Set one piece of the sync's state (``_lemlist_sync_state``)."""

    stream: str
    scope: str
    value: str


@attrs.frozen
class DropState:
    """Remove one piece of state, or with ``scope`` None every piece of the stream."""

    stream: str
    scope: str | None = None


@attrs.frozen
class MarkPending:
    """Mark for a new export the campaigns of the activities this batch inserted.

    An activity first seen now means its lead may have changed; a campaign whose
    leads this run already exported (``exported``: its state then) is left alone.
    """

    exported: str


@attrs.frozen
class RunRecord:
    """One run of the sync, as ``_lemlist_sync_runs`` keeps it."""

    run_id: int
    team_id: str
    started_at: dt.datetime
    full: bool
    status: str = "running"
    finished_at: dt.datetime | None = None
    error: str | None = None


@attrs.frozen
class PutRun:
    """Record a run's start or end."""

    run: RunRecord


@attrs.frozen
class PutMeta:
    """Set a ``_lemlist_meta`` entry (the team the database is bound to)."""

    key: str
    value: str


Op: TypeAlias = Upsert | Retire | PutState | DropState | MarkPending | PutRun | PutMeta


@attrs.frozen
class Batch:
    """Operations applied in one transaction, in order.

    Attributes:
        ops: The operations.
        at: The batch's time: rows it inserts are first seen then, rows it
            changes changed then, rows it retires deleted then. Unique per
            batch within a run (``MarkPending`` finds a batch's rows by it).
    """

    ops: tuple[Op, ...]
    at: dt.datetime


@attrs.frozen
class Snapshot:
    """What a store holds about past syncs, read when a sync starts.

    Attributes:
        meta: ``_lemlist_meta`` (``team_id``, ``schema_version``).
        state: Every piece of state, by ``(stream, scope)``.
        last_run: The latest run, if any.
    """

    meta: Mapping[str, str]
    state: Mapping[tuple[str, str], str]
    last_run: RunRecord | None
