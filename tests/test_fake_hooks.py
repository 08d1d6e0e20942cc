"""``GET /api/hooks`` on the fake, on the wire."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from lemlist_async.testing import FakeLemlistServer

from .test_fake_server import auth, fetch
from .test_fake_spec import assert_matches_spec


@pytest.fixture
async def fake() -> AsyncIterator[FakeLemlistServer]:
    async with FakeLemlistServer(seed=61, campaigns=12, leads_per_campaign=0) as server:
        yield server


@pytest.fixture
async def session(fake: FakeLemlistServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers=auth(fake.api_key)) as client_session:
        yield client_session


async def get(
    fake: FakeLemlistServer, session: aiohttp.ClientSession, path: str, **params: str
) -> Any:
    answer = await fetch(session, fake.base_url + path, params)
    assert answer.status == 200, answer.text
    return answer.json()


async def test_hooks(fake: FakeLemlistServer, session: aiohttp.ClientSession) -> None:
    hooks = await get(fake, session, "/hooks")
    assert hooks == fake.hooks()
    assert_matches_spec(hooks, "/hooks")
    assert 0 <= len(hooks) <= 3


@pytest.mark.parametrize("count", [0, 1, 3, 7])
async def test_hooks_are_seeded_by_count(count: int) -> None:
    fake = FakeLemlistServer(seed=62, campaigns=4, leads_per_campaign=0, hooks=count)
    hooks = fake.hooks()
    assert len(hooks) == count
    assert_matches_spec(hooks, "/hooks")
    created = [hook["createdAt"] for hook in hooks]
    assert created == sorted(created)  # oldest first
    for hook in hooks:
        assert hook["_id"].startswith("hoo_")
        assert hook.get("campaignId", fake.campaign_ids[0]) in fake.campaign_ids
        assert ("zapId" in hook) == hook["targetUrl"].startswith("https://hooks.zapier.com/")
    assert fake.team()["hooks"] == hooks


def test_hook_counts_are_checked() -> None:
    with pytest.raises(ValueError, match="hooks"):
        FakeLemlistServer(hooks=(3, 1))
    with pytest.raises(ValueError, match="unsubscribes"):
        FakeLemlistServer(unsubscribes=-1)
