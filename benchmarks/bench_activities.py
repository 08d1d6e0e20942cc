"""Walking 5,000 activities while new ones arrive: items lost, items duplicated, time.

lemlist pages Get Many Activities by offset, newest first, over a feed that grows
at its head. Each walk reads a ``FakeLemlistServer`` of ``ACTIVITIES``
activities (pages of ``PAGE_SIZE``) that enforces 20 requests per 2 s strictly
(fixed window) with a round trip of ``LATENCY`` + up to ``JITTER`` seconds,
while a background task inserts ``INSERT_COUNT`` new activities dated now every
``INSERT_EVERY`` seconds, from the walk's first request to its last.

Three walkers, each on a fresh server (with a key of its own: ``LemlistClient``
shares one limiter per key, which would carry the previous walk's window over),
a fresh client and a fresh ``aiohttp.ClientSession`` per walk, rounds rotating
their order:

* `SDK`: ``client.activities.list()``, which pins ``maxDate`` to the walk's
  start and drops an item already on the page before;
* `SDK_UNPINNED`: ``client.activities.list(until=<year 2100>)``, an explicit
  ``until`` that pins nothing, so only the repeat drop protects it;
* `NAIVE`: a hand-written ``offset += 100`` loop on plain ``aiohttp``, no
  ``maxDate``, kept under the rate limit by the same rule as the SDK's limiter
  (a request waits until the one 20 before it ended ``WINDOW`` + 5 ms ago)
  and sleeping ``Retry-After`` should it get a 429 anyway.

The server runs in this process, not in one of its own (`_server_process`):
it has to insert activities during the walk, and its cost here is small (one
page of 100 activities is a slice of the feed, filtered by ``maxDate`` when it
is given, and about 50 KB of JSON written: a few ms a page, against the 2 s
windows the walk waits for). It is not counted as client CPU because none is
reported.

A walk's expected items are the feed's ids at its start (``fake.activities()``,
taken with no ``await`` between it and the SDK's pin). Per walk: items lost
(expected, never seen), duplicated (seen more than once), new (seen, not
expected: inserted after the start), requests and 429s (counted by an
``aiohttp`` ``TraceConfig``), and elapsed.

The minimum is the fastest legal schedule's expected time for the requests the
snapshot needs: the feed gives no total, so P = N // 100 + 1 pages (the last
one empty or short), one after another, at most 20 in any 2 s:
``W * (ceil(P / 20) - 1) + (P - 20 * (ceil(P / 20) - 1)) * RT``, RT the expected
round trip (``LATENCY + JITTER / 2``), since 20 round trips fit in a window;
were they not to, it would be ``P * RT``. Reported per walker: lost, duplicated, new, inserted
and 429s summed over every round, the most requests of one walk, the median
elapsed.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import math
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from types import SimpleNamespace
from typing import Final

import aiohttp
import attrs

from lemlist_async import LemlistClient
from lemlist_async.testing import FakeLemlistServer

ACTIVITIES: Final = 5000
PAGE_SIZE: Final = 100
#: Pages the snapshot needs: the feed gives no total, so a short or empty page ends it.
PAGES: Final = ACTIVITIES // PAGE_SIZE + 1
LATENCY: Final = 0.03
JITTER: Final = 0.02
ROUND_TRIP: Final = LATENCY + JITTER / 2
RATE_LIMIT: Final = 20
WINDOW: Final = 2.0
#: The naive walker's slack past a window, as the SDK's limiter's (``RATE_MARGIN``).
MARGIN: Final = 0.005
INSERT_COUNT: Final = 5
INSERT_EVERY: Final = 0.2
ROUNDS: Final = 2
SEED: Final = 7
#: An ``until`` that pins nothing: every activity is before it.
FAR_FUTURE: Final = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)

SDK: Final = "client.activities.list() (pinned at the start, repeats dropped)"
SDK_UNPINNED: Final = "client.activities.list(until=2100-01-01) (repeats dropped only)"
NAIVE: Final = "aiohttp, offset += 100, no maxDate"
WALKERS: Final = (SDK, SDK_UNPINNED, NAIVE)


def minimum(pages: int = PAGES) -> float:
    """Expected seconds of the fastest legal sequential schedule of ``pages`` requests."""
    full = math.ceil(pages / RATE_LIMIT) - 1  # windows waited out to the end
    if RATE_LIMIT * ROUND_TRIP > WINDOW:
        return pages * ROUND_TRIP
    return WINDOW * full + (pages - RATE_LIMIT * full) * ROUND_TRIP


@attrs.frozen
class Walk:
    """One walk of the feed."""

    walker: str
    expected: int
    seen: int
    lost: int
    duplicated: int
    new: int
    inserted: int
    requests: int
    responses_429: int
    elapsed: float


@attrs.frozen
class Result:
    """One walker over every round: sums of the counts, the most requests, the median time."""

    name: str
    walks: int
    expected: int
    seen: int
    lost: int
    duplicated: int
    new: int
    inserted: int
    requests: int
    responses_429: int
    elapsed: float

    @property
    def minimum(self) -> float:
        return minimum()

    @property
    def ratio(self) -> float:
        return self.elapsed / self.minimum

    @classmethod
    def of(cls, walks: list[Walk]) -> Result:
        return cls(
            name=walks[0].walker,
            walks=len(walks),
            expected=walks[0].expected,
            seen=max(w.seen for w in walks),
            lost=sum(w.lost for w in walks),
            duplicated=sum(w.duplicated for w in walks),
            new=sum(w.new for w in walks),
            inserted=sum(w.inserted for w in walks),
            requests=max(w.requests for w in walks),
            responses_429=sum(w.responses_429 for w in walks),
            elapsed=statistics.median(w.elapsed for w in walks),
        )


def _status_counter() -> tuple[aiohttp.TraceConfig, collections.Counter[int]]:
    statuses: collections.Counter[int] = collections.Counter()

    async def on_request_end(
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        statuses[params.response.status] += 1

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(on_request_end)
    return trace, statuses


#: Walks the feed and returns every id it read, in order; ``started`` is called
#: right before the first request is sent or pinned.
WalkFn = Callable[
    [FakeLemlistServer, aiohttp.ClientSession, Callable[[], None]], Awaitable[list[str]]
]


async def _sdk_walk(
    fake: FakeLemlistServer,
    session: aiohttp.ClientSession,
    started: Callable[[], None],
    until: dt.datetime | None,
) -> list[str]:
    async with LemlistClient(fake.api_key, base_url=fake.base_url, session=session) as client:
        pager = client.activities.list(until=until)
        started()  # The pin is taken by the first __anext__, before any await.
        return [activity.id async for activity in pager]


async def sdk_pinned(
    fake: FakeLemlistServer, session: aiohttp.ClientSession, started: Callable[[], None]
) -> list[str]:
    return await _sdk_walk(fake, session, started, None)


async def sdk_unpinned(
    fake: FakeLemlistServer, session: aiohttp.ClientSession, started: Callable[[], None]
) -> list[str]:
    return await _sdk_walk(fake, session, started, FAR_FUTURE)


async def naive(
    fake: FakeLemlistServer, session: aiohttp.ClientSession, started: Callable[[], None]
) -> list[str]:
    """What users write by hand: offset += 100 until a short page, under the rate limit."""
    loop = asyncio.get_running_loop()
    url = f"{fake.base_url}/activities"
    headers = {"Authorization": aiohttp.encode_basic_auth("", fake.api_key)}
    ended: collections.deque[float] = collections.deque(maxlen=RATE_LIMIT)
    ids: list[str] = []
    offset = 0
    started()
    while True:
        if len(ended) == RATE_LIMIT:  # The request 20 before must have left the window.
            await asyncio.sleep(max(0.0, ended[0] + WINDOW + MARGIN - loop.time()))
        query = {"version": "v2", "offset": str(offset), "limit": str(PAGE_SIZE)}
        try:
            async with session.get(url, params=query, headers=headers) as response:
                if response.status == 429:
                    retry_after = float(response.headers.get("Retry-After", str(WINDOW)))
                else:
                    response.raise_for_status()
                    page = await response.json()
                    retry_after = None
        finally:
            ended.append(loop.time())
        if retry_after is not None:
            await asyncio.sleep(retry_after)
            continue
        ids.extend(activity["_id"] for activity in page)
        if len(page) < PAGE_SIZE:
            return ids
        offset += PAGE_SIZE


WALK_FNS: Final[dict[str, WalkFn]] = {SDK: sdk_pinned, SDK_UNPINNED: sdk_unpinned, NAIVE: naive}


@contextlib.asynccontextmanager
async def _feed(
    activities: int, *, rate_limit: int | None = RATE_LIMIT
) -> AsyncIterator[FakeLemlistServer]:
    async with FakeLemlistServer(
        seed=SEED,
        campaigns=20,
        leads_per_campaign=100,
        activities=activities,
        # A key of its own: clients share one limiter per key, and the walk
        # before would have left the next one a window partly spent.
        api_key=uuid.uuid4().hex,
        rate_limit=rate_limit,
        latency=LATENCY,
        jitter=JITTER,
    ) as fake:
        fake.activities()  # The feed is drawn on first read: not inside the timing.
        yield fake


async def _insert(fake: FakeLemlistServer, inserted: list[int]) -> None:
    while True:
        await asyncio.sleep(INSERT_EVERY)
        fake.add_activities(INSERT_COUNT)
        inserted[0] += INSERT_COUNT


async def walk(walker: str, activities: int = ACTIVITIES) -> Walk:
    """One walk by ``walker`` over a fresh feed, activities inserted while it runs."""
    async with _feed(activities) as fake:
        trace, statuses = _status_counter()
        expected: list[str] = []
        inserted = [0]
        inserter: asyncio.Task[None] | None = None
        start = 0.0

        def started() -> None:
            nonlocal inserter, start
            expected.extend(activity["_id"] for activity in fake.activities())
            inserter = asyncio.get_running_loop().create_task(_insert(fake, inserted))
            start = time.perf_counter()

        async with aiohttp.ClientSession(trace_configs=[trace]) as session:
            try:
                ids = await WALK_FNS[walker](fake, session, started)
                elapsed = time.perf_counter() - start
            finally:
                if inserter is not None:
                    inserter.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await inserter
    seen, wanted = set(ids), set(expected)
    return Walk(
        walker=walker,
        expected=len(expected),
        seen=len(ids),
        lost=len(wanted - seen),
        duplicated=len(ids) - len(seen),
        new=len(seen - wanted),
        inserted=inserted[0],
        requests=statuses.total(),
        responses_429=statuses[429],
        elapsed=elapsed,
    )


async def main(rounds: int = ROUNDS) -> list[Result]:
    for walker in WALKERS:  # warm-up, untimed: imports, structurers, a short walk
        await walk(walker, activities=2 * PAGE_SIZE)
    walks: dict[str, list[Walk]] = {walker: [] for walker in WALKERS}
    order = list(WALKERS)
    for _ in range(rounds):
        for walker in order:
            walks[walker].append(await walk(walker))
        order = order[1:] + order[:1]
    return [Result.of(walks[walker]) for walker in WALKERS]


def report(results: list[Result]) -> str:
    rounds = results[0].walks
    lines = [
        f"Walking {ACTIVITIES:,} activities, pages of {PAGE_SIZE}, while {INSERT_COUNT} new"
        f" ones are inserted every {INSERT_EVERY} s (round trip {LATENCY * 1000:.0f} ms + up to"
        f" {JITTER * 1000:.0f} ms jitter, strict {RATE_LIMIT} per {WINDOW:.0f} s server in"
        f" this process; lost, duplicated, new, inserted and 429s summed over {rounds}"
        " walks, requests the most of one walk, elapsed the median)",
        "",
        "| walker | expected | lost | duplicated | new | inserted | requests | 429s"
        " | elapsed | minimum | elapsed / minimum |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.expected:,} | {r.lost} | {r.duplicated} | {r.new}"
            f" | {r.inserted} | {r.requests} | {r.responses_429} | {r.elapsed:.2f} s"
            f" | {r.minimum:.2f} s | {r.ratio:.2f} |"
        )
    sdk = next(r for r in results if r.name == SDK)
    met = sdk.lost == 0 and sdk.duplicated == 0
    lines += [
        "",
        f"SDK over {rounds} walks: {sdk.lost} lost, {sdk.duplicated} duplicated"
        f" (target 0 and 0: {'met' if met else 'MISSED'}), {sdk.new} new;"
        f" minimum = {WINDOW:.0f} s * (ceil({PAGES} / {RATE_LIMIT}) - 1)"
        f" + {PAGES - RATE_LIMIT * (math.ceil(PAGES / RATE_LIMIT) - 1)}"
        f" * {ROUND_TRIP * 1000:.0f} ms = {minimum():.2f} s for the {PAGES} pages"
        f" of the {ACTIVITIES:,} activities",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(asyncio.run(main())))
