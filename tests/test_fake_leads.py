"""``GET /api/leads/{email}`` and ``GET /api/leads`` on the fake, on the wire."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

import aiohttp
import pytest
from yarl import URL

from lemlist_async.testing import FakeLemlistServer

from .test_fake_server import Answer, auth, fetch
from .test_fake_spec import assert_matches_spec


@pytest.fixture
async def fake() -> AsyncIterator[FakeLemlistServer]:
    async with FakeLemlistServer(seed=41, campaigns=5, leads_per_campaign=(20, 60)) as server:
        yield server


@pytest.fixture
async def session(fake: FakeLemlistServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers=auth(fake.api_key)) as client_session:
        yield client_session


async def by_email(
    fake: FakeLemlistServer, session: aiohttp.ClientSession, email: str, **params: str
) -> Answer:
    """GET /leads/{email}, the email percent-encoded as one path segment."""
    raw_path = "/api/leads/" + quote(email, safe="")
    url = URL(fake.base_url, encoded=True).with_path(raw_path, encoded=True)
    return await fetch(session, url, params)


async def test_an_email_in_several_campaigns_has_one_entry_per_campaign(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    shared = fake.shared_lead_emails()
    assert shared  # the seeded data puts some people in 2+ campaigns
    for email in shared:
        answer = await by_email(fake, session, email, version="v2")
        assert answer.status == 200
        entries = answer.json()
        assert entries == fake.leads_by_email(email)
        assert len(entries) >= 2
        assert_matches_spec(entries, "/leads/{email}")
        campaign_ids = [entry["campaign"]["id"] for entry in entries]
        assert campaign_ids == [c for c in fake.campaign_ids if c in campaign_ids]  # in order
        for entry in entries:
            campaign_id = entry["campaign"]["id"]
            [exported] = [r for r in fake.exported_leads(campaign_id) if r["_id"] == entry["_id"]]
            [lead] = [r for r in fake.campaign_leads(campaign_id) if r["_id"] == entry["_id"]]
            assert exported["email"] == entry["variables"]["email"] == email
            assert entry["state"] == lead["state"] == exported["lastState"]
            assert entry["status"] == exported["status"]
            assert entry["contactId"] == lead["contactId"]
            assert entry["enrichment"] == {"emailStatus": exported["emailStatus"]}
            assert entry["isPaused"] == (lead["state"] == "paused")
            campaign = fake.campaign(campaign_id)
            assert entry["campaign"] == {
                "id": campaign_id,
                "name": campaign["name"],
                "status": campaign["status"],
            }
            for name in fake.custom_variables(campaign_id):
                assert entry["variables"][name] == exported[name]


async def test_every_exported_email_is_found(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    campaign_id = fake.campaign_ids[0]
    for row in fake.exported_leads(campaign_id)[:10]:
        entries = (await by_email(fake, session, row["email"])).json()
        assert row["_id"] in [entry["_id"] for entry in entries]


async def test_an_unknown_email_is_not_found(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    answer = await by_email(fake, session, "nobody@example.com")
    assert (answer.status, answer.text) == (404, "Lead not found")
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert fake.leads_by_email("nobody@example.com") == []


@pytest.mark.parametrize(
    "email",
    [
        "jane+tag@example.com",  # + must stay a plus, not become a space
        "100%real@example.com",
        "a/b@example.com",  # %2F: one segment, not two
        "chloé.dübois@exämple.fr",
        "o'hara&co=1?x#y@example.com",
    ],
)
async def test_the_email_is_one_percent_encoded_segment(
    fake: FakeLemlistServer, session: aiohttp.ClientSession, email: str
) -> None:
    lead = {"_id": "lea_ENCODED", "contactId": "ctc_ENCODED", "state": "contacted"}
    fake.add_campaign("cam_ENCODED", [{**lead, "email": email}])
    answer = await by_email(fake, session, email)
    assert answer.status == 200, answer.text
    [entry] = answer.json()
    assert (entry["_id"], entry["variables"]["email"]) == ("lea_ENCODED", email)
    assert fake.requests[-1].path == f"/api/leads/{email}"
    assert fake.requests[-1].raw_path == "/api/leads/" + quote(email, safe="")


async def test_a_plus_sent_as_is_is_a_plus(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    fake.add_campaign("cam_PLUS", [{"_id": "lea_PLUS", "state": "contacted", "email": "a+b@x.io"}])
    url = URL(fake.base_url, encoded=True).with_path("/api/leads/a+b@x.io", encoded=True)
    answer = await fetch(session, url)
    assert answer.status == 200
    assert answer.json()[0]["_id"] == "lea_PLUS"


async def test_an_added_campaign_is_found_and_replaces_its_old_leads(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    assert (await by_email(fake, session, "new@example.com")).status == 404
    fake.add_campaign(
        "cam_NEW", [{"_id": "lea_NEW", "state": "paused", "email": "new@example.com"}]
    )
    [entry] = (await by_email(fake, session, "new@example.com")).json()
    assert entry["isPaused"] is True
    # A launched lead names its campaign's first sender; one not launched, nobody.
    assert entry["sendingUser"]["id"] == fake.campaign("cam_NEW")["senders"][0]["id"]
    fake.add_campaign("cam_NEW", [{"_id": "lea_NEW", "state": "scanned", "email": "new@x.io"}])
    [entry] = (await by_email(fake, session, "new@x.io")).json()
    assert entry["sendingUser"] == {}
    fake.add_campaign("cam_NEW", [])
    assert (await by_email(fake, session, "new@example.com")).status == 404


async def test_version_must_be_v2(fake: FakeLemlistServer, session: aiohttp.ClientSession) -> None:
    email = fake.shared_lead_emails()[0]
    answer = await by_email(fake, session, email, version="v1")
    assert (answer.status, answer.text) == (400, "Bad params (invalid version parameter)")
    answer = await fetch(session, f"{fake.base_url}/leads", {"email": email, "version": "v3"})
    assert (answer.status, answer.text) == (400, "Bad params (invalid version parameter)")


# -- GET /leads?email=|id= -----------------------------------------------------------


async def test_one_lead_by_email_or_by_id(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    email = fake.shared_lead_emails()[0]
    oldest = fake.leads_by_email(email)[0]
    url = f"{fake.base_url}/leads"
    by_mail = (await fetch(session, url, {"email": email, "version": "v2"})).json()
    assert by_mail == fake.lead(email=email)
    assert_matches_spec(by_mail, "/leads")
    assert by_mail["_id"] == oldest["_id"]  # the oldest campaign's
    assert by_mail["campaignId"] == oldest["campaign"]["id"]
    assert by_mail["contactId"] == oldest["contactId"]
    assert by_mail["emailStatus"] == oldest["enrichment"]["emailStatus"]
    assert by_mail["email"] == email
    assert set(by_mail) == {
        "email", "firstName", "lastName", "companyName", "jobTitle", "companyDomain",
        "_id", "isPaused", "campaignId", "contactId", "emailStatus",
    }  # fmt: skip

    second = fake.leads_by_email(email)[1]
    by_id = (await fetch(session, url, {"id": second["_id"]})).json()
    assert by_id == fake.lead(lead_id=second["_id"])
    assert (by_id["_id"], by_id["campaignId"]) == (second["_id"], second["campaign"]["id"])


@pytest.mark.parametrize(
    ("params", "body"),
    [
        ({}, "Bad params (missing email or id parameter)"),
        ({"email": "", "id": ""}, "Bad params (missing email or id parameter)"),
        ({"version": "v2"}, "Bad params (missing email or id parameter)"),
        ({"email": "a@b.co", "id": "lea_1"}, "Bad params (email and id cannot be combined)"),
    ],
)
async def test_exactly_one_of_email_and_id(
    fake: FakeLemlistServer, session: aiohttp.ClientSession, params: dict[str, str], body: str
) -> None:
    answer = await fetch(session, f"{fake.base_url}/leads", params)
    assert (answer.status, answer.text) == (400, body)


@pytest.mark.parametrize("params", [{"email": "nobody@example.com"}, {"id": "lea_NOPE"}])
async def test_an_unknown_lead_is_not_found(
    fake: FakeLemlistServer, session: aiohttp.ClientSession, params: dict[str, str]
) -> None:
    answer = await fetch(session, f"{fake.base_url}/leads", params)
    assert (answer.status, answer.text) == (404, "Lead not found")


def test_lead_takes_exactly_one_key() -> None:
    fake = FakeLemlistServer(seed=41, campaigns=1, leads_per_campaign=1)
    with pytest.raises(ValueError, match="exactly one"):
        fake.lead()
    with pytest.raises(ValueError, match="exactly one"):
        fake.lead(email="a@b.co", lead_id="lea_1")
    with pytest.raises(KeyError):
        fake.lead(lead_id="lea_NOPE")


def test_shared_people_are_stable_and_never_collide_with_drawn_emails() -> None:
    first = FakeLemlistServer(seed=42, campaigns=8, leads_per_campaign=(0, 80))
    second = FakeLemlistServer(seed=42, campaigns=8, leads_per_campaign=(0, 80))
    shared = first.shared_lead_emails()
    assert shared == second.shared_lead_emails()
    assert len(shared) >= 2
    for email in shared:
        # A shared person's number has a leading zero; a drawn lead's never does.
        assert email.split("@")[0].rstrip("0123456789") != email.split("@")[0]
        assert [e["_id"] for e in first.leads_by_email(email)] == [
            e["_id"] for e in second.leads_by_email(email)
        ]
    for campaign_id in first.campaign_ids:
        emails = [row["email"] for row in first.exported_leads(campaign_id)]
        assert len(set(emails)) == len(emails)
