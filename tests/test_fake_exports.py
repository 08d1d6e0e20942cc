"""``GET /api/campaigns/{campaignId}/export/leads`` on the fake, on the wire."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import aiohttp
import pytest

from lemlist_async.testing import FakeLemlistServer

from .test_fake_server import auth, fetch

#: The spec's CSV example header, before the custom variables and after them.
CSV_HEAD = [
    "emailStatus",
    "email",
    "firstName",
    "lastName",
    "picture",
    "phone",
    "linkedinUrl",
    "timezone",
    "companyName",
    "companyDomain",
    "icebreaker",
]
CSV_TAIL = ["lastState", "status", "_id"]


@pytest.fixture
async def fake() -> AsyncIterator[FakeLemlistServer]:
    async with FakeLemlistServer(
        seed=31, campaigns=3, leads_per_campaign=(200, 400), custom_variables=(3, 10)
    ) as server:
        yield server


@pytest.fixture
async def session(fake: FakeLemlistServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers=auth(fake.api_key)) as client_session:
        yield client_session


def export_url(fake: FakeLemlistServer, campaign_id: str) -> str:
    return f"{fake.base_url}/campaigns/{campaign_id}/export/leads"


async def test_the_default_is_csv_with_the_spec_header(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    campaign_id = fake.campaign_ids[0]
    answer = await fetch(session, export_url(fake, campaign_id))
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(answer.text, newline="")))
    variables = fake.custom_variables(campaign_id)
    assert rows[0] == [*CSV_HEAD, *variables, *CSV_TAIL]
    exported = fake.exported_leads(campaign_id)
    assert len(rows) == 1 + len(exported)
    for row, lead in zip(rows[1:], exported, strict=True):
        assert row == [str(lead[name]) for name in rows[0]]


async def test_csv_quotes_what_needs_it(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    answer = await fetch(session, export_url(fake, fake.campaign_ids[0]), {"format": "csv"})
    parsed = list(csv.DictReader(io.StringIO(answer.text, newline="")))
    values = {value for row in parsed for value in row.values()}
    # Seeded custom values include a comma, quotes and a line break.
    assert 'Paris, "Rive Gauche"' in values
    assert "multi\nline" in values


async def test_json_is_the_leads_of_get_campaign_leads_with_their_fields(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    for campaign_id in fake.campaign_ids:
        answer = await fetch(session, export_url(fake, campaign_id), {"format": "json"})
        assert answer.headers["Content-Type"] == "application/json; charset=utf-8"
        exported = answer.json()
        assert exported == fake.exported_leads(campaign_id)
        leads_url = f"{fake.base_url}/campaigns/{campaign_id}/leads/"
        newest_first = (await fetch(session, leads_url, {"limit": "500"})).json()
        assert [lead["_id"] for lead in exported] == [lead["_id"] for lead in newest_first][::-1]
        assert [lead["lastState"] for lead in exported][::-1] == [
            lead["state"] for lead in newest_first
        ]
        variables = fake.custom_variables(campaign_id)
        assert all(set(variables) <= set(lead) for lead in exported)
        assert all("jobTitle" in lead for lead in exported)


@pytest.mark.parametrize("state", ["contacted", "interested,hooked,emailsSent"])
async def test_state_filters_by_a_comma_separated_list(
    fake: FakeLemlistServer, session: aiohttp.ClientSession, state: str
) -> None:
    campaign_id = fake.campaign_ids[1]
    params = {"format": "json", "state": state}
    exported = (await fetch(session, export_url(fake, campaign_id), params)).json()
    wanted = set(state.split(","))
    expected = [row for row in fake.exported_leads(campaign_id) if row["lastState"] in wanted]
    assert exported == expected
    assert exported


async def test_state_all_is_every_lead(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    campaign_id = fake.campaign_ids[1]
    params = {"format": "json", "state": "all"}
    exported = (await fetch(session, export_url(fake, campaign_id), params)).json()
    assert exported == fake.exported_leads(campaign_id)


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"state": "contacted,asleep"}, "Bad params (invalid state parameter)"),
        ({"state": ""}, "Bad params (invalid state parameter)"),
        ({"format": "xml"}, "Bad params (invalid format parameter)"),
    ],
)
async def test_bad_params_are_a_400(
    fake: FakeLemlistServer,
    session: aiohttp.ClientSession,
    params: dict[str, str],
    text: str,
) -> None:
    answer = await fetch(session, export_url(fake, fake.campaign_ids[0]), params)
    assert (answer.status, answer.text) == (400, text)


async def test_an_unknown_campaign_is_a_404(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    answer = await fetch(session, export_url(fake, "cam_missing"))
    assert (answer.status, answer.text) == (404, "Campaign not found")


async def test_an_empty_campaign_exports_a_header_or_an_empty_array(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    fake.add_campaign("cam_EMPTY", [])
    csv_answer = await fetch(session, export_url(fake, "cam_EMPTY"))
    assert csv_answer.text == ",".join([*CSV_HEAD, *CSV_TAIL]) + "\n"
    json_answer = await fetch(session, export_url(fake, "cam_EMPTY"), {"format": "json"})
    assert json_answer.json() == []


async def test_a_big_export_is_streamed_in_chunks() -> None:
    async with (
        FakeLemlistServer(
            seed=32, campaigns=1, leads_per_campaign=20_000, custom_variables=10
        ) as fake,
        aiohttp.ClientSession(headers=auth(fake.api_key)) as session,
        session.get(export_url(fake, fake.campaign_ids[0])) as response,
    ):
        assert response.headers["Transfer-Encoding"] == "chunked"
        lines = 0
        async for _line in response.content:
            lines += 1
    # 20,000 rows and a header; values with a line break add lines, never remove any.
    assert lines >= 20_001
    assert fake.requests[-1].status == 200
