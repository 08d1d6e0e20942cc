"""``GET /api/team`` (its secret), ``/api/team/credits`` and ``/api/team/senders`` on the fake."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from lemlist_async.testing import FakeLemlistServer

from .test_fake_server import auth, fetch
from .test_fake_spec import assert_matches_spec

STATES = ("running", "paused", "draft", "ended", "archived", "errors")


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


async def test_the_team_holds_a_fake_slack_secret_and_its_hooks(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    team = await get(fake, session, "/team", version="v2")
    assert team == fake.team()
    assert_matches_spec(team, "/team")
    assert team["slackWebhook"]["url"].startswith("https://hooks.slack.com/services/TFAKE")
    assert "FAKE" in team["slackWebhook"]["url"].rsplit("/", 1)[1]
    assert team["hooks"] == fake.hooks()
    assert "apiKey" not in team
    old = await get(fake, session, "/team")
    assert old["slackWebhook"] == team["slackWebhook"]


async def test_credits(fake: FakeLemlistServer, session: aiohttp.ClientSession) -> None:
    credits = await get(fake, session, "/team/credits")
    assert credits == fake.team_credits()
    assert_matches_spec(credits, "/team/credits")
    remaining = credits["details"]["remaining"]
    assert list(remaining) == ["total", "freemium", "subscription", "gifted", "paid"]
    assert remaining["total"] == credits["credits"] == sum(list(remaining.values())[1:])
    assert FakeLemlistServer(seed=61).team_credits() == credits


async def test_senders_are_the_campaigns_senders(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    senders = await get(fake, session, "/team/senders")
    assert senders == fake.team_senders()
    assert_matches_spec(senders, "/team/senders")
    team_ids = fake.team()["userIds"]
    assert [s["userId"] for s in senders] == [
        u for u in team_ids if u in {s["userId"] for s in senders}
    ]
    for sender in senders:
        listed = [c["_id"] for c in sender["campaigns"]]
        expected = [
            c["_id"]
            for c in fake.campaigns()
            if sender["userId"] in {s["id"] for s in c["senders"]}
        ]
        assert listed == expected
        for item in sender["campaigns"]:
            campaign = fake.campaign(item["_id"])
            assert (item["name"], item["status"]) == (campaign["name"], campaign["status"])
            assert item["sendingChannels"]
            assert "conditional" not in item["sendingChannels"]
    # Every campaign has at least one sender, so all of them are listed.
    assert {c for s in senders for c in [i["_id"] for i in s["campaigns"]]} == set(
        fake.campaign_ids
    )


@pytest.mark.parametrize("state", STATES)
async def test_senders_by_state(
    fake: FakeLemlistServer, session: aiohttp.ClientSession, state: str
) -> None:
    senders = await get(fake, session, "/team/senders", state=state)
    assert senders == fake.team_senders(state)
    for sender in senders:
        assert sender["campaigns"]  # a user left without campaigns is left out
        for item in sender["campaigns"]:
            campaign = fake.campaign(item["_id"])
            assert campaign["hasError"] if state == "errors" else campaign["status"] == state


async def test_bad_state_and_bad_method(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    answer = await fetch(session, f"{fake.base_url}/team/senders", {"state": "sleeping"})
    assert (answer.status, answer.text) == (400, "Bad params (invalid state parameter)")
    for path in ("/team/credits", "/team/senders"):
        async with session.post(fake.base_url + path) as response:
            assert (response.status, await response.text()) == (405, "Method not allowed")
