"""Copy a lemlist account into SQLite or PostgreSQL: incremental, resumable, at the rate limit.

::

    from lemlist_async import LemlistClient
    from lemlist_async.sync import SQLiteStore, sync_account

    async with LemlistClient() as client, SQLiteStore("lemlist.db") as store:
        report = await sync_account(client, store)

SQLite needs nothing more than Python; PostgreSQL needs the ``postgres`` extra
(asyncpg), imported only when a ``PostgresStore`` opens::

    pip install "lemlist-async[postgres]"

``import lemlist_async`` does not import this module. See ``docs/sync.md``.
"""

from __future__ import annotations

from ._sync._engine import sync_account
from ._sync._postgres import PostgresStore
from ._sync._report import STREAMS, AccountMismatchError, StreamProgress, SyncError, SyncReport
from ._sync._sqlite import SQLiteStore
from ._sync._store import Store, open_store

__all__ = [
    "STREAMS",
    "AccountMismatchError",
    "PostgresStore",
    "SQLiteStore",
    "Store",
    "StreamProgress",
    "SyncError",
    "SyncReport",
    "open_store",
    "sync_account",
]
