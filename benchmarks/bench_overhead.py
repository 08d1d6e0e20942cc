"""SDK overhead per request: ``get_campaign_leads`` against a bare aiohttp GET, rate limit lifted.

A rate-limit-free ``FakeLemlistServer`` with ``CAMPAIGNS`` campaigns of 500
leads runs in a process of its own (`_server_process`), so that this process
only pays for the client. Three ways of fetching a page, each through one
long-lived session:

* raw aiohttp: GET ``{base_url}/campaigns/{id}/leads/?limit=500`` with the Basic
  auth header, then ``await response.json()``: bytes to dicts, nothing more;
* raw aiohttp as above, then the same ``list[Lead]`` the SDK builds (its
  converter's fast path), to tell the models' cost from the pipeline's;
* the SDK: ``client.get_campaign_leads(id, limit=500)`` with
  ``rate_limit=contextlib.nullcontext()``: the whole pipeline (limiter, retry
  loop, header parsing, status mapping) and the ``list[Lead]`` models.

Both are warmed up (every campaign once, so the server has built and cached
every body), then run in alternating rounds (raw, SDK, SDK, raw, ...) of
``REQUESTS`` requests over the campaign ids by ``CONCURRENCY`` workers.
Reported per side: the median of the rounds' requests per second, and this
process's CPU time per request (``time.process_time``), which the server
process does not share and which therefore shows the client's own cost even
where the server's speed caps both throughputs. Ratios are raw / SDK
throughput and SDK / raw CPU time; the target is the SDK within 1.3x of raw
aiohttp.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Final

import aiohttp
import attrs
from _server_process import ServerInfo, server_process

from lemlist_async import Lead, LemlistClient
from lemlist_async._converter import structure

CAMPAIGNS: Final = 200
LEADS: Final = 500
ROUNDS: Final = 6
REQUESTS: Final = 400
CONCURRENCY: Final = 20
TARGET: Final = 1.3

RAW: Final = "aiohttp + response.json()"
RAW_MODELS: Final = "aiohttp + response.json() + the same list[Lead]"
SDK: Final = "lemlist-async get_campaign_leads"
SIDES: Final = (RAW, RAW_MODELS, SDK)

Fetch = Callable[[str], Awaitable[int]]


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
class Result:
    """Every measured round, in the order they ran."""

    rounds: tuple[Round, ...]

    def of(self, side: str) -> list[Round]:
        return [r for r in self.rounds if r.side == side]

    def per_second(self, side: str) -> float:
        return statistics.median(r.per_second for r in self.of(side))

    def cpu_per_request(self, side: str) -> float:
        return statistics.median(r.cpu_per_request for r in self.of(side))

    @property
    def throughput_ratio(self) -> float:
        return self.per_second(RAW) / self.per_second(SDK)

    @property
    def pipeline_ratio(self) -> float:
        return self.per_second(RAW_MODELS) / self.per_second(SDK)

    @property
    def cpu_ratio(self) -> float:
        return self.cpu_per_request(SDK) / self.cpu_per_request(RAW)


async def run_round(side: str, fetch: Fetch, ids: Sequence[str], requests: int) -> Round:
    """``requests`` fetches, cycling over ``ids``, by `CONCURRENCY` workers."""
    todo = itertools.islice(itertools.cycle(ids), requests)

    async def worker() -> None:
        # One shared iterator: each worker takes the next id when it is free.
        for campaign_id in todo:
            if (count := await fetch(campaign_id)) != LEADS:
                raise RuntimeError(f"{side}: {campaign_id} gave {count} leads, not {LEADS}")

    cpu = time.process_time()
    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    return Round(side, requests, elapsed, cpu)


async def measure(server: ServerInfo, *, rounds: int = ROUNDS, requests: int = REQUESTS) -> Result:
    ids = server.campaign_ids
    headers = {"Authorization": aiohttp.encode_basic_auth("", server.api_key)}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        LemlistClient(
            server.api_key, base_url=server.base_url, rate_limit=contextlib.nullcontext()
        ) as client,
    ):

        async def raw(campaign_id: str) -> int:
            url = f"{server.base_url}/campaigns/{campaign_id}/leads/?limit={LEADS}"
            async with session.get(url) as response:
                if response.status != 200:
                    raise RuntimeError(f"GET {url} answered {response.status}")
                leads = await response.json()
            return len(leads)

        async def raw_models(campaign_id: str) -> int:
            url = f"{server.base_url}/campaigns/{campaign_id}/leads/?limit={LEADS}"
            async with session.get(url) as response:
                if response.status != 200:
                    raise RuntimeError(f"GET {url} answered {response.status}")
                leads: list[Lead] = structure(await response.json(), list[Lead])
            return len(leads)

        async def sdk(campaign_id: str) -> int:
            return len(await client.get_campaign_leads(campaign_id, limit=LEADS))

        sides: dict[str, Fetch] = {RAW: raw, RAW_MODELS: raw_models, SDK: sdk}
        for name, fetch in sides.items():  # warm-up: every body built, pools filled
            await run_round(name, fetch, ids, len(ids))
        measured: list[Round] = []
        order = list(SIDES)
        for _ in range(rounds):
            for name in order:
                measured.append(await run_round(name, sides[name], ids, requests))
            order.append(order.pop(0))  # Rotate: no side always goes first.
    return Result(tuple(measured))


async def main() -> Result:
    async with server_process(campaigns=CAMPAIGNS, leads_per_campaign=LEADS, seed=1) as server:
        return await measure(server)


def report(result: Result) -> str:
    raw_rounds = result.of(RAW)
    lines = [
        f"SDK overhead per request, rate limit lifted ({LEADS} leads a page, {CONCURRENCY}"
        f" in flight, {len(raw_rounds)} alternating rounds of {raw_rounds[0].requests}"
        " requests per side, server in its own process; medians)",
        "",
        "| client | requests/s | client CPU per request |",
        "| --- | ---: | ---: |",
    ]
    for side in SIDES:
        lines.append(
            f"| {side} | {result.per_second(side):,.0f}"
            f" | {result.cpu_per_request(side) * 1e6:,.0f} µs |"
        )
    verdict = "met" if result.throughput_ratio <= TARGET else "MISSED"
    lines += [
        "",
        f"raw / SDK throughput: **{result.throughput_ratio:.2f}x**"
        f" (target ≤ {TARGET}x: {verdict});"
        f" SDK / raw client CPU per request: {result.cpu_ratio:.2f}x",
        f"raw with the same models / SDK throughput: **{result.pipeline_ratio:.2f}x**"
        " (the pipeline's own cost: limiter, retries, headers, errors)",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(asyncio.run(main())))
