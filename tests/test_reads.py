"""client.leads, activities, team, hooks, unsubscribes on loopback: requests, decoding, rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from lemlist_async import (
    ActivityType,
    LemlistClient,
    NotFoundError,
    ResponseValidationError,
    UnsubscribeSource,
)
from lemlist_async._pagination import PinnedOffsetPages

from .conftest import ScriptedServer

pytestmark = pytest.mark.looptime

SECRET_URL = "https://hooks.slack.com/services/T000/B000/SECRETSECRET"


@pytest.fixture
async def client(server: ScriptedServer) -> AsyncIterator[LemlistClient]:
    async with LemlistClient("k", base_url=server.base_url, max_retries=0) as c:
        yield c


@pytest.mark.parametrize(
    ("email", "raw"),
    [
        ("ada@example.com", "ada%40example.com"),
        ("ada+tag@example.com", "ada%2Btag%40example.com"),
        ("100%@example.com", "100%25%40example.com"),
        ("a/b@example.com", "a%2Fb%40example.com"),
        ("zoë@exämple.com", "zo%C3%AB%40ex%C3%A4mple.com"),
    ],
)
async def test_find_sends_the_email_as_one_segment(
    server: ScriptedServer, client: LemlistClient, email: str, raw: str
) -> None:
    server.answer_json([{"_id": "lea_1", "campaign": {"id": "cam_1", "name": "Q1"}}])
    (entry,) = await client.leads.find(email)
    assert entry.campaign is not None
    assert entry.campaign.name == "Q1"
    (seen,) = server.requests
    # Dots too are encoded (%2E), as for every id: see path_segment.
    assert seen.raw_path == f"/api/leads/{raw.replace('.', '%2E')}?version=v2"
    assert seen.match_info["tail"] == f"leads/{email}"


async def test_find_reads_lead_not_found_as_nothing_and_other_404s_as_errors(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer(404, "Lead not found")
    server.answer(404, "No user found for this API key")
    assert await client.leads.find("nobody@example.com") == []
    with pytest.raises(NotFoundError, match="No user found"):
        await client.leads.find("nobody@example.com")


async def test_get_takes_exactly_one_of_email_and_id(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer_json({"_id": "lea_1", "email": "a@b.c", "isPaused": False})
    server.answer_json({"_id": "lea_2"})
    assert (await client.leads.get(email="a@b.c")).is_paused is False
    assert (await client.leads.get(lead_id="lea_2")).id == "lea_2"
    assert [r.query for r in server.requests] == [
        {"version": "v2", "email": "a@b.c"},
        {"version": "v2", "id": "lea_2"},
    ]
    with pytest.raises(ValueError, match="exactly one"):
        await client.leads.get()
    with pytest.raises(ValueError, match="exactly one"):
        await client.leads.get(email="a@b.c", lead_id="lea_1")
    assert len(server.requests) == 2


def activities(count: int, *, start: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "_id": f"act_{i:05}",
            "type": "emailsOpened" if i % 2 else "aTypeNobodyDocumented",
            "leadId": "lea_1",
            "createdAt": f"2026-01-01T00:{i // 60 % 60:02}:{i % 60:02}Z",
            "leadEmail": "a@b.c",
        }
        for i in range(start, start + count)
    ]


async def test_activities_pin_max_date_and_send_every_filter(
    server: ScriptedServer, client: LemlistClient
) -> None:
    data = activities(150)

    def page(request: web.Request) -> web.Response:
        offset, limit = int(request.query["offset"]), int(request.query["limit"])
        return web.json_response(data[offset : offset + limit])

    server.default = page
    since = dt.datetime(2025, 12, 1, tzinfo=dt.UTC)
    found = [
        a
        async for a in client.activities.list(
            type=ActivityType.EMAILS_OPENED,
            campaign_id="cam_1",
            lead_id="lea_1",
            is_first=False,
            since=since,
        )
    ]
    assert [a.id for a in found] == [d["_id"] for d in data]
    assert found[0].type == "aTypeNobodyDocumented"
    assert found[0].extra == {"leadEmail": "a@b.c"}
    first, second = (r.query for r in server.requests)
    assert first["maxDate"] == second["maxDate"]  # Pinned at the walk's start.
    assert first["maxDate"].endswith("Z")
    assert first == {
        "version": "v2",
        "type": "emailsOpened",
        "campaignId": "cam_1",
        "leadId": "lea_1",
        "isFirst": "false",
        "minDate": "2025-12-01T00:00:00.000Z",
        "maxDate": first["maxDate"],
        "offset": "0",
        "limit": "100",
    }


async def test_activities_drop_an_item_the_previous_page_had(
    server: ScriptedServer, client: LemlistClient
) -> None:
    data = activities(120)
    server.answer_json(data[:100])
    # The list shifted by one between the pages: the 100th item comes again.
    server.answer_json(data[99:120])
    found = await client.activities.list(until=dt.datetime(2026, 6, 1, tzinfo=dt.UTC)).collect()
    assert [a.id for a in found] == [d["_id"] for d in data]
    assert {r.query["maxDate"] for r in server.requests} == {"2026-06-01T00:00:00.000Z"}


def test_pinned_pages_use_the_clock_only_without_a_bound() -> None:
    clock = lambda: dt.datetime(2026, 3, 4, 5, 6, 7, 891000, tzinfo=dt.UTC)  # noqa: E731
    rule = PinnedOffsetPages(100, clock=clock)
    assert rule.first({"version": "v2"})["maxDate"] == "2026-03-04T05:06:07.891Z"
    assert rule.first({"maxDate": "given"})["maxDate"] == "given"
    following = rule.after(rule.first({}), 100, None)
    assert following is not None
    assert following["maxDate"] == "2026-03-04T05:06:07.891Z"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"is_first": "yes"},
        {"since": dt.datetime(2026, 1, 2)},
        {
            "since": dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
            "until": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        },
        {"page_size": 0},
        {"type": ""},
    ],
)
async def test_activities_refuse_bad_arguments(
    client: LemlistClient, kwargs: dict[str, Any]
) -> None:
    with pytest.raises((ValueError, TypeError)):
        client.activities.list(**kwargs)


TEAM = {
    "_id": "tea_1",
    "name": "Acme",
    "apiKey": "sk-TEAM-SECRET",
    "slackWebhook": {"url": SECRET_URL, "failCounter": 0},
    "users": [{"userId": "usr_1", "name": "Ada", "email": "ada@acme.test", "role": "admin"}],
    "hooks": [{"_id": "hoo_1", "targetUrl": "https://acme.test/hook?token=HOOKSECRET"}],
}


async def test_the_team_keeps_its_secrets_out_of_sight(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer_json(TEAM)
    team = await client.team.get()
    assert team.users is not None
    assert team.users[0].name == "Ada"
    assert team.slack_webhook is not None
    assert team.slack_webhook.url == SECRET_URL
    for text in (repr(team), str(team), repr(team.slack_webhook), repr(team.hooks)):
        for secret in ("SECRETSECRET", "sk-TEAM-SECRET", "HOOKSECRET"):
            assert secret not in text
    assert server.requests[0].query == {"version": "v2"}
    # A team body that does not fit is refused without copying it into the error.
    server.answer_json({**TEAM, "_id": 5})
    with pytest.raises(ResponseValidationError) as caught:
        await client.team.get()
    for text in (str(caught.value), repr(vars(caught.value))):
        assert "SECRETSECRET" not in text
        assert "sk-TEAM-SECRET" not in text


async def test_credits_senders_hooks(server: ScriptedServer, client: LemlistClient) -> None:
    server.answer_json({"credits": 12, "details": {"remaining": {"total": 12, "paid": 2}}})
    server.answer_json(
        [{"userId": "usr_1", "campaigns": [{"_id": "cam_1", "sendingChannels": ["email"]}]}]
    )
    server.answer_json(
        [{"_id": "hoo_1", "type": "emailsReplied", "createdAt": "2026-01-01T00:00:00Z"}]
    )
    credits = await client.team.credits()
    assert credits.details is not None
    assert credits.details.remaining is not None
    assert credits.details.remaining.paid == 2
    (sender,) = await client.team.senders(state="running")
    assert sender.campaigns is not None
    assert sender.campaigns[0].sending_channels == ("email",)
    (hook,) = await client.hooks.list()
    assert hook.type == ActivityType.EMAILS_REPLIED
    assert [r.path for r in server.requests] == [
        "/api/team/credits",
        "/api/team/senders",
        "/api/hooks",
    ]
    assert server.requests[1].query == {"state": "running"}


async def test_unsubscribes_walk_every_page(server: ScriptedServer, client: LemlistClient) -> None:
    data = [
        {"_id": f"uns_{i}", "value": f"u{i}@x.test", "source": ["api", "bounced", "newOne"][i % 3]}
        for i in range(130)
    ]

    def page(request: web.Request) -> web.Response:
        offset, limit = int(request.query["offset"]), int(request.query["limit"])
        return web.json_response(data[offset : offset + limit])

    server.default = page
    found = await client.unsubscribes.list(page_size=50).collect()
    assert [u.id for u in found] == [d["_id"] for d in data]
    assert found[1].source is UnsubscribeSource.BOUNCED
    assert [r.query for r in server.requests] == [
        {"offset": "0", "limit": "50"},
        {"offset": "50", "limit": "50"},
        {"offset": "100", "limit": "50"},
    ]
    assert server.requests[0].path == "/api/v2/unsubscribes/variables"
