"""client.campaigns against the coherent FakeLemlistServer: the SDK and the fake agree.

The fake's bounds and shapes come from lemlist's documentation, not from the
SDK, so each test here checks the SDK against an independent reading of it.
"""

from __future__ import annotations

import datetime as dt

import pytest

from lemlist_async import (
    Campaign,
    CampaignStatus,
    ExportedLead,
    LemlistClient,
    LemlistError,
    NotFoundError,
    converter,
)
from lemlist_async.testing import FakeLemlistServer, RecordedRequest

pytestmark = pytest.mark.looptime

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
END = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def campaign_gets(fake: FakeLemlistServer) -> list[RecordedRequest]:
    return [r for r in fake.requests if r.path == "/api/campaigns"]


@pytest.mark.parametrize("shape", ["envelope", "array"])
@pytest.mark.parametrize("prefetch", [1, 5])
async def test_list_reads_every_campaign_of_either_shape(shape: str, prefetch: int) -> None:
    async with FakeLemlistServer(
        seed=3,
        campaigns=230,
        leads_per_campaign=1,
        campaigns_shape=shape,  # type: ignore[arg-type]
    ) as fake:
        async with LemlistClient(fake.api_key, base_url=fake.base_url) as client:
            found = await client.campaigns.list(prefetch=prefetch).collect()
        assert found == converter.structure(fake.campaigns(), list[Campaign])
        offsets = sorted(int(r.query["offset"]) for r in campaign_gets(fake))
        assert offsets == [0, 100, 200]
        assert fake.count(429) == 0
        assert all("page" not in r.query for r in campaign_gets(fake))


async def test_list_filters_by_status() -> None:
    async with FakeLemlistServer(seed=4, campaigns=60, leads_per_campaign=1) as fake:
        async with LemlistClient(fake.api_key, base_url=fake.base_url) as client:
            paused = [c async for c in client.campaigns.list(status=CampaignStatus.PAUSED)]
        expected = [c["_id"] for c in fake.campaigns() if c["status"] == "paused"]
        assert expected
        assert [c.id for c in paused] == expected


async def test_get_export_and_stream_agree_with_the_fakes_data() -> None:
    async with FakeLemlistServer(
        seed=5, campaigns=3, leads_per_campaign=40, custom_variables=4
    ) as fake:
        cid = fake.campaign_ids[1]
        async with LemlistClient(fake.api_key, base_url=fake.base_url) as client:
            campaign = await client.campaigns.get(cid)
            exported = await client.campaigns.export_leads(cid)
            streamed = [lead async for lead in client.campaigns.iter_export_leads(cid)]
            with pytest.raises(NotFoundError):
                await client.campaigns.get("cam_missing")
        assert campaign == converter.structure(fake.campaign(cid), Campaign)
        assert exported == streamed
        assert exported == converter.structure(fake.exported_leads(cid), list[ExportedLead])
        names = fake.custom_variables(cid)
        assert names
        assert all(set(lead.variables) == set(names) for lead in exported)
        # The export's leads are the campaign's leads.
        assert {lead.id for lead in exported} == {lead["_id"] for lead in fake.campaign_leads(cid)}


async def test_stats_and_the_batch_agree_and_keep_failures() -> None:
    async with FakeLemlistServer(seed=6, campaigns=3, leads_per_campaign=25) as fake:
        ids = fake.campaign_ids
        async with LemlistClient(fake.api_key, base_url=fake.base_url) as client:
            one = await client.campaigns.stats(ids[0], start=START, end=END)
            batch = await client.campaigns.stats_many([*ids, "cam_unknown"], start=START, end=END)
            reports = await client.campaigns.reports(ids)
        assert one.nb_leads == 25
        assert batch.results[ids[0]] == one
        assert set(batch.results) == set(ids)
        assert set(batch.errors) == {"cam_unknown"}
        assert isinstance(batch.errors["cam_unknown"], LemlistError)
        assert [r.id for r in reports] == ids
        assert all(r.total_count == 25 for r in reports)
