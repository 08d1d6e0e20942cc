"""The tables a sync writes, described once for both databases.

Each table is keyed as lemlist keys its objects (``_id``; a lead by campaign and
id, since one person is a lead in each campaign that holds them). Beside the
typed columns, every row keeps the object as lemlist sent it (``raw``, secrets
removed) and four bookkeeping columns:

* ``_raw_hash``: a digest of ``raw``; a row is written again only when it changes;
* ``_first_seen_at``: when this database first saw the row;
* ``_changed_at``: when its content last changed, a local "updated at" that
  lemlist's exports do not give;
* ``_deleted_at``: when a complete read of its scope stopped listing it (a soft
  delete; a row that comes back is restored).

Schema changes are additive only, each a step in ``MIGRATIONS``, recorded as
``schema_version`` in ``_lemlist_meta``.
"""

from __future__ import annotations

import enum
from typing import Final

import attrs

__all__ = [
    "ACTIVITIES",
    "CAMPAIGNS",
    "DATA_TABLES",
    "HOOKS",
    "LEADS",
    "META",
    "RUNS",
    "SCHEMA_VERSION",
    "SENDERS",
    "STATE",
    "TEAM",
    "UNSUBSCRIBES",
    "USERS",
    "Column",
    "Kind",
    "Table",
]


class Kind(enum.Enum):
    """A column's type, mapped to each database's own by the SQL builders."""

    TEXT = "text"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"
    JSON = "json"


@attrs.frozen
class Column:
    name: str
    kind: Kind = Kind.TEXT


@attrs.frozen
class Table:
    """A table of lemlist objects.

    Attributes:
        name: The table's name.
        key: The primary key's columns, also the first typed columns.
        columns: The typed columns, key first, in the order rows give them.
        indexes: Columns indexed for the usual reports (one index each).
    """

    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    indexes: tuple[tuple[str, ...], ...] = ()

    @property
    def width(self) -> int:
        """How many values a row gives: the typed columns, ``raw`` and ``_raw_hash``."""
        return len(self.columns) + 2


_T, _I, _B, _TS, _J = Kind.TEXT, Kind.INTEGER, Kind.BOOLEAN, Kind.TIMESTAMP, Kind.JSON

#: The bookkeeping columns every data table has after its typed ones.
BOOKKEEPING: Final = (
    Column("raw", _J),
    Column("_raw_hash"),
    Column("_first_seen_at", _TS),
    Column("_changed_at", _TS),
    Column("_deleted_at", _TS),
)

TEAM: Final = Table(
    "lemlist_team",
    ("id",),
    (Column("id"), Column("name"), Column("created_by"), Column("created_at", _TS)),
)
USERS: Final = Table(
    "lemlist_users",
    ("id",),
    (Column("id"), Column("name"), Column("email"), Column("role")),
)
CAMPAIGNS: Final = Table(
    "lemlist_campaigns",
    ("id",),
    (
        Column("id"),
        Column("name"),
        Column("status"),
        Column("created_at", _TS),
        Column("created_by"),
        Column("sequence_id"),
        Column("has_error", _B),
    ),
)
SENDERS: Final = Table(
    "lemlist_campaign_senders",
    ("campaign_id", "user_id"),
    (
        Column("campaign_id"),
        Column("user_id"),
        Column("campaign_status"),
        Column("sending_channels", _J),
    ),
)
LEADS: Final = Table(
    "lemlist_leads",
    ("campaign_id", "id"),
    (
        Column("campaign_id"),
        Column("id"),
        Column("email"),
        Column("first_name"),
        Column("last_name"),
        Column("company_name"),
        Column("job_title"),
        Column("last_state"),
        Column("status"),
        Column("email_status"),
    ),
    indexes=(("email",), ("last_state",)),
)
ACTIVITIES: Final = Table(
    "lemlist_activities",
    ("id",),
    (
        Column("id"),
        Column("type"),
        Column("created_at", _TS),
        Column("campaign_id"),
        Column("lead_id"),
        Column("sequence_id"),
        Column("sequence_step", _I),
        Column("is_first", _B),
    ),
    # _first_seen_at: a page's new activities are found by it, to mark their
    # campaigns for a new export of their leads.
    indexes=(("created_at",), ("campaign_id", "created_at"), ("lead_id",), ("_first_seen_at",)),
)
UNSUBSCRIBES: Final = Table(
    "lemlist_unsubscribes",
    ("id",),
    (Column("id"), Column("value"), Column("source"), Column("created_at", _TS)),
)
HOOKS: Final = Table(
    "lemlist_hooks",
    ("id",),
    (
        Column("id"),
        Column("type"),
        Column("campaign_id"),
        Column("target_url"),
        Column("created_at", _TS),
    ),
)

DATA_TABLES: Final = (TEAM, USERS, CAMPAIGNS, SENDERS, LEADS, ACTIVITIES, UNSUBSCRIBES, HOOKS)

#: Bookkeeping tables, written with the data in the same transactions.
META: Final = "_lemlist_meta"
STATE: Final = "_lemlist_sync_state"
RUNS: Final = "_lemlist_sync_runs"

#: The schema this version writes. A database at a higher version was written
#: by a newer lemlist-async, and is refused rather than half understood.
SCHEMA_VERSION: Final = 1
