"""The fake's seeded data model: team, users, campaigns, leads, custom variables.

Read through the fake's public methods; the routes that serve the same data are
tested in the other ``test_fake_*`` files.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime

import pytest

from lemlist_async.testing import FakeLemlistServer

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
STATUSES = {"running", "draft", "archived", "ended", "paused", "errors"}
EXPORT_KEYS = (
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
    "jobTitle",
)


def test_old_seeds_keep_their_key_ids_and_leads() -> None:
    # Values of the fake before the data model grew: new fields come from
    # generators of their own, so these never change.
    fake = FakeLemlistServer(seed=7, campaigns=3, leads_per_campaign=(550, 600))
    assert fake.api_key == "6513270e269e0d37f2a74de452e6b438"
    assert fake.campaign_ids == [
        "cam_eHwdFcAefAZhnM6Jy",
        "cam_1rihtYlKNxHddmQAt",
        "cam_wplWfsEvBLeFkv5A7",
    ]
    digests = [
        hashlib.sha256(json.dumps(fake.campaign_leads(cid)).encode()).hexdigest()[:16]
        for cid in fake.campaign_ids
    ]
    assert digests == ["00429431b05e22b2", "aff54404221a5c66", "204659eb2a75fb4b"]


def test_the_team_has_two_or_three_users() -> None:
    team = FakeLemlistServer(seed=3).team()
    assert team["_id"].startswith("tea_")
    assert team["name"]
    assert 2 <= len(team["users"]) <= 3
    assert team["userIds"] == [user["userId"] for user in team["users"]]
    assert team["createdBy"] == team["userIds"][0]
    assert ISO_Z.match(team["createdAt"])
    for user in team["users"]:
        assert user["userId"].startswith("usr_")
        assert user["name"]
        assert re.match(r"^[a-z]+@[a-z]+\.example$", user["email"])
        assert user["role"] in {"admin", "member"}
    assert "apiKey" not in team


def test_campaigns_belong_to_the_team_in_creation_order() -> None:
    fake = FakeLemlistServer(seed=4, campaigns=60, leads_per_campaign=0)
    team = fake.team()
    campaigns = fake.campaigns()
    assert [c["_id"] for c in campaigns] == fake.campaign_ids
    created = [c["createdAt"] for c in campaigns]
    assert all(ISO_Z.match(moment) for moment in created)
    assert created == sorted(created)
    assert len(set(created)) == len(created)
    assert {c["status"] for c in campaigns} == STATUSES  # a seeded mix of all six
    for campaign in campaigns:
        assert campaign == fake.campaign(campaign["_id"])
        assert campaign["name"]
        assert campaign["teamId"] == team["_id"]
        assert campaign["createdBy"] in team["userIds"]
        assert campaign["creator"]["userId"] == campaign["createdBy"]
        assert {s["id"] for s in campaign["senders"]} <= set(team["userIds"])
        assert campaign["hasError"] == ("errors" in campaign)
        if campaign["status"] == "errors":
            assert campaign["hasError"]
    # "a campaign can be in multiple statuses at one time (e.g., a paused campaign with errors)"
    assert any(c["hasError"] and c["status"] != "errors" for c in campaigns)


@pytest.mark.parametrize(("option", "low", "high"), [(0, 0, 0), (10, 10, 10), ((2, 4), 2, 4)])
def test_custom_variables_per_campaign(option: int | tuple[int, int], low: int, high: int) -> None:
    fake = FakeLemlistServer(seed=5, campaigns=8, leads_per_campaign=3, custom_variables=option)
    for campaign_id in fake.campaign_ids:
        names = fake.custom_variables(campaign_id)
        assert low <= len(names) <= high
        assert len(set(names)) == len(names)
        assert not set(names) & {*EXPORT_KEYS, "lastState", "status", "_id"}
        for lead in fake.exported_leads(campaign_id):
            assert all(isinstance(lead[name], str) for name in names)


def test_more_custom_variables_than_the_named_ones() -> None:
    fake = FakeLemlistServer(seed=5, campaigns=1, leads_per_campaign=1, custom_variables=12)
    names = fake.custom_variables(fake.campaign_ids[0])
    assert len(names) == len(set(names)) == 12


def test_exported_leads_are_the_campaign_leads_with_profiles() -> None:
    fake = FakeLemlistServer(seed=6, campaigns=2, leads_per_campaign=40)
    for campaign_id in fake.campaign_ids:
        leads = fake.campaign_leads(campaign_id)
        exported = fake.exported_leads(campaign_id)
        assert [row["_id"] for row in exported] == [lead["_id"] for lead in leads]
        assert [row["lastState"] for row in exported] == [lead["state"] for lead in leads]
        names = fake.custom_variables(campaign_id)
        for row in exported:
            assert list(row) == [*EXPORT_KEYS, *names, "lastState", "status", "_id"]
            assert row["emailStatus"] in {"deliverable", "risky", "undeliverable"}
            assert re.match(r"^[a-z]+\.[a-z]+\d+@example\.[a-z]+$", row["email"])
            assert row["email"].endswith("@" + row["companyDomain"])
        assert len({row["email"] for row in exported}) == len(exported)


def test_the_data_does_not_depend_on_the_order_of_reading() -> None:
    first = FakeLemlistServer(seed=8, campaigns=3, leads_per_campaign=(1, 30))
    second = FakeLemlistServer(seed=8, campaigns=3, leads_per_campaign=(1, 30))
    forward = [first.exported_leads(cid) for cid in first.campaign_ids]
    backward = [second.exported_leads(cid) for cid in reversed(second.campaign_ids)]
    assert forward == backward[::-1]
    assert first.campaigns() == second.campaigns()
    assert first.team() == second.team()


def test_thousands_of_campaigns_cost_nothing_until_read() -> None:
    # Eager generation of 2,000 x 100,000 leads would not finish in the test's timeout.
    fake = FakeLemlistServer(seed=9, campaigns=2000, leads_per_campaign=100_000)
    assert len(fake.campaign_ids) == 2000
    assert fake.campaign(fake.campaign_ids[-1])["_id"] == fake.campaign_ids[-1]


def test_an_added_campaign_comes_last_and_keeps_the_leads_fields() -> None:
    fake = FakeLemlistServer(seed=10, campaigns=2, leads_per_campaign=1)
    fake.add_campaign(
        "cam_MINE",
        [{"_id": "lea_1", "contactId": "ctc_1", "state": "interested", "email": "me@example.com"}],
    )
    campaigns = fake.campaigns()
    assert campaigns[-1]["_id"] == "cam_MINE"
    assert campaigns[-1]["createdAt"] > campaigns[-2]["createdAt"]
    assert fake.campaign_ids == [c["_id"] for c in campaigns[:2]]  # seeded ones only
    assert fake.custom_variables("cam_MINE") == []
    [row] = fake.exported_leads("cam_MINE")
    assert (row["_id"], row["email"], row["lastState"], row["status"]) == (
        "lea_1",
        "me@example.com",
        "interested",
        "interested",
    )


def test_replacing_a_seeded_campaign_keeps_its_details() -> None:
    fake = FakeLemlistServer(seed=10, campaigns=2, leads_per_campaign=1)
    campaign_id = fake.campaign_ids[0]
    before = fake.campaign(campaign_id)
    fake.add_campaign(campaign_id, [])
    assert fake.campaign(campaign_id) == before
    assert fake.campaigns()[0]["_id"] == campaign_id
    assert fake.exported_leads(campaign_id) == []


def test_stats_follow_the_leads() -> None:
    fake = FakeLemlistServer(seed=11, campaigns=4, leads_per_campaign=(0, 80))
    for campaign_id in fake.campaign_ids:
        leads = fake.campaign_leads(campaign_id)
        stats = fake.campaign_stats(campaign_id)
        states = [lead["state"] for lead in leads]
        assert stats["nbLeads"] == len(leads)
        assert stats["nbLeadsUnsubscribed"] == states.count("emailsUnsubscribed")
        assert stats["nbLeadsInterrupted"] == states.count("paused")
        assert stats["meetingBooked"] == states.count("meetingBooked")
        assert stats["nbLeadsLaunched"] == len(leads) - sum(
            state in {"imported", "scanned", "skipped", "reviewed"} for state in states
        )
        assert (
            stats["nbLeads"]
            >= stats["nbLeadsLaunched"]
            >= stats["nbLeadsReached"]
            >= stats["nbLeadsOpened"]
            >= stats["nbLeadsInteracted"]
            >= stats["nbLeadsAnswered"]
            >= stats["nbLeadsInterested"]
        )
        assert 1 <= len(stats["steps"]) <= 4
        for step in stats["steps"]:
            assert step["delivered"] == step["sent"] - step["bounced"] - step["notDelivered"]
        assert stats["messagesSent"] == sum(step["sent"] for step in stats["steps"])


def test_bad_data_options_are_refused() -> None:
    with pytest.raises(ValueError, match="custom_variables"):
        FakeLemlistServer(custom_variables=-1)
    with pytest.raises(ValueError, match="campaigns_shape"):
        FakeLemlistServer(campaigns_shape="list")  # type: ignore[arg-type]


def test_created_at_is_a_parsable_utc_instant() -> None:
    campaign = FakeLemlistServer(seed=1, campaigns=1).campaigns()[0]
    moment = datetime.fromisoformat(campaign["createdAt"])
    assert moment.utcoffset() is not None
    assert moment.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
