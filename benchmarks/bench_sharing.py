"""A key another tool spends too: 429s of the SDK with and without its probe, and aiolimiter.

Scenario, each round against a fresh local ``FakeLemlistServer`` (lemlist's fixed
window, a round trip of ``LATENCY`` + up to ``JITTER`` s): another consumer spends
the key's 20 requests (``fake.spend(20)``), then a plain ``asyncio.gather`` of
``N`` ``get_campaign_leads`` starts at once. Side by side, each against its own
server at the same time: the SDK with ``WindowRateLimiter(shared_key=False)``
(the previous default), the SDK's default (probe and cap), and aiohttp with
``aiolimiter.AsyncLimiter(20, 2)`` sleeping ``Retry-After`` on a 429; then
``RedisRateLimiter``, with and without ``shared_key``, the ``N`` calls split
between ``REDIS_LIMITERS`` limiters on Redis connections of their own (the
processes' view; one ``redis-server`` that this benchmark starts and stops).
Each server accepts a key of its own, so the runs share no Redis state.

"Minimum" is the fastest legal schedule: the key is spent until one window after
the other consumer's requests, then ``2 * (ceil(N / 20) - 1)`` s and the slowest
round trip.

Then the cost of the probe when nobody else uses the key: the same gather
without ``spend``, the default against ``shared_key=False``.

Real time: aiolimiter does not run on a virtual clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import attrs
from bench_ratelimit import JITTER, LATENCY, aiolimiter_fan_out, fastest_legal_schedule
from redis.asyncio import Redis

from lemlist_async import LemlistClient, WindowRateLimiter
from lemlist_async.redis import RedisRateLimiter
from lemlist_async.testing import FakeLemlistServer

# The redis-server launcher is the test suite's; the repository root makes it importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests._redis_server import RedisServer

#: Calls per round of the scenario, and rounds.
N = 60
ROUNDS = 5
#: Sizes and rounds for the cost of the probe on a key nobody else uses.
ALONE_SIZES = (20, 100)
ALONE_ROUNDS = 3

FanOut = Callable[[FakeLemlistServer], Awaitable[None]]


def sdk_gather(shared_key: bool) -> FanOut:
    async def fan_out(fake: FakeLemlistServer) -> None:
        limiter = WindowRateLimiter(shared_key=shared_key)
        async with LemlistClient(fake.api_key, base_url=fake.base_url, rate_limit=limiter) as c:
            await asyncio.gather(*(c.get_campaign_leads(cid) for cid in fake.campaign_ids))

    return fan_out


#: Limiters (one Redis connection each) that the Redis rows split the calls between.
REDIS_LIMITERS = 3
#: The benchmark's redis-server, while main() runs.
_redis_url = ""


def redis_gather(shared_key: bool) -> FanOut:
    async def fan_out(fake: FakeLemlistServer) -> None:
        async def one_process(ids: list[str]) -> None:
            async with (
                Redis.from_url(_redis_url) as redis,
                contextlib.aclosing(
                    RedisRateLimiter(redis, fake.api_key, shared_key=shared_key)
                ) as limiter,
                LemlistClient(fake.api_key, base_url=fake.base_url, rate_limit=limiter) as c,
            ):
                await asyncio.gather(*(c.get_campaign_leads(cid) for cid in ids))

        ids = fake.campaign_ids
        await asyncio.gather(*(one_process(ids[i::REDIS_LIMITERS]) for i in range(REDIS_LIMITERS)))

    return fan_out


VARIANTS: dict[str, FanOut] = {
    "lemlist-async, shared_key=False (previous default)": sdk_gather(False),
    "lemlist-async default (probe and cap)": sdk_gather(True),
    "aiohttp + AsyncLimiter(20, 2)": aiolimiter_fan_out,
    f"RedisRateLimiter(shared_key=False), {REDIS_LIMITERS} limiters": redis_gather(False),
    f"RedisRateLimiter default (probe and cap), {REDIS_LIMITERS} limiters": redis_gather(True),
}


@attrs.frozen
class Round:
    name: str
    n: int
    elapsed: float
    responses_429: int
    spent: bool

    @property
    def minimum(self) -> float:
        return (2.0 if self.spent else 0.0) + fastest_legal_schedule(self.n)


async def measure(name: str, n: int, fan_out: FanOut, *, spend: bool, seed: int) -> Round:
    async with FakeLemlistServer(
        seed=seed,
        campaigns=n,
        leads_per_campaign=10,
        latency=LATENCY,
        jitter=JITTER,
        api_key=secrets.token_hex(16),
    ) as fake:
        start = time.perf_counter()
        if spend:
            fake.spend(20)
        await fan_out(fake)
        elapsed = time.perf_counter() - start
        return Round(name, n, elapsed, fake.count(429), spend)


@attrs.frozen
class Results:
    spent: list[Round]
    alone: list[Round]


async def main(rounds: int = ROUNDS, alone_rounds: int = ALONE_ROUNDS) -> Results:
    global _redis_url
    server = RedisServer.start()
    try:
        _redis_url = server.url
        return await _main(rounds, alone_rounds)
    finally:
        server.stop()


async def _main(rounds: int, alone_rounds: int) -> Results:
    spent: list[Round] = []
    for r in range(rounds):
        spent += await asyncio.gather(
            *(measure(name, N, fan_out, spend=True, seed=r) for name, fan_out in VARIANTS.items())
        )
    alone: list[Round] = []
    for n in ALONE_SIZES:
        for r in range(alone_rounds):
            alone += await asyncio.gather(
                measure("shared_key=False", n, sdk_gather(False), spend=False, seed=r),
                measure("default", n, sdk_gather(True), spend=False, seed=r),
            )
    return Results(spent, alone)


def report(results: Results) -> str:
    lines = [
        f"A key spent by another tool just before: gather of {N} calls, "
        f"{len(results.spent) // len(VARIANTS)} rounds (round trip {LATENCY * 1000:.0f} ms"
        f" + up to {JITTER * 1000:.0f} ms jitter, fixed-window server)",
        "",
        "| client | 429s per round | elapsed / minimum (median) |",
        "| --- | --- | ---: |",
    ]
    for name in VARIANTS:
        runs = [r for r in results.spent if r.name == name]
        counts = ", ".join(str(r.responses_429) for r in runs)
        ratio = statistics.median(r.elapsed / r.minimum for r in runs)
        lines.append(f"| {name} | {counts} | {ratio:.3f} |")
    lines += [
        "",
        "Every call of every round succeeded.",
        "",
        "The probe on a key nobody else uses (median of "
        f"{ALONE_ROUNDS} rounds; elapsed, then default / shared_key=False):",
        "",
        "| N | shared_key=False | default | ratio | difference |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for n in ALONE_SIZES:
        plain = statistics.median(
            r.elapsed for r in results.alone if r.n == n and r.name == "shared_key=False"
        )
        probed = statistics.median(
            r.elapsed for r in results.alone if r.n == n and r.name == "default"
        )
        lines.append(
            f"| {n} | {plain:.3f} s | {probed:.3f} s | {probed / plain:.3f} "
            f"| {(probed - plain) * 1000:+.0f} ms |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(asyncio.run(main())))
