"""FakeLemlistServer.spend: another tool on the same key, without HTTP."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from lemlist_async.testing import FakeLemlistServer, WindowMode

pytestmark = pytest.mark.looptime


async def get(fake: FakeLemlistServer) -> tuple[int, str]:
    headers = {"Authorization": aiohttp.encode_basic_auth("", fake.api_key)}
    url = f"{fake.base_url}/campaigns/{fake.campaign_ids[0]}/leads/"
    async with aiohttp.ClientSession(headers=headers) as session, session.get(url) as response:
        return response.status, response.headers["X-RateLimit-Remaining"]


@pytest.mark.parametrize("mode", ["fixed", "sliding"])
async def test_spent_requests_count_against_the_key(mode: WindowMode) -> None:
    async with FakeLemlistServer(seed=1, campaigns=1, window_mode=mode) as fake:
        assert fake.spend(15) == 5
        assert await get(fake) == (200, "4")
        assert fake.spend(4) == 0
        assert await get(fake) == (429, "0")
        # Not requests: only the HTTP ones are recorded.
        assert [r.status for r in fake.requests] == [200, 429]


async def test_spend_opens_a_window_like_a_first_request() -> None:
    async with FakeLemlistServer(seed=2, campaigns=1) as fake:
        assert fake.spend() == 19
        await asyncio.sleep(1.5)
        assert await get(fake) == (200, "18")
        await asyncio.sleep(0.5)  # The window the spend opened is over.
        assert await get(fake) == (200, "19")


async def test_spend_past_the_limit_counts_too() -> None:
    async with FakeLemlistServer(seed=3, campaigns=1, rate_limit=5) as fake:
        assert fake.spend(50) == 0
        assert (await get(fake))[0] == 429


@pytest.mark.parametrize("count", [0, -1, 1.5, True])
async def test_bad_counts_are_refused(count: object) -> None:
    async with FakeLemlistServer(seed=4, campaigns=1) as fake:
        with pytest.raises(ValueError, match="count"):
            fake.spend(count)  # type: ignore[arg-type]


async def test_nothing_to_spend_without_a_rate_limit() -> None:
    async with FakeLemlistServer(seed=5, campaigns=1, rate_limit=None) as fake:
        with pytest.raises(RuntimeError, match="disabled"):
            fake.spend(1)
