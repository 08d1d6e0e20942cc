"""Fan-out across many campaigns, against real servers on loopback, on virtual time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from aiohttp import web

from lemlist_async import (
    CampaignLeads,
    FanOutError,
    InvalidCampaignIdError,
    Lead,
    LemlistClient,
    LemlistError,
    NotFoundError,
    ResponseValidationError,
    ServerError,
    WindowRateLimiter,
    fan_out,
)
from lemlist_async.testing import FakeLemlistServer

from .conftest import ScriptedServer

pytestmark = pytest.mark.looptime


def client_tasks() -> set[asyncio.Task[object]]:
    # The servers' per-connection handlers live in the same loop; leave them out.
    return {
        t
        for t in asyncio.all_tasks()
        if not getattr(t.get_coro(), "__qualname__", "").startswith("RequestHandler.")
    }


def connections_in_use(client: LemlistClient) -> int:
    session = client._shared.own_session
    if session is None:  # Nothing was ever sent.
        return 0
    connector = session.connector
    assert isinstance(connector, aiohttp.TCPConnector)
    return len(connector._acquired)


@pytest.fixture
async def fake() -> AsyncIterator[FakeLemlistServer]:
    async with FakeLemlistServer(seed=11, campaigns=60, leads_per_campaign=(1, 5)) as server:
        yield server


@pytest.fixture
async def client(fake: FakeLemlistServer) -> AsyncIterator[LemlistClient]:
    async with LemlistClient(fake.api_key, base_url=fake.base_url, max_retries=2) as c:
        yield c


@pytest.fixture
async def all_at_once(fake: FakeLemlistServer) -> AsyncIterator[LemlistClient]:
    """A client whose first fetches all start at once: no probe of the key first."""
    limiter = WindowRateLimiter(shared_key=False)
    async with LemlistClient(fake.api_key, base_url=fake.base_url, rate_limit=limiter) as c:
        yield c


async def test_every_campaign_is_fetched_once(
    fake: FakeLemlistServer, client: LemlistClient
) -> None:
    ids = fake.campaign_ids
    items = [item async for item in client.stream_campaign_leads(ids + ids[:10], limit=3)]
    assert sorted(i.campaign_id for i in items) == sorted(ids)
    assert all(i.ok and i.error is None for i in items)
    for item in items:
        newest = fake.campaign_leads(item.campaign_id)[::-1][:3]
        assert item.leads is not None
        assert [lead.id for lead in item.leads] == [lead["_id"] for lead in newest]
    assert len(fake.requests) == len(ids)
    assert {r.query.get("limit") for r in fake.requests} == {"3"}
    assert fake.count(429) == 0


async def test_failures_are_items_and_successes_are_kept(
    fake: FakeLemlistServer, client: LemlistClient
) -> None:
    ids = [fake.campaign_ids[0], "cam_missing", "", fake.campaign_ids[1]]
    items = {i.campaign_id: i async for i in client.stream_campaign_leads(ids)}
    assert items[fake.campaign_ids[0]].ok
    assert items[fake.campaign_ids[1]].ok
    missing = items["cam_missing"]
    assert not missing.ok
    assert missing.leads is None
    assert isinstance(missing.error, NotFoundError)
    assert missing.error.message == "Campaign not found"
    assert isinstance(items[""].error, InvalidCampaignIdError)
    assert isinstance(items[""].error, ValueError)
    assert len(fake.requests) == 3  # Nothing sent for the empty id.


async def test_collecting_raises_fan_out_error_that_keeps_the_results(
    server: ScriptedServer,
) -> None:
    async def handler(request: web.Request) -> web.Response:
        campaign = request.match_info["tail"].split("/")[1]
        if campaign == "missing":
            return web.Response(status=404, text="Campaign not found")
        if campaign == "broken":
            return web.Response(status=500, text="Internal error")
        return web.json_response([{"_id": f"lea_{campaign}", "contactId": "c", "state": "hooked"}])

    server.default = handler
    server.answers.clear()
    ids = ["a", "missing", "b", "broken", "c"]
    async with LemlistClient("k", base_url=server.base_url, max_retries=2) as client:
        with pytest.raises(FanOutError) as caught:
            await client.get_leads_for_campaigns(ids)
    error = caught.value
    assert isinstance(error, LemlistError)
    assert isinstance(error, ExceptionGroup)
    assert sorted(error.results) == ["a", "b", "c"]
    assert [lead.id for lead in error.results["a"]] == ["lea_a"]
    assert isinstance(error.errors_by_campaign["missing"], NotFoundError)
    assert isinstance(error.errors_by_campaign["broken"], ServerError)
    assert len(error.exceptions) == 2
    assert str(error).startswith("2 of 5 campaigns failed")
    broken_attempts = [r for r in server.requests if "broken" in r.raw_path]
    assert len(broken_attempts) == 3  # The 500 exhausted its retries.
    # except* and split() keep the results with the errors they keep.
    not_found, rest = error.split(NotFoundError)
    assert isinstance(not_found, FanOutError)
    assert isinstance(rest, FanOutError)
    assert list(not_found.errors_by_campaign) == ["missing"]
    assert not_found.results == error.results


async def test_collecting_without_failures_returns_every_campaign(
    fake: FakeLemlistServer, client: LemlistClient
) -> None:
    result = await client.get_leads_for_campaigns(fake.campaign_ids[:25], state="interested")
    assert sorted(result) == sorted(fake.campaign_ids[:25])
    assert all(lead.state == "interested" for leads in result.values() for lead in leads)


async def test_items_come_in_completion_order(server: ScriptedServer) -> None:
    delays = {"slow": 3.0, "medium": 2.0, "fast": 1.0}

    async def handler(request: web.Request) -> web.Response:
        campaign = request.match_info["tail"].split("/")[1]
        await asyncio.sleep(delays[campaign])
        return web.json_response([])

    server.default = handler
    # All three at once: no probe of the key first, which would delay two of them.
    limiter = WindowRateLimiter(shared_key=False)
    async with LemlistClient("k", base_url=server.base_url, rate_limit=limiter) as client:
        order = [i.campaign_id async for i in client.stream_campaign_leads(list(delays))]
    assert order == ["fast", "medium", "slow"]


async def test_ids_are_read_lazily_and_in_flight_work_is_bounded(
    fake: FakeLemlistServer, client: LemlistClient
) -> None:
    consumed: list[str] = []

    def ids() -> Iterator[str]:
        for n in range(10_000):
            consumed.append(str(n))
            yield fake.campaign_ids[n % 60] if n < 60 else f"cam_unknown_{n}"

    fake.latency = 0.05
    stream = client.stream_campaign_leads(ids(), concurrency=5)
    async with stream:
        first = [await anext(stream) for _ in range(3)]
        assert len(first) == 3
        assert len(consumed) <= 5 + 3
        # A slow consumer: nothing more is read or fetched while it does not ask.
        await asyncio.sleep(100)
        assert len(consumed) <= 5 + 3
        assert len(fake.requests) <= 5 + 3
        assert len(client_tasks()) <= 1 + 5
    assert len(consumed) < 10


async def test_async_iterable_source(fake: FakeLemlistServer, client: LemlistClient) -> None:
    async def ids() -> AsyncIterator[str]:
        for cid in fake.campaign_ids[:7]:
            await asyncio.sleep(0.1)
            yield cid

    progress: list[tuple[int, int | None]] = []
    items = [
        i
        async for i in client.stream_campaign_leads(
            ids(), on_progress=lambda done, total: progress.append((done, total))
        )
    ]
    assert {i.campaign_id for i in items} == set(fake.campaign_ids[:7])
    assert progress == [(n, None) for n in range(1, 8)]


async def test_progress_knows_the_total_of_a_collection(
    fake: FakeLemlistServer, client: LemlistClient
) -> None:
    progress: list[tuple[int, int | None]] = []
    ids = fake.campaign_ids[:4] + fake.campaign_ids[:2] + [""]
    await client.get_leads_for_campaigns(
        ids[:6], on_progress=lambda done, total: progress.append((done, total))
    )
    assert progress == [(1, 4), (2, 4), (3, 4), (4, 4)]
    progress.clear()
    async for _ in client.stream_campaign_leads(
        ids, on_progress=lambda d, t: progress.append((d, t))
    ):
        pass
    assert progress[-1] == (5, 5)


async def test_a_source_that_raises_propagates_and_cancels_the_rest(
    fake: FakeLemlistServer, all_at_once: LemlistClient
) -> None:
    fake.latency = 10.0

    async def ids() -> AsyncIterator[str]:
        for cid in fake.campaign_ids[:3]:
            yield cid
        await asyncio.sleep(1.0)  # The three fetches are in flight now.
        raise KeyError("the source broke")

    before = client_tasks()
    with pytest.raises(KeyError, match="the source broke"):
        async for _ in all_at_once.stream_campaign_leads(ids()):
            pass
    assert len(fake.requests) == 3
    assert client_tasks() == before
    assert connections_in_use(all_at_once) == 0


async def test_breaking_early_cancels_what_is_in_flight(
    fake: FakeLemlistServer, client: LemlistClient
) -> None:
    fake.latency = 1.0
    fake.jitter = 5.0
    before = client_tasks()
    async for item in client.stream_campaign_leads(fake.campaign_ids):
        assert item.ok
        break
    await asyncio.sleep(0)  # Let the cancelled fetches unwind.
    assert client_tasks() == before
    assert connections_in_use(client) == 0
    sent = len(fake.requests)
    await asyncio.sleep(30)
    assert len(fake.requests) == sent


async def test_an_error_in_the_loop_body_propagates_unchanged(
    fake: FakeLemlistServer, client: LemlistClient
) -> None:
    fake.latency = 1.0
    fake.jitter = 5.0
    before = client_tasks()
    boom = RuntimeError("consumer failed")

    async def consume() -> None:
        async with client.stream_campaign_leads(fake.campaign_ids) as stream:
            async for _ in stream:
                raise boom

    with pytest.raises(RuntimeError) as caught:
        await consume()
    assert caught.value is boom
    assert client_tasks() == before
    assert connections_in_use(client) == 0


async def test_cancelling_the_consumer_is_prompt_and_leaves_nothing(
    fake: FakeLemlistServer, client: LemlistClient
) -> None:
    fake.latency = 50.0
    seen: list[CampaignLeads] = []

    async def consume() -> None:
        async for item in client.stream_campaign_leads(fake.campaign_ids):
            seen.append(item)

    before = client_tasks()
    task = asyncio.create_task(consume())
    await asyncio.sleep(1.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen == []
    assert client_tasks() == before
    assert connections_in_use(client) == 0
    limiter = client.limiter
    assert limiter is not None
    assert limiter._in_flight == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"state": ""}, ValueError),
        ({"limit": 0}, ValueError),
        ({"limit": "5"}, TypeError),
        ({"concurrency": 0}, ValueError),
        ({"concurrency": True}, ValueError),
    ],
)
async def test_bad_arguments_raise_before_anything_is_sent(
    fake: FakeLemlistServer,
    client: LemlistClient,
    kwargs: dict[str, object],
    error: type[Exception],
) -> None:
    with pytest.raises(error):
        client.stream_campaign_leads(fake.campaign_ids, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(error):
        await client.get_leads_for_campaigns(fake.campaign_ids, **kwargs)  # type: ignore[arg-type]
    assert fake.requests == []


async def test_a_slow_async_source_does_not_hold_back_finished_campaigns(
    fake: FakeLemlistServer, client: LemlistClient
) -> None:
    fake.latency = 1.0
    loop = asyncio.get_running_loop()

    async def ids() -> AsyncIterator[str]:
        yield fake.campaign_ids[0]
        await asyncio.sleep(10.0)
        yield fake.campaign_ids[1]

    start = loop.time()
    arrivals = [loop.time() - start async for _ in client.stream_campaign_leads(ids())]
    assert arrivals == [pytest.approx(1.0, abs=0.01), pytest.approx(11.0, abs=0.01)]


async def test_a_single_str_is_refused_rather_than_fanned_out_by_character(
    fake: FakeLemlistServer, client: LemlistClient
) -> None:
    with pytest.raises(TypeError, match="not a single str"):
        client.stream_campaign_leads(fake.campaign_ids[0])
    assert fake.requests == []


async def test_a_named_stream_left_early_inside_async_with_cancels_what_is_in_flight(
    fake: FakeLemlistServer, client: LemlistClient
) -> None:
    fake.latency = 1.0
    fake.jitter = 5.0
    before = client_tasks()
    stream = client.stream_campaign_leads(fake.campaign_ids)
    async with stream:
        async for _ in stream:
            break
    # Still referenced, yet closed: nothing runs on.
    assert client_tasks() == before
    assert connections_in_use(client) == 0
    assert [item async for item in stream] == []


async def test_aclose_while_another_task_waits_on_the_stream_ends_it_cleanly(
    fake: FakeLemlistServer, all_at_once: LemlistClient
) -> None:
    fake.latency = 10.0
    stream = all_at_once.stream_campaign_leads(fake.campaign_ids, concurrency=5)
    before = client_tasks()
    waiting = asyncio.create_task(anext(stream))
    await asyncio.sleep(1.0)
    sent = len(fake.requests)
    await stream.aclose()
    with pytest.raises(StopAsyncIteration):
        await waiting
    assert sent == 5
    await asyncio.sleep(30)
    assert len(fake.requests) == sent  # No fetch started after close.
    assert client_tasks() <= before | {waiting}


async def test_a_sync_generator_that_raises_propagates(
    fake: FakeLemlistServer, client: LemlistClient
) -> None:
    def ids() -> Iterator[str]:
        yield from fake.campaign_ids[:2]
        raise KeyError("the source broke")

    with pytest.raises(KeyError, match="the source broke"):
        async for _ in client.stream_campaign_leads(ids()):
            pass


async def test_a_body_nested_too_deep_is_an_item_not_the_end_of_the_fan_out(
    server: ScriptedServer,
) -> None:
    async def handler(request: web.Request) -> web.Response:
        if "deep" in request.path:
            return web.Response(
                body=b"[" * 100_000 + b"]" * 100_000, content_type="application/json"
            )
        return web.json_response([])

    server.default = handler
    async with LemlistClient("k", base_url=server.base_url) as client:
        with pytest.raises(FanOutError) as caught:
            await client.get_leads_for_campaigns(["a", "deep", "b"])
    assert sorted(caught.value.results) == ["a", "b"]
    assert isinstance(caught.value.errors_by_campaign["deep"], ResponseValidationError)


@pytest.mark.parametrize(
    "bad",
    ["cam_\udcff", "..", ".", "...", 42, None],
    ids=["surrogate", "dotdot", "dot", "dots", "int", "none"],
)
async def test_any_invalid_id_is_an_item_and_no_success_is_lost(
    fake: FakeLemlistServer, client: LemlistClient, bad: object
) -> None:
    good = fake.campaign_ids[:3]
    ids: list[object] = [good[0], bad, *good[1:]]
    with pytest.raises(FanOutError) as caught:
        await client.get_leads_for_campaigns(ids)  # type: ignore[arg-type]
    error = caught.value
    assert set(error.results) == set(good)
    (only,) = error.errors_by_campaign.values()
    assert isinstance(only, InvalidCampaignIdError)
    assert only.__context__ is None
    items = [item async for item in client.stream_campaign_leads(ids)]  # type: ignore[arg-type]
    assert sum(1 for i in items if i.ok) == 3
    assert all(r.raw_path.count("/") == 5 for r in fake.requests)  # /api/campaigns/{id}/leads/
    assert len(fake.requests) == 6  # The good ids, twice; nothing for the bad one.


async def test_an_endless_source_of_seen_ids_does_not_starve_the_loop(
    fake: FakeLemlistServer, client: LemlistClient
) -> None:
    reads = 0
    cap = 100_000

    def source() -> Iterator[str]:
        nonlocal reads
        yield from fake.campaign_ids[:2]
        while True:  # itertools.cycle of what was already seen, with a safety stop.
            reads += 1
            if reads > cap:
                raise RuntimeError("the fan-out read ids without ever yielding")
            yield fake.campaign_ids[0]

    stream = client.stream_campaign_leads(source())
    got: list[CampaignLeads] = []

    async def consume() -> None:
        async with stream:
            async for item in stream:
                got.append(item)

    task = asyncio.create_task(consume())
    # Each turn of the loop gives the consumer one step. Had it blocked the
    # loop, this coroutine would only run again once the source gave up.
    turns = 0
    while len(got) < 2 and turns < 10_000:
        await asyncio.sleep(0)
        turns += 1
    for _ in range(20):
        await asyncio.sleep(0)
    assert len(got) == 2
    assert 0 < reads < cap
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


# -- The generic fan-out ------------------------------------------------------------------


async def test_fan_out_over_a_pager_gives_every_interested_lead_of_every_running_campaign() -> (
    None
):
    async with FakeLemlistServer(seed=21, campaigns=40, leads_per_campaign=(0, 30)) as fake:
        async with LemlistClient(fake.api_key, base_url=fake.base_url) as client:
            running = client.campaigns.list(status="running")
            interested: dict[str, list[Lead]] = {}
            async with fan_out(
                running, lambda c: client.campaigns.leads(c.id, state="interested")
            ) as stream:
                async for outcome in stream:
                    assert outcome.ok
                    assert outcome.value is not None
                    interested[outcome.input.id] = outcome.value
        expected_ids = [c["_id"] for c in fake.campaigns() if c["status"] == "running"]
        assert sorted(interested) == sorted(expected_ids)
        for cid in expected_ids:
            want = [
                lead["_id"]
                for lead in fake.campaign_leads(cid)[::-1]
                if lead["state"] == "interested"
            ]
            assert [lead.id for lead in interested[cid]] == want[:100]
        assert fake.count(429) == 0


async def test_fan_out_keeps_failures_as_items_and_lets_bugs_through() -> None:
    async def work(n: int) -> int:
        if n == 3:
            raise NotFoundError("no", status=404, method="GET", url="u")
        return n * 10

    outcomes = {o.input: o async for o in fan_out([1, 2, 3, 2, 1], work)}
    assert {n: o.value for n, o in outcomes.items()} == {1: 10, 2: 20, 3: None}
    assert isinstance(outcomes[3].error, NotFoundError)
    assert not outcomes[3].ok

    async def buggy(n: int) -> int:
        raise KeyError(n)

    with pytest.raises(KeyError):
        async for _ in fan_out([1], buggy):
            pass


async def test_fan_out_without_dedupe_runs_every_input_and_counts_progress() -> None:
    calls: list[int] = []
    progress: list[tuple[int, int | None]] = []

    async def work(n: int) -> int:
        calls.append(n)
        await asyncio.sleep({1: 0.1, 2: 0.2, 3: 0.35}[n])
        return n

    stream = fan_out(
        [3, 1, 2, 1], work, dedupe=False, concurrency=2, on_progress=lambda *a: progress.append(a)
    )
    # 3 and 1 start; 1 ends at 0.1 and 2 starts; 2 ends at 0.3 and 1 starts;
    # 3 ends at 0.35, 1 at 0.4.
    assert [o.value async for o in stream] == [1, 2, 3, 1]
    assert sorted(calls) == [1, 1, 2, 3]
    assert progress == [(1, 4), (2, 4), (3, 4), (4, 4)]
    with pytest.raises(ValueError, match="concurrency"):
        fan_out([1], work, concurrency=0)
    with pytest.raises(TypeError, match="not a single str"):
        fan_out("abc", work)  # type: ignore[arg-type]
