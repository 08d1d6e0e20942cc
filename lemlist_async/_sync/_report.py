"""What a sync tells: progress per stream, the run's report, and its errors."""

from __future__ import annotations

from typing import Final

import attrs

from lemlist_async._errors import LemlistError

__all__ = ["STREAMS", "AccountMismatchError", "StreamProgress", "SyncError", "SyncReport"]

#: Every stream a sync copies, in the order it starts them.
STREAMS: Final[tuple[str, ...]] = (
    "team",
    "users",
    "campaigns",
    "senders",
    "hooks",
    "unsubscribes",
    "activities",
    "leads",
)


@attrs.frozen
class StreamProgress:
    """How far one stream of a sync is.

    Attributes:
        stream: Its name (one of ``STREAMS``).
        fetched: Rows read from lemlist so far.
        written: Rows inserted, or updated because their content changed.
        deleted: Rows soft-deleted (``_deleted_at`` set): a complete read no
            longer listed them.
        done: The stream is finished for this run.
    """

    stream: str
    fetched: int = 0
    written: int = 0
    deleted: int = 0
    done: bool = False


@attrs.frozen
class SyncReport:
    """The outcome of a finished sync.

    Attributes:
        run_id: The run's number in ``_lemlist_sync_runs``.
        team_id: The team the database holds.
        full: Every campaign's leads were exported again (the first run, or
            ``full=True``).
        resumed: The run took over one that had stopped before its end.
        streams: Each stream's counts, in ``STREAMS`` order.
    """

    run_id: int
    team_id: str
    full: bool
    resumed: bool
    streams: tuple[StreamProgress, ...]

    def stream(self, name: str) -> StreamProgress:
        """The counts of the stream ``name``.

        Raises:
            KeyError: The run did not copy that stream.
        """
        for progress in self.streams:
            if progress.stream == name:
                return progress
        raise KeyError(name)


class SyncError(LemlistError):
    """A sync cannot go on with this database; nothing was written by this call."""


class AccountMismatchError(SyncError):
    """The database holds another team than the API key's.

    A database is bound to the team it was first synced from: mixing two teams'
    rows, or starting one team's activities from another's watermark, would
    lose data silently. Sync another team into another database.

    Attributes:
        expected: The team id the database holds.
        actual: The team id of the API key.
    """

    def __init__(self, *, expected: str, actual: str) -> None:
        super().__init__(
            f"this database holds team {expected}, but the API key belongs to team {actual}:"
            " sync that team into another database"
        )
        self.expected = expected
        self.actual = actual
