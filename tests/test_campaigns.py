"""client.campaigns against a real server on loopback: request shapes, decoding, errors."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from lemlist_async import (
    BadRequestError,
    Campaign,
    CampaignStatus,
    LeadState,
    LemlistClient,
    LemlistError,
    NotFoundError,
    ResponseValidationError,
    ServerError,
)

from .conftest import ScriptedServer

pytestmark = pytest.mark.looptime

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
END = dt.datetime(2026, 2, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))


@pytest.fixture
async def client(server: ScriptedServer) -> AsyncIterator[LemlistClient]:
    async with LemlistClient("k", base_url=server.base_url, max_retries=1) as c:
        yield c


def campaigns(count: int) -> list[dict[str, Any]]:
    return [
        {
            "_id": f"cam_{i:03}",
            "name": f"Campaign {i}",
            "status": ["running", "paused", "draft"][i % 3],
            "createdAt": f"2026-01-{1 + i % 28:02}T10:00:00.000Z",
            "labels": ["q1"],
            "hasError": False,
        }
        for i in range(count)
    ]


def paged(data: list[dict[str, Any]], *, envelope: bool) -> Any:
    def handler(request: web.Request) -> web.Response:
        offset, limit = int(request.query["offset"]), int(request.query["limit"])
        items = data[offset : offset + limit]
        if not envelope:
            return web.json_response(items)
        return web.json_response(
            {"campaigns": items, "pagination": {"totalRecords": len(data), "currentPage": 1}}
        )

    return handler


@pytest.mark.parametrize("envelope", [True, False])
async def test_list_walks_every_page_of_either_shape(
    server: ScriptedServer, client: LemlistClient, envelope: bool
) -> None:
    data = campaigns(250)
    server.default = paged(data, envelope=envelope)
    found = [c async for c in client.campaigns.list(status="running", page_size=100)]
    assert [c.id for c in found] == [c["_id"] for c in data]
    assert found[0] == Campaign(
        id="cam_000",
        name="Campaign 0",
        status=CampaignStatus.RUNNING,
        created_at=dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC),
        labels=("q1",),
        has_error=False,
    )
    queries = [r.query for r in server.requests]
    assert [q["offset"] for q in queries] == ["0", "100", "200"]
    for query in queries:
        assert query["version"] == "v2"
        assert query["limit"] == "100"
        assert query["status"] == "running"
        assert "page" not in query
        assert server.requests[0].raw_path.startswith("/api/campaigns?")


async def test_list_stops_at_the_total_even_on_a_full_page(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.default = paged(campaigns(200), envelope=True)
    assert len(await client.campaigns.list().collect()) == 200
    assert len(server.requests) == 2  # No third request for an empty page.


async def test_list_prefetch_asks_for_the_remaining_pages_together(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.default = paged(campaigns(1000), envelope=True)
    found = await client.campaigns.list(prefetch=10).collect()
    assert [c.id for c in found] == [f"cam_{i:03}" for i in range(1000)]
    assert sorted(int(r.query["offset"]) for r in server.requests) == list(range(0, 1000, 100))


async def test_list_sends_nothing_until_read_and_checks_arguments_first(
    server: ScriptedServer, client: LemlistClient
) -> None:
    pager = client.campaigns.list(sort_order="desc", created_by="usr_1")
    assert server.requests == []
    server.default = paged(campaigns(3), envelope=True)
    await pager.collect()
    assert server.requests[0].query["sortOrder"] == "desc"
    assert server.requests[0].query["createdBy"] == "usr_1"
    for bad in ({"page_size": 101}, {"page_size": 0}, {"sort_order": "up"}, {"status": ""}):
        with pytest.raises((ValueError, TypeError)):
            client.campaigns.list(**bad)
    assert len(server.requests) == 1


async def test_a_page_that_does_not_fit_says_where(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer_json({"campaigns": [{"_id": "cam_1"}, {"_id": 7}], "pagination": {}})
    with pytest.raises(ResponseValidationError) as caught:
        await client.campaigns.list().collect()
    assert caught.value.errors == ["invalid value for type, expected str @ $[1]._id"]


async def test_get_a_campaign_and_its_errors(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer_json({"_id": "cam_1", "name": "Q1", "status": "aNewStatus", "emoji": "🚀"})
    server.answer(404, "Campaign not found")
    server.answer(400, "Bad team")
    campaign = await client.campaigns.get("cam_1")
    assert campaign.name == "Q1"
    assert campaign.status == "aNewStatus"
    assert campaign.status is not None
    assert not campaign.status.is_known
    with pytest.raises(NotFoundError, match="Campaign not found"):
        await client.campaigns.get("cam_2")
    with pytest.raises(BadRequestError, match="Bad team"):
        await client.campaigns.get("cam_3")
    assert [r.raw_path for r in server.requests] == [
        "/api/campaigns/cam_1",
        "/api/campaigns/cam_2",
        "/api/campaigns/cam_3",
    ]


async def test_leads_is_get_campaign_leads(server: ScriptedServer, client: LemlistClient) -> None:
    leads = await client.campaigns.leads("cam_1", state=LeadState.INTERESTED, limit=5)
    assert [lead.id for lead in leads] == ["lea_1"]
    assert server.requests[0].raw_path == "/api/campaigns/cam_1/leads/?state=interested&limit=5"


EXPORTED = [
    {
        "_id": "lea_1",
        "email": "ada@example.com",
        "firstName": "Ada",
        "emailStatus": "deliverable",
        "lastState": "emailsReplied",
        "Birthday": "10 Dec",
        "Score": 7,
    },
    {"_id": "lea_2", "email": "bob@example.com", "lastState": "scanned"},
]


async def test_export_leads_asks_for_json_and_keeps_custom_variables(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer_json(EXPORTED)
    leads = await client.campaigns.export_leads("cam_1", states=["interested", "emailsReplied"])
    assert [lead.id for lead in leads] == ["lea_1", "lea_2"]
    assert leads[0].first_name == "Ada"
    assert leads[0].last_state == LeadState.EMAILS_REPLIED
    assert leads[0].variables == {"Birthday": "10 Dec", "Score": 7}
    assert leads[1].variables == {}
    (seen,) = server.requests
    assert seen.path == "/api/campaigns/cam_1/export/leads"
    assert seen.query == {"format": "json", "state": "interested,emailsReplied"}


async def test_iter_export_leads_streams_the_same_leads(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer_json(EXPORTED)
    streamed = [lead async for lead in client.campaigns.iter_export_leads("cam_1")]
    server.answer_json(EXPORTED)
    assert streamed == await client.campaigns.export_leads("cam_1")
    assert server.requests[0].query == {"format": "json"}


async def test_iter_export_leads_reports_a_bad_lead_by_its_index(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer_json([{"_id": "lea_1"}, {"_id": "lea_2", "email": 5}])
    got: list[str] = []

    async def read() -> None:
        async for lead in client.campaigns.iter_export_leads("cam_1"):
            got.append(lead.id)

    with pytest.raises(ResponseValidationError) as caught:
        await read()
    assert got == ["lea_1"]
    assert caught.value.errors == ["invalid value for type, expected str | None @ $[1].email"]


async def test_iter_export_leads_raises_the_status_error_before_any_lead(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer(404, "Campaign not found")
    with pytest.raises(NotFoundError):
        async for _ in client.campaigns.iter_export_leads("cam_1"):
            pass


async def test_iter_export_leads_on_a_truncated_body(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer(200, b'[{"_id": "lea_1"}, {"_id": "le', content_type="application/json")
    with pytest.raises(ResponseValidationError, match="not a JSON array of leads"):
        async for _ in client.campaigns.iter_export_leads("cam_1"):
            pass


STATS = {
    "nbLeads": 12,
    "messagesSent": 30,
    "steps": [{"index": 0, "sent": 12, "taskType": "email"}],
}


async def test_stats_sends_iso_dates_and_json_channels(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer_json(STATS)
    stats = await client.campaigns.stats(
        "cam_1",
        start=START,
        end=END,
        ab="A",
        channels=["email", "linkedin"],
        send_user="usr_1|a@b.c",
    )
    assert stats.nb_leads == 12
    assert stats.steps is not None
    assert stats.steps[0].task_type == "email"
    (seen,) = server.requests
    assert seen.path == "/api/v2/campaigns/cam_1/stats"
    assert seen.query == {
        "startDate": "2026-01-01T00:00:00.000Z",
        "endDate": "2026-02-01T10:30:00.000Z",
        "ABSelected": "A",
        "channels": '["email", "linkedin"]',
        "sendUser": "usr_1|a@b.c",
    }


@pytest.mark.parametrize(
    "kwargs",
    [
        {"start": dt.datetime(2026, 1, 1), "end": END},  # Naive: which zone?
        {"start": END, "end": START},
        {"start": START, "end": END, "ab": "C"},
        {"start": START, "end": END, "channels": "email"},
        {"start": START, "end": END, "channels": ["fax"]},
        {"start": START, "end": END, "channels": []},
        {"start": dt.date(2026, 1, 1), "end": END},
    ],
)
async def test_stats_refuses_bad_arguments_before_sending(
    server: ScriptedServer, client: LemlistClient, kwargs: dict[str, Any]
) -> None:
    with pytest.raises((ValueError, TypeError)):
        await client.campaigns.stats("cam_1", **kwargs)
    with pytest.raises((ValueError, TypeError)):
        await client.campaigns.stats_many(["cam_1"], **kwargs)
    assert server.requests == []


async def test_stats_many_chunks_by_100_and_keeps_every_failure(
    server: ScriptedServer, client: LemlistClient
) -> None:
    ids = [f"cam_{i:03}" for i in range(250)]

    async def batch(request: web.Request) -> web.Response:
        body = await request.json()
        chunk = body["campaignIds"]
        if chunk[0] == "cam_200":
            return web.Response(status=500, text="Internal error")
        return web.json_response(
            {
                "results": [{"campaignId": c, **STATS} for c in chunk if c != "cam_007"],
                "errors": [{"campaignId": "cam_007", "error": "Campaign not found"}]
                if "cam_007" in chunk
                else [],
            }
        )

    server.default = batch
    result = await client.campaigns.stats_many(
        [*ids, ids[0]], start=START, end=END, channels=["email"]
    )
    assert len(result.results) == 199
    assert result.results["cam_000"].nb_leads == 12
    assert set(result.errors) == {"cam_007", *ids[200:]}
    assert result.errors["cam_007"] == LemlistError("Campaign not found")
    assert isinstance(result.errors["cam_200"], ServerError)
    bodies = [r for r in server.requests if r.method == "POST"]
    assert {r.path for r in bodies} == {"/api/v2/campaigns/stats/batch"}
    sent = [json.loads(r.body) for r in bodies]
    assert sorted(len(b["campaignIds"]) for b in sent if b["campaignIds"][0] != "cam_200") == [
        100,
        100,
    ]
    assert all(b["channels"] == ["email"] and b["startDate"].endswith("Z") for b in sent)


async def test_reports_chunk_the_ids_in_the_url(
    server: ScriptedServer, client: LemlistClient
) -> None:
    ids = [f"cam_{i:03}" for i in range(150)]

    def reports(request: web.Request) -> web.Response:
        asked = request.query["campaignIds"].split(",")
        return web.json_response([{"_id": c, "totalCount": 3} for c in asked])

    server.default = reports
    found = await client.campaigns.reports(ids)
    assert [r.id for r in found] == ids
    assert sorted(len(r.query["campaignIds"].split(",")) for r in server.requests) == [50, 100]
    for bad in ("cam_1", ["cam,1"], [""], []):
        with pytest.raises((ValueError, TypeError)):
            await client.campaigns.reports(bad)


async def test_with_options_applies_to_every_call_and_shares_the_session(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer(503, "down")
    server.answer(503, "down")
    server.answer_json({"_id": "cam_1"})
    patient = client.with_options(max_retries=3)
    assert patient.campaigns is not client.campaigns
    assert (await patient.campaigns.get("cam_1")).id == "cam_1"
    assert len(server.requests) == 3
    server.answer(503, "down")
    with pytest.raises(ServerError):  # The client itself keeps max_retries=1...
        await client.with_options(max_retries=0).campaigns.get("cam_1")
    assert len(server.requests) == 4  # ...and a derived one can lower it.
    assert patient.limiter is client.limiter
    assert patient._shared is client._shared
    await patient.close()
    assert client.closed
