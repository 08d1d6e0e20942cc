"""Faults after a write is applied: ``fail_after_apply`` and ``fail_after_apply_every``.

lemlist may store a lead and the answer get lost (a dropped connection, a 502
from a proxy). These tests check both halves on the wire: the write is in the
fake's data, and the client sees the drop or the status.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from lemlist_async.testing import DROPPED_STATUS, FakeLemlistServer, RecordedRequest

from .test_fake_server import auth


@pytest.fixture
async def fake() -> AsyncIterator[FakeLemlistServer]:
    async with FakeLemlistServer(
        seed=91, campaigns=2, leads_per_campaign=5, hooks=0, rate_limit=None
    ) as server:
        yield server


@pytest.fixture
async def session(fake: FakeLemlistServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers=auth(fake.api_key)) as client_session:
        yield client_session


async def create(
    fake: FakeLemlistServer, session: aiohttp.ClientSession, email: str, campaign: int = 0
) -> tuple[int, str]:
    url = f"{fake.base_url}/campaigns/{fake.campaign_ids[campaign]}/leads/"
    async with session.post(url, json={"email": email}) as response:
        return response.status, await response.text()


def emails(fake: FakeLemlistServer, campaign: int = 0) -> list[Any]:
    return [lead.get("email") for lead in fake.exported_leads(fake.campaign_ids[campaign])]


async def test_a_dropped_answer_after_the_lead_is_stored(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    fake.fail_after_apply()
    assert fake.pending_faults == 1
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await create(fake, session, "lost@example.com")

    assert emails(fake)[-1] == "lost@example.com"  # stored all the same
    [request] = fake.requests
    assert (request.method, request.status, request.applied) == ("POST", DROPPED_STATUS, True)
    assert request.json == {"email": "lost@example.com"}
    assert fake.pending_faults == 0
    # A blind retry meets the lead it already created.
    assert await create(fake, session, "lost@example.com") == (
        400,
        "Lead already in the campaign",
    )
    assert fake.requests[-1].applied is False


async def test_a_502_after_the_lead_is_stored(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    fake.fail_after_apply(status=502)
    url = f"{fake.base_url}/campaigns/{fake.campaign_ids[0]}/leads/"
    async with session.post(url, json={"email": "half@example.com"}) as response:
        assert response.status == 502
        assert response.headers["Content-Type"].startswith("text/plain")
        assert await response.text() == "Bad Gateway"
    assert emails(fake)[-1] == "half@example.com"
    assert (fake.requests[-1].status, fake.requests[-1].applied) == (502, True)
    assert fake.count(502) == 1
    status, body = await create(fake, session, "next@example.com")  # the fault is spent
    assert status == 200
    assert json.loads(body)["email"] == "next@example.com"


async def test_reads_pass_and_leave_the_fault_queued(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    fake.fail_after_apply(2, status=503)
    async with session.get(f"{fake.base_url}/hooks") as response:
        assert response.status == 200
    assert fake.pending_faults == 2
    # A write the route refuses takes its fault too, and applies nothing.
    url = f"{fake.base_url}/campaigns/cam_nope/leads/"
    async with session.post(url, json={"email": "x@example.com"}) as response:
        assert response.status == 503
    assert (fake.requests[-1].status, fake.requests[-1].applied) == (503, False)
    assert (await create(fake, session, "two@example.com"))[0] == 503
    assert (await create(fake, session, "three@example.com"))[0] == 200
    assert emails(fake)[-2:] == ["two@example.com", "three@example.com"]
    assert [r.applied for r in fake.requests] == [False, False, True, True]
    assert fake.pending_faults == 0


async def test_faults_before_the_route_apply_nothing(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    fake.fail_next(502)
    fake.fail_after_apply(status=500)
    assert (await create(fake, session, "never@example.com"))[0] == 502
    assert "never@example.com" not in emails(fake)
    assert fake.requests[-1].applied is False
    assert fake.pending_faults == 1  # the one after apply is still waiting
    assert (await create(fake, session, "once@example.com"))[0] == 500
    assert "once@example.com" in emails(fake)


async def test_a_rate_limited_write_leaves_the_fault_queued() -> None:
    async with (
        FakeLemlistServer(
            seed=92, campaigns=1, leads_per_campaign=0, rate_limit=1, window=3600
        ) as fake,
        aiohttp.ClientSession(headers=auth(fake.api_key)) as session,
    ):
        async with session.get(f"{fake.base_url}/hooks") as response:
            assert response.status == 200
        fake.fail_after_apply(status=502)
        assert (await create(fake, session, "limited@example.com"))[0] == 429
        assert fake.pending_faults == 1
        assert fake.exported_leads(fake.campaign_ids[0]) == []


async def test_aiohttp_resends_a_dropped_delete(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    campaign_id = fake.campaign_ids[0]
    lead_id = fake.campaign_leads(campaign_id)[0]["_id"]
    fake.fail_after_apply()
    url = f"{fake.base_url}/campaigns/{campaign_id}/leads/{lead_id}"
    async with session.delete(url) as response:  # DELETE is idempotent: sent again
        assert response.status == 200
        assert (await response.json())["_id"] == lead_id
    assert [(r.method, r.status, r.applied) for r in fake.requests] == [
        ("DELETE", DROPPED_STATUS, True),
        ("DELETE", 200, True),
    ]
    assert fake.lead(lead_id=lead_id)["_id"] == lead_id


async def test_every_nth_write_fails_after_it_is_applied(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    fake.fail_after_apply_every(3, status=502)
    statuses = []
    for number in range(9):
        statuses.append((await create(fake, session, f"n{number}@example.com"))[0])
        async with session.get(f"{fake.base_url}/hooks") as response:  # reads never count
            assert response.status == 200
    assert statuses == [200, 200, 502] * 3
    assert emails(fake)[-9:] == [f"n{number}@example.com" for number in range(9)]
    writes = [r for r in fake.requests if r.method == "POST"]
    assert all(r.applied for r in writes)
    assert fake.pending_faults == 0

    fake.fail_after_apply_every(2)  # replaces it, counting again from here, dropping
    assert (await create(fake, session, "d0@example.com"))[0] == 200
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await create(fake, session, "d1@example.com")
    assert emails(fake)[-2:] == ["d0@example.com", "d1@example.com"]
    assert fake.count(DROPPED_STATUS) == 1

    fake.fail_after_apply_every(None)
    for number in range(4):
        assert (await create(fake, session, f"ok{number}@example.com"))[0] == 200


async def test_queued_faults_count_for_every_nth(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    fake.fail_after_apply_every(2, status=503)
    fake.fail_after_apply(status=500)
    got = [(await create(fake, session, f"q{n}@example.com"))[0] for n in range(4)]
    assert got == [500, 503, 200, 503]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda fake: fake.fail_after_apply(0), "count"),
        (lambda fake: fake.fail_after_apply(status=600), "status"),
        (lambda fake: fake.fail_after_apply(status=199), "status"),
        (lambda fake: fake.fail_after_apply_every(0), "n must"),
        (lambda fake: fake.fail_after_apply_every(5, status=100), "status"),
    ],
)
def test_bad_arguments_are_refused(call: Any, message: str) -> None:
    fake = FakeLemlistServer(campaigns=0)
    with pytest.raises(ValueError, match=message):
        call(fake)
    assert fake.pending_faults == 0


def test_a_recorded_request_without_applied_is_not_applied() -> None:
    request = RecordedRequest(
        time=0.0,
        method="GET",
        path="/api/hooks",
        raw_path="/api/hooks",
        query={},
        status=200,
        campaign_id=None,
        authenticated=True,
    )
    assert request.applied is False
    assert request.json is None
