"""Worker processes, one API key: a limit shared through Redis against one per process.

``PROCESSES`` (4, then 16) worker processes each fetch ``PER_PROCESS`` campaigns with a plain
``asyncio.gather`` through their own ``LemlistClient``, against ONE local
``FakeLemlistServer`` that enforces lemlist's 20 requests per 2 s strictly (a
fixed window opened by the key's first request), with a round trip of
``LATENCY`` + up to ``JITTER`` seconds. The server runs in this process, so its
records share one clock; the workers are spawned processes that wait at a
barrier until all of them are ready, then start together. Runs, each against a
fresh server:

* ``RedisRateLimiter`` in every process, sharing its slots through a
  ``redis-server`` that this benchmark starts on a free port and stops, with 4
  and with 16 processes;
* the default limiter in every process (a ``WindowRateLimiter`` each): what a
  team gets without a shared limiter;
* for comparison, one process fetching all the campaigns with the default limiter.

Reported per run: elapsed / theoretical minimum, where elapsed runs from the
server's first arrival to its last plus the worst round trip, and the minimum is
``2 * (ceil(N / 20) - 1) + LATENCY + JITTER``; 429s; calls that failed (a 429
that kept coming past the retries); the most arrivals the server saw in any 2 s
window; the spread of the processes' finish times (max - min of each process's
last arrival at the server, one clock), against the elapsed time; and for the
Redis runs, Redis calls per request (every round trip: scripts and subscriptions)
with the messages per request apart (published inside a script's call, pushed
to the subscribers: no call of their own).

``--only workers`` with ``LEMLIST_BENCH_PROCESSES=4,16`` (the default) picks the
process counts. The figures of an older version of the package are measured by
putting its source first on ``PYTHONPATH``: the workers import whichever
``lemlist_async`` comes first, and the counts below read any ``RedisCalls``.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Final

import attrs
from bench_ratelimit import JITTER, LATENCY, fastest_legal_schedule

from lemlist_async import LemlistClient
from lemlist_async.testing import FakeLemlistServer

# The redis-server launcher is the test suite's; the repository root makes it importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests._redis_server import RedisServer, RedisServerError

PROCESSES: Final = tuple(
    int(n) for n in os.environ.get("LEMLIST_BENCH_PROCESSES", "4,16").split(",")
)
PER_PROCESS: Final = 50
#: RedisCalls attributes that are not round trips to Redis.
NOT_CALLS: Final = frozenset({"granted", "reserved", "queued", "published", "handed"})
#: Seconds for every worker process to start and reach the barrier.
READY_TIMEOUT: Final = 60.0


@attrs.frozen
class Run:
    name: str
    processes: int
    n: int
    elapsed: float
    responses_429: int
    failed: int
    max_in_window: int
    spread: float  # Max - min of the processes' last arrivals at the server.
    calls: dict[str, int] | None  # Summed RedisCalls of the workers, None without Redis.

    @property
    def minimum(self) -> float:
        return fastest_legal_schedule(self.n)

    @property
    def ratio(self) -> float:
        return self.elapsed / self.minimum

    def redis_calls(self) -> str:
        if not self.calls:
            return "-"
        requests = self.calls["complete"]
        total = sum(n for kind, n in self.calls.items() if kind not in NOT_CALLS)
        return f"{total / requests:.2f}"

    def messages(self) -> str:
        if not self.calls:
            return "-"
        return f"{self.calls.get('published', 0) / self.calls['complete']:.2f}"


# -- The workers' side ------------------------------------------------------------------------


def _worker(
    base_url: str,
    api_key: str,
    campaign_ids: list[str],
    redis_url: str | None,
    ready: Barrier,
    results: Queue[tuple[int, dict[str, int] | None]],
) -> None:
    if redis_url is not None:
        # Imported before the barrier: 16 processes importing redis-py on two
        # cores after it would start seconds apart, and the first to start would
        # rightly take the first slots, which measures the start, not the limiter.
        import redis.asyncio  # noqa: F401

        import lemlist_async.redis  # noqa: F401
    ready.wait(READY_TIMEOUT)
    results.put(asyncio.run(_fetch(base_url, api_key, campaign_ids, redis_url)))


async def _fetch(
    base_url: str, api_key: str, campaign_ids: list[str], redis_url: str | None
) -> tuple[int, dict[str, int] | None]:
    """Fetch every campaign at once; returns (failed calls, the limiter's Redis calls)."""
    if redis_url is None:
        async with LemlistClient(api_key, base_url=base_url) as client:
            outcomes = await asyncio.gather(
                *(client.get_campaign_leads(c) for c in campaign_ids), return_exceptions=True
            )
        return sum(isinstance(o, BaseException) for o in outcomes), None

    from redis.asyncio import Redis

    from lemlist_async.redis import RedisRateLimiter

    async with Redis.from_url(redis_url) as redis:
        limiter = RedisRateLimiter(redis, api_key)
        async with LemlistClient(api_key, base_url=base_url, rate_limit=limiter) as client:
            outcomes = await asyncio.gather(
                *(client.get_campaign_leads(c) for c in campaign_ids), return_exceptions=True
            )
        await limiter.flush()
        aclose = getattr(limiter, "aclose", None)  # Older versions have none.
        if aclose is not None:
            await aclose()
    failed = sum(isinstance(o, BaseException) for o in outcomes)
    return failed, attrs.asdict(limiter.calls)


# -- The parent's side ----------------------------------------------------------------------


async def measure(name: str, processes: int, per_process: int, redis_url: str | None) -> Run:
    n = processes * per_process
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(processes)
    results: Queue[tuple[int, dict[str, int] | None]] = context.Queue()
    async with FakeLemlistServer(
        seed=n, campaigns=n, leads_per_campaign=10, latency=LATENCY, jitter=JITTER
    ) as fake:
        workers = [
            context.Process(
                target=_worker,
                args=(
                    fake.base_url,
                    fake.api_key,
                    fake.campaign_ids[i::processes],
                    redis_url,
                    ready,
                    results,
                ),
            )
            for i in range(processes)
        ]
        for worker in workers:
            worker.start()
        try:
            # Blocking reads, in threads: this loop must keep serving the workers.
            outcomes = [await asyncio.to_thread(results.get) for _ in workers]
        finally:
            for worker in workers:
                await asyncio.to_thread(worker.join, 10)
                if worker.is_alive():
                    worker.kill()
                    await asyncio.to_thread(worker.join)
        arrivals = sorted(request.time for request in fake.requests)
        # Each worker's campaigns are known: its last arrival is its finish.
        owner = {cid: i % processes for i, cid in enumerate(fake.campaign_ids)}
        finish: dict[int, float] = {}
        for request in fake.requests:
            who = owner[request.path.split("/")[3]]
            finish[who] = max(finish.get(who, 0.0), request.time)
        calls: dict[str, int] | None = None
        if redis_url is not None:
            calls = {}
            for _, worker_calls in outcomes:
                for kind, count in (worker_calls or {}).items():
                    calls[kind] = calls.get(kind, 0) + count
        return Run(
            name=name,
            processes=processes,
            n=n,
            elapsed=arrivals[-1] - arrivals[0] + LATENCY + JITTER,
            responses_429=fake.count(429),
            failed=sum(failed for failed, _ in outcomes),
            max_in_window=fake.max_arrivals_in_window(2.0),
            spread=max(finish.values()) - min(finish.values()),
            calls=calls,
        )


async def main() -> list[Run]:
    """The runs; raises ``RedisServerError`` when redis-server cannot start."""
    server = RedisServer.start()
    runs: list[Run] = []
    try:
        for processes in PROCESSES:
            runs.append(
                await measure("RedisRateLimiter, shared", processes, PER_PROCESS, server.url)
            )
        runs += [
            await measure("WindowRateLimiter per process", PROCESSES[0], PER_PROCESS, None),
            await measure("one process, default limiter", 1, PROCESSES[0] * PER_PROCESS, None),
        ]
    finally:
        server.stop()
    return runs


def report(runs: list[Run]) -> str:
    lines = [
        f"Many workers, one key: processes x {PER_PROCESS} campaigns "
        f"(round trip {LATENCY * 1000:.0f} ms + up to {JITTER * 1000:.0f} ms jitter, "
        "one strict fixed-window server)",
        "",
        "| limiter | processes x campaigns | elapsed / minimum | 429s | failed calls "
        "| most in a 2 s window | finish spread / elapsed | Redis calls per request "
        "| messages per request |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in runs:
        lines.append(
            f"| {run.name} | {run.processes} x {run.n // run.processes} | {run.ratio:.3f} "
            f"| {run.responses_429} | {run.failed} | {run.max_in_window} "
            f"| {run.spread:.2f} s / {run.elapsed:.1f} s | {run.redis_calls()} "
            f"| {run.messages()} |"
        )
    return "\n".join(lines)


def run() -> str:
    """The report, or why the benchmark could not run here."""
    try:
        import redis  # noqa: F401
    except ImportError:
        return 'workers: not run, redis-py is missing (pip install "lemlist-async[redis]")'
    try:
        return report(asyncio.run(main()))
    except RedisServerError as exc:
        return f"workers: not run, {exc}"


if __name__ == "__main__":
    print(run())
