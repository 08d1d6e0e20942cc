"""Fan-out overhead per item: ``fan_out`` against the leads engine it replaced, and gather.

Two parts, each running the things it compares side by side in one process.

(a) The engine alone, no I/O. ``N`` distinct campaign ids, 24 in flight, and a
function that returns an empty list at once, or after one ``await
asyncio.sleep(0)`` (a task that yields once, as any real request does). Four
ways of running it over the ids and consuming every item:

* ``fan_out(ids, fn)``: the generic engine, ``Outcome`` items;
* ``CampaignLeadsStream`` built exactly as ``LemlistClient.stream_campaign_leads``
  builds it: the same engine with the leads item and the campaign id refusal;
* ``_LegacyCampaignLeadsStream``: the leads-specific engine as it was before
  the fan-out was made generic, vendored below;
* ``asyncio.gather`` over a wrapper bounded by ``asyncio.Semaphore(24)``: what
  users write by hand, with every task created up front.

Each run is timed with ``time.perf_counter`` after a ``gc.collect()`` (the
collector stays on: the tasks and items are real garbage); the runs take turns,
their order rotating, ``REPEATS`` times, and the minimum per side is kept.
The target is the generic engine within 1.05x of the legacy one, judged twice:
``fan_out`` against it (``fan_out`` skips the campaign id check, so it does
less), and ``CampaignLeadsStream`` against it (the same work, item for item).

(b) Through the real client, rate limit lifted (``rate_limit=contextlib.nullcontext()``,
as in bench_overhead), against a ``FakeLemlistServer`` in a process of its own
(`_server_process`) with ``CAMPAIGNS`` campaigns of ``LEADS`` leads, small pages
so that the client's per-request work, not the bytes, is what is measured.
The leads of every campaign, in alternating rounds, by
``client.stream_campaign_leads(ids)``, ``fan_out(ids, lambda c:
client.campaigns.leads(c))`` and ``asyncio.gather`` of
``client.get_campaign_leads(c)`` under the same ``Semaphore(24)`` bound as the
fan-outs' default concurrency. Reported per side: the best round's requests
per second, and the least CPU time per request of this process
(``time.process_time``), which the server process does not share. Best, not
median: other work on the shared machine only slows rounds down, and it moved
the medians of rounds by 15% from run to run, more than the engines differ.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections import deque
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Iterator,
    Sequence,
)
from types import TracebackType
from typing import Any, Final, Self, TypeVar

import attrs
from _server_process import ServerInfo, server_process

from lemlist_async import Lead, LemlistClient, fan_out
from lemlist_async._constants import FANOUT_CONCURRENCY, FANOUT_READ_BATCH
from lemlist_async._errors import InvalidCampaignIdError, LemlistError
from lemlist_async._fanout import (
    CampaignLeads,
    CampaignLeadsStream,
    ProgressHook,
    campaign_leads_item,
    refuse_campaign_id,
)
from lemlist_async._params import path_segment

T = TypeVar("T")

#: (a) Inputs per run, and runs per side.
N: Final = 20_000
REPEATS: Final = 7
#: (b) Campaigns fetched per round, their leads, and rounds per side.
CAMPAIGNS: Final = 2_000
LEADS: Final = 10
ROUNDS: Final = 10
#: In flight at most, for every side: the fan-outs' default.
CONCURRENCY: Final = FANOUT_CONCURRENCY
TARGET: Final = 1.05

GENERIC: Final = "fan_out(ids, fn)"
LEADS_STREAM: Final = "CampaignLeadsStream, as stream_campaign_leads builds it"
LEGACY: Final = "legacy CampaignLeadsStream (before fan_out)"
GATHER: Final = f"asyncio.gather + Semaphore({CONCURRENCY})"
ENGINES: Final = (GENERIC, LEADS_STREAM, LEGACY, GATHER)

AT_ONCE: Final = "returns at once"
YIELDS: Final = "await asyncio.sleep(0), then returns"
FUNCTIONS: Final = (AT_ONCE, YIELDS)

CLIENT_STREAM: Final = "client.stream_campaign_leads(ids)"
CLIENT_FAN_OUT: Final = "fan_out(ids, lambda c: client.campaigns.leads(c))"
CLIENT_GATHER: Final = f"gather(client.get_campaign_leads(c)) + Semaphore({CONCURRENCY})"
CLIENT_SIDES: Final = (CLIENT_STREAM, CLIENT_FAN_OUT, CLIENT_GATHER)

Fetch = Callable[[str], Awaitable[list[Lead]]]
#: One way of running ``fn`` over the ids; returns how many items it consumed.
Engine = Callable[[Sequence[str], Fetch], Awaitable[int]]


# -- The replaced implementation ----------------------------------------------------------
#
# The replaced implementation, kept for comparison: ``CampaignLeadsStream`` as
# lemlist_async/_fanout.py had it at 6f5b9c8, the last commit before a6aeae6
# ("fan_out: the fan-out engine for any async function over any inputs"). Only
# the names changed (the class and its module-level helpers take a ``_legacy``
# prefix); the code is as it was. ``CampaignLeads`` and the constants did not
# change in that commit and are imported.


class _LegacyCampaignLeadsStream(AsyncIterator[CampaignLeads]):
    """``CampaignLeadsStream`` before the engine was generic (see the comment above)."""

    def __init__(
        self,
        campaign_ids: Iterable[str] | AsyncIterable[str],
        fetch: Fetch,
        *,
        concurrency: int,
        on_progress: ProgressHook | None = None,
    ) -> None:
        self._fetch = fetch
        self._concurrency = concurrency
        self._on_progress = on_progress
        if isinstance(campaign_ids, str | bytes):
            # A lone id would otherwise be fanned out one character at a time.
            raise TypeError("campaign_ids must be an iterable of ids, not a single str")
        self._sync: Iterator[str] | None = None
        self._async: AsyncIterator[str] | None = None
        if isinstance(campaign_ids, AsyncIterable):
            self._async = aiter(campaign_ids)
            self._total: int | None = None
        else:
            self._total = _legacy_distinct_count(campaign_ids)
            self._sync = iter(campaign_ids)
        self._exhausted = False
        self._seen: set[str] = set()
        self._pending: set[asyncio.Task[CampaignLeads]] = set()
        self._id_task: asyncio.Task[str] | None = None
        self._ready: deque[CampaignLeads] = deque()
        self._done = 0
        self._closed = False

    def __repr__(self) -> str:
        return (
            f"<CampaignLeadsStream done={self._done} total={self._total} "
            f"in_flight={len(self._pending)}>"
        )

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> CampaignLeads:
        if self._closed:
            raise StopAsyncIteration
        finished = False
        try:
            item = await self._next()
            finished = True
        finally:
            if not finished:
                # Exhausted, failed or cancelled: nothing may keep running.
                await self.aclose()
        self._done += 1
        if self._on_progress is not None:
            self._on_progress(self._done, self._total)
        return item

    async def _next(self) -> CampaignLeads:
        while not self._ready:
            if self._closed:
                # aclose() ran while this call waited: nothing more starts or comes.
                raise StopAsyncIteration
            self._fill()
            if self._ready:
                break
            waiting: set[asyncio.Task[Any]] = set(self._pending)
            if self._id_task is not None:
                waiting.add(self._id_task)
            if not waiting:
                if self._exhausted:
                    raise StopAsyncIteration
                # Only already-seen ids so far: let the loop run, then read on.
                await asyncio.sleep(0)
                continue
            # Wait for a fetch, or for the next id of an async source, whichever
            # comes first: a slow source never holds back finished campaigns.
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if self._closed:
                raise StopAsyncIteration
            if self._id_task in done:
                id_task, self._id_task = self._id_task, None
                try:
                    self._accept(id_task.result())
                except StopAsyncIteration:
                    self._exhausted = True
            finished = done & self._pending
            self._pending -= finished
            # Several can finish together; the rest wait here, bounded by concurrency.
            self._ready.extend(task.result() for task in finished)
        return self._ready.popleft()

    def _fill(self) -> None:
        """Start fetches until ``concurrency`` are in flight or the ids run out.

        Reads at most ``FANOUT_READ_BATCH`` ids per call: a source of ids already
        seen (``itertools.cycle``) starts nothing, and must not keep the loop
        from running everything else.
        """
        budget = FANOUT_READ_BATCH
        while not self._exhausted and len(self._pending) < self._concurrency:
            budget -= 1
            if budget < 0:
                return
            if self._async is not None:
                if self._id_task is None:
                    self._id_task = asyncio.create_task(_legacy_next_id(self._async))
                return
            assert self._sync is not None
            try:
                campaign_id = next(self._sync)
            except StopIteration:
                self._exhausted = True
                return
            if not self._accept(campaign_id):
                return

    def _accept(self, campaign_id: object) -> bool:
        """Start fetching one id; False when it became an error item instead."""
        problem = _legacy_id_problem(campaign_id)
        if problem is not None:
            error = InvalidCampaignIdError(f"invalid campaign id {campaign_id!r}: {problem}")
            self._ready.append(CampaignLeads(str(campaign_id), None, error))
            return False
        assert isinstance(campaign_id, str)
        if campaign_id not in self._seen:
            self._seen.add(campaign_id)
            # A plain function, not a method: a task must not keep the stream
            # alive, or a stream dropped with `break` would never be collected.
            self._pending.add(asyncio.create_task(_legacy_fetch_one(self._fetch, campaign_id)))
        return True

    def _tasks(self) -> set[asyncio.Task[Any]]:
        tasks: set[asyncio.Task[Any]] = set(self._pending)
        if self._id_task is not None:
            tasks.add(self._id_task)
        return tasks

    async def aclose(self) -> None:
        """Cancel the fetches in flight and wait until they have unwound."""
        self._closed = True
        tasks = self._tasks()
        self._pending, self._id_task = set(), None
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __del__(self) -> None:
        # A loop left with `break` drops the stream without closing it: cancel
        # what is in flight so that no request outlives its consumer.
        if "_pending" not in vars(self):  # __init__ refused its arguments.
            return
        for task in self._tasks():
            if not task.done() and not task.get_loop().is_closed():
                task.cancel()


async def _legacy_next_id(source: AsyncIterator[str]) -> str:
    return await anext(source)


async def _legacy_fetch_one(fetch: Fetch, campaign_id: str) -> CampaignLeads:
    try:
        leads = await fetch(campaign_id)
    except LemlistError as error:
        return CampaignLeads(campaign_id, None, error)
    return CampaignLeads(campaign_id, leads, None)


def _legacy_id_problem(campaign_id: object) -> str | None:
    """Why ``campaign_id`` cannot be sent, or None: the request's own rule."""
    try:
        path_segment(campaign_id, "the id")
    except (TypeError, ValueError) as error:
        return str(error)
    return None


def _legacy_distinct_count(campaign_ids: Iterable[str]) -> int | None:
    if not isinstance(campaign_ids, Collection):
        return None
    valid = [c for c in campaign_ids if _legacy_id_problem(c) is None]
    return len(set(valid)) + len(campaign_ids) - len(valid)


# -- (a) The engine alone -----------------------------------------------------------------

_NO_LEADS: Final[list[Lead]] = []


async def at_once(campaign_id: str) -> list[Lead]:
    return _NO_LEADS


async def yields_once(campaign_id: str) -> list[Lead]:
    await asyncio.sleep(0)
    return _NO_LEADS


FUNCTION_OF: Final[dict[str, Fetch]] = {AT_ONCE: at_once, YIELDS: yields_once}


async def run_generic(ids: Sequence[str], fn: Fetch) -> int:
    count = 0
    async for outcome in fan_out(ids, fn):
        if outcome.error is not None:
            raise outcome.error
        count += 1
    return count


async def run_leads_stream(ids: Sequence[str], fn: Fetch) -> int:
    # As LemlistClient.stream_campaign_leads builds it, minus the client.
    stream = CampaignLeadsStream(
        ids,
        fn,
        concurrency=CONCURRENCY,
        on_progress=None,
        item=campaign_leads_item,
        refuse=refuse_campaign_id,
    )
    count = 0
    async for item in stream:
        if item.error is not None:
            raise item.error
        count += 1
    return count


async def run_legacy(ids: Sequence[str], fn: Fetch) -> int:
    count = 0
    async for item in _LegacyCampaignLeadsStream(ids, fn, concurrency=CONCURRENCY):
        if item.error is not None:
            raise item.error
        count += 1
    return count


async def bounded_gather(ids: Sequence[str], fn: Callable[[str], Awaitable[T]]) -> list[T]:
    """``fn`` over every id at once, at most `CONCURRENCY` inside ``fn`` at a time."""
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(campaign_id: str) -> T:
        async with limit:
            return await fn(campaign_id)

    return await asyncio.gather(*(one(c) for c in ids))


async def run_gather(ids: Sequence[str], fn: Fetch) -> int:
    return len(await bounded_gather(ids, fn))


ENGINE_OF: Final[dict[str, Engine]] = {
    GENERIC: run_generic,
    LEADS_STREAM: run_leads_stream,
    LEGACY: run_legacy,
    GATHER: run_gather,
}


@attrs.frozen
class EngineResult:
    """The best µs per item of each (function, engine), and the repeats it is the best of."""

    micros: dict[tuple[str, str], float]
    repeats: int

    def ratio(self, function: str, engine: str, base: str) -> float:
        return self.micros[function, engine] / self.micros[function, base]


async def measure_engines(*, n: int = N, repeats: int = REPEATS) -> EngineResult:
    ids = [f"cam_{i:017d}" for i in range(n)]
    best = {(f, e): float("inf") for f in FUNCTIONS for e in ENGINES}
    order = list(ENGINES)
    for function in FUNCTIONS:  # warm-up: every path run once
        for engine in ENGINES:
            await ENGINE_OF[engine](ids[:1000], FUNCTION_OF[function])
    for _ in range(repeats):
        for function in FUNCTIONS:
            for engine in order:
                gc.collect()
                start = time.perf_counter()
                count = await ENGINE_OF[engine](ids, FUNCTION_OF[function])
                elapsed = time.perf_counter() - start
                if count != n:
                    raise RuntimeError(f"{engine}: {count} items, not {n}")
                best[function, engine] = min(best[function, engine], elapsed / n)
            order.append(order.pop(0))  # every engine takes every position in turn
    return EngineResult({k: s * 1e6 for k, s in best.items()}, repeats)


# -- (b) Through the client ---------------------------------------------------------------


@attrs.frozen
class Round:
    """One round of one side: ``requests`` requests in ``elapsed`` s of wall time."""

    side: str
    requests: int
    elapsed: float
    cpu: float

    @property
    def per_second(self) -> float:
        return self.requests / self.elapsed

    @property
    def cpu_per_request(self) -> float:
        return self.cpu / self.requests


@attrs.frozen
class ClientResult:
    """Every measured round, in the order they ran."""

    rounds: tuple[Round, ...]

    def of(self, side: str) -> list[Round]:
        return [r for r in self.rounds if r.side == side]

    # The best round, not the median: other work on a shared machine only ever
    # slows a round down, and it moves the median by more than the engines differ.
    def per_second(self, side: str) -> float:
        return max(r.per_second for r in self.of(side))

    def cpu_per_request(self, side: str) -> float:
        return min(r.cpu_per_request for r in self.of(side))

    def time_ratio(self, side: str, base: str) -> float:
        """Wall time per request of ``side`` over ``base``'s (above 1: slower)."""
        return self.per_second(base) / self.per_second(side)

    def cpu_ratio(self, side: str, base: str) -> float:
        return self.cpu_per_request(side) / self.cpu_per_request(base)


async def measure_client(server: ServerInfo, *, rounds: int = ROUNDS) -> ClientResult:
    ids = server.campaign_ids
    async with LemlistClient(
        server.api_key, base_url=server.base_url, rate_limit=contextlib.nullcontext()
    ) as client:

        async def stream() -> int:
            leads = 0
            async for item in client.stream_campaign_leads(ids):
                if item.leads is None:
                    raise RuntimeError(f"{item.campaign_id}: {item.error!r}")
                leads += len(item.leads)
            return leads

        async def generic() -> int:
            leads = 0
            async for outcome in fan_out(ids, lambda c: client.campaigns.leads(c)):
                if outcome.value is None:
                    raise RuntimeError(f"{outcome.input}: {outcome.error!r}")
                leads += len(outcome.value)
            return leads

        async def gather() -> int:
            pages = await bounded_gather(ids, lambda c: client.get_campaign_leads(c))
            return sum(len(page) for page in pages)

        sides: dict[str, Callable[[], Awaitable[int]]] = {
            CLIENT_STREAM: stream,
            CLIENT_FAN_OUT: generic,
            CLIENT_GATHER: gather,
        }

        async def run_round(side: str) -> Round:
            gc.collect()
            cpu = time.process_time()
            start = time.perf_counter()
            leads = await sides[side]()
            elapsed = time.perf_counter() - start
            cpu = time.process_time() - cpu
            if leads != len(ids) * LEADS:
                raise RuntimeError(f"{side}: {leads} leads, not {len(ids) * LEADS}")
            return Round(side, len(ids), elapsed, cpu)

        for side in CLIENT_SIDES:  # warm-up: every body built, the pool filled
            await run_round(side)
        measured: list[Round] = []
        order = list(CLIENT_SIDES)
        for _ in range(rounds):
            for side in order:
                measured.append(await run_round(side))
            order.append(order.pop(0))  # Rotate: no side always goes first.
    return ClientResult(tuple(measured))


# -- Both ---------------------------------------------------------------------------------


@attrs.frozen
class Result:
    engines: EngineResult
    client: ClientResult


async def main() -> Result:
    engines = await measure_engines()
    async with server_process(campaigns=CAMPAIGNS, leads_per_campaign=LEADS, seed=3) as server:
        client = await measure_client(server)
    return Result(engines, client)


def _verdict(ratio: float) -> str:
    return f"target ≤ {TARGET}x: {'met' if ratio <= TARGET else 'MISSED'}"


def report(result: Result) -> str:
    engines = result.engines
    lines = [
        f"Fan-out engine overhead per item, no I/O ({N:,} distinct ids, {CONCURRENCY}"
        f" in flight; min of {engines.repeats} interleaved repeats, GC on)",
        "",
        "| fn | engine | µs per item | / legacy | / gather |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for function in FUNCTIONS:
        for engine in ENGINES:
            lines.append(
                f"| {function} | {engine} | {engines.micros[function, engine]:.2f}"
                f" | {engines.ratio(function, engine, LEGACY):.2f}x"
                f" | {engines.ratio(function, engine, GATHER):.2f}x |"
            )
    lines.append("")
    for function in FUNCTIONS:
        # fan_out skips the campaign id check the legacy stream makes twice per
        # id; CampaignLeadsStream is the new engine doing exactly the legacy's work.
        ratio = engines.ratio(function, GENERIC, LEGACY)
        leads = engines.ratio(function, LEADS_STREAM, LEGACY)
        lines.append(
            f"{function}: fan_out / legacy **{ratio:.2f}x** ({_verdict(ratio)});"
            f" same work, CampaignLeadsStream / legacy **{leads:.2f}x** ({_verdict(leads)});"
            f" fan_out / gather {engines.ratio(function, GENERIC, GATHER):.2f}x"
        )
    client = result.client
    first = client.of(CLIENT_STREAM)
    lines += [
        "",
        f"The same through the client, rate limit lifted ({CAMPAIGNS:,} campaigns of {LEADS}"
        f" leads, {CONCURRENCY} in flight, {len(first)} alternating rounds per side,"
        " server in its own process; best round)",
        "",
        "| client | requests/s | client CPU per request | time / stream | CPU / stream |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for side in CLIENT_SIDES:
        lines.append(
            f"| {side} | {client.per_second(side):,.0f}"
            f" | {client.cpu_per_request(side) * 1e6:,.0f} µs"
            f" | {client.time_ratio(side, CLIENT_STREAM):.2f}x"
            f" | {client.cpu_ratio(side, CLIENT_STREAM):.2f}x |"
        )
    lines += [
        "",
        f"fan_out / stream_campaign_leads time per request:"
        f" **{client.time_ratio(CLIENT_FAN_OUT, CLIENT_STREAM):.2f}x**;"
        f" stream_campaign_leads / gather: {client.time_ratio(CLIENT_STREAM, CLIENT_GATHER):.2f}x",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(asyncio.run(main())))
