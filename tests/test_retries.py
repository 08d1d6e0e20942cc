"""Retries, backoff, 429 pauses, timeouts and deadlines, on virtual time over loopback."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import itertools
import logging
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from lemlist_async import (
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    LemlistClient,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    WindowRateLimiter,
)

from .conftest import ScriptedServer

pytestmark = pytest.mark.looptime


@pytest.fixture
async def client(server: ScriptedServer) -> AsyncIterator[LemlistClient]:
    async with LemlistClient("k", base_url=server.base_url, max_retries=4) as c:
        yield c


def client_tasks() -> set[asyncio.Task[object]]:
    # The server's per-connection handlers live in the same loop; leave them out.
    return {
        t
        for t in asyncio.all_tasks()
        if not getattr(t.get_coro(), "__qualname__", "").startswith("RequestHandler.")
    }


def gaps(server: ScriptedServer) -> list[float]:
    times = [r.time for r in server.requests]
    return [b - a for a, b in itertools.pairwise(times)]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_transient_5xx_is_retried_after_a_backoff(
    server: ScriptedServer, client: LemlistClient, status: int
) -> None:
    server.answer(status, "Service Unavailable")
    leads = await client.get_campaign_leads("cam_1")
    assert len(leads) == 1
    assert len(server.requests) == 2
    (gap,) = gaps(server)
    assert 0 <= gap <= 0.5  # First backoff ceiling.


async def test_5xx_that_keeps_coming_raises_after_the_budget(
    server: ScriptedServer, client: LemlistClient
) -> None:
    for _ in range(10):
        server.answer(500, "Lead in graveyard")
    with pytest.raises(ServerError, match="Lead in graveyard"):
        await client.get_campaign_leads("cam_1")
    assert len(server.requests) == 5
    ceilings = [0.5, 1.0, 2.0, 4.0]
    assert all(g <= c + 1e-6 for g, c in zip(gaps(server), ceilings, strict=True))


async def test_per_call_max_retries_overrides_the_client(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer(503)
    server.answer(503)
    with pytest.raises(ServerError):
        await client.get_campaign_leads("cam_1", max_retries=1)
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
    ],
)
async def test_other_4xx_are_never_retried(
    server: ScriptedServer, client: LemlistClient, status: int, error: type[Exception]
) -> None:
    server.answer(status, "no")
    with pytest.raises(error):
        await client.get_campaign_leads("cam_1")
    assert len(server.requests) == 1


async def test_429_pauses_every_caller_of_the_key_then_retries(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer(429, "Too many requests", headers={"Retry-After": "1.5"})
    first = asyncio.create_task(client.get_campaign_leads("cam_1"))
    await asyncio.sleep(0.2)  # The 429 has arrived; the key is paused until 1.5.
    assert len(server.requests) == 1
    second = asyncio.create_task(client.get_campaign_leads("cam_2"))
    await asyncio.gather(first, second)
    t429 = server.requests[0].time
    later = [r.time for r in server.requests[1:]]
    assert len(later) == 2
    assert all(t >= t429 + 1.5 for t in later)


async def test_429_without_headers_pauses_one_window(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer(429, "Too many requests")
    await client.get_campaign_leads("cam_1")
    (gap,) = gaps(server)
    assert 2.0 <= gap < 2.1


async def test_429_with_only_a_reset_header_waits_past_the_reset(
    server: ScriptedServer, client: LemlistClient
) -> None:
    reset = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3)
    js_date = reset.strftime("%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)")
    server.answer(429, "Too many", headers={"X-RateLimit-Reset": js_date})
    await client.get_campaign_leads("cam_1")
    (gap,) = gaps(server)
    # Reset is truncated to the second, so the client adds one second of margin.
    assert 3.0 <= gap <= 4.1


async def test_429_asking_for_longer_than_the_cap_raises_at_once(
    server: ScriptedServer,
) -> None:
    when = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1), True)
    server.answer(429, "Monitoring limit exceeded", headers={"Retry-After": when})
    async with LemlistClient("k", base_url=server.base_url, max_rate_limit_wait=60) as client:
        with pytest.raises(RateLimitError) as caught:
            await client.get_campaign_leads("cam_1")
    assert caught.value.message == "Monitoring limit exceeded"
    assert caught.value.retry_after is not None
    assert 3500 < caught.value.retry_after <= 3600
    assert len(server.requests) == 1


async def test_429_that_keeps_coming_ends_after_the_budget(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.default = lambda _: web.Response(
        status=429, text="Monitoring limit exceeded", headers={"Retry-After": "1"}
    )
    with pytest.raises(RateLimitError) as caught:
        await client.get_campaign_leads("cam_1")
    assert caught.value.retry_after == 1.0
    assert len(server.requests) == 5


async def test_remaining_zero_spent_by_someone_else_pauses_until_reset(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer(
        200,
        b"[]",
        content_type="application/json",
        headers={"X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "0", "Retry-After": "1.25"},
    )
    await client.get_campaign_leads("cam_1")
    assert client.latest_rate_limit is not None
    assert client.latest_rate_limit.remaining == 0
    await client.get_campaign_leads("cam_2")
    (gap,) = gaps(server)
    assert gap >= 2.0  # No reset header: one window.


async def test_attempt_timeout_is_retried_then_raised(server: ScriptedServer) -> None:
    async def slow(_: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.json_response([])

    for _ in range(3):
        server.answer_with(slow)
    async with LemlistClient("k", base_url=server.base_url, timeout=1, max_retries=2) as client:
        with pytest.raises(APITimeoutError, match=r"within 1\.0 s"):
            await client.get_campaign_leads("cam_1")
    assert len(server.requests) == 3


async def test_deadline_bounds_the_whole_call(server: ScriptedServer) -> None:
    server.default = lambda _: web.Response(status=503, text="down")
    loop = asyncio.get_running_loop()
    async with LemlistClient("k", base_url=server.base_url, max_retries=50) as client:
        start = loop.time()
        with pytest.raises(APITimeoutError, match=r"deadline of 3\.0 s"):
            await client.get_campaign_leads("cam_1", deadline=3.0)
        assert loop.time() - start == pytest.approx(3.0, abs=0.01)


async def test_cancelling_during_backoff_is_prompt_and_leaves_nothing(
    server: ScriptedServer,
) -> None:
    server.default = lambda _: web.Response(status=503, text="down")
    async with LemlistClient("k", base_url=server.base_url, max_retries=50) as client:
        before = client_tasks()
        call = asyncio.create_task(client.get_campaign_leads("cam_1"))
        await asyncio.sleep(3)
        sent = len(server.requests)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert client_tasks() == before
        await asyncio.sleep(10)
        assert len(server.requests) == sent


async def test_retries_and_pauses_are_logged_at_info(
    server: ScriptedServer, client: LemlistClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="lemlist_async")
    server.answer(503, "down")
    server.answer(429, "slow down", headers={"Retry-After": "0.5"})
    await client.get_campaign_leads("cam_1")
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    debugs = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any("answered 503" in m and "retry 1 of 4" in m for m in infos)
    assert any("answered 429 (slow down)" in m for m in infos)
    assert any("pausing the key" in m for m in infos)
    assert len(debugs) == 3
    assert all("/api/campaigns/cam_1/leads/" in m for m in debugs)


async def test_a_429_pauses_the_key_even_when_the_call_gives_up(server: ScriptedServer) -> None:
    server.answer(429, "Too many requests", headers={"Retry-After": "1.5"})
    async with LemlistClient("k", base_url=server.base_url) as client:
        with pytest.raises(RateLimitError):
            await client.get_campaign_leads("cam_1", max_retries=0)
        await client.get_campaign_leads("cam_2")
    (gap,) = gaps(server)
    assert gap >= 1.5


@pytest.mark.parametrize("retry_after", ["0", "-3"])
async def test_a_429_asking_for_no_wait_still_waits_a_window(
    server: ScriptedServer, client: LemlistClient, retry_after: str
) -> None:
    server.answer(429, "Too many requests", headers={"Retry-After": retry_after})
    await client.get_campaign_leads("cam_1")
    (gap,) = gaps(server)
    assert gap >= 2.0


async def test_a_5xx_retry_is_never_sooner_than_its_retry_after(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer(503, "Service Unavailable", headers={"Retry-After": "7"})
    await client.get_campaign_leads("cam_1")
    (gap,) = gaps(server)
    assert 7.0 <= gap < 7.1


async def test_a_redirect_is_not_followed(server: ScriptedServer, client: LemlistClient) -> None:
    server.answer(302, b"", headers={"Location": "https://elsewhere.example/steal"})
    with pytest.raises(APIStatusError) as caught:
        await client.get_campaign_leads("cam_1")
    assert caught.value.status == 302
    assert len(server.requests) == 1


# -- Every pause is bounded by max_rate_limit_wait, whatever its source -------------------

LEAD = b'[{"_id": "lea_1", "contactId": "ctc_1", "state": "scanned"}]'


def _http_date(epoch: float) -> str:
    return email.utils.formatdate(epoch, usegmt=True)


def _paused_for(client: LemlistClient) -> float:
    limiter = client.limiter
    assert isinstance(limiter, WindowRateLimiter)
    return limiter.paused_until() - asyncio.get_running_loop().time()


async def test_a_200_with_a_reset_an_hour_away_pauses_nothing(
    server: ScriptedServer, client: LemlistClient
) -> None:
    now = time.time()
    server.answer(
        200,
        LEAD,
        content_type="application/json",
        headers={
            "Date": _http_date(now),
            "X-RateLimit-Limit": "20",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": _http_date(now + 3600),
        },
    )
    await client.get_campaign_leads("cam_1")
    assert _paused_for(client) < 0
    loop = asyncio.get_running_loop()
    start = loop.time()
    await client.get_campaign_leads("cam_1")
    assert loop.time() - start < 1.0
    assert len(server.requests) == 2


async def test_a_local_clock_an_hour_behind_does_not_turn_a_reset_into_a_long_pause(
    server: ScriptedServer, client: LemlistClient
) -> None:
    # lemlist's clock is an hour ahead of ours; its window resets a second later.
    lemlist_now = int(time.time()) + 3600
    server.answer(
        200,
        LEAD,
        content_type="application/json",
        headers={
            "Date": _http_date(lemlist_now),
            "X-RateLimit-Limit": "20",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": _http_date(lemlist_now + 1),
        },
    )
    await client.get_campaign_leads("cam_1")
    # The server counted 20 where this client holds one slot: another consumer
    # spends the key, so it pauses until the reset: 1 s, plus the header's margin.
    assert 0 < _paused_for(client) <= 2.0


async def test_a_quota_429_raises_at_once_and_pauses_nothing(
    server: ScriptedServer, client: LemlistClient
) -> None:
    now = time.time()
    server.answer(
        429,
        "Monitoring limit exceeded",
        headers={
            "Date": _http_date(now),
            "Retry-After": "3600",
            "X-RateLimit-Limit": "20",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": _http_date(now + 3600),
        },
    )
    with pytest.raises(RateLimitError, match="Monitoring limit exceeded") as caught:
        await client.get_campaign_leads("cam_1")
    assert caught.value.retry_after == 3600
    assert len(server.requests) == 1
    assert _paused_for(client) < 0
    await client.get_campaign_leads("cam_1")  # The key is not paused for the next caller.


async def test_a_429_reset_beyond_max_wait_raises_and_pauses_nothing(
    server: ScriptedServer, client: LemlistClient
) -> None:
    now = time.time()
    server.answer(
        429,
        "Too many requests",
        headers={
            "Date": _http_date(now),
            "X-RateLimit-Limit": "20",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": _http_date(now + 600),
        },
    )
    with pytest.raises(RateLimitError):
        await client.get_campaign_leads("cam_1")
    assert _paused_for(client) < 0
