"""What the fake's middleware does on every route: auth, rate limit, faults, latency."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from lemlist_async.testing import FakeLemlistServer

from .test_fake_server import RATE_HEADERS, auth

DATES = "startDate=2024-01-07T22:00:00.000Z&endDate=2025-07-10T21:59:59.999Z"


@pytest.fixture
async def fake() -> AsyncIterator[FakeLemlistServer]:
    async with FakeLemlistServer(seed=51, campaigns=2, leads_per_campaign=30) as server:
        yield server


def routes(fake: FakeLemlistServer) -> list[tuple[str, str, bytes | None]]:
    """(method, path and query, JSON body) of one request per route of the fake."""
    cid = fake.campaign_ids[0]
    dates = {"startDate": "2024-01-01T00:00:00Z", "endDate": "2024-12-31T23:59:59Z"}
    batch = json.dumps({"campaignIds": [cid], **dates}).encode()
    return [
        ("GET", "/campaigns", None),
        ("GET", f"/campaigns/{cid}", None),
        ("GET", f"/campaigns/{cid}/leads/", None),
        ("GET", f"/campaigns/{cid}/export/leads", None),
        ("GET", f"/campaigns/{cid}/export/leads?format=json", None),
        ("GET", f"/v2/campaigns/{cid}/stats?{DATES}", None),
        ("POST", "/v2/campaigns/stats/batch", batch),
        ("GET", f"/campaigns/reports?campaignIds={cid}", None),
        ("GET", "/team?version=v2", None),
        ("GET", "/no/such/route", None),
    ]


async def send(
    session: aiohttp.ClientSession,
    fake: FakeLemlistServer,
    method: str,
    path: str,
    body: bytes | None,
) -> tuple[int, dict[str, str]]:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    async with session.request(
        method, fake.base_url + path, data=body, headers=headers
    ) as response:
        await response.read()
        return response.status, dict(response.headers)


@pytest.mark.looptime
async def test_every_route_counts_against_the_one_rate_limit(fake: FakeLemlistServer) -> None:
    async with aiohttp.ClientSession(headers=auth(fake.api_key)) as session:
        answers = [await send(session, fake, *route) for route in routes(fake) * 2]
        # 20 in this window so far: the 21st, whatever its route, is refused.
        status, headers = await send(session, fake, "GET", "/team", None)
    assert [status for status, _ in answers] == [200] * 9 + [404] + [200] * 9 + [404]
    assert all(all(name in headers for name in RATE_HEADERS) for _, headers in answers)
    assert status == 429
    assert headers["Retry-After"]
    assert fake.max_arrivals_in_window() == 21


async def test_every_route_wants_the_key(fake: FakeLemlistServer) -> None:
    async with aiohttp.ClientSession(headers=auth("not-the-key")) as session:
        for route in routes(fake):
            status, headers = await send(session, fake, *route)
            assert status == 401, route
            assert not any(name in headers for name in RATE_HEADERS)
    assert all(not request.authenticated for request in fake.requests)


async def test_faults_answer_any_route(fake: FakeLemlistServer) -> None:
    fake.fail_next(503, count=len(routes(fake)))
    async with aiohttp.ClientSession(headers=auth(fake.api_key)) as session:
        statuses = [(await send(session, fake, *route))[0] for route in routes(fake)]
    assert statuses == [503] * len(routes(fake))


@pytest.mark.looptime
async def test_latency_delays_a_streamed_export_too(fake: FakeLemlistServer) -> None:
    fake.latency = 1.5
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession(headers=auth(fake.api_key)) as session:
        start = loop.time()
        status, headers = await send(
            session, fake, "GET", f"/campaigns/{fake.campaign_ids[0]}/export/leads", None
        )
        elapsed = loop.time() - start
    assert status == 200
    assert headers["Transfer-Encoding"] == "chunked"
    assert all(name in headers for name in RATE_HEADERS)
    assert elapsed == pytest.approx(1.5, abs=1e-3)
    assert fake.requests[-1].time == pytest.approx(start, abs=1e-6)


async def test_a_dropped_export_is_recorded_as_dropped(fake: FakeLemlistServer) -> None:
    fake.drop_next(2)  # aiohttp sends a GET once more by itself
    async with aiohttp.ClientSession(headers=auth(fake.api_key)) as session:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await send(
                session, fake, "GET", f"/campaigns/{fake.campaign_ids[0]}/export/leads", None
            )
    assert [request.status for request in fake.requests] == [0, 0]
