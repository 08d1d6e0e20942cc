"""Listing 1,000 campaigns (10 pages of 100): sequential pages against concurrent ones.

``client.campaigns.list()`` reads page after page (``prefetch=1``, the default);
``client.campaigns.list(prefetch=10)`` reads the first page, learns the total
from its envelope, then asks for the 9 others at once (still through the rate
limiter). Both walk ``CAMPAIGNS`` campaigns of a ``FakeLemlistServer`` that
enforces lemlist's 20 requests per 2 s strictly (fixed window) with a round trip
of ``LATENCY`` + up to ``JITTER`` seconds.

Each pager has a server of its own, in a process of its own (`_server_process`),
so that serializing pages does not take this process's CPU. Rounds alternate
the two pagers (order rotating); before a server's next round its window
(opened by the round's first request) has ended, so every round starts with a
full budget of 20 and neither pager ever has to wait for the limiter: 10
requests fit in one window. Each round runs a fresh client on a fresh
``aiohttp.ClientSession`` (connections are opened inside the timing, as a
first listing would), with a ``TraceConfig`` counting the requests and their
statuses; 429s must be 0. Each server serves one untimed listing first: the fake
builds its campaigns' bodies on first use (about 90 ms), and this process
compiles its structurers.

Besides the elapsed time, this process's CPU time during the listing
(``time.process_time``: connecting, parsing, structuring; the servers' work is
not in it) shows what of the time over the minimum is the client's own work.

The minimum is the fastest legal schedule's expected time: 10 round trips one
after another for the sequential pager; one, then 9 at once for the concurrent
one. A round trip is ``LATENCY`` plus a uniform draw from ``0..JITTER``: one
request's expected trip is ``LATENCY + JITTER / 2``, a batch of k waits for the
slowest, expected ``LATENCY + JITTER * k / (k + 1)``. Reported per pager: the
median of ``ROUNDS`` rounds.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import statistics
import time
from types import SimpleNamespace
from typing import Final

import aiohttp
import attrs
from _server_process import ServerInfo, server_process

from lemlist_async import LemlistClient

CAMPAIGNS: Final = 1000
PAGE_SIZE: Final = 100
PAGES: Final = math.ceil(CAMPAIGNS / PAGE_SIZE)
LATENCY: Final = 0.03
JITTER: Final = 0.02
RATE_LIMIT: Final = 20
WINDOW: Final = 2.0
ROUNDS: Final = 5
#: Seconds past a server's window before its next round starts.
MARGIN: Final = 0.2

SEQUENTIAL: Final = "sequential pages (prefetch=1)"
CONCURRENT: Final = f"concurrent pages (prefetch={PAGES})"
PREFETCH: Final = {SEQUENTIAL: 1, CONCURRENT: PAGES}


def batch_trip(k: int) -> float:
    """Expected seconds for k requests sent at once: the slowest of k round trips."""
    return LATENCY + JITTER * k / (k + 1)


def minimum(prefetch: int) -> float:
    """Expected seconds of the fastest legal schedule for `PAGES` pages.

    The first page goes alone (it tells the total); then batches of ``prefetch``.
    All of them fit in one rate-limit window, so no batch waits for the limiter.
    """
    rest = PAGES - 1
    batches = [1] + [min(prefetch, rest - i) for i in range(0, rest, prefetch)]
    return sum(batch_trip(k) for k in batches)


@attrs.frozen
class Run:
    """One listing: ``items`` campaigns in ``elapsed`` s, the statuses it got."""

    pager: str
    items: int
    elapsed: float
    cpu: float
    requests: int
    responses_429: int


@attrs.frozen
class Listing:
    """The median of one pager's runs."""

    name: str
    items: int
    elapsed: float
    cpu: float
    minimum: float
    requests: int
    responses_429: int

    @property
    def ratio(self) -> float:
        return self.elapsed / self.minimum

    @classmethod
    def of(cls, runs: list[Run]) -> Listing:
        name = runs[0].pager
        return cls(
            name=name,
            items=min(r.items for r in runs),
            elapsed=statistics.median(r.elapsed for r in runs),
            cpu=statistics.median(r.cpu for r in runs),
            minimum=minimum(PREFETCH[name]),
            requests=max(r.requests for r in runs),
            responses_429=sum(r.responses_429 for r in runs),
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


async def list_all(server: ServerInfo, pager: str) -> Run:
    """List every campaign with ``pager``'s prefetch, on a fresh client and session."""
    trace, statuses = _status_counter()
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        client = LemlistClient(server.api_key, base_url=server.base_url, session=session)
        async with client:
            start, start_cpu = time.perf_counter(), time.process_time()
            ids = [c.id async for c in client.campaigns.list(prefetch=PREFETCH[pager])]
            elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    if len(ids) != CAMPAIGNS or len(set(ids)) != CAMPAIGNS:
        raise RuntimeError(f"{pager} listed {len(ids)} campaigns ({len(set(ids))} distinct)")
    return Run(pager, len(ids), elapsed, cpu, statuses.total(), statuses[429])


async def main(rounds: int = ROUNDS) -> list[Listing]:
    def server(seed: int) -> contextlib.AbstractAsyncContextManager[ServerInfo]:
        return server_process(
            campaigns=CAMPAIGNS, seed=seed, rate_limit=RATE_LIMIT, latency=LATENCY, jitter=JITTER
        )

    async with server(11) as sequential_server, server(12) as concurrent_server:
        servers = {SEQUENTIAL: sequential_server, CONCURRENT: concurrent_server}
        runs: dict[str, list[Run]] = {name: [] for name in servers}
        # When each server's current window has surely ended.
        free_at = dict.fromkeys(servers, 0.0)
        order = list(servers)
        for name in order:  # warm-up, untimed
            free_at[name] = time.monotonic() + WINDOW + MARGIN
            await list_all(servers[name], name)
        for _ in range(rounds):
            for name in order:
                await asyncio.sleep(max(0.0, free_at[name] - time.monotonic()))
                free_at[name] = time.monotonic() + WINDOW + MARGIN
                runs[name].append(await list_all(servers[name], name))
            order.reverse()
    return [Listing.of(runs[name]) for name in (SEQUENTIAL, CONCURRENT)]


def report(pagers: list[Listing]) -> str:
    lines = [
        f"Listing {CAMPAIGNS:,} campaigns, {PAGES} pages of {PAGE_SIZE} (round trip"
        f" {LATENCY * 1000:.0f} ms + up to {JITTER * 1000:.0f} ms jitter, strict"
        f" {RATE_LIMIT} per {WINDOW:.0f} s server in its own process; medians of {ROUNDS}"
        " rounds)",
        "",
        "| pager | requests | 429s | elapsed | minimum | elapsed / minimum"
        " | elapsed - minimum | client CPU |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for pager in pagers:
        lines.append(
            f"| {pager.name} | {pager.requests} | {pager.responses_429}"
            f" | {pager.elapsed * 1000:.0f} ms | {pager.minimum * 1000:.0f} ms"
            f" | {pager.ratio:.2f} | {(pager.elapsed - pager.minimum) * 1000:.0f} ms"
            f" | {pager.cpu * 1000:.0f} ms |"
        )
    by_name = {pager.name: pager for pager in pagers}
    speedup = by_name[SEQUENTIAL].elapsed / by_name[CONCURRENT].elapsed
    total_429 = sum(pager.responses_429 for pager in pagers)
    lines += [
        "",
        f"sequential / concurrent elapsed: **{speedup:.2f}x**"
        f" (minimums: {by_name[SEQUENTIAL].minimum / by_name[CONCURRENT].minimum:.2f}x);"
        f" 429s over every round: {total_429}"
        f" ({'none, as required' if total_429 == 0 else 'MISSED: must be 0'})",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(asyncio.run(main())))
