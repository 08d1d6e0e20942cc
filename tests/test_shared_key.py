"""A key that another tool spends too: the probe and the cap, on virtual time.

The limiter alone (answers handed in by hand), then end to end against
`FakeLemlistServer`, whose ``spend`` is the other consumer.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from lemlist_async import LemlistClient, RateLimitInfo, WindowRateLimiter
from lemlist_async.testing import DROPPED_STATUS, FakeLemlistServer

pytestmark = pytest.mark.looptime

WINDOW = 2.0
MARGIN = 0.005


def now() -> float:
    return asyncio.get_running_loop().time()


def info(remaining: int, limit: int = 20) -> RateLimitInfo:
    return RateLimitInfo(limit=limit, remaining=remaining)


async def call(
    limiter: WindowRateLimiter,
    log: list[float],
    *,
    flight: float = 0.1,
    answer: RateLimitInfo | None = None,
    reset_in: float | None = None,
    refused: bool = False,
) -> None:
    async with limiter:
        log.append(now())
        await asyncio.sleep(flight)
        if answer is not None:
            limiter.answered(answer, None, reset_in=reset_in, refused=refused)


# -- The limiter, with answers handed in -----------------------------------------------


async def test_the_probe_goes_alone_and_its_answer_lets_the_rest_go() -> None:
    limiter = WindowRateLimiter(20, WINDOW, margin=MARGIN)
    log: list[float] = []
    await asyncio.gather(*(call(limiter, log, answer=info(19), reset_in=1.9) for _ in range(20)))
    assert log == [0.0] + [pytest.approx(0.1)] * 19
    assert not limiter._tickets


async def test_a_probe_answered_429_holds_everyone_until_it_resets() -> None:
    limiter = WindowRateLimiter(20, WINDOW, margin=MARGIN)
    log: list[float] = []
    probe = asyncio.create_task(
        call(limiter, log, answer=info(0), reset_in=1.5, refused=True, flight=0.1)
    )
    await asyncio.sleep(0)
    await asyncio.gather(*(call(limiter, log) for _ in range(5)), probe)
    # The next request after the reset probes again, alone.
    assert log == [0.0, pytest.approx(1.6)] + [pytest.approx(1.7)] * 4


async def test_a_failed_probe_hands_the_probe_to_the_next_in_line() -> None:
    limiter = WindowRateLimiter(20, WINDOW, margin=MARGIN)
    log: list[float] = []

    async def failing() -> None:
        async with limiter:
            log.append(now())
            await asyncio.sleep(0.1)
            raise ConnectionError("no answer")

    probe = asyncio.create_task(failing())
    await asyncio.sleep(0)
    others = [asyncio.create_task(call(limiter, log, answer=info(18))) for _ in range(4)]
    with pytest.raises(ConnectionError):
        await probe
    await asyncio.gather(*others)
    assert log == [0.0, pytest.approx(0.1)] + [pytest.approx(0.2)] * 3
    assert limiter._in_flight == 0
    assert not limiter._tickets


async def test_a_cancelled_probe_hands_the_probe_on_at_once() -> None:
    limiter = WindowRateLimiter(20, WINDOW, margin=MARGIN)
    log: list[float] = []
    probe = asyncio.create_task(call(limiter, log, flight=10.0))
    await asyncio.sleep(0)
    others = [asyncio.create_task(call(limiter, log, answer=info(18))) for _ in range(3)]
    await asyncio.sleep(0.5)
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe
    assert now() == pytest.approx(0.5)  # Prompt.
    await asyncio.gather(*others)
    assert log == [0.0, pytest.approx(0.5)] + [pytest.approx(0.6)] * 2
    assert limiter._in_flight == 0
    assert not limiter._tickets
    assert not limiter._waiters


async def test_a_waiter_cancelled_behind_the_probe_leaks_nothing() -> None:
    limiter = WindowRateLimiter(20, WINDOW, margin=MARGIN)
    log: list[float] = []
    probe = asyncio.create_task(call(limiter, log, answer=info(19)))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(call(limiter, log))
    await asyncio.sleep(0.05)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await probe
    assert log == [0.0]
    assert limiter.busy() == 1
    assert not limiter._waiters
    assert not limiter._tickets


async def test_a_probe_that_hangs_lets_the_others_go_after_the_probe_timeout() -> None:
    limiter = WindowRateLimiter(20, WINDOW, margin=MARGIN, probe_timeout=0.75)
    log: list[float] = []
    hung = asyncio.create_task(call(limiter, log, flight=30.0))
    await asyncio.sleep(0)
    await asyncio.gather(*(call(limiter, log, answer=info(18)) for _ in range(5)))
    assert log == [0.0] + [pytest.approx(0.75)] * 5
    hung.cancel()
    with pytest.raises(asyncio.CancelledError):
        await hung


async def test_an_answer_showing_another_consumer_caps_until_the_reset() -> None:
    limiter = WindowRateLimiter(20, WINDOW, margin=MARGIN)
    log: list[float] = []
    await call(limiter, log, answer=info(19), reset_in=1.9)  # The probe, alone on the key.
    # Then the server says 12 were counted, of which this limiter sent 2 at most.
    await call(limiter, log, answer=info(8), reset_in=1.0)
    start = now()
    await asyncio.gather(*(call(limiter, log, answer=info(7), reset_in=0.9) for _ in range(12)))
    later = [t - start for t in log[2:]]
    assert later[:8] == [0.0] * 8
    # The cap ends with the reset; the next request probes, then the rest go.
    assert later[8] == pytest.approx(1.0)
    assert later[9:] == [pytest.approx(1.1)] * 3


async def test_an_answer_outside_any_slot_is_judged_against_every_slot() -> None:
    limiter = WindowRateLimiter(20, WINDOW, margin=MARGIN)
    await call(limiter, [], answer=info(19), reset_in=1.9)
    limiter.answered(info(19), None, reset_in=1.9, refused=False)
    assert limiter._share is not None
    assert limiter._share.cap_until == float("-inf")
    limiter.answered(info(10), None, reset_in=1.0, refused=False)
    assert limiter._share.cap_left == 10


async def test_unshared_answered_is_observe() -> None:
    limiter = WindowRateLimiter(20, WINDOW, margin=0, shared_key=False)
    async with limiter:
        pass
    limiter.answered(info(0), 1.7, reset_in=1.7, refused=False)
    assert limiter.paused_until() == pytest.approx(now() + 1.7)
    assert limiter.info == info(0)
    assert limiter._share is None


# -- End to end: FakeLemlistServer, and another consumer through `spend` ---------------


def unshared() -> WindowRateLimiter:
    return WindowRateLimiter(shared_key=False)


@pytest.mark.parametrize("mode", ["fixed", "sliding"])
@pytest.mark.parametrize("shared", [True, False], ids=["shared", "unshared"])
async def test_a_gather_into_a_key_spent_just_before(shared: bool, mode: str) -> None:
    async with FakeLemlistServer(
        seed=1,
        campaigns=60,
        leads_per_campaign=3,
        latency=0.05,
        jitter=0.05,
        window_mode=mode,  # type: ignore[arg-type]
    ) as fake:
        assert fake.spend(20) == 0  # Another tool, just before.
        limiter = WindowRateLimiter(shared_key=shared)
        async with LemlistClient(
            fake.api_key, base_url=fake.base_url, rate_limit=limiter
        ) as client:
            results = await asyncio.gather(
                *(client.get_campaign_leads(cid) for cid in fake.campaign_ids)
            )
    assert [len(r) for r in results] == [3] * 60
    assert fake.count(200) == 60
    if shared:
        assert fake.count(429) <= 1
        assert not limiter._tickets
    else:
        # The whole first burst goes out before the first 429 comes back.
        assert fake.count(429) == 20


async def concurrent_calls(
    fake: FakeLemlistServer, limiter: WindowRateLimiter, *, concurrency: int
) -> None:
    semaphore = asyncio.Semaphore(concurrency)
    async with LemlistClient(fake.api_key, base_url=fake.base_url, rate_limit=limiter) as client:

        async def one(cid: str) -> None:
            async with semaphore:
                await client.get_campaign_leads(cid)

        await asyncio.gather(*(one(cid) for cid in fake.campaign_ids))


@pytest.mark.parametrize("shared", [True, False], ids=["shared", "unshared"])
async def test_another_consumer_mid_run_is_capped_before_it_costs_a_429(shared: bool) -> None:
    # Four calls at a time, 0.1 s each: this client spends the window by fifths.
    # Another tool spends 3 while it is under way; the next answers show it.
    async with FakeLemlistServer(seed=2, campaigns=60, leads_per_campaign=3, latency=0.1) as fake:

        async def other_tool() -> None:
            await asyncio.sleep(0.25)
            fake.spend(3)

        limiter = WindowRateLimiter(shared_key=shared)
        await asyncio.gather(other_tool(), concurrent_calls(fake, limiter, concurrency=4))
    assert fake.count(200) == 60
    if shared:
        assert fake.count(429) == 0
    else:
        assert fake.count(429) == 3


async def test_a_dropped_probe_is_followed_by_one_more_probe() -> None:
    async with FakeLemlistServer(seed=3, campaigns=30, leads_per_campaign=3, latency=0.05) as fake:
        fake.drop_next()
        async with LemlistClient(fake.api_key, base_url=fake.base_url) as client:
            await asyncio.gather(*(client.get_campaign_leads(cid) for cid in fake.campaign_ids))
    times = [r.time for r in fake.requests]
    assert fake.requests[0].status == DROPPED_STATUS
    # The dropped probe, then the next probe alone, one round trip later.
    assert times[0] == 0.0
    assert times[1] == pytest.approx(0.05)
    assert times[2] == pytest.approx(0.10)
    assert fake.count(200) == 30
    assert fake.count(429) == 0
    assert fake.max_arrivals_in_window() <= 20


async def test_a_hung_probe_holds_the_others_for_probe_timeout_only() -> None:
    async with FakeLemlistServer(seed=4, campaigns=5, leads_per_campaign=3) as fake:
        fake.latency = 5.0  # Only the first request's answer is that slow.
        limiter = WindowRateLimiter(probe_timeout=1.5)
        async with LemlistClient(
            fake.api_key, base_url=fake.base_url, rate_limit=limiter
        ) as client:
            tasks = [asyncio.create_task(client.get_campaign_leads(c)) for c in fake.campaign_ids]
            await asyncio.sleep(0.01)
            fake.latency = 0.05
            await asyncio.gather(*tasks)
    times = [r.time for r in fake.requests]
    assert times == [0.0] + [pytest.approx(1.5)] * 4


async def test_a_call_cancelled_during_its_probe_leaks_nothing() -> None:
    async with FakeLemlistServer(seed=5, campaigns=10, leads_per_campaign=3, latency=1.0) as fake:
        limiter = WindowRateLimiter()
        async with LemlistClient(
            fake.api_key, base_url=fake.base_url, rate_limit=limiter
        ) as client:
            tasks = [asyncio.create_task(client.get_campaign_leads(c)) for c in fake.campaign_ids]
            await asyncio.sleep(0.5)
            tasks[0].cancel()
            with pytest.raises(asyncio.CancelledError):
                await tasks[0]
            assert now() == pytest.approx(0.5)
            await asyncio.gather(*tasks[1:])
    # The cancelled probe's request still reached the server: the next one probes.
    assert [r.time for r in fake.requests][:2] == [0.0, pytest.approx(0.5)]
    assert fake.count(200) == 10
    assert limiter._in_flight == 0
    assert not limiter._tickets
    assert not limiter._waiters


async def test_after_idle_the_next_burst_probes_again() -> None:
    fake = FakeLemlistServer(seed=6, campaigns=4, leads_per_campaign=3, latency=0.05)
    async with fake, LemlistClient(fake.api_key, base_url=fake.base_url) as client:
        await asyncio.gather(*(client.get_campaign_leads(c) for c in fake.campaign_ids))
        await asyncio.sleep(5.0)
        # Another tool, through HTTP this time, spends the window while the client idles.
        headers = {"Authorization": aiohttp.encode_basic_auth("", fake.api_key)}
        async with aiohttp.ClientSession(headers=headers) as other:
            for _ in range(20):
                url = f"{fake.base_url}/campaigns/{fake.campaign_ids[0]}/leads/"
                async with other.get(url) as response:
                    assert response.status == 200
        fake.reset_records()
        await asyncio.gather(*(client.get_campaign_leads(c) for c in fake.campaign_ids))
    assert fake.count(429) == 1
    assert fake.count(200) == 4
