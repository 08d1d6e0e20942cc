"""The first full sync of a large account, at the rate limit, into SQLite and PostgreSQL.

The account: ``FakeLemlistServer(seed=1)`` with ``CAMPAIGNS`` campaigns of
``LEADS_PER_CAMPAIGN`` leads (``CAMPAIGNS * LEADS_PER_CAMPAIGN`` leads in all)
and ``ACTIVITIES`` activities, in a process of its own (`_server_process`), so
that its CPU is not the client's; it enforces 20 requests per window strictly
(fixed window, as lemlist) and answers after ``LATENCY`` + up to ``JITTER``
seconds. Requests, their statuses and their send times are counted on the
client's side (an aiohttp ``TraceConfig``).

Time is compressed ``SPEEDUP`` times: the window is ``WINDOW`` (lemlist's 2 s
/ ``SPEEDUP``) for the fake and the client alike; the round trip is the other
benchmarks' (``LATENCY`` + up to ``JITTER``). The requests and their schedule
are those of the real pace; what does not shrink is the local work (JSON,
models, database writes), which weighs ``SPEEDUP`` times more here than
against lemlist. The SDK's limiter holds a slot for one window after each
response (see ``_ratelimit``), so any schedule costs about ``round trip /
window`` over the minimum: 5 % here, and 15 to 25 % at lemlist's own round
trips of 0.3 to 0.5 s, for every client of the SDK, the sync included.

Per store (a fresh database each): requests made, 429s, most requests in one
window, elapsed, the fastest legal schedule of those requests
(``WINDOW * (ceil(N / 20) - 1)`` plus one round trip), their ratio (target
1.1 at most), the requests against the design's estimate, rows written and
rows written per second of time spent writing; then a second run with no
change: its requests and the rows it wrote.

Beside it, the schedule of the public connectors for the same requests at
lemlist's real pace: one request at a time per stream, ``PEER_ROUND_TRIP``
seconds each, against the SDK's legal minimum at lemlist's 2 s window.
"""

from __future__ import annotations

import asyncio
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

import aiohttp
import attrs
from _server_process import ServerInfo, server_process

from lemlist_async import LemlistClient, WindowRateLimiter
from lemlist_async._sync._ops import Batch, Snapshot, Upsert
from lemlist_async.sync import PostgresStore, SQLiteStore, SyncReport, sync_account

# The PostgreSQL launcher is the test suite's; the repository root makes it importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests._postgres_server import LocalPostgres

CAMPAIGNS: Final = int(os.environ.get("LEMLIST_BENCH_SYNC_CAMPAIGNS", "200"))
LEADS_PER_CAMPAIGN: Final = 500
ACTIVITIES: Final = int(os.environ.get("LEMLIST_BENCH_SYNC_ACTIVITIES", "200000"))
UNSUBSCRIBES: Final = 250
SPEEDUP: Final = float(os.environ.get("LEMLIST_BENCH_SYNC_SPEEDUP", "2"))
WINDOW: Final = 2.0 / SPEEDUP
#: The round trip of the other benchmarks (bench_ratelimit), not compressed.
LATENCY: Final = 0.03
JITTER: Final = 0.02
RATE_LIMIT: Final = 20
#: A round trip of the public connectors at lemlist's pace (the design's figure).
PEER_ROUND_TRIP: Final = 0.5


def minimum(requests: int, window: float = WINDOW, round_trip: float = LATENCY + JITTER) -> float:
    """The fastest legal schedule of ``requests``: full windows, then one round trip."""
    return window * (math.ceil(requests / RATE_LIMIT) - 1) + round_trip


def estimate(campaigns: int, activities: int, unsubscribes: int) -> int:
    """The design's count of requests for a first sync, windows' short last pages aside."""
    pages = math.ceil(campaigns / 100) + unsubscribes // 100 + 1 + math.ceil(activities / 100)
    return 3 + pages + campaigns  # team, senders, hooks; the pages; one export per campaign


class Timed:
    """A store that measures the time its writes take and the rows they carry."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.seconds = 0.0
        self.rows = 0
        # The stores write one batch at a time anyway; taking turns here too
        # times each write alone, not its wait behind the others.
        self._turn = asyncio.Lock()

    async def snapshot(self) -> Snapshot:
        snapshot: Snapshot = await self._store.snapshot()
        return snapshot

    async def apply(self, batch: Batch) -> tuple[int, ...]:
        async with self._turn:
            started = time.perf_counter()
            written: tuple[int, ...] = await self._store.apply(batch)
            self.seconds += time.perf_counter() - started
        self.rows += sum(len(op.rows) for op in batch.ops if isinstance(op, Upsert))
        return written


@attrs.frozen
class Run:
    store: str
    requests: int
    responses_429: int
    max_in_window: int
    elapsed: float
    rows: int
    write_seconds: float
    written: int
    second_requests: int
    second_written: int

    @property
    def ratio(self) -> float:
        return self.elapsed / minimum(self.requests)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.write_seconds


def _written(report: SyncReport) -> int:
    return sum(stream.written for stream in report.streams)


class Sent:
    """What the client sent: send times and statuses, from aiohttp's trace hooks."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.statuses: list[int] = []
        self.trace = aiohttp.TraceConfig()
        self.trace.on_request_start.append(self._start)
        self.trace.on_request_end.append(self._end)

    async def _start(self, *_: object) -> None:
        self.times.append(time.monotonic())

    async def _end(self, _s: object, _c: object, params: aiohttp.TraceRequestEndParams) -> None:
        self.statuses.append(params.response.status)

    def most_in_window(self) -> int:
        times = sorted(self.times)
        most, first = 0, 0
        for last, sent in enumerate(times):
            while sent - times[first] >= WINDOW:
                first += 1
            most = max(most, last - first + 1)
        return most

    def clear(self) -> None:
        self.times.clear()
        self.statuses.clear()


async def _run(server: ServerInfo, name: str, store: Any) -> Run:
    limiter = WindowRateLimiter(RATE_LIMIT, WINDOW)
    sent = Sent()
    async with (
        aiohttp.ClientSession(trace_configs=[sent.trace]) as session,
        LemlistClient(
            server.api_key, base_url=server.base_url, rate_limit=limiter, session=session
        ) as client,
    ):
        timed = Timed(store)
        async with store:
            started = time.perf_counter()
            first = await sync_account(client, timed)
            elapsed = time.perf_counter() - started
            requests, statuses, most = len(sent.times), list(sent.statuses), sent.most_in_window()
            sent.clear()
            second = await sync_account(client, store)
    return Run(
        store=name,
        requests=requests,
        responses_429=statuses.count(429),
        max_in_window=most,
        elapsed=elapsed,
        rows=timed.rows,
        write_seconds=timed.seconds,
        written=_written(first),
        second_requests=len(sent.times),
        second_written=_written(second),
    )


async def main() -> list[Run]:
    runs = []
    async with server_process(
        seed=1,
        campaigns=CAMPAIGNS,
        leads_per_campaign=LEADS_PER_CAMPAIGN,
        activities=ACTIVITIES,
        unsubscribes=UNSUBSCRIBES,
        rate_limit=RATE_LIMIT,
        window=WINDOW,
        latency=LATENCY,
        jitter=JITTER,
    ) as server:
        with tempfile.TemporaryDirectory() as directory:
            runs.append(await _run(server, "SQLite", SQLiteStore(Path(directory) / "sync.db")))
        postgres = LocalPostgres.start()
        try:
            dsn = await postgres.create_database("bench_sync")
            runs.append(await _run(server, "PostgreSQL", PostgresStore(dsn)))
        finally:
            postgres.stop()
    return runs


def report(runs: list[Run]) -> str:
    leads = CAMPAIGNS * LEADS_PER_CAMPAIGN
    lines = [
        f"First full sync of {CAMPAIGNS:,} campaigns, {leads:,} leads, {ACTIVITIES:,} activities,"
        f" {UNSUBSCRIBES} unsubscribes; time compressed {SPEEDUP:g}x (window {WINDOW} s,"
        f" round trip {LATENCY * 1000:.0f}+{JITTER * 1000:.0f} ms)",
        "",
        "| store | requests | / estimate | 429s | most sent per window | elapsed (s) | minimum (s)"
        " | ratio | rows written | rows/s writing | 2nd run: requests, rows written |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    expected = estimate(CAMPAIGNS, ACTIVITIES, UNSUBSCRIBES)
    for run in runs:
        lines.append(
            f"| {run.store} | {run.requests:,} | {run.requests / expected:.3f}"
            f" | {run.responses_429} | {run.max_in_window} | {run.elapsed:.1f}"
            f" | {minimum(run.requests):.1f} | {run.ratio:.3f} | {run.written:,}"
            f" | {run.rows_per_second:,.0f} | {run.second_requests}, {run.second_written} |"
        )
    requests = runs[0].requests
    sdk = minimum(requests, 2.0, 0.5)
    peers = requests * PEER_ROUND_TRIP
    lines += [
        "",
        f"Design's estimate: {expected:,} requests (windows' short last pages aside).",
        f"At lemlist's pace, these {requests:,} requests take at least {sdk / 60:.1f} min"
        f" (the SDK's schedule, x ratio above); one request at a time at"
        f" {PEER_ROUND_TRIP} s a round trip, as the public connectors page: {peers / 3600:.2f} h"
        f" ({peers / sdk:.1f}x longer).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(asyncio.run(main())))
