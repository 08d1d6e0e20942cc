"""Campaign stats, batch stats, reports and team on the fake, on the wire."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import pytest

from lemlist_async.testing import FakeLemlistServer

from .test_fake_server import Answer, auth, fetch

DATES = {"startDate": "2024-01-07T22:00:00.000Z", "endDate": "2025-07-10T21:59:59.999Z"}
LINKEDIN_TASKS = {"linkedinVisit", "linkedinInvite", "linkedinSend"}


@pytest.fixture
async def fake() -> AsyncIterator[FakeLemlistServer]:
    # No rate limit: these tests are about bodies (the limit is tested on every route elsewhere).
    async with FakeLemlistServer(
        seed=41, campaigns=12, leads_per_campaign=(0, 120), rate_limit=None
    ) as server:
        yield server


@pytest.fixture
async def session(fake: FakeLemlistServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers=auth(fake.api_key)) as client_session:
        yield client_session


def stats_url(fake: FakeLemlistServer, campaign_id: str) -> str:
    return f"{fake.base_url}/v2/campaigns/{campaign_id}/stats"


async def post(session: aiohttp.ClientSession, url: str, body: Any) -> Answer:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    async with session.post(url, data=data, headers=headers) as response:
        return Answer(response.status, response.headers, await response.read())


async def test_stats_are_the_campaigns_own_and_deterministic(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    for campaign_id in fake.campaign_ids:
        first = await fetch(session, stats_url(fake, campaign_id), DATES)
        second = await fetch(session, stats_url(fake, campaign_id), DATES)
        assert first.status == 200
        assert first.body == second.body
        stats = first.json()
        assert stats == fake.campaign_stats(campaign_id)
        assert stats["nbLeads"] == len(fake.campaign_leads(campaign_id))
        assert stats["steps"]


async def test_channels_keep_only_their_steps(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    for campaign_id in fake.campaign_ids:
        params = {**DATES, "channels": '["linkedin"]'}
        stats = (await fetch(session, stats_url(fake, campaign_id), params)).json()
        assert all(step["taskType"] in LINKEDIN_TASKS for step in stats["steps"])
        everything = fake.campaign_stats(campaign_id)
        assert stats["nbLeads"] == everything["nbLeads"]
        assert stats["messagesSent"] == sum(step["sent"] for step in stats["steps"])
        params["channels"] = "[]"  # empty: every channel
        assert (await fetch(session, stats_url(fake, campaign_id), params)).json() == everything


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({}, "Bad params: startDate and endDate are required"),
        ({"startDate": DATES["startDate"]}, "Bad params: startDate and endDate are required"),
        ({**DATES, "endDate": "yesterday"}, "Bad params: startDate and endDate are required"),
        ({**DATES, "ABSelected": "C"}, "Bad params: ABSelected must be A or B"),
        ({**DATES, "channels": "email"}, "Bad params: channels must be a valid array"),
        ({**DATES, "channels": '{"a": 1}'}, "Bad params: channels must be a valid array"),
        (
            {**DATES, "channels": '["fax"]'},
            'Bad params: channels must be empty or contain "others", "email" or "linkedin"',
        ),
        (
            {**DATES, "sendUser": "someone"},
            "Bad param format: sendUser must be formatted as follow: <sendUserId>|<sendUserEmail>",
        ),
        (
            {**DATES, "sendUser": "usr_nobody|nobody@example.com"},
            "Bad params: the send user email is not related to the send user id",
        ),
    ],
)
async def test_bad_stats_params_are_the_specs_400s(
    fake: FakeLemlistServer,
    session: aiohttp.ClientSession,
    params: Mapping[str, str],
    text: str,
) -> None:
    answer = await fetch(session, stats_url(fake, fake.campaign_ids[0]), params)
    assert (answer.status, answer.text) == (400, text)


async def test_a_team_member_is_a_good_send_user(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    user = fake.team()["users"][0]
    params = {**DATES, "sendUser": f"{user['userId']}|{user['email']}", "ABSelected": "B"}
    answer = await fetch(session, stats_url(fake, fake.campaign_ids[0]), params)
    assert answer.status == 200


async def test_stats_of_an_unknown_campaign_is_a_404(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    answer = await fetch(session, stats_url(fake, "cam_missing"), DATES)
    assert (answer.status, answer.text) == (404, "Campaign not found")


async def test_other_methods_are_the_specs_405(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    answer = await post(session, stats_url(fake, fake.campaign_ids[0]), {})
    assert (answer.status, answer.text) == (405, "Bad method")
    answer = await fetch(session, f"{fake.base_url}/v2/campaigns/stats/batch")
    assert (answer.status, answer.text) == (405, "Bad method")


async def test_batch_stats_report_unknown_campaigns_in_errors(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    wanted = [fake.campaign_ids[0], "cam_missing", fake.campaign_ids[1]]
    body = {"campaignIds": wanted, **DATES}
    answer = await post(session, f"{fake.base_url}/v2/campaigns/stats/batch", body)
    assert answer.status == 200
    assert answer.json() == {
        "results": [
            {"campaignId": cid, **fake.campaign_stats(cid)} for cid in fake.campaign_ids[:2]
        ],
        "errors": [{"campaignId": "cam_missing", "error": "Campaign not found"}],
    }
    assert fake.requests[-1].json == body
    assert fake.requests[-1].campaign_id is None


async def test_batch_channels_are_a_real_array(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    body = {"campaignIds": fake.campaign_ids, **DATES, "channels": ["email"]}
    results = (await post(session, f"{fake.base_url}/v2/campaigns/stats/batch", body)).json()
    for result in results["results"]:
        assert all(step["taskType"] == "email" for step in result["steps"])


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({**DATES}, "Bad params: campaignIds must be a non-empty array"),
        ({"campaignIds": [], **DATES}, "Bad params: campaignIds must be a non-empty array"),
        (b"not json", "Bad params: campaignIds must be a non-empty array"),
        (
            {"campaignIds": [f"cam_{n}" for n in range(101)], **DATES},
            "Bad params: campaignIds must contain at most 100 items",
        ),
        ({"campaignIds": ["cam_1"]}, "Bad params: startDate and endDate are required"),
        (
            {"campaignIds": ["cam_1"], **DATES, "channels": '["email"]'},
            'Bad params: channels must be an array of "others", "email" or "linkedin"',
        ),
        (
            {"campaignIds": ["cam_1"], **DATES, "ABSelected": "AB"},
            "Bad params: ABSelected must be A or B",
        ),
    ],
)
async def test_bad_batch_bodies_are_the_specs_400s(
    fake: FakeLemlistServer, session: aiohttp.ClientSession, body: Any, text: str
) -> None:
    answer = await post(session, f"{fake.base_url}/v2/campaigns/stats/batch", body)
    assert (answer.status, answer.text) == (400, text)


async def test_a_batch_of_100_is_allowed(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    body = {"campaignIds": [f"cam_{n}" for n in range(100)], **DATES}
    answer = await post(session, f"{fake.base_url}/v2/campaigns/stats/batch", body)
    assert answer.status == 200
    assert len(answer.json()["errors"]) == 100


async def test_reports_in_the_order_asked_unknown_ids_skipped(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    first, second = fake.campaign_ids[2], fake.campaign_ids[0]
    params = {"campaignIds": f"{first},cam_missing,{second},{first}"}
    answer = await fetch(session, f"{fake.base_url}/campaigns/reports", params)
    assert answer.status == 200
    reports = answer.json()
    assert [report["_id"] for report in reports] == [first, second]
    for report in reports:
        campaign = fake.campaign(report["_id"])
        stats = fake.campaign_stats(report["_id"])
        assert report["name"] == campaign["name"]
        assert report["status"] == campaign["status"]
        assert report["createdAt"] == campaign["createdAt"]
        assert report["creator"] == (
            f"{campaign['creator']['userId']}|{campaign['creator']['userEmail']}"
        )
        assert report["totalCount"] == stats["nbLeads"]
        assert report["interested"] == stats["nbLeadsInterested"]
        assert report["labels"] == ",".join(campaign["labels"])


@pytest.mark.parametrize("params", [{}, {"campaignIds": ""}, {"campaignIds": ",,"}])
async def test_reports_need_campaign_ids(
    fake: FakeLemlistServer, session: aiohttp.ClientSession, params: dict[str, str]
) -> None:
    answer = await fetch(session, f"{fake.base_url}/campaigns/reports", params)
    assert (answer.status, answer.text) == (400, "Bad params (missing campaignIds parameter)")


async def test_team_with_and_without_users(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    v2 = (await fetch(session, f"{fake.base_url}/team", {"version": "v2"})).json()
    assert v2 == fake.team()
    v1 = (await fetch(session, f"{fake.base_url}/team")).json()
    assert "users" not in v1
    assert v1 == {key: value for key, value in v2.items() if key != "users"}
