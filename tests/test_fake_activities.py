"""``GET /api/activities`` on the fake, on the wire: paging, filters, and inserts mid-walk."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from lemlist_async.testing import FakeLemlistServer

from .test_fake_server import auth, fetch
from .test_fake_spec import assert_matches_spec


@pytest.fixture
async def fake() -> AsyncIterator[FakeLemlistServer]:
    async with FakeLemlistServer(seed=51, campaigns=6, activities=250) as server:
        yield server


@pytest.fixture
async def session(fake: FakeLemlistServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers=auth(fake.api_key)) as client_session:
        yield client_session


async def page(
    fake: FakeLemlistServer, session: aiohttp.ClientSession, **params: str
) -> list[dict[str, Any]]:
    answer = await fetch(session, f"{fake.base_url}/activities", {"version": "v2", **params})
    assert answer.status == 200, answer.text
    body = answer.json()
    assert isinstance(body, list)
    return body


async def walk(
    fake: FakeLemlistServer, session: aiohttp.ClientSession, limit: int = 100, **params: str
) -> list[list[dict[str, Any]]]:
    pages = []
    offset = 0
    while True:
        items = await page(fake, session, offset=str(offset), limit=str(limit), **params)
        pages.append(items)
        offset += limit
        if len(items) < limit:
            return pages


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["_id"] for item in items]


async def test_the_default_page_is_the_100_newest(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    items = await page(fake, session)
    assert items == fake.activities()[:100]
    assert_matches_spec(items, "/activities")
    created = [item["createdAt"] for item in fake.activities()]
    assert created == sorted(created, reverse=True)  # newest first
    assert len(set(ids(fake.activities()))) == 250


async def test_a_walk_ends_on_a_short_page(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    pages = await walk(fake, session)
    assert [len(items) for items in pages] == [100, 100, 50]
    assert [item for items in pages for item in items] == fake.activities()
    assert await page(fake, session, offset="1000") == []


@pytest.mark.parametrize(
    ("params", "body"),
    [
        ({}, "Bad params (missing version parameter)"),
        ({"version": "v1"}, "Bad params (invalid version parameter)"),
        ({"version": "v2", "limit": "0"}, "Bad params (invalid limit parameter)"),
        ({"version": "v2", "limit": "101"}, "Bad params (invalid limit parameter)"),
        ({"version": "v2", "limit": "ten"}, "Bad params (invalid limit parameter)"),
        ({"version": "v2", "offset": "-1"}, "Bad params (invalid offset parameter)"),
        ({"version": "v2", "isFirst": "yes"}, "Bad params (invalid isFirst parameter)"),
        ({"version": "v2", "minDate": "yesterday"}, "Bad params (invalid minDate parameter)"),
        ({"version": "v2", "endDate": "2023-13-01"}, "Bad params (invalid endDate parameter)"),
        (
            {"version": "v2", "minDate": "2023-02-01T00:00:00Z", "maxDate": "2023-02-01"},
            "Bad params (maxDate must be greater than minDate)",
        ),
    ],
)
async def test_bad_parameters(
    fake: FakeLemlistServer, session: aiohttp.ClientSession, params: dict[str, str], body: str
) -> None:
    answer = await fetch(session, f"{fake.base_url}/activities", params)
    assert (answer.status, answer.text) == (400, body)
    assert answer.headers["Content-Type"].startswith("text/plain")


async def test_the_limit_bounds_are_lemlists(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    assert len(await page(fake, session, limit="1")) == 1
    assert len(await page(fake, session, limit="100")) == 100


async def test_activities_are_the_leads_of_the_fake(fake: FakeLemlistServer) -> None:
    team = fake.team()
    kinds = set()
    for activity in fake.activities():
        kinds.add(activity["type"])
        assert activity["teamId"] == team["_id"]
        if activity["type"] == "annotated":  # a company note: no lead, no campaign
            assert activity["companyId"].startswith("cpn_")
            assert "leadId" not in activity
            assert "campaignId" not in activity
            assert activity["userId"] in team["userIds"]
            continue
        campaign_id = activity["campaignId"]
        assert campaign_id in fake.campaign_ids
        [row] = [r for r in fake.exported_leads(campaign_id) if r["_id"] == activity["leadId"]]
        assert activity["leadEmail"] == row["email"]
        assert activity["leadFirstName"] == row["firstName"]
        assert activity["leadCompanyName"] == row["companyName"]
        assert activity["campaignName"] == fake.campaign(campaign_id)["name"]
        assert activity["metaData"]["leadId"] == activity["leadId"]
        assert activity["sendUserId"] in team["userIds"]
        for name in fake.custom_variables(campaign_id):  # at top level
            assert activity[name] == row[name]
    assert {"emailsSent", "emailsOpened", "emailsReplied", "annotated"} <= kinds


async def test_filters(fake: FakeLemlistServer, session: aiohttp.ClientSession) -> None:
    everything = fake.activities()
    some = next(a for a in everything if "leadId" in a)

    def expected(keep: Any) -> list[str]:
        return ids([a for a in everything if keep(a)])

    assert ids(await page(fake, session, type="emailsOpened")) == expected(
        lambda a: a["type"] == "emailsOpened"
    )
    assert ids(await page(fake, session, campaignId=some["campaignId"])) == expected(
        lambda a: a.get("campaignId") == some["campaignId"]
    )
    by_lead = await page(fake, session, leadId=some["leadId"])
    assert ids(by_lead) == expected(lambda a: a.get("leadId") == some["leadId"])
    assert [a["type"] for a in by_lead][-1] in {
        "emailsSent",
        "emailsFailed",
        "linkedinVisitDone",
        "apiDone",
    }  # a lead's history starts with its first step
    firsts = await page(fake, session, isFirst="true")
    assert firsts
    assert all(a["isFirst"] is True for a in firsts)
    others = await page(fake, session, isFirst="false")
    assert others
    assert all(a.get("isFirst", False) is False for a in others)
    assert ids(await page(fake, session, type="nothingLikeThis")) == []


async def test_min_and_max_dates(fake: FakeLemlistServer, session: aiohttp.ClientSession) -> None:
    everything = fake.activities()
    middle = everything[120]["createdAt"]
    older = everything[160]["createdAt"]
    newest = await walk(fake, session, minDate=middle)
    assert [a for items in newest for a in items] == [
        a for a in everything if a["createdAt"] >= middle
    ]
    window = await page(fake, session, minDate=older, maxDate=middle)
    assert window == [a for a in everything if older <= a["createdAt"] <= middle]
    assert window[0]["createdAt"] == middle  # both bounds are inclusive
    assert window[-1]["createdAt"] == older
    # Unix seconds, and the aliases
    moment = datetime.fromisoformat(middle)
    seconds = str(int(moment.timestamp()))  # the second that holds `middle`, floored
    by_seconds = await walk(fake, session, maxDate=seconds)
    assert [a for items in by_seconds for a in items] == [
        a for a in everything if datetime.fromisoformat(a["createdAt"]).timestamp() <= int(seconds)
    ]
    assert await page(fake, session, endDate=middle, startDate=older) == window
    assert await page(fake, session, maxDate=middle, endDate="1999-01-01") == (
        await page(fake, session, maxDate=middle)
    )  # the main name wins over its alias
    naive = middle.removesuffix("Z")
    assert await page(fake, session, maxDate=naive) == await page(fake, session, maxDate=middle)


async def test_inserts_during_a_walk_shift_offsets_unless_maxdate_is_pinned(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    before = fake.activities()
    # Not pinned: 5 new activities land in front, page 2 repeats 5 items of page 1.
    first = await page(fake, session, limit="100")
    added = fake.add_activities(5)
    second = await page(fake, session, limit="100", offset="100")
    assert ids(second[:5]) == ids(first[-5:])
    assert fake.activities()[:5] == added[::-1]  # newest first: the last added on top
    assert_matches_spec(added, "/activities")

    # Pinned: the walk sees exactly what existed when it started.
    pinned = fake.activities()
    max_date = pinned[0]["createdAt"]
    pages = []
    offset = 0
    while True:
        items = await page(fake, session, limit="100", offset=str(offset), maxDate=max_date)
        pages.append(items)
        fake.add_activities(7, at=datetime.now(UTC) + timedelta(seconds=1))
        offset += 100
        if len(items) < 100:
            break
    assert [a for items in pages for a in items] == pinned
    assert len(pinned) == len(before) + 5
    assert len(fake.activities()) == len(pinned) + 7 * len(pages)


def test_add_activities_dates_and_order() -> None:
    fake = FakeLemlistServer(seed=52, campaigns=3, activities=40)
    moment = datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    [one] = fake.add_activities(at=moment)
    assert one["createdAt"] == "2030-01-02T03:04:05.678Z"
    assert fake.activities()[0] is one
    [past] = fake.add_activities(at=datetime(2000, 1, 1))  # naive: UTC
    assert past["createdAt"] == "2000-01-01T00:00:00.000Z"
    assert fake.activities()[-1] is past
    before = datetime.now(UTC)
    [now] = fake.add_activities()
    assert before - timedelta(seconds=1) <= datetime.fromisoformat(now["createdAt"])
    assert fake.activities()[1] is now
    with pytest.raises(ValueError, match="count"):
        fake.add_activities(0)


def test_the_feed_is_stable_and_cheap() -> None:
    first = FakeLemlistServer(seed=53, campaigns=30, leads_per_campaign=(0, 300), activities=5000)
    second = FakeLemlistServer(seed=53, campaigns=30, leads_per_campaign=(0, 300), activities=5000)
    start = time.perf_counter()
    feed = first.activities()
    assert time.perf_counter() - start < 5  # about 0.2 s; generous for slow CI
    assert len(feed) == 5000
    assert feed == second.activities()
    assert {a["campaignId"] for a in feed if "campaignId" in a} <= set(first.campaign_ids[:20])


@pytest.mark.parametrize("leads", [0, 2])
def test_few_leads_still_give_the_count(leads: int) -> None:
    fake = FakeLemlistServer(seed=54, campaigns=2, leads_per_campaign=leads, activities=300)
    feed = fake.activities()
    assert len(feed) == 300
    assert len({a["_id"] for a in feed}) == 300
    if leads == 0:
        assert {a["type"] for a in feed} == {"annotated"}
        assert fake.add_activities(2)[0]["type"] == "annotated"


def test_no_activities() -> None:
    fake = FakeLemlistServer(seed=55, campaigns=2, activities=0)
    assert fake.activities() == []
    with pytest.raises(ValueError, match="activities"):
        FakeLemlistServer(activities=-1)
