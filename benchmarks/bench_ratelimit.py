"""Rate-limited fan-out: the SDK against aiohttp + ``AsyncLimiter(20, 2)``, side by side.

Both fetch N campaigns from a local ``FakeLemlistServer`` that enforces
lemlist's 20 requests per 2 s strictly (a fixed window opened by the key's first
request) with a round trip of ``LATENCY`` + up to ``JITTER`` seconds. They run
at the same time, each against its own server, so machine noise hits both
alike. The SDK streams them with ``stream_campaign_leads``; the baseline is what
users write by hand, a plain ``asyncio.gather``. Real time: aiolimiter does not
run on a virtual clock.

Reported per run: elapsed / theoretical minimum, where the minimum is
``2 * (ceil(N / 20) - 1) + LATENCY + JITTER`` (the fastest legal schedule: the
last batch ends with the slowest of its round trips); 429s; the most arrivals
the server saw in any 2 s window.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable

import aiohttp
import attrs
from aiolimiter import AsyncLimiter

from lemlist_async import LemlistClient
from lemlist_async.testing import FakeLemlistServer

LATENCY = 0.03
JITTER = 0.02


def fastest_legal_schedule(n: int) -> float:
    """Seconds N requests need at least: 20 per 2 s, then the slowest round trip."""
    return 2.0 * (math.ceil(n / 20) - 1) + LATENCY + JITTER


@attrs.frozen
class Run:
    name: str
    n: int
    elapsed: float
    responses_429: int
    max_in_window: int

    @property
    def minimum(self) -> float:
        return fastest_legal_schedule(self.n)

    @property
    def ratio(self) -> float:
        return self.elapsed / self.minimum


async def sdk_fan_out(fake: FakeLemlistServer) -> None:
    async with LemlistClient(fake.api_key, base_url=fake.base_url) as client:
        async for item in client.stream_campaign_leads(fake.campaign_ids):
            if item.error is not None:
                raise item.error


async def aiolimiter_fan_out(fake: FakeLemlistServer) -> None:
    """What users write by hand: a leaky bucket, gather, and sleep on 429."""
    limiter = AsyncLimiter(20, 2)
    headers = {"Authorization": aiohttp.encode_basic_auth("", fake.api_key)}

    async def one(session: aiohttp.ClientSession, cid: str) -> None:
        while True:
            url = f"{fake.base_url}/campaigns/{cid}/leads/"
            async with limiter, session.get(url) as response:
                await response.read()
                if response.status != 429:
                    return
                retry_after = float(response.headers.get("Retry-After", "2"))
            await asyncio.sleep(retry_after)

    async with aiohttp.ClientSession(headers=headers) as session:
        await asyncio.gather(*(one(session, cid) for cid in fake.campaign_ids))


async def measure(
    name: str, n: int, fan_out: Callable[[FakeLemlistServer], Awaitable[None]]
) -> Run:
    async with FakeLemlistServer(
        seed=n, campaigns=n, leads_per_campaign=10, latency=LATENCY, jitter=JITTER
    ) as fake:
        start = time.perf_counter()
        await fan_out(fake)
        elapsed = time.perf_counter() - start
        return Run(name, n, elapsed, fake.count(429), fake.max_arrivals_in_window(2.0))


async def main(sizes: tuple[int, ...] = (20, 100, 1000)) -> list[Run]:
    runs: list[Run] = []
    for n in sizes:
        pair = await asyncio.gather(
            measure("lemlist-async", n, sdk_fan_out),
            measure("aiohttp + AsyncLimiter(20, 2)", n, aiolimiter_fan_out),
        )
        runs.extend(pair)
    return runs


def report(runs: list[Run]) -> str:
    lines = [
        f"Rate-limited fan-out (round trip {LATENCY * 1000:.0f} ms"
        f" + up to {JITTER * 1000:.0f} ms jitter, strict fixed-window server)",
        "",
        "| N | client | elapsed / minimum | elapsed - minimum | 429s | most in a 2 s window |",
        "| ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for run in runs:
        lines.append(
            f"| {run.n} | {run.name} | {run.ratio:.3f} | {run.elapsed - run.minimum:.3f} s "
            f"| {run.responses_429} | {run.max_in_window} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(asyncio.run(main())))
