"""``GET /api/v2/unsubscribes/variables`` on the fake, on the wire."""

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


async def test_unsubscribes_walk_ends_on_a_short_page(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    path = "/v2/unsubscribes/variables"
    pages = []
    offset = 0
    while True:
        items = await get(fake, session, path, offset=str(offset), limit="100")
        pages.append(items)
        offset += 100
        if len(items) < 100:
            break
    assert [len(items) for items in pages] == [100, 100, 50]
    everything = [item for items in pages for item in items]
    assert everything == fake.unsubscribes()
    assert await get(fake, session, path) == everything[:100]  # the defaults: 0 and 100
    assert await get(fake, session, path, offset="245", limit="10") == everything[245:]
    assert_matches_spec(everything, path)
    values = [item["value"] for item in everything]
    assert len(set(values)) == len(values)
    assert any(value.startswith("@") for value in values)  # domains
    assert any("@" in value and not value.startswith("@") for value in values)  # emails
    created = [item["createdAt"] for item in everything]
    assert created == sorted(created)


@pytest.mark.parametrize(
    ("params", "name"),
    [({"limit": "0"}, "limit"), ({"limit": "101"}, "limit"), ({"offset": "-3"}, "offset")],
)
async def test_unsubscribes_bad_paging(
    fake: FakeLemlistServer, session: aiohttp.ClientSession, params: dict[str, str], name: str
) -> None:
    answer = await fetch(session, f"{fake.base_url}/v2/unsubscribes/variables", params)
    assert (answer.status, answer.text) == (400, f"Bad params (invalid {name} parameter)")


def test_unsubscribes_by_count() -> None:
    assert FakeLemlistServer(unsubscribes=0).unsubscribes() == []
    assert len(FakeLemlistServer(unsubscribes=1234).unsubscribes()) == 1234
