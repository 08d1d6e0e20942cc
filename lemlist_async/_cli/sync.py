"""``lemlist-async sync DATABASE``: the account into SQLite or PostgreSQL, at the rate limit.

::

    lemlist-async sync sqlite:///lemlist.db
    lemlist-async sync postgresql://me@localhost/lemlist --streams campaigns,leads
    lemlist-async sync sqlite:///lemlist.db --full     # nightly: every campaign's leads

One run of ``lemlist_async.sync.sync_account``. stderr gets one line per stream
as it finishes (``activities: 12,400 read, 130 written, 0 deleted``), the live
counts on a terminal, and the run's summary. Stopped at any point (Ctrl-C, a
kill, a lost connection), the next call resumes the run.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sqlite3
import time

from lemlist_async._constants import API_KEY_ENV_VAR, SYNC_CONCURRENCY
from lemlist_async._errors import LemlistError
from lemlist_async._sync._engine import sync_account
from lemlist_async._sync._report import STREAMS, StreamProgress, SyncReport
from lemlist_async._sync._store import open_store

from ._base import PROG, UsageError, exit_status, register
from ._console import Console
from ._inputs import read_api_key
from ._options import KEY_HELP, add_connection_options, make_client

__all__ = ["SyncCommand", "parse_streams", "render_stream"]


def _database_errors() -> tuple[type[Exception], ...]:
    """The errors a store raises when its database fails: reported, not a traceback."""
    errors: list[type[Exception]] = [sqlite3.Error]
    try:
        asyncpg = importlib.import_module("asyncpg")
    except ImportError:
        return tuple(errors)
    errors.append(asyncpg.PostgresError)
    return tuple(errors)


def parse_streams(text: str) -> list[str]:
    """``--streams a,b``: the names, checked against ``STREAMS``.

    Raises:
        argparse.ArgumentTypeError: An empty list or an unknown name.
    """
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in STREAMS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"expected stream names among {','.join(STREAMS)}, got {text!r}"
        )
    return names


def render_stream(progress: StreamProgress, elapsed: float) -> str:
    """One stream's line, e.g. ``leads: 1,000 read, 12 written, 1 deleted, 4.1 s``."""
    text = (
        f"{progress.stream}: {progress.fetched:,} read, {progress.written:,} written,"
        f" {progress.deleted:,} deleted, {elapsed:.1f} s"
    )
    return text if progress.done else text + " ..."


def render_report(report: SyncReport, elapsed: float) -> str:
    """The run's summary line."""
    kind = "full" if report.full else "incremental"
    resumed = ", resumed" if report.resumed else ""
    return (
        f"run {report.run_id} ({kind}{resumed}) of team {report.team_id}: done in {elapsed:.1f} s"
    )


_EPILOG = f"""\
{KEY_HELP}

DATABASE: sqlite:///relative/path.db, sqlite:////absolute/path.db, or a
PostgreSQL URL (postgresql://user@host:5432/db; needs
pip install "lemlist-async[postgres]"). Put a PostgreSQL password in
~/.pgpass or PGPASSWORD rather than in the URL.

Streams: {", ".join(STREAMS)}. Activities are read from the last run's end
(minus an hour); leads are exported again for the campaigns with new activity
and new campaigns, or for all with --full. The rest is read whole. A row no
longer listed gets _deleted_at. Interrupted, the next call resumes the run.

Exit code: 0 done, 1 lemlist or the database failed (the next call resumes),
2 usage error, 130 interrupted.

examples:
  export {API_KEY_ENV_VAR}=...
  {PROG} sync sqlite:///lemlist.db
  {PROG} sync sqlite:///lemlist.db --full --streams campaigns,leads
"""


class SyncCommand:
    """``sync DATABASE [--streams ...] [--full] [--concurrency N]``: see the module docstring."""

    name = "sync"
    help = "copy the account into SQLite or PostgreSQL (incremental, resumable)"
    description = (
        "Copy the account of the API key into a SQLite or PostgreSQL database: the team,"
        " users, campaigns, senders, webhooks, unsubscribes, activities and leads."
    )
    epilog = _EPILOG

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """DATABASE, --streams, --full, --concurrency, and the connection options."""
        parser.add_argument(
            "database", metavar="DATABASE", help="sqlite:///... or postgresql://..."
        )
        parser.add_argument(
            "--streams",
            type=parse_streams,
            metavar="A,B",
            help=f"only these streams, comma-separated (default: all: {','.join(STREAMS)})",
        )
        parser.add_argument(
            "--full", action="store_true", help="export every campaign's leads again"
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=SYNC_CONCURRENCY,
            metavar="N",
            help=f"activity windows and exports in flight (default: {SYNC_CONCURRENCY})",
        )
        add_connection_options(parser)

    def run(self, args: argparse.Namespace, console: Console) -> int:
        """One run; 0, or 1 when lemlist or the database failed for good."""
        key = read_api_key(os.environ, args.key_file)
        if args.concurrency < 1:
            raise UsageError(f"--concurrency must be at least 1, got {args.concurrency}")
        try:
            store = open_store(args.database)
        except ValueError as error:
            raise UsageError(str(error)) from None
        started = time.monotonic()

        def show(progress: StreamProgress) -> None:
            line = render_stream(progress, time.monotonic() - started)
            if progress.done:
                console.line(line)
            elif console.isatty():
                console.status(line)

        async def go() -> SyncReport:
            async with make_client(args, key) as client, store:
                return await sync_account(
                    client,
                    store,
                    streams=args.streams,
                    full=args.full,
                    concurrency=args.concurrency,
                    on_progress=show,
                )

        failures: tuple[type[Exception], ...] = (LemlistError, OSError, *_database_errors())
        try:
            report = asyncio.run(go())
        except ImportError as error:
            raise UsageError(str(error)) from None
        except failures as error:
            console.clear()
            console.line(f"{PROG} {args.command}: error: {error}")
            console.line(f"{PROG} {args.command}: the next call resumes this run")
            return exit_status(failed=1)
        console.line(render_report(report, time.monotonic() - started))
        return exit_status(failed=0)


register(SyncCommand())
