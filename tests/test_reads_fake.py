"""The other reads against the coherent FakeLemlistServer: the SDK and the fake agree."""

from __future__ import annotations

import asyncio

import pytest

from lemlist_async import (
    Activity,
    LeadInCampaign,
    LemlistClient,
    Sender,
    Team,
    TeamCredits,
    Unsubscribe,
    Webhook,
    converter,
)
from lemlist_async.testing import FakeLemlistServer

pytestmark = pytest.mark.looptime


async def test_leads_found_by_email_are_the_fakes() -> None:
    async with FakeLemlistServer(seed=41, campaigns=8, leads_per_campaign=(5, 20)) as fake:
        email = fake.shared_lead_emails()[0]
        async with LemlistClient(fake.api_key, base_url=fake.base_url) as client:
            found = await client.leads.find(email)
            by_email = await client.leads.get(email=email)
            by_id = await client.leads.get(lead_id=by_email.id)
            nobody = await client.leads.find("nobody@nowhere.test")
        assert len(found) >= 2
        assert found == converter.structure(fake.leads_by_email(email), list[LeadInCampaign])
        assert by_email == by_id
        assert by_email.email == email
        assert nobody == []


async def test_activities_walk_loses_and_repeats_nothing_while_new_ones_arrive() -> None:
    async with FakeLemlistServer(seed=42, campaigns=5, activities=1000, latency=0.02) as fake:
        before = converter.structure(fake.activities(), list[Activity])
        async with LemlistClient(fake.api_key, base_url=fake.base_url) as client:
            seen: list[Activity] = []
            async for activity in client.activities.list():
                seen.append(activity)
                if len(seen) % 100 == 1:  # New activities land during the walk.
                    fake.add_activities(7)
                    await asyncio.sleep(0)
        assert len(fake.activities()) > len(before)
        assert [a.id for a in seen] == [a.id for a in before]
        assert len({a.id for a in seen}) == len(seen)


async def test_a_pinned_walk_resumes_at_a_saved_offset() -> None:
    async with FakeLemlistServer(seed=44, campaigns=5, activities=450) as fake:
        feed = converter.structure(fake.activities(), list[Activity])
        until = max(a.created_at for a in feed if a.created_at is not None)
        async with LemlistClient(fake.api_key, base_url=fake.base_url) as client:
            pages = [page async for page in client.activities.list(until=until).pages()]
            resumed = [
                page async for page in client.activities.list(until=until, start=200).pages()
            ]
        assert [page.offset for page in pages] == [0, 100, 200, 300, 400]
        assert [page.offset for page in resumed] == [200, 300, 400]
        assert [a for page in resumed for a in page.items] == feed[200:]
        with pytest.raises(ValueError, match="start"):
            client.activities.list(start=-1)


async def test_team_credits_senders_hooks_unsubscribes_are_the_fakes() -> None:
    async with FakeLemlistServer(seed=43, campaigns=6, hooks=3, unsubscribes=130) as fake:
        async with LemlistClient(fake.api_key, base_url=fake.base_url) as client:
            team = await client.team.get()
            credits = await client.team.credits()
            senders = await client.team.senders()
            hooks = await client.hooks.list()
            unsubscribed = await client.unsubscribes.list().collect()
        assert team == converter.structure(fake.team(), Team)
        assert team.slack_webhook is not None
        assert team.slack_webhook.url is not None
        assert team.slack_webhook.url not in repr(team)
        assert credits == converter.structure(fake.team_credits(), TeamCredits)
        assert senders == converter.structure(fake.team_senders(), list[Sender])
        assert hooks == converter.structure(fake.hooks(), list[Webhook])
        assert unsubscribed == converter.structure(fake.unsubscribes(), list[Unsubscribe])
        assert len(unsubscribed) == 130
