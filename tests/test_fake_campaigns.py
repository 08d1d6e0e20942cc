"""``GET /api/campaigns`` and ``GET /api/campaigns/{campaignId}`` on the fake, on the wire."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from lemlist_async.testing import FakeLemlistServer

from .test_fake_server import auth, fetch


@pytest.fixture
async def fake() -> AsyncIterator[FakeLemlistServer]:
    async with FakeLemlistServer(seed=21, campaigns=20, leads_per_campaign=0) as server:
        yield server


@pytest.fixture
async def session(fake: FakeLemlistServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers=auth(fake.api_key)) as client_session:
        yield client_session


def ids(campaigns: list[dict[str, Any]]) -> list[str]:
    return [campaign["_id"] for campaign in campaigns]


async def test_the_default_answer_is_the_v2_envelope(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    answer = await fetch(session, f"{fake.base_url}/campaigns")
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("application/json")
    body = answer.json()
    assert body["campaigns"] == fake.campaigns()
    assert body["pagination"] == {
        "totalRecords": 20,
        "currentPage": 1,
        "nextPage": None,
        "totalPage": 1,
    }


async def test_an_offset_walk_ends_on_a_short_page(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    pages = []
    offset = 0
    while True:
        params = {"version": "v2", "limit": "7", "offset": str(offset)}
        body = (await fetch(session, f"{fake.base_url}/campaigns", params)).json()
        pages.append(body)
        offset += len(body["campaigns"])
        if len(body["campaigns"]) < 7:
            break
    assert [len(page["campaigns"]) for page in pages] == [7, 7, 6]
    assert [page["pagination"] for page in pages] == [
        {"totalRecords": 20, "currentPage": 1, "nextPage": 2, "totalPage": 3},
        {"totalRecords": 20, "currentPage": 2, "nextPage": 3, "totalPage": 3},
        {"totalRecords": 20, "currentPage": 3, "nextPage": None, "totalPage": 3},
    ]
    assert [c for page in pages for c in ids(page["campaigns"])] == fake.campaign_ids


async def test_the_array_shape_walks_the_same_campaigns() -> None:
    async with (
        FakeLemlistServer(seed=21, campaigns=20, campaigns_shape="array") as fake,
        aiohttp.ClientSession(headers=auth(fake.api_key)) as session,
    ):
        assert fake.campaigns_shape == "array"
        walked: list[str] = []
        for offset in (0, 10, 20):
            params = {"limit": "10", "offset": str(offset)}
            body = (await fetch(session, f"{fake.base_url}/campaigns", params)).json()
            assert isinstance(body, list)
            walked += ids(body)
        assert walked == fake.campaign_ids  # the page at 20 is empty


async def test_page_counts_pages_of_limit(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    url = f"{fake.base_url}/campaigns"
    by_page = (await fetch(session, url, {"page": "2", "limit": "7"})).json()
    by_offset = (await fetch(session, url, {"offset": "7", "limit": "7"})).json()
    assert by_page == by_offset


async def test_a_page_past_the_end_is_empty(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    body = (await fetch(session, f"{fake.base_url}/campaigns", {"offset": "500"})).json()
    assert body["campaigns"] == []
    assert body["pagination"]["nextPage"] is None


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"limit": "0"}, "Bad params (invalid limit parameter)"),
        ({"limit": "101"}, "Bad params (invalid limit parameter)"),
        ({"limit": "ten"}, "Bad params (invalid limit parameter)"),
        ({"offset": "-1"}, "Bad params (invalid offset parameter)"),
        ({"page": "0"}, "Bad params (invalid page parameter)"),
        ({"version": "v1"}, "Bad params (invalid version parameter)"),
        ({"status": "stopped"}, "Bad params (invalid status parameter)"),
        ({"sortBy": "name"}, "Bad params (invalid sortBy parameter)"),
        ({"page": "1", "offset": "0"}, "Bad params (page and offset cannot be combined)"),
    ],
)
async def test_bad_params_are_a_400(
    fake: FakeLemlistServer,
    session: aiohttp.ClientSession,
    params: dict[str, str],
    text: str,
) -> None:
    answer = await fetch(session, f"{fake.base_url}/campaigns", params)
    assert (answer.status, answer.text) == (400, text)
    assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"


async def test_the_largest_limit_is_100() -> None:
    async with (
        FakeLemlistServer(seed=1, campaigns=150, leads_per_campaign=0) as fake,
        aiohttp.ClientSession(headers=auth(fake.api_key)) as session,
    ):
        body = (await fetch(session, f"{fake.base_url}/campaigns", {"limit": "100"})).json()
        default = (await fetch(session, f"{fake.base_url}/campaigns")).json()
    assert len(body["campaigns"]) == len(default["campaigns"]) == 100
    assert body["pagination"]["totalPage"] == 2


@pytest.mark.parametrize("status", ["running", "draft", "archived", "ended", "paused"])
async def test_status_filters(
    fake: FakeLemlistServer, session: aiohttp.ClientSession, status: str
) -> None:
    body = (await fetch(session, f"{fake.base_url}/campaigns", {"status": status})).json()
    expected = [c for c in fake.campaigns() if c["status"] == status]
    assert body["campaigns"] == expected
    assert body["pagination"]["totalRecords"] == len(expected)


async def test_status_errors_is_every_campaign_with_errors(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    body = (await fetch(session, f"{fake.base_url}/campaigns", {"status": "errors"})).json()
    assert body["campaigns"] == [c for c in fake.campaigns() if c["hasError"]]
    assert body["campaigns"]


async def test_created_by_filters(fake: FakeLemlistServer, session: aiohttp.ClientSession) -> None:
    for user_id in fake.team()["userIds"]:
        params = {"createdBy": user_id}
        body = (await fetch(session, f"{fake.base_url}/campaigns", params)).json()
        assert body["campaigns"] == [c for c in fake.campaigns() if c["createdBy"] == user_id]
    body = (await fetch(session, f"{fake.base_url}/campaigns", {"createdBy": "usr_x"})).json()
    assert body["campaigns"] == []


@pytest.mark.parametrize(("order", "reverse"), [("desc", True), ("asc", False), ("up", False)])
async def test_sort_order(
    fake: FakeLemlistServer, session: aiohttp.ClientSession, order: str, reverse: bool
) -> None:
    params = {"sortBy": "createdAt", "sortOrder": order}
    body = (await fetch(session, f"{fake.base_url}/campaigns", params)).json()
    expected = fake.campaign_ids[::-1] if reverse else fake.campaign_ids
    assert ids(body["campaigns"]) == expected


async def test_get_campaign(fake: FakeLemlistServer, session: aiohttp.ClientSession) -> None:
    campaign_id = fake.campaign_ids[3]
    answer = await fetch(session, f"{fake.base_url}/campaigns/{campaign_id}")
    assert answer.status == 200
    assert answer.json() == fake.campaign(campaign_id)
    assert fake.requests[-1].campaign_id == campaign_id


async def test_an_unknown_campaign_is_a_404(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    answer = await fetch(session, f"{fake.base_url}/campaigns/cam_missing")
    assert (answer.status, answer.text) == (404, "Campaign not found")


async def test_an_added_campaign_is_listed_and_served(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    fake.add_campaign("cam_MINE", [])
    listed = (await fetch(session, f"{fake.base_url}/campaigns")).json()
    assert ids(listed["campaigns"])[-1] == "cam_MINE"
    answer = await fetch(session, f"{fake.base_url}/campaigns/cam_MINE")
    assert answer.json() == fake.campaign("cam_MINE")
