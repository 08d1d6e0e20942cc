"""Writes against the fake lemlist, with faults injected after the write was applied.

The fake stores the lead (or deletes it, or creates the hook), then drops the
connection or answers 502: the client cannot know whether lemlist acted. These
tests count what the fake holds at the end.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from lemlist_async import (
    AmbiguousWriteError,
    ImportResult,
    ImportStatus,
    InvalidLeadError,
    LemlistClient,
    NewLead,
    NotFoundError,
)
from lemlist_async.testing import FakeLemlistServer
from lemlist_async.webhooks import parse_event, webhook_handler

pytestmark = pytest.mark.looptime

CAMPAIGN = "cam_WRITES00000000000001"


@pytest.fixture
async def fake() -> AsyncIterator[FakeLemlistServer]:
    async with FakeLemlistServer(seed=12, campaigns=2) as server:
        server.add_campaign(CAMPAIGN, [])
        yield server


@pytest.fixture
async def client(fake: FakeLemlistServer) -> AsyncIterator[LemlistClient]:
    async with LemlistClient(fake.api_key, base_url=fake.base_url) as c:
        yield c


def _emails(fake: FakeLemlistServer, campaign_id: str = CAMPAIGN) -> collections.Counter[str]:
    return collections.Counter(lead["email"] for lead in fake.exported_leads(campaign_id))


def _rows(count: int, start: int = 0) -> list[NewLead]:
    return [NewLead(email=f"lead{i:05}@import.example") for i in range(start, start + count)]


# -- One create -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [None, 502])
async def test_add_without_reconcile_raises_ambiguous_and_sends_once(
    fake: FakeLemlistServer, client: LemlistClient, status: int | None
) -> None:
    fake.fail_after_apply(status=status)
    with pytest.raises(AmbiguousWriteError) as caught:
        await client.leads.add(CAMPAIGN, email="ada@example.com")
    assert caught.value.status == status
    assert _emails(fake) == {"ada@example.com": 1}  # Applied, once.
    assert [r.method for r in fake.requests] == ["POST"]


@pytest.mark.parametrize("status", [None, 502])
async def test_add_reconciled_creates_no_duplicate(
    fake: FakeLemlistServer, client: LemlistClient, status: int | None
) -> None:
    fake.fail_after_apply(status=status)
    lead = await client.leads.add(CAMPAIGN, email="ada@example.com", reconcile=True)
    assert _emails(fake) == {"ada@example.com": 1}
    (stored,) = fake.campaign_leads(CAMPAIGN)
    assert lead.id == stored["_id"]
    assert [r.method for r in fake.requests] == ["POST", "GET", "GET"]


async def test_add_reconciled_resends_a_create_that_never_happened(
    fake: FakeLemlistServer, client: LemlistClient
) -> None:
    fake.fail_next(502)  # Refused before it was applied: nothing was stored.
    lead = await client.leads.add(CAMPAIGN, email="ada@example.com", reconcile=True)
    assert _emails(fake) == {"ada@example.com": 1}
    assert [r.method for r in fake.requests] == ["POST", "GET", "POST"]
    assert lead.email == "ada@example.com"


@pytest.mark.parametrize(
    ("call", "count"),
    [
        ("remove", lambda fake: len(fake.campaign_leads(fake.campaign_ids[0])) + 1),
        ("delete_hook", lambda fake: len(fake.hooks()) + 1),
    ],
)
async def test_a_delete_applied_then_dropped_is_retried_and_succeeds(
    fake: FakeLemlistServer, client: LemlistClient, call: str, count: Any
) -> None:
    # The SDK owns the resend: aiohttp's own silent one would hide the first
    # attempt, and the caller would see "not found" for a delete that worked.
    before = count(fake) - 1
    fake.fail_after_apply()
    if call == "remove":
        campaign = fake.campaign_ids[0]
        await client.leads.remove(campaign, fake.campaign_leads(campaign)[0]["_id"], hard=True)
    else:
        await client.hooks.delete(fake.hooks()[0]["_id"])
    assert count(fake) - 1 == before - 1
    assert [r.status for r in fake.requests] == [0, 404]


# -- Bulk import ------------------------------------------------------------------------


async def _import(
    client: LemlistClient, leads: list[Any], **kwargs: Any
) -> dict[int, ImportResult]:
    async with client.leads.add_many(CAMPAIGN, leads, **kwargs) as results:
        return {result.index: result async for result in results}


@pytest.mark.parametrize("status", [None, 502])
async def test_a_thousand_leads_with_five_percent_faults_give_exactly_a_thousand(
    fake: FakeLemlistServer, client: LemlistClient, status: int | None
) -> None:
    fake.fail_after_apply_every(20, status=status)
    results = await _import(client, _rows(1000))
    fake.fail_after_apply_every(None)
    emails = _emails(fake)
    assert len(emails) == 1000
    assert set(emails.values()) == {1}  # No duplicate.
    assert sorted(results) == list(range(1000))
    assert {result.status for result in results.values()} == {ImportStatus.CREATED}
    reconciled = [result for result in results.values() if result.reconciled]
    faults = sum(r.applied and r.status in (0, 502) for r in fake.requests)
    assert len(reconciled) == faults >= 45  # The faults fell on creates, and each was found.
    for result in results.values():
        assert result.lead is not None
        assert result.lead.email == result.email
    assert fake.count(429) == 0
    assert fake.max_arrivals_in_window() <= 20


async def test_without_reconcile_the_faulted_leads_are_ambiguous_and_exist(
    fake: FakeLemlistServer, client: LemlistClient
) -> None:
    fake.fail_after_apply_every(10, status=502)
    results = await _import(client, _rows(100), reconcile=False)
    ambiguous = [r for r in results.values() if r.status is ImportStatus.AMBIGUOUS]
    assert len(ambiguous) == 10
    assert all(isinstance(r.error, AmbiguousWriteError) for r in ambiguous)
    # Each was in fact applied: reconciling would have found it.
    assert set(_emails(fake)) == {r.email for r in results.values()}
    assert not any(r.method == "GET" and r.path.startswith("/api/leads") for r in fake.requests)


async def test_an_interrupted_import_run_again_creates_no_duplicate(
    fake: FakeLemlistServer, client: LemlistClient
) -> None:
    rows = _rows(100)
    seen = 0
    async with client.leads.add_many(CAMPAIGN, rows) as results:
        async for _ in results:
            seen += 1
            if seen == 40:
                break  # Interrupted: creates in flight are cancelled.
    second = await _import(client, rows)
    # Creates already on the wire when the run stopped may land after the
    # break: what the first run created is what the second finds present.
    statuses = collections.Counter(result.status for result in second.values())
    created_first = statuses[ImportStatus.PRESENT]
    assert 40 <= created_first < 100
    assert statuses == {
        ImportStatus.PRESENT: created_first,
        ImportStatus.CREATED: 100 - created_first,
    }
    emails = _emails(fake)
    assert len(emails) == 100
    assert set(emails.values()) == {1}


async def test_import_reports_present_duplicate_and_invalid_leads_per_lead(
    fake: FakeLemlistServer, client: LemlistClient
) -> None:
    await client.leads.add(CAMPAIGN, email="Already@Example.com")
    rows: list[Any] = [
        {"email": "new@example.com", "firstName": "New", "plan": "pro"},
        {"email": "already@example.com"},
        {"email": "NEW@example.com"},
        {"firstName": "nobody", "email": ""},
        "not a mapping",
    ]
    progress: list[tuple[int, int | None]] = []
    results = await _import(client, rows, on_progress=lambda d, t: progress.append((d, t)))
    assert [results[i].status for i in range(5)] == [
        ImportStatus.CREATED,
        ImportStatus.PRESENT,
        ImportStatus.DUPLICATE,
        ImportStatus.FAILED,
        ImportStatus.FAILED,
    ]
    assert isinstance(results[3].error, InvalidLeadError)
    assert "email" in str(results[3].error)
    assert results[3].email is None
    assert progress[-1] == (5, 5)
    (created,) = [
        lead for lead in fake.exported_leads(CAMPAIGN) if lead["email"] == "new@example.com"
    ]
    assert created["firstName"] == "New"
    assert fake.lead(email="new@example.com")["_id"] == created["_id"]


async def test_import_into_an_unknown_campaign_raises_at_the_first_iteration(
    client: LemlistClient,
) -> None:
    results = client.leads.add_many("cam_NOPE", _rows(3))
    with pytest.raises(NotFoundError, match="Campaign not found"):
        await anext(results)


async def test_import_runs_at_the_rate_limit(
    fake: FakeLemlistServer, client: LemlistClient
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    await _import(client, _rows(200))
    elapsed = loop.time() - started
    # 201 requests (the export, then 200 creates): ten full windows, then one.
    assert 20.0 <= elapsed < 21.0
    assert fake.count(429) == 0
    assert fake.max_arrivals_in_window() == 20


# -- Webhooks end to end ---------------------------------------------------------------


async def test_a_hook_created_with_the_sdk_receives_the_fakes_events(
    fake: FakeLemlistServer, client: LemlistClient
) -> None:
    received: list[Any] = []
    secret = "hook-secret-0123456789"

    async def on_event(event: Any) -> None:
        received.append(event)

    handler = webhook_handler(on_event, secret=secret)
    app = web.Application()
    app.router.add_post("/lemlist", handler.handle)
    receiver = TestServer(app, host="127.0.0.1")
    await receiver.start_server()
    try:
        url = str(receiver.make_url("/lemlist"))
        await client.hooks.create(url, type="interested", secret=secret)
        lead = fake.campaign_leads(fake.campaign_ids[0])[0]
        await client.leads.set_interested(lead["_id"], True, campaign_id=fake.campaign_ids[0])
        await client.leads.set_interested(lead["_id"], False, campaign_id=fake.campaign_ids[0])
        await fake.deliveries_settled()
        await handler.drain()
    finally:
        await receiver.close()
    assert [d.status for d in fake.deliveries] == [200]  # Only the "interested" one.
    (event,) = received
    assert event.type == "interested"
    assert event.lead_id == lead["_id"]
    assert "secret" not in event.extra
    assert secret not in repr(fake.deliveries)
    with pytest.raises(Exception, match="secret"):
        parse_event(b'{"type": "interested", "secret": "wrong"}', secret=secret)
