"""``sync_account``: one run of the sync, from lemlist's API into a store.

A run, in order:

1. Get Team binds the database to the key's team (or refuses another team).
2. The small streams are read whole, each in one transaction with the soft
   delete of what they no longer list: team, users, campaigns, senders,
   webhooks, unsubscribes.
3. Activity windows and lead exports run together, ``concurrency`` units in
   flight, so that the client's rate limiter, not latency, sets the pace. Each
   activity page is written with the offset of the next one; each export's
   last chunk with its soft deletes and its "exported" mark. An activity first
   seen marks its campaign for a new export.
4. The campaigns that step 3 marked are exported.

Every batch is one transaction, so a run stopped at any point resumes where
it stopped: the next call takes over the unfinished run (same number, same
windows, same exports done), and ends with the database an uninterrupted run
would have left.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Final

import attrs

from lemlist_async._client import LemlistClient
from lemlist_async._constants import (
    ACTIVITIES_PAGE_MAX,
    SYNC_CONCURRENCY,
    SYNC_EARLIEST,
    SYNC_ERROR_CHARS,
    SYNC_EXPORT_CHUNK,
    SYNC_OVERLAP,
    SYNC_SAFETY_LAG,
    SYNC_SPLIT_ABOVE_PAGES,
    SYNC_SPLIT_MAX,
    SYNC_SPLIT_TARGET_PAGES,
    SYNC_WINDOW,
    SYNC_WINDOW_MIN,
)
from lemlist_async._errors import NotFoundError
from lemlist_async._models import Team

from . import _rows
from ._ops import (
    Batch,
    DropState,
    MarkPending,
    Op,
    PutMeta,
    PutRun,
    PutState,
    Retire,
    RunRecord,
    Snapshot,
    Upsert,
    state_text,
)
from ._report import STREAMS, AccountMismatchError, StreamProgress, SyncReport
from ._schema import (
    ACTIVITIES,
    CAMPAIGNS,
    HOOKS,
    LEADS,
    SENDERS,
    TEAM,
    UNSUBSCRIBES,
    USERS,
    Table,
)
from ._sql import EXPORTED, PENDING
from ._store import Store
from ._windows import Window, frontier, iso, parse_iso, plan, split

__all__ = ["sync_account"]

logger = logging.getLogger("lemlist_async.sync")

#: State of the activity stream: the watermark, the run's span, its windows.
_ACTIVITIES: Final = "activities"
_WINDOWS: Final = "activities.window"
_EARLIEST: Final = dt.datetime.fromtimestamp(SYNC_EARLIEST, dt.UTC)


async def sync_account(
    client: LemlistClient,
    store: Store,
    *,
    streams: Iterable[str] | None = None,
    full: bool = False,
    concurrency: int = SYNC_CONCURRENCY,
    overlap: dt.timedelta = dt.timedelta(seconds=SYNC_OVERLAP),
    on_progress: Callable[[StreamProgress], None] | None = None,
) -> SyncReport:
    """Copy the key's lemlist account into ``store``: incremental, resumable, at the rate limit.

    The first run copies everything; later runs read the activities since the
    last run (and ``overlap`` before it) and export again the leads of the
    campaigns those activities touched, and of new campaigns. Everything else
    is read whole each run. Rows no longer listed by a complete read get
    ``_deleted_at``. A run stopped at any point (killed, cancelled, failed) is
    taken over by the next call, which ends as the run would have.

    Args:
        client: An open client of the account's API key. Every request goes
            through its rate limiter and retry policy.
        store: An open ``SQLiteStore`` or ``PostgresStore`` (or any ``Store``).
        streams: The streams to copy (names in ``STREAMS``); all by default.
            Get Team is always read, to check the account.
        full: Export every campaign's leads again, not only those with new
            activity: finds leads deleted or changed without an activity.
        concurrency: Activity windows and exports in flight at once.
        overlap: How far before the last run's end activities are read again.
        on_progress: Called with a stream's counts after each of its writes.

    Returns:
        The run's report.

    Raises:
        ValueError: A bad argument; nothing was sent.
        AccountMismatchError: The store holds another team; nothing was written.
        SyncError: The store cannot be synced into (a newer schema).
        LemlistError: A request failed for good (after the client's retries);
            what was written stands, and the next call resumes the run.
    """
    chosen = _check_streams(streams)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be an int >= 1, got {concurrency!r}")
    if not isinstance(overlap, dt.timedelta) or overlap < dt.timedelta(0):
        raise ValueError(f"overlap must be a timedelta >= 0, got {overlap!r}")
    team = await client.team.get()
    snapshot = await store.snapshot()
    bound = snapshot.meta.get("team_id")
    if bound is not None and bound != team.id:
        raise AccountMismatchError(expected=bound, actual=team.id)
    run = _Run(client, store, chosen, concurrency, on_progress)
    return await run.go(team, snapshot, full=full, overlap=overlap)


@contextlib.contextmanager
def _first_error() -> Iterator[None]:
    """Raise a task group's first error itself, as the docstrings promise, not a group."""
    try:
        yield
    except ExceptionGroup as group:
        error: BaseException = group
        while isinstance(error, BaseExceptionGroup):
            error = error.exceptions[0]
        raise error from None


def _check_streams(streams: Iterable[str] | None) -> frozenset[str]:
    if streams is None:
        return frozenset(STREAMS)
    if isinstance(streams, str):
        raise TypeError("streams must be an iterable of stream names, not one str")
    chosen = frozenset(streams)
    unknown = sorted(chosen - set(STREAMS))
    if unknown:
        raise ValueError(f"unknown streams {unknown}: choose among {', '.join(STREAMS)}")
    if not chosen:
        raise ValueError("streams must name at least one stream")
    return chosen


class _Run:
    """One run's work and bookkeeping."""

    def __init__(
        self,
        client: LemlistClient,
        store: Store,
        streams: frozenset[str],
        concurrency: int,
        on_progress: Callable[[StreamProgress], None] | None,
    ) -> None:
        self._client = client
        self._store = store
        self._streams = streams
        self._concurrency = concurrency
        self._on_progress = on_progress
        self._progress = {name: StreamProgress(name) for name in STREAMS if name in streams}
        self._last_at: dt.datetime | None = None
        self._record: RunRecord | None = None
        self._exported = ""
        # The activity windows of this run, by scope.
        self._windows: dict[str, Window] = {}
        self._upper: dt.datetime | None = None
        self._frontier: dt.datetime | None = None
        self._units: asyncio.Queue[Window | str] = asyncio.Queue()
        self._campaign_ids: list[str] | None = None
        self._activities_finished = False

    async def go(
        self, team: Team, snapshot: Snapshot, *, full: bool, overlap: dt.timedelta
    ) -> SyncReport:
        last = snapshot.last_run
        resumed = last is not None and last.status != "done"
        if last is not None and resumed:
            record = attrs.evolve(last, full=last.full or full, status="running", error=None)
        else:
            first = last is None
            record = RunRecord(
                run_id=1 if last is None else last.run_id + 1,
                team_id=team.id,
                started_at=self._now(),
                full=full or first,
            )
        self._record = record
        self._exported = state_text({"run": record.run_id})
        ops: list[Op] = [PutRun(record)]
        if snapshot.meta.get("team_id") is None:
            ops.insert(0, PutMeta("team_id", team.id))
        await self._write(ops)
        try:
            await self._small_streams(team)
            await self._big_streams(team, snapshot, overlap)
        except Exception as exc:
            await self._failed(exc)
            raise
        await self._write([PutRun(attrs.evolve(record, status="done", finished_at=self._now()))])
        return SyncReport(
            run_id=record.run_id,
            team_id=team.id,
            full=record.full,
            resumed=resumed,
            streams=tuple(self._progress.values()),
        )

    # -- writing ------------------------------------------------------------

    def _now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def _tick(self) -> dt.datetime:
        # A batch's time finds the rows it inserted: no two batches share one.
        now = self._now()
        if self._last_at is not None and now <= self._last_at:
            now = self._last_at + dt.timedelta(microseconds=1)
        self._last_at = now
        return now

    async def _write(
        self, ops: list[Op], stream: str | None = None, *, done: bool = False
    ) -> None:
        written = await self._store.apply(Batch(tuple(ops), self._tick()))
        if stream is None or stream not in self._progress:
            return
        fetched = sum(len(op.rows) for op in ops if isinstance(op, Upsert))
        changed = sum(n for op, n in zip(ops, written, strict=True) if isinstance(op, Upsert))
        deleted = sum(n for op, n in zip(ops, written, strict=True) if isinstance(op, Retire))
        now = self._progress[stream]
        self._report(
            attrs.evolve(
                now,
                fetched=now.fetched + fetched,
                written=now.written + changed,
                deleted=now.deleted + deleted,
                done=now.done or done,
            )
        )

    def _report(self, progress: StreamProgress) -> None:
        self._progress[progress.stream] = progress
        if self._on_progress is not None:
            self._on_progress(progress)

    async def _failed(self, exc: Exception) -> None:
        assert self._record is not None
        message = f"{type(exc).__name__}: {exc}"[:SYNC_ERROR_CHARS]
        record = attrs.evolve(self._record, status="failed", error=message)
        try:
            await self._write([PutRun(record)])
        except Exception:
            # The store is what failed, most likely: the run stays "running",
            # which the next call takes over all the same.
            logger.warning("could not record the failed sync run", exc_info=True)

    async def _replace(self, table: Table, stream: str, rows: Iterable[_rows.Row | None]) -> None:
        """Write a stream read whole, and soft-delete what it no longer lists."""
        unique = _rows.unique(rows, len(table.key))
        keep = frozenset(tuple(row[: len(table.key)]) for row in unique)
        await self._write([Upsert(table, unique), Retire(table, (), keep)], stream, done=True)

    # -- the small streams ----------------------------------------------------

    async def _small_streams(self, team: Team) -> None:
        wanted = self._streams
        with _first_error():
            async with asyncio.TaskGroup() as group:
                if "team" in wanted:
                    group.create_task(self._replace(TEAM, "team", [_rows.team_row(team)]))
                if "users" in wanted and team.users is not None:
                    users = [_rows.user_row(user) for user in team.users]
                    group.create_task(self._replace(USERS, "users", users))
                if "campaigns" in wanted:
                    group.create_task(self._campaigns())
                if "senders" in wanted:
                    group.create_task(self._senders())
                if "hooks" in wanted:
                    group.create_task(self._hooks())
                if "unsubscribes" in wanted:
                    group.create_task(self._unsubscribes())

    async def _campaigns(self) -> None:
        campaigns = await self._client.campaigns.list().collect()
        self._campaign_ids = [campaign.id for campaign in campaigns]
        await self._replace(CAMPAIGNS, "campaigns", map(_rows.campaign_row, campaigns))

    async def _hooks(self) -> None:
        hooks = await self._client.hooks.list()
        await self._replace(HOOKS, "hooks", map(_rows.hook_row, hooks))

    async def _senders(self) -> None:
        senders = await self._client.team.senders()
        rows = [
            _rows.sender_row(sender.user_id, campaign)
            for sender in senders
            if sender.user_id is not None
            for campaign in sender.campaigns or ()
        ]
        await self._replace(SENDERS, "senders", rows)

    async def _unsubscribes(self) -> None:
        entries = await self._client.unsubscribes.list().collect()
        await self._replace(UNSUBSCRIBES, "unsubscribes", map(_rows.unsubscribe_row, entries))

    # -- activities and leads ---------------------------------------------------

    async def _big_streams(self, team: Team, snapshot: Snapshot, overlap: dt.timedelta) -> None:
        if "activities" in self._streams:
            await self._plan_windows(team, snapshot, overlap)
        if "leads" in self._streams:
            for campaign_id in await self._to_export(snapshot, pending=False):
                self._units.put_nowait(campaign_id)
        await self._drain()
        if "leads" in self._streams:
            for campaign_id in await self._to_export(await self._store.snapshot(), pending=True):
                self._units.put_nowait(campaign_id)
            await self._drain()
            self._done("leads")

    async def _drain(self) -> None:
        if self._units.empty():
            return
        with _first_error():
            async with asyncio.TaskGroup() as group:
                workers = [group.create_task(self._worker()) for _ in range(self._concurrency)]
                await self._units.join()
                for worker in workers:
                    worker.cancel()

    async def _worker(self) -> None:
        while True:
            unit = await self._units.get()
            try:
                if isinstance(unit, Window):
                    await self._walk(unit)
                else:
                    await self._export(unit)
            finally:
                self._units.task_done()

    def _done(self, stream: str) -> None:
        if stream in self._progress:
            self._report(attrs.evolve(self._progress[stream], done=True))

    async def _plan_windows(self, team: Team, snapshot: Snapshot, overlap: dt.timedelta) -> None:
        state = snapshot.state
        mark = state.get((_ACTIVITIES, "frontier"))
        self._frontier = None if mark is None else parse_iso(json.loads(mark))
        span = state.get((_ACTIVITIES, "plan"))
        if span is not None:
            self._upper = parse_iso(json.loads(span).split("/")[1])
            windows = [
                Window.from_state(scope, value)
                for (stream, scope), value in state.items()
                if stream == _WINDOWS
            ]
        else:
            upper = self._now() - dt.timedelta(seconds=SYNC_SAFETY_LAG)
            if self._frontier is not None:
                lower = self._frontier - overlap
            else:
                lower = team.created_at or _EARLIEST
            windows = plan(lower, upper, dt.timedelta(seconds=SYNC_WINDOW))
            if not windows:
                self._done(_ACTIVITIES)
                return
            self._upper = windows[-1].end
            span_text = json.dumps(f"{iso(windows[0].start)}/{iso(self._upper)}")
            ops: list[Op] = [PutState(_ACTIVITIES, "plan", span_text)]
            ops += [PutState(_WINDOWS, w.scope, w.state()) for w in windows]
            await self._write(ops)
        self._windows = {w.scope: w for w in windows}
        todo = sorted(w for w in windows if not w.done)
        if not todo:
            await self._finish_activities()
        for window in todo:
            self._units.put_nowait(window)

    async def _walk(self, window: Window) -> None:
        size = ACTIVITIES_PAGE_MAX
        pager = self._client.activities.list(
            since=window.start, until=window.end, start=window.offset, page_size=size
        )
        async with pager.pages() as pages:
            async for page in pages:
                rows = _rows.unique(map(_rows.activity_row, page.items), 1)
                ops: list[Op] = [Upsert(ACTIVITIES, rows), MarkPending(self._exported)]
                pieces = None
                if page.offset == 0:
                    pieces = split(
                        window,
                        [a.created_at for a in page.items],
                        size,
                        above=SYNC_SPLIT_ABOVE_PAGES,
                        target=SYNC_SPLIT_TARGET_PAGES,
                        most=SYNC_SPLIT_MAX,
                        narrowest=dt.timedelta(seconds=SYNC_WINDOW_MIN),
                    )
                if pieces is not None:
                    ops.append(DropState(_WINDOWS, window.scope))
                    ops += [PutState(_WINDOWS, p.scope, p.state()) for p in pieces]
                    await self._write(ops, "activities")
                    del self._windows[window.scope]
                    for piece in pieces:
                        self._windows[piece.scope] = piece
                        self._units.put_nowait(piece)
                    return
                window = attrs.evolve(window, offset=page.offset + size)
                ops.append(PutState(_WINDOWS, window.scope, window.state()))
                await self._write(ops, "activities")
        window = attrs.evolve(window, done=True)
        self._windows[window.scope] = window
        reached = frontier(self._windows.values())
        ops = [PutState(_WINDOWS, window.scope, window.state())]
        if reached is not None and (self._frontier is None or reached > self._frontier):
            self._frontier = reached
            ops.append(PutState(_ACTIVITIES, "frontier", json.dumps(iso(reached))))
        await self._write(ops, "activities")
        if all(w.done for w in self._windows.values()):
            await self._finish_activities()

    async def _finish_activities(self) -> None:
        # Windows finishing together each see every window done: one finishes.
        if self._activities_finished:
            return
        self._activities_finished = True
        assert self._upper is not None
        await self._write(
            [
                PutState(_ACTIVITIES, "frontier", json.dumps(iso(self._upper))),
                DropState(_ACTIVITIES, "plan"),
                DropState(_WINDOWS),
            ],
            "activities",
            done=True,
        )

    async def _to_export(self, snapshot: Snapshot, *, pending: bool) -> list[str]:
        """The campaigns whose leads this run exports, not yet exported by it.

        Before the activities (``pending`` False): on a full run every campaign;
        else those marked by earlier runs and those never exported. After them:
        those the activities marked.
        """
        assert self._record is not None
        state = snapshot.state
        exported = {scope for (stream, scope) in state if stream == EXPORTED}
        done = {
            scope
            for (stream, scope), value in state.items()
            if stream == EXPORTED and value == self._exported
        }
        marked = {scope for (stream, scope) in state if stream == PENDING}
        if pending:
            return sorted(marked - done)
        campaigns = await self._live_campaigns()
        if self._record.full:
            return [c for c in campaigns if c not in done]
        return [c for c in campaigns if c not in done and (c in marked or c not in exported)]

    async def _live_campaigns(self) -> list[str]:
        if self._campaign_ids is None:
            campaigns = await self._client.campaigns.list().collect()
            self._campaign_ids = [campaign.id for campaign in campaigns]
        return self._campaign_ids

    async def _export(self, campaign_id: str) -> None:
        keep: set[tuple[str, ...]] = set()
        chunk: list[_rows.Row] = []
        finished: list[Op] = [
            PutState(EXPORTED, campaign_id, self._exported),
            DropState(PENDING, campaign_id),
        ]
        leads = self._client.campaigns.iter_export_leads(campaign_id)
        try:
            # Closed at once when the run stops (an error, a cancellation), not
            # when the garbage collector finds it: the response goes with it.
            async with contextlib.aclosing(leads):
                async for lead in leads:
                    keep.add((campaign_id, lead.id))
                    chunk.append(_rows.lead_row(campaign_id, lead))
                    if len(chunk) >= SYNC_EXPORT_CHUNK:
                        await self._write([Upsert(LEADS, _rows.unique(chunk, 2))], "leads")
                        chunk = []
        except NotFoundError:
            # Gone since it was listed: its leads stay as last seen.
            await self._write(finished, "leads")
            return
        retire = Retire(LEADS, (("campaign_id", campaign_id),), frozenset(keep))
        await self._write([Upsert(LEADS, _rows.unique(chunk, 2)), retire, *finished], "leads")
