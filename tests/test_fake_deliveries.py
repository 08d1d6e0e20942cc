"""Webhook deliveries of the fake, to a real aiohttp receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from lemlist_async.testing import Delivery, FakeLemlistServer

from .test_fake_server import auth


class Receiver:
    """A webhook endpoint: records each call's path and JSON body, answers ``status``.

    While ``gate`` is clear, it holds every call unanswered; ``arrived`` is set
    by each call.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.status = 200
        self.gate = asyncio.Event()
        self.gate.set()
        self.arrived = asyncio.Event()
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self.server = TestServer(app, host="127.0.0.1")

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    async def _handle(self, request: web.Request) -> web.Response:
        self.calls.append((request.path, await request.json()))
        self.arrived.set()
        await self.gate.wait()
        return web.Response(status=self.status)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    endpoint = Receiver()
    await endpoint.server.start_server()
    yield endpoint
    endpoint.gate.set()
    await endpoint.server.close()


@pytest.fixture
async def fake() -> AsyncIterator[FakeLemlistServer]:
    async with FakeLemlistServer(
        seed=97, campaigns=3, leads_per_campaign=(10, 20), hooks=0, rate_limit=None
    ) as server:
        yield server


@pytest.fixture
async def session(fake: FakeLemlistServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers=auth(fake.api_key)) as client_session:
        yield client_session


async def add_hook(
    fake: FakeLemlistServer, session: aiohttp.ClientSession, body: dict[str, Any], **query: str
) -> dict[str, Any]:
    async with session.post(f"{fake.base_url}/hooks", json=body, params=query) as response:
        assert response.status == 200
        hook: dict[str, Any] = await response.json()
    return hook


async def post(fake: FakeLemlistServer, session: aiohttp.ClientSession, path: str) -> Any:
    async with session.post(fake.base_url + path) as response:
        assert response.status == 200
        return await response.json()


def a_lead(fake: FakeLemlistServer, campaign: int = 0) -> dict[str, Any]:
    return fake.exported_leads(fake.campaign_ids[campaign])[0]


async def test_an_event_reaches_the_receiver_with_the_secret(
    fake: FakeLemlistServer, session: aiohttp.ClientSession, receiver: Receiver
) -> None:
    url = receiver.url("/lemlist")
    body = {"targetUrl": url, "type": "emailsOpened", "secret": "s3cret-shared"}
    hook = await add_hook(fake, session, body)
    lead = a_lead(fake)

    activity = fake.emit_activity("emailsOpened", lead_id=lead["_id"], linkUrl="https://x.example")
    await fake.deliveries_settled()

    assert receiver.calls == [("/lemlist", {**activity, "secret": "s3cret-shared"})]
    assert activity["leadId"] == lead["_id"]
    assert activity["leadEmail"] == lead["email"]
    assert activity["linkUrl"] == "https://x.example"
    assert fake.activities()[0] == activity  # the newest of the feed
    assert fake.deliveries == [
        Delivery(
            hook_id=hook["_id"],
            url=url,
            event_type="emailsOpened",
            activity_id=activity["_id"],
            status=200,
        )
    ]
    assert "s3cret" not in repr(fake.deliveries)
    assert "s3cret" not in repr(fake.activities())
    delivery = fake.deliveries[0]
    assert pickle.loads(pickle.dumps(delivery)) == delivery  # noqa: S301 - our own bytes


async def test_writes_deliver_their_events(
    fake: FakeLemlistServer, session: aiohttp.ClientSession, receiver: Receiver
) -> None:
    await add_hook(fake, session, {"targetUrl": receiver.url("/all")})  # every event
    campaign_id = fake.campaign_ids[1]
    lead = a_lead(fake, 1)
    created = f"/campaigns/{campaign_id}/leads/"
    async with session.post(fake.base_url + created, json={"email": "new@example.com"}) as answer:
        assert answer.status == 200
    steps = [
        (f"/leads/pause/{lead['_id']}", "paused"),
        (f"/leads/pause/{lead['_id']}", None),  # already paused: nothing happens
        (f"/leads/start/{lead['_id']}", "resumed"),
        (f"/campaigns/{campaign_id}/leads/{lead['_id']}/interested", "interested"),
        (f"/campaigns/{campaign_id}/leads/{lead['_id']}/notinterested", "notInterested"),
    ]
    expected = []
    for path, event in steps:
        await post(fake, session, path)
        await fake.deliveries_settled()
        if event is not None:
            expected.append(event)
        assert [body["type"] for _, body in receiver.calls] == expected
    assert {body["leadId"] for _, body in receiver.calls} == {lead["_id"]}
    assert {body["campaignId"] for _, body in receiver.calls} == {campaign_id}
    assert all("secret" not in body for _, body in receiver.calls)
    assert [d.status for d in fake.deliveries] == [200] * len(expected)
    feed = await get(fake, session, "/activities", version="v2")
    assert [a["type"] for a in feed[: len(expected)]] == expected[::-1]  # newest first


async def get(
    fake: FakeLemlistServer, session: aiohttp.ClientSession, path: str, **query: str
) -> Any:
    async with session.get(fake.base_url + path, params=query) as response:
        assert response.status == 200
        return await response.json()


async def test_hooks_get_only_their_type_and_campaign(
    fake: FakeLemlistServer, session: aiohttp.ClientSession, receiver: Receiver
) -> None:
    first = fake.campaign_ids[0]
    await add_hook(fake, session, {"targetUrl": receiver.url("/opened"), "type": "emailsOpened"})
    await add_hook(fake, session, {"targetUrl": receiver.url("/first")}, campaignId=first)
    await add_hook(
        fake,
        session,
        {"targetUrl": receiver.url("/first-replied"), "type": "emailsReplied"},
        campaignId=first,
    )
    await add_hook(fake, session, {"targetUrl": receiver.url("/team")}, isFirst="true")

    emitted = [
        fake.emit_activity("emailsOpened", lead_id=a_lead(fake, 0)["_id"]),
        fake.emit_activity("emailsReplied", lead_id=a_lead(fake, 1)["_id"]),
        fake.emit_activity("emailsReplied", campaign_id=first),
        fake.emit_activity("emailsReplied", campaign_id=first),  # not the first one
        fake.emit_activity("lemwarmPaused"),
    ]
    await fake.deliveries_settled()

    got: dict[str, list[str]] = {}
    for path, body in receiver.calls:
        got.setdefault(path, []).append(body["_id"])
    ids = [activity["_id"] for activity in emitted]
    firsts = [activity["_id"] for activity in emitted if activity.get("isFirst") is True]
    assert ids[2] in firsts
    assert ids[3] not in firsts  # the campaign's second emailsReplied
    assert ids[4] not in firsts  # a team activity has no isFirst
    assert {path: sorted(found) for path, found in got.items()} == {
        "/opened": [ids[0]],
        "/first": sorted([ids[0], ids[2], ids[3]]),
        "/first-replied": sorted([ids[2], ids[3]]),
        "/team": sorted(firsts),
    }
    assert len(fake.deliveries) == len(receiver.calls)
    assert {d.status for d in fake.deliveries} == {200}


async def test_other_hosts_are_refused_and_never_contacted(
    fake: FakeLemlistServer, session: aiohttp.ClientSession, receiver: Receiver
) -> None:
    outside = await add_hook(fake, session, {"targetUrl": "https://example.com/hook"})
    near = await add_hook(fake, session, {"targetUrl": "http://10.0.0.1/hook"})
    activity = fake.emit_activity("emailsSent", campaign_id=fake.campaign_ids[0])
    # Refused at once, with no task started: nothing to wait for.
    assert fake.deliveries == [
        Delivery(
            hook_id=hook["_id"],
            url=hook["targetUrl"],
            event_type="emailsSent",
            activity_id=activity["_id"],
            error=f"refused: {host} is not a loopback host"
            " (the fake only calls 127.0.0.0/8, ::1 and localhost)",
        )
        for hook, host in ((outside, "example.com"), (near, "10.0.0.1"))
    ]
    await fake.deliveries_settled()
    assert len(fake.deliveries) == 2
    assert receiver.calls == []


async def test_localhost_is_loopback(
    fake: FakeLemlistServer, session: aiohttp.ClientSession, receiver: Receiver
) -> None:
    port = receiver.server.port
    await add_hook(fake, session, {"targetUrl": f"http://localhost:{port}/by-name"})
    fake.emit_activity("annotated")
    await fake.deliveries_settled()
    assert [path for path, _ in receiver.calls] == ["/by-name"]
    assert [d.status for d in fake.deliveries] == [200]


async def test_a_failing_receiver_is_recorded_and_not_retried(
    fake: FakeLemlistServer, session: aiohttp.ClientSession, receiver: Receiver
) -> None:
    receiver.status = 500
    await add_hook(fake, session, {"targetUrl": receiver.url("/down")})
    fake.emit_activity("emailsBounced")
    await fake.deliveries_settled()
    assert len(receiver.calls) == 1
    assert [(d.status, d.error) for d in fake.deliveries] == [(500, None)]


async def test_a_closed_port_is_a_connection_error(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    closed = Receiver()
    await closed.server.start_server()
    url = closed.url("/gone")
    await closed.server.close()
    await add_hook(fake, session, {"targetUrl": url})
    fake.emit_activity("emailsSent")
    await fake.deliveries_settled()
    [delivery] = fake.deliveries
    assert delivery.status is None
    assert delivery.error is not None
    assert delivery.error.startswith("ClientConnectorError")


async def test_a_delivery_never_blocks_the_request(
    fake: FakeLemlistServer, session: aiohttp.ClientSession, receiver: Receiver
) -> None:
    receiver.gate.clear()
    await add_hook(fake, session, {"targetUrl": receiver.url("/slow")})
    lead = a_lead(fake)
    path = f"/leads/pause/{lead['_id']}?campaignId={fake.campaign_ids[0]}"
    paused = await post(fake, session, path)  # answered while the delivery waits
    assert paused[0]["isPaused"] is True
    await receiver.arrived.wait()
    assert fake.deliveries == []  # still in flight
    receiver.gate.set()
    await fake.deliveries_settled()
    assert [(d.event_type, d.status) for d in fake.deliveries] == [("paused", 200)]


@pytest.mark.looptime
async def test_a_receiver_that_never_answers_times_out(receiver: Receiver) -> None:
    receiver.gate.clear()
    async with FakeLemlistServer(seed=98, campaigns=1, leads_per_campaign=1, hooks=0) as fake:
        async with aiohttp.ClientSession(headers=auth(fake.api_key)) as session:
            await add_hook(fake, session, {"targetUrl": receiver.url("/stuck")})
        loop = asyncio.get_running_loop()
        start = loop.time()
        fake.emit_activity("emailsOpened")
        await fake.deliveries_settled()
        assert loop.time() - start == pytest.approx(5.0, abs=0.01)
        [delivery] = fake.deliveries
        assert (delivery.status, delivery.error) == (None, "timeout: no answer in 5.0 s")
        receiver.gate.set()


async def test_close_cancels_a_pending_delivery(receiver: Receiver) -> None:
    receiver.gate.clear()
    fake = FakeLemlistServer(seed=99, campaigns=1, leads_per_campaign=1, hooks=0)
    await fake.start()
    async with aiohttp.ClientSession(headers=auth(fake.api_key)) as session:
        hook = await add_hook(fake, session, {"targetUrl": receiver.url("/pending")})
    activity = fake.emit_activity("emailsClicked")
    await receiver.arrived.wait()
    await fake.close()
    assert fake.deliveries == [
        Delivery(
            hook_id=hook["_id"],
            url=hook["targetUrl"],
            event_type="emailsClicked",
            activity_id=activity["_id"],
            error="cancelled: the fake server closed before the answer came",
        )
    ]
    # Closed, the fake records what it would have delivered, and sends nothing.
    fake.emit_activity("emailsClicked")
    assert fake.deliveries[-1].error == "not delivered: the fake server is not running"
    await fake.deliveries_settled()
    assert len(receiver.calls) == 1
    receiver.gate.set()


async def test_emit_activity_shapes_and_checks(fake: FakeLemlistServer) -> None:
    campaign_id = fake.campaign_ids[2]
    campaign_activity = fake.emit_activity("campaignComplete", campaign_id=campaign_id)
    assert campaign_activity["campaignId"] == campaign_id
    assert campaign_activity["campaignName"] == fake.campaign(campaign_id)["name"]
    assert "leadId" not in campaign_activity
    team_activity = fake.emit_activity("connectionIssue", note="mailbox down")
    assert set(team_activity) == {"_id", "type", "createdAt", "teamId", "note"}
    assert team_activity["createdAt"] > campaign_activity["createdAt"]
    assert fake.activities()[:2] == [team_activity, campaign_activity]

    lead_id = a_lead(fake, 0)["_id"]
    with pytest.raises(ValueError, match="type"):
        fake.emit_activity("")
    with pytest.raises(KeyError):
        fake.emit_activity("emailsOpened", campaign_id="cam_nope")
    with pytest.raises(KeyError):
        fake.emit_activity("emailsOpened", lead_id="lea_nope")
    with pytest.raises(KeyError):
        fake.emit_activity("emailsOpened", lead_id=lead_id, campaign_id=campaign_id)
    with pytest.raises(TypeError):
        fake.emit_activity("emailsOpened", when=object())
    assert len(fake.activities()) == 250 + 2
