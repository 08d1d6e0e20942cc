"""Test against a fake lemlist API running on loopback, not against lemlist.

`FakeLemlistServer` is a real HTTP server that answers like lemlist does, from a
seeded team, campaigns and leads: campaigns (listed and one by one), their
leads, their export (CSV or JSON), stats, batch stats, reports, leads by email
or id, the activity feed, the team, its credits, senders and webhooks, and the
unsubscribed variables. It takes lemlist's writes too, and the reads show
them: leads created, updated, unsubscribed or removed, paused and resumed,
marked interested or not; campaigns started and paused; webhooks added and
deleted; variables unsubscribed and re-subscribed. Its webhooks get their
events: the activities of those writes, and those a test emits
(`FakeLemlistServer.emit_activity`), POSTed to loopback targets and recorded
as `Delivery` values.
Basic auth, text/plain errors, and the rate limit of 20 requests per 2 seconds
with lemlist's headers apply to every route.
It records every request and can inject faults. Its clock is the event loop's,
so it runs on virtual time with looptime.

Example, in a pytest suite with pytest-asyncio (and, for the rate limit,
looptime)::

    import aiohttp
    import pytest

    from lemlist_async.testing import FakeLemlistServer


    @pytest.fixture
    async def fake():
        async with FakeLemlistServer(seed=1, campaigns=3) as server:
            yield server


    @pytest.mark.looptime
    async def test_my_export_stays_under_the_rate_limit(fake):
        fake.fail_next(503)  # the first request fails; the code must retry
        await my_export(base_url=fake.base_url, api_key=fake.api_key)

        assert fake.count(503) == 1
        assert fake.count(429) == 0
        assert fake.max_arrivals_in_window() <= 20

A plain aiohttp client authenticates with::

    headers = {"Authorization": aiohttp.encode_basic_auth("", fake.api_key)}
"""

from __future__ import annotations

from ._server import DROPPED_STATUS, Delivery, FakeLemlistServer, RecordedRequest, WindowMode

__all__ = ["DROPPED_STATUS", "Delivery", "FakeLemlistServer", "RecordedRequest", "WindowMode"]
