"""Importing leads at the rate limit: leads per second, against the legal maximum, and duplicates.

lemlist's limit of 20 requests per 2 s allows at most 10 creates a second per
key, one lead per request. Each run imports ``LEADS`` new leads into an empty
campaign of a ``FakeLemlistServer`` that enforces the limit strictly (fixed
window) with a round trip of ``LATENCY`` + up to ``JITTER`` seconds, on a fresh
server, key, client and session:

* `SDK`: ``client.leads.add_many`` (one export read first, then the creates
  through the fan-out);
* `SDK_FAULTS`: the same, while the fake applies every ``FAULT_EVERY``-th write
  and then answers 502 (5 %): the SDK reconciles (a look-up, then a resend
  only when proven absent);
* `NAIVE_FAULTS`: ``asyncio.gather`` of plain ``aiohttp`` POSTs under an
  ``aiolimiter.AsyncLimiter(20, 2)``, retrying a 5xx or a dropped connection
  (what a client with no retry classes does), under the same faults.

Per run: leads in the campaign at the end, duplicates (leads past one per
email), requests and 429s (an ``aiohttp`` ``TraceConfig``), elapsed, leads per
second (``LEADS`` / elapsed) and the ratio of elapsed to the minimum: the
fastest legal schedule of the ``LEADS + 1`` requests the import needs (the
export, then one create per lead), ``WINDOW * (ceil(R / 20) - 1)`` plus two
round trips (the export's, then the last window's creates, concurrently).
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from typing import Final

import aiohttp
import attrs
from aiolimiter import AsyncLimiter
from bench_activities import _status_counter

from lemlist_async import ImportStatus, LemlistClient, NewLead
from lemlist_async.testing import FakeLemlistServer

LEADS: Final = 200
LATENCY: Final = 0.03
JITTER: Final = 0.02
ROUND_TRIP: Final = LATENCY + JITTER / 2
RATE_LIMIT: Final = 20
WINDOW: Final = 2.0
#: Every 20th write is applied, then fails: 5 %.
FAULT_EVERY: Final = 20
CAMPAIGN: Final = "cam_BENCHIMPORT00000000"
#: The legal maximum: one lead per request.
LEGAL_LEADS_PER_SECOND: Final = RATE_LIMIT / WINDOW

SDK: Final = "client.leads.add_many"
SDK_FAULTS: Final = "client.leads.add_many, 5 % applied-then-failed"
NAIVE_FAULTS: Final = "gather + AsyncLimiter, resend on 5xx/drop, 5 % applied-then-failed"


def minimum(requests: int = LEADS + 1) -> float:
    """Expected seconds of the fastest legal schedule of the import's ``requests``.

    Every window but the last is waited out to its end; the export's round trip
    comes before any create, and the last window's creates take one round trip
    together (they run concurrently).
    """
    full = math.ceil(requests / RATE_LIMIT) - 1
    return WINDOW * full + 2 * ROUND_TRIP


@attrs.frozen
class Run:
    """One import."""

    name: str
    leads: int
    duplicates: int
    not_ok: int
    requests: int
    responses_429: int
    elapsed: float

    @property
    def per_second(self) -> float:
        return LEADS / self.elapsed

    @property
    def ratio(self) -> float:
        return self.elapsed / minimum()


def _rows() -> list[NewLead]:
    return [NewLead(email=f"lead{i:05}@bench.example", first_name=f"L{i}") for i in range(LEADS)]


async def _sdk(fake: FakeLemlistServer, session: aiohttp.ClientSession) -> int:
    not_ok = 0
    async with (
        LemlistClient(fake.api_key, base_url=fake.base_url, session=session) as client,
        client.leads.add_many(CAMPAIGN, _rows()) as results,
    ):
        async for result in results:
            not_ok += result.status is not ImportStatus.CREATED
    return not_ok


async def _naive(fake: FakeLemlistServer, session: aiohttp.ClientSession) -> int:
    limiter = AsyncLimiter(RATE_LIMIT, WINDOW)
    headers = {"Authorization": aiohttp.encode_basic_auth("", fake.api_key)}
    url = f"{fake.base_url}/campaigns/{CAMPAIGN}/leads/"

    async def post(lead: NewLead) -> bool:
        for _ in range(5):
            async with limiter:
                try:
                    async with session.post(url, json=lead.to_json(), headers=headers) as answer:
                        await answer.read()
                        if answer.status < 300:
                            return True
                        if answer.status == 429:
                            await asyncio.sleep(float(answer.headers.get("Retry-After", WINDOW)))
                        elif answer.status < 500:
                            return False
                except aiohttp.ClientError:
                    pass
        return False

    done = await asyncio.gather(*(post(lead) for lead in _rows()))
    return sum(1 for ok in done if not ok)


async def _run(name: str) -> Run:
    async with FakeLemlistServer(
        seed=3, campaigns=0, api_key=f"bench-{uuid.uuid4().hex}", window_mode="fixed"
    ) as fake:
        fake.add_campaign(CAMPAIGN, [])
        fake.latency, fake.jitter = LATENCY, JITTER
        if name != SDK:
            fake.fail_after_apply_every(FAULT_EVERY, status=502)
        trace, statuses = _status_counter()
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector, trace_configs=[trace]) as session:
            started = time.perf_counter()
            not_ok = await (_naive if name == NAIVE_FAULTS else _sdk)(fake, session)
            elapsed = time.perf_counter() - started
        fake.fail_after_apply_every(None)
        emails = [lead.get("email") for lead in fake.exported_leads(CAMPAIGN)]
        return Run(
            name=name,
            leads=len(emails),
            duplicates=len(emails) - len(set(emails)),
            not_ok=not_ok,
            requests=sum(statuses.values()) + fake.count(0),
            responses_429=statuses[429],
            elapsed=elapsed,
        )


async def main() -> list[Run]:
    return [await _run(name) for name in (SDK, SDK_FAULTS, NAIVE_FAULTS)]


def report(runs: list[Run]) -> str:
    lines = [
        f"Import of {LEADS} leads at {RATE_LIMIT} requests / {WINDOW:g} s "
        f"(legal maximum {LEGAL_LEADS_PER_SECOND:g} leads/s; minimum {minimum():.2f} s)",
        f"{'importer':<70} {'leads':>6} {'dupes':>6} {'not ok':>7} {'reqs':>5} "
        f"{'429s':>5} {'s':>7} {'leads/s':>8} {'x min':>6}",
    ]
    for run in runs:
        lines.append(
            f"{run.name:<70} {run.leads:>6} {run.duplicates:>6} {run.not_ok:>7} "
            f"{run.requests:>5} {run.responses_429:>5} {run.elapsed:>7.2f} "
            f"{run.per_second:>8.2f} {run.ratio:>6.3f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(asyncio.run(main())))
