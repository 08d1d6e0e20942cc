"""``sync_account`` against the fake lemlist, into SQLite and into a real PostgreSQL.

Every test runs on both stores, and the fake keeps lemlist's rate limit of 20
requests per window. With SQLite the window is lemlist's 2 s, on virtual time
(looptime). PostgreSQL answers from another process, which virtual time would
not wait for (a timeout would fire at once): there, time is real and the
window is 0.2 s, for the fake and the client alike.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import pytest

from lemlist_async import LemlistClient, WindowRateLimiter
from lemlist_async._sync._ops import Batch, PutMeta, Snapshot
from lemlist_async.sync import (
    STREAMS,
    AccountMismatchError,
    StreamProgress,
    SyncError,
    sync_account,
)
from lemlist_async.testing import FakeLemlistServer

from ._sync_targets import Target, sqlite_target

pytestmark = pytest.mark.looptime

STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.looptime(False))]
#: The rate-limit window of the PostgreSQL tests, which run on real time.
REAL_WINDOW = 0.2


@pytest.fixture(params=STORES)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    if request.param == "sqlite":
        return sqlite_target(tmp_path)
    return Target("postgres", request.getfixturevalue("postgres_dsn"), window=REAL_WINDOW)


@pytest.fixture
def second(request: pytest.FixtureRequest, target: Target, tmp_path: Path) -> Target:
    """Another database of the same kind, for a run to compare with."""
    if target.kind == "sqlite":
        return sqlite_target(tmp_path, "other.db")
    return Target("postgres", request.getfixturevalue("postgres_dsn_2"), window=REAL_WINDOW)


def small_fake(target: Target, seed: int = 7, **options: Any) -> FakeLemlistServer:
    settings: dict[str, Any] = {
        "window": target.window,
        "seed": seed,
        "campaigns": 12,
        "leads_per_campaign": (0, 40),
        "activities": 2_500,
        "unsubscribes": 130,
        "hooks": 2,
    }
    settings.update(options)
    return FakeLemlistServer(**settings)


@pytest.fixture
async def fake(target: Target) -> AsyncIterator[FakeLemlistServer]:
    async with small_fake(target) as server:
        yield server


def client(fake: FakeLemlistServer, target: Target) -> LemlistClient:
    """A client of the fake, paced on the target's window."""
    limiter = WindowRateLimiter(20, target.window)
    return LemlistClient(fake.api_key, base_url=fake.base_url, rate_limit=limiter)


async def run(
    fake: FakeLemlistServer, target: Target, **options: Any
) -> tuple[Any, list[StreamProgress]]:
    progress: list[StreamProgress] = []
    async with (
        client(fake, target) as lemlist,
        target.store() as store,
    ):
        report = await sync_account(lemlist, store, on_progress=progress.append, **options)
    return report, progress


async def test_a_first_run_copies_every_stream_as_the_fake_serves_it(
    fake: FakeLemlistServer, target: Target
) -> None:
    report, progress = await run(fake, target)

    team = fake.team()
    leads = sum(len(fake.exported_leads(c)) for c in fake.campaign_ids)
    senders = sum(len(s.get("campaigns", [])) for s in fake.team_senders())
    expected = {
        "lemlist_team": 1,
        "lemlist_users": len(team["users"]),
        "lemlist_campaigns": len(fake.campaigns()),
        "lemlist_campaign_senders": senders,
        "lemlist_leads": leads,
        "lemlist_activities": len(fake.activities()),
        "lemlist_unsubscribes": len(fake.unsubscribes()),
        "lemlist_hooks": len(fake.hooks()),
    }
    assert {table: await target.count(table) for table in expected} == expected
    assert report.run_id == 1
    assert report.full
    assert not report.resumed
    assert [s.stream for s in report.streams] == list(STREAMS)
    assert all(s.done and s.deleted == 0 for s in report.streams)
    assert report.stream("leads").written == leads
    assert report.stream("activities").written == len(fake.activities())
    assert progress[-1].done
    finished = [p.stream for p in progress if p.done]
    assert sorted(finished) == sorted(STREAMS)  # Each stream finishes once.
    assert fake.count(429) == 0
    assert fake.max_arrivals_in_window() <= 20

    # Typed columns and raw JSON hold what lemlist sent.
    newest = fake.activities()[0]
    rows = await target.rows(
        "SELECT type, campaign_id, lead_id, raw FROM lemlist_activities"
        f" WHERE id = '{newest['_id']}'"
    )
    kind, campaign_id, lead_id, raw = rows[0]
    assert (kind, campaign_id, lead_id) == (
        newest["type"],
        newest.get("campaignId"),
        newest.get("leadId"),
    )
    assert json.loads(raw) == newest
    campaign = next(c for c in fake.campaign_ids if fake.exported_leads(c))
    lead = fake.exported_leads(campaign)[0]
    rows = await target.rows(
        "SELECT email, last_state, raw FROM lemlist_leads"
        f" WHERE campaign_id = '{campaign}' AND id = '{lead['_id']}'"
    )
    assert rows[0][:2] == (lead.get("email"), lead.get("lastState"))
    assert json.loads(rows[0][2]) == lead


async def test_the_key_and_the_team_s_secrets_are_never_stored(
    fake: FakeLemlistServer, target: Target
) -> None:
    await run(fake, target)

    team = fake.team()
    slack_url = team["slackWebhook"]["url"]
    everything = json.dumps(await target.dump(moments=True), default=str)
    assert fake.api_key not in everything
    assert slack_url not in everything
    (raw,) = (await target.rows("SELECT raw FROM lemlist_team"))[0]
    stored = json.loads(raw)
    assert "apiKey" not in stored
    assert "url" not in stored["slackWebhook"]
    assert stored["name"] == team["name"]


async def test_a_second_run_without_changes_sends_only_what_the_rules_need_and_writes_nothing(
    fake: FakeLemlistServer, target: Target
) -> None:
    await run(fake, target)
    before = await target.dump(moments=True)
    fake.reset_records()

    report, _ = await run(fake, target)

    after = await target.dump(moments=True)
    runs = after.pop("_lemlist_sync_runs")
    assert runs == [(1, "done"), (2, "done")]
    before.pop("_lemlist_sync_runs")
    # Only the watermark moved.
    frontier = ("activities", "frontier")
    assert [r for r in after["_lemlist_sync_state"] if r[:2] != frontier] == [
        r for r in before["_lemlist_sync_state"] if r[:2] != frontier
    ]
    after.pop("_lemlist_sync_state")
    before.pop("_lemlist_sync_state")
    assert after == before
    assert not report.full
    assert all(s.written == 0 and s.deleted == 0 for s in report.streams)
    paths = sorted(r.path.removeprefix("/api") for r in fake.requests)
    unsubscribes = len(fake.unsubscribes()) // 100 + 1
    expected = sorted(
        ["/team", "/team/senders", "/hooks", "/campaigns", "/activities"]
        + ["/v2/unsubscribes/variables"] * unsubscribes
    )
    assert paths == expected
    assert len(paths) == 5 + unsubscribes


async def test_changes_between_runs_arrive(fake: FakeLemlistServer, target: Target) -> None:
    # The fake dates its writes' activities after its newest one: one recent
    # activity makes them recent, as lemlist's would be.
    fake.add_activities(1, at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10))
    await run(fake, target)
    added = fake.add_activities(3, at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
    touched = {a.get("campaignId") for a in added}
    campaign, other = [
        c for c in fake.campaign_ids if len(fake.exported_leads(c)) >= 2 and c not in touched
    ][:2]
    interested, removed = fake.exported_leads(campaign)[:2]
    gone_quietly = fake.exported_leads(other)[0]
    async with client(fake, target) as lemlist:
        await lemlist.leads.set_interested(interested["_id"], True, campaign_id=campaign)
        await lemlist.leads.remove(campaign, removed["_id"], hard=True)
        await lemlist.leads.remove(other, gone_quietly["_id"], hard=True)
    fake.add_campaign("cam_added", [{"_id": "lea_added", "email": "new@example.test"}])

    report, _ = await run(fake, target)

    assert not report.full
    ids = [a["_id"] for a in added]
    found = await target.rows(
        f"SELECT id FROM lemlist_activities WHERE id IN ({', '.join(repr(i) for i in ids)})"
    )
    assert sorted(r[0] for r in found) == sorted(ids)
    assert await target.count("lemlist_activities") == len(fake.activities())
    state = await target.rows(
        "SELECT last_state, _deleted_at, _changed_at > _first_seen_at FROM lemlist_leads"
        f" WHERE id = '{interested['_id']}' AND campaign_id = '{campaign}'"
    )
    assert state[0][0] == "interested"
    assert state[0][1] is None
    assert state[0][2]
    deleted = await target.rows(
        f"SELECT _deleted_at FROM lemlist_leads WHERE id = '{removed['_id']}'"
    )
    assert deleted[0][0] is not None
    assert await target.count("lemlist_leads", "campaign_id = 'cam_added'") == 1
    assert await target.count("lemlist_campaigns", "id = 'cam_added'") == 1
    # A removal with no activity in its campaign waits for a full run.
    quiet = f"id = '{gone_quietly['_id']}' AND _deleted_at IS NOT NULL"
    assert await target.count("lemlist_leads", quiet) == 0

    report, _ = await run(fake, target, full=True)

    assert report.full
    assert await target.count("lemlist_leads", quiet) == 1
    assert report.stream("leads").deleted == 1
    live = await target.count("lemlist_leads", "_deleted_at IS NULL")
    assert live == sum(len(fake.exported_leads(c["_id"])) for c in fake.campaigns())


class Killed(BaseException):
    """The process dies: no ``except Exception`` sees it, as none sees SIGKILL."""


class Dying:
    """A store that dies at its ``at``-th batch, before or after committing it.

    With ``kill`` False, it only sets ``reached`` there.
    """

    def __init__(self, store: Any, at: int, *, committed: bool = True, kill: bool = True) -> None:
        self._store = store
        self._at = at
        self._committed = committed
        self._kill = kill
        self.batches = 0
        self.reached = asyncio.Event()

    async def snapshot(self) -> Snapshot:
        snapshot: Snapshot = await self._store.snapshot()
        return snapshot

    async def apply(self, batch: Batch) -> tuple[int, ...]:
        self.batches += 1
        # Batches overlap: this one's number is kept before its await.
        number = self.batches
        if number == self._at and self._kill and not self._committed:
            raise Killed
        written: tuple[int, ...] = await self._store.apply(batch)
        if number == self._at:
            self.reached.set()
            if self._kill:
                raise Killed
        return written


async def outcome(sync: Awaitable[object]) -> BaseException | None:
    """What a sync raised, whatever it was (a kill comes out of a task group in a group)."""
    try:
        await sync
    except BaseException as error:  # noqa: BLE001 - the test looks at it
        return error
    return None


def killed(error: BaseException | None) -> bool:
    if isinstance(error, BaseExceptionGroup):
        return any(killed(e) for e in error.exceptions)
    return isinstance(error, Killed)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_a_run_killed_at_random_points_then_resumed_ends_as_an_uninterrupted_one(
    fake: FakeLemlistServer, target: Target, second: Target, seed: int
) -> None:
    async with client(fake, second) as lemlist, second.store() as store:
        counting = Dying(store, 0)
        await sync_account(lemlist, counting)
    reference = await second.dump()
    rng = random.Random(seed)

    deaths = 0
    async with client(fake, target) as lemlist:
        for _ in range(4):
            async with target.store() as store:
                at = rng.randint(1, counting.batches)
                dying = Dying(store, at, committed=rng.random() < 0.5)
                error = await outcome(sync_account(lemlist, dying))
                if error is None:
                    break
                assert killed(error), error
                deaths += 1
        else:
            async with target.store() as store:
                report = await sync_account(lemlist, store)
            assert report.resumed

    assert deaths >= 1
    assert await target.dump() == reference


async def test_a_cancelled_run_stops_promptly_and_the_next_one_resumes_it(
    fake: FakeLemlistServer, target: Target, second: Target
) -> None:
    await run(fake, second)
    async with client(fake, target) as lemlist:
        async with target.store() as store:
            watching = Dying(store, 12, kill=False)
            task = asyncio.create_task(sync_account(lemlist, watching))
            await watching.reached.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        async with target.store() as store:
            report = await sync_account(lemlist, store)
    assert report.resumed
    assert await target.dump() == await second.dump()


async def test_a_key_of_another_team_is_refused_before_anything_is_written(
    fake: FakeLemlistServer, target: Target
) -> None:
    await run(fake, target)
    before = await target.dump(moments=True)
    async with small_fake(target, seed=8) as stranger:
        stranger_team = stranger.team()["_id"]
        with pytest.raises(AccountMismatchError) as info:
            await run(stranger, target)
        assert [r.path for r in stranger.requests] == ["/api/team"]
    assert info.value.expected == fake.team()["_id"]
    assert info.value.actual == stranger_team
    assert "another database" in str(info.value)
    assert await target.dump(moments=True) == before


async def test_only_the_chosen_streams_are_copied(fake: FakeLemlistServer, target: Target) -> None:
    report, _ = await run(fake, target, streams=["campaigns", "hooks"])

    assert [s.stream for s in report.streams] == ["campaigns", "hooks"]
    assert await target.count("lemlist_campaigns") == len(fake.campaigns())
    assert await target.count("lemlist_activities") == 0
    assert await target.count("lemlist_team") == 0
    assert sorted({r.path for r in fake.requests}) == ["/api/campaigns", "/api/hooks", "/api/team"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"streams": ["campaigns", "deals"]}, "unknown streams"),
        ({"streams": []}, "at least one"),
        ({"concurrency": 0}, "concurrency"),
        ({"overlap": dt.timedelta(seconds=-1)}, "overlap"),
    ],
)
async def test_bad_arguments_are_refused_before_any_request(
    fake: FakeLemlistServer, target: Target, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await run(fake, target, **options)
    assert fake.requests == []


async def test_a_database_of_a_newer_schema_is_refused(
    fake: FakeLemlistServer, target: Target
) -> None:
    await run(fake, target)
    async with target.store() as store:
        await store.apply(Batch((PutMeta("schema_version", "99"),), dt.datetime.now(dt.UTC)))
    with pytest.raises(SyncError, match="upgrade lemlist-async"):
        async with target.store():
            pass
