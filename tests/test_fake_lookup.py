"""Lead lookups on the fake after writes and added campaigns: those of a fresh read.

The fake indexes every lead by email and id on the first lookup, follows each
write, and, when a campaign is added or replaced, rebuilds the index from the
leads it already read (drawing only the new campaign's). Whatever happened, a
lookup must answer what reading every campaign now (its export) says.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from lemlist_async.testing import FakeLemlistServer

from .test_fake_server import auth, fetch


@pytest.fixture
async def fake() -> AsyncIterator[FakeLemlistServer]:
    async with FakeLemlistServer(seed=63, campaigns=5, leads_per_campaign=(10, 40)) as server:
        yield server


@pytest.fixture
async def session(fake: FakeLemlistServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers=auth(fake.api_key)) as client_session:
        yield client_session


def assert_lookups_read_every_campaign(fake: FakeLemlistServer, *, rebuilt: bool) -> None:
    """Lookups by email (every campaign's lead, oldest campaign first), by id (the
    oldest campaign's) and the shared emails, against the exports read now.

    The shared emails are in order of first appearance when the index was
    (re)built, ``rebuilt``; a write since may have shared an email whose first
    lead comes earlier, and only the set is compared.
    """
    by_email: dict[str, list[tuple[str, str]]] = {}
    by_id: dict[str, str] = {}
    for campaign in fake.campaigns():  # oldest first
        for row in fake.exported_leads(campaign["_id"]):
            if row.get("email"):
                by_email.setdefault(row["email"], []).append((campaign["_id"], row["_id"]))
            if row["_id"]:
                by_id.setdefault(row["_id"], campaign["_id"])
    for email, expected in by_email.items():
        found = [(entry["campaign"]["id"], entry["_id"]) for entry in fake.leads_by_email(email)]
        assert found == expected, email
    for lead_id, campaign_id in by_id.items():
        assert fake.lead(lead_id=lead_id)["campaignId"] == campaign_id, lead_id
    shared = [email for email, leads in by_email.items() if len(leads) > 1]
    if rebuilt:
        assert fake.shared_lead_emails() == shared
    else:
        assert sorted(fake.shared_lead_emails()) == sorted(shared)


async def test_lookups_follow_writes_and_added_campaigns(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    first, second, third = fake.campaign_ids[:3]
    assert_lookups_read_every_campaign(fake, rebuilt=True)  # the index is built
    leads = {cid: fake.campaign_leads(cid) for cid in (first, second, third)}
    taken = fake.exported_leads(third)[0]["email"]
    shared = fake.shared_lead_emails()[0]
    other = fake.exported_leads(first)[5]["email"]

    async def write(method: str, path: str, body: dict[str, str] | None = None) -> None:
        async with session.request(method, f"{fake.base_url}{path}", json=body) as response:
            assert response.status == 200, await response.text()

    # Writes on leads already indexed: a new email (another campaign's), a new
    # lead, a removed one, a paused one.
    await write("PATCH", f"/campaigns/{first}/leads/{leads[first][0]['_id']}", {"email": taken})
    await write("POST", f"/campaigns/{second}/leads/", {"email": shared, "firstName": "Ann"})
    await write("DELETE", f"/campaigns/{second}/leads/{leads[second][1]['_id']}?action=remove")
    await write("POST", f"/leads/pause/{leads[third][2]['_id']}")
    assert_lookups_read_every_campaign(fake, rebuilt=False)

    # A new campaign: a seeded lead's id and email again, case apart, a lead without email.
    fake.add_campaign(
        "cam_added",
        [
            {"_id": leads[third][3]["_id"], "email": shared.upper(), "state": "contacted"},
            {"_id": "lea_added1", "email": taken, "state": "hooked"},
            {"_id": "lea_added2", "state": "scanned"},
        ],
    )
    assert_lookups_read_every_campaign(fake, rebuilt=True)
    await write("PATCH", "/campaigns/cam_added/leads/lea_added2", {"email": other})
    await write("DELETE", "/campaigns/cam_added/leads/lea_added1?action=remove")
    await write("PATCH", f"/campaigns/{third}/leads/{leads[third][4]['_id']}", {"lastName": "Zed"})
    assert_lookups_read_every_campaign(fake, rebuilt=False)

    # A seeded campaign replaced, then the added one: their old leads are gone.
    fake.add_campaign(second, [{"_id": "lea_second", "email": taken, "state": "contacted"}])
    assert_lookups_read_every_campaign(fake, rebuilt=True)
    gone = await fetch(session, f"{fake.base_url}/leads", {"id": leads[second][2]["_id"]})
    assert (gone.status, gone.text) == (404, "Lead not found")
    fake.add_campaign("cam_added", [{"_id": "lea_again", "email": shared, "state": "paused"}])
    assert_lookups_read_every_campaign(fake, rebuilt=True)
    assert [entry["_id"] for entry in fake.leads_by_email(shared)][-1] == "lea_again"
