"""The guarantee, end to end: a strict local lemlist, plain asyncio.gather, virtual time.

The server enforces 20 requests per 2 s as a fixed window opened by the key's
first request, or as a sliding window, with latency and jitter, and records
every arrival. The client must see no 429, the server must never count more
than 20 arrivals in any 2 s, and the fan-out must finish within one round trip
and the margin per cycle of the fastest legal schedule.
"""

from __future__ import annotations

import asyncio
import math

import aiohttp
import pytest
from aiolimiter import AsyncLimiter

from lemlist_async import (
    Lead,
    LemlistClient,
    RateLimitError,
    ResponseValidationError,
    WindowRateLimiter,
    converter,
)
from lemlist_async._constants import RATE_MARGIN
from lemlist_async.testing import DROPPED_STATUS, FakeLemlistServer, WindowMode

LATENCY = 0.05
JITTER = 0.05


@pytest.mark.looptime
@pytest.mark.parametrize("shared", [True, False], ids=["shared", "unshared"])
@pytest.mark.parametrize("mode", ["fixed", "sliding"])
@pytest.mark.parametrize("n", [20, 100, 1000])
async def test_gather_of_n_calls_never_exceeds_and_runs_at_the_limit(
    n: int, mode: WindowMode, shared: bool
) -> None:
    loop = asyncio.get_running_loop()
    async with FakeLemlistServer(
        seed=n,
        campaigns=n,
        leads_per_campaign=3,
        window_mode=mode,
        latency=LATENCY,
        jitter=JITTER,
    ) as fake:
        limiter = WindowRateLimiter(shared_key=shared)
        async with LemlistClient(
            fake.api_key, base_url=fake.base_url, rate_limit=limiter
        ) as client:
            start = loop.time()
            results = await asyncio.gather(
                *(client.get_campaign_leads(cid) for cid in fake.campaign_ids)
            )
            makespan = loop.time() - start
        assert len(results) == n
        assert [len(r) for r in results] == [3] * n
        assert fake.count(429) == 0
        assert fake.count(200) == n
        assert fake.max_arrivals_in_window(2.0) <= 20
        cycles = math.ceil(n / 20) - 1
        minimum = 2.0 * cycles + LATENCY
        worst_trip = LATENCY + JITTER
        # A shared key's first burst waits for its probe: one round trip, once.
        probe = worst_trip if shared else 0.0
        assert makespan >= minimum + (LATENCY if shared else 0.0)
        assert makespan <= cycles * (2.0 + worst_trip + RATE_MARGIN) + worst_trip + probe + 1e-6


@pytest.mark.looptime
async def test_unshared_another_consumer_causes_429s_and_none_starts_before_the_pause_ends() -> (
    None
):
    # shared_key=False: the first burst goes out whole (tests/test_shared_key.py
    # has the default, which probes first).
    async with FakeLemlistServer(seed=1, campaigns=10, latency=0.01) as fake:
        headers = {"Authorization": aiohttp.encode_basic_auth("", fake.api_key)}
        async with aiohttp.ClientSession(headers=headers) as other:
            # Another tool spends the whole window of the same key.
            for cid in fake.campaign_ids[:1] * 20:
                async with other.get(f"{fake.base_url}/campaigns/{cid}/leads/") as response:
                    assert response.status == 200
        fake.reset_records()
        limiter = WindowRateLimiter(shared_key=False)
        async with LemlistClient(
            fake.api_key, base_url=fake.base_url, rate_limit=limiter
        ) as client:
            results = await asyncio.gather(
                *(client.get_campaign_leads(cid) for cid in fake.campaign_ids)
            )
        assert len(results) == 10
        # All ten were sent at once into the spent window; each 429 paused the key
        # until the window's reset, and no request started before that.
        assert fake.count(429) == 10
        assert fake.count(200) == 10
        assert len(fake.requests) == 20
        first_429 = min(r.time for r in fake.requests if r.status == 429)
        pause_end = 2.0  # The window opened at 0 with the other tool's first request.
        for r in fake.requests:
            if r.status == 429:
                assert r.time == pytest.approx(first_429)
            else:
                assert r.time >= pause_end - 1e-6


@pytest.mark.looptime
async def test_remaining_zero_spent_by_another_consumer_avoids_the_429() -> None:
    async with FakeLemlistServer(seed=2, campaigns=3) as fake:
        headers = {"Authorization": aiohttp.encode_basic_auth("", fake.api_key)}
        async with aiohttp.ClientSession(headers=headers) as other:
            for _ in range(19):
                url = f"{fake.base_url}/campaigns/{fake.campaign_ids[0]}/leads/"
                async with other.get(url) as response:
                    assert response.status == 200
        async with LemlistClient(fake.api_key, base_url=fake.base_url) as client:
            await client.get_campaign_leads(fake.campaign_ids[1])  # Remaining: 0.
            assert client.latest_rate_limit is not None
            assert client.latest_rate_limit.remaining == 0
            await client.get_campaign_leads(fake.campaign_ids[2])
        assert fake.count(429) == 0
        assert fake.requests[-1].time >= 2.0


@pytest.mark.looptime
async def test_a_lower_limit_leaves_headroom() -> None:
    async with FakeLemlistServer(seed=3, campaigns=30) as fake:
        async with LemlistClient(fake.api_key, base_url=fake.base_url, rate_limit=5) as client:
            await asyncio.gather(*(client.get_campaign_leads(c) for c in fake.campaign_ids))
        assert fake.max_arrivals_in_window(2.0) <= 5
        assert fake.count(429) == 0


@pytest.mark.looptime
async def test_persistent_429_from_a_quota_ends_in_rate_limit_error() -> None:
    async with FakeLemlistServer(seed=4, campaigns=1) as fake:
        fake.fail_next(
            429, count=10, body="Monitoring limit exceeded", headers={"Retry-After": "0.5"}
        )
        async with LemlistClient(fake.api_key, base_url=fake.base_url, max_retries=3) as client:
            with pytest.raises(RateLimitError, match="Monitoring limit exceeded"):
                await client.get_campaign_leads(fake.campaign_ids[0])
        assert fake.count(429) == 4


@pytest.mark.looptime
async def test_dropped_connections_are_retried() -> None:
    async with FakeLemlistServer(seed=5, campaigns=1) as fake:
        # Each drop is one failed attempt: the SDK's session does not let aiohttp
        # send it again by itself, so each retry takes a slot of its own.
        fake.drop_next(2)
        async with LemlistClient(fake.api_key, base_url=fake.base_url) as client:
            leads = await client.get_campaign_leads(fake.campaign_ids[0])
        assert leads == _expected(fake, fake.campaign_ids[0])
        assert len(fake.requests) == 3


@pytest.mark.looptime
async def test_malformed_json_is_not_retried() -> None:
    async with FakeLemlistServer(seed=6, campaigns=1) as fake:
        fake.malformed_next()
        async with LemlistClient(fake.api_key, base_url=fake.base_url) as client:
            with pytest.raises(ResponseValidationError, match="not valid JSON"):
                await client.get_campaign_leads(fake.campaign_ids[0])
        assert len(fake.requests) == 1


def _expected(fake: FakeLemlistServer, cid: str) -> list[Lead]:
    newest_first = fake.campaign_leads(cid)[::-1]
    return converter.structure(newest_first[:100], list[Lead])


async def test_an_application_owned_aiolimiter_plugs_in() -> None:
    # Real time: aiolimiter does not run on a virtual clock.
    limiter = AsyncLimiter(5, 3600)
    async with FakeLemlistServer(seed=7, campaigns=3) as fake:
        c = LemlistClient(fake.api_key, base_url=fake.base_url, rate_limit=limiter)
        async with c:
            await asyncio.gather(*(c.get_campaign_leads(cid) for cid in fake.campaign_ids))
            assert getattr(c.limiter, "inner", None) is limiter
    assert limiter.has_capacity(2)
    assert not limiter.has_capacity(3)


@pytest.mark.looptime
@pytest.mark.parametrize("dropped", [1, 3])
async def test_a_dropped_connection_is_resent_only_under_a_slot_of_its_own(dropped: int) -> None:
    # The server counts each request, then drops the first ones unanswered.
    # aiohttp would send each of them once more inside the same call, under the
    # SDK's one slot: 20 + dropped requests in the first window.
    async with FakeLemlistServer(seed=9, campaigns=20, latency=LATENCY) as fake:
        fake.drop_next(dropped)
        async with LemlistClient(fake.api_key, base_url=fake.base_url) as client:
            results = await asyncio.gather(
                *(client.get_campaign_leads(cid) for cid in fake.campaign_ids)
            )
            session = client._shared.own_session
            assert session is not None
            assert session._retry_connection is False
    assert len(results) == 20
    assert fake.count(429) == 0
    assert fake.max_arrivals_in_window(2.0) <= 20
    assert len(fake.requests) == 20 + dropped


@pytest.mark.looptime
async def test_many_dropped_connections_never_break_the_limit() -> None:
    async with FakeLemlistServer(seed=10, campaigns=200, latency=LATENCY, jitter=JITTER) as fake:

        async def drop_along_the_run() -> None:
            # About one request in 25 is counted, then dropped, all along the run.
            for _ in range(8):
                fake.drop_next()
                await asyncio.sleep(2.5)

        dropper = asyncio.create_task(drop_along_the_run())
        async with LemlistClient(fake.api_key, base_url=fake.base_url, max_retries=8) as client:
            results = await asyncio.gather(
                *(client.get_campaign_leads(cid) for cid in fake.campaign_ids)
            )
        await dropper
    assert len(results) == 200
    assert fake.count(DROPPED_STATUS) == 8
    assert fake.count(429) == 0
    assert fake.max_arrivals_in_window(2.0) <= 20
