"""The Redis-backed limiter against a real three-node Redis Cluster on loopback.

A module fixture starts three ``redis-server`` nodes in cluster mode and joins
them with ``redis-cli --cluster create`` (see ``tests/_redis_server.py``); when
either program is missing or the cluster does not form, the tests FAIL with the
line that installs them, they are never skipped. The limiter talks to the
cluster through ``redis.asyncio.cluster.RedisCluster``; the placement of its
keys is read from the nodes themselves (``CLUSTER KEYSLOT``, ``CLUSTER SLOTS``
and each node's own keys), not from the client's idea of the layout.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot

from lemlist_async import LemlistClient
from lemlist_async.redis import RedisRateLimiter
from lemlist_async.testing import FakeLemlistServer

from ._redis_server import LocalRedisCluster, RedisServerError
from .test_redis import GRANTED, QUEUED, RESERVED, SUBSCRIBE, _Answers

# A limiter that waited holds a subscription: each test closes what it built.
pytestmark = pytest.mark.usefixtures("close_redis_limiters")

KEY = "sk-SENTINEL-cluster-0123456789abcdef"
WINDOW = 0.2
MARGIN = 0.005
HOLD = WINDOW + MARGIN
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def redis_cluster() -> Iterator[LocalRedisCluster]:
    """One cluster for the module. Missing or broken, it fails the tests: never a skip."""
    problem = ""
    try:
        cluster = LocalRedisCluster.start()
    except RedisServerError as exc:
        problem = str(exc)
    if problem:
        pytest.fail(f"these tests need a real Redis Cluster: {problem}", pytrace=False)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
async def cluster(redis_cluster: LocalRedisCluster) -> AsyncIterator[RedisCluster]:
    client = RedisCluster.from_url(redis_cluster.url)
    await client.flushall()  # On every primary.
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def other_cluster(redis_cluster: LocalRedisCluster) -> AsyncIterator[RedisCluster]:
    """A second client, first pointed at another node: another process's view."""
    client = RedisCluster.from_url(redis_cluster.nodes[1].url)
    try:
        yield client
    finally:
        await client.aclose()


def limiter(redis: RedisCluster, api_key: str = KEY, **options: Any) -> RedisRateLimiter:
    # The slot mechanics, without the probe that would gate them (its cluster test
    # passes shared_key=True).
    options = {
        "limit": 3, "window": WINDOW, "margin": MARGIN, "lease": 30.0, "shared_key": False,
        **options,
    }  # fmt: skip
    return RedisRateLimiter(redis, api_key, **options)


async def slot_owner(redis_cluster: LocalRedisCluster, key: str) -> tuple[int, int]:
    """The slot of ``key`` by ``CLUSTER KEYSLOT``, and the port of the node serving it.

    Both are asked of a node that is not necessarily the owner: every node knows
    the whole layout once the cluster is ok.
    """
    async with Redis.from_url(redis_cluster.url) as node:
        slot = int(await node.cluster("KEYSLOT", key))
        # The raw reply: [[start, end, [host, port, id, ...] (the primary), ...], ...].
        ranges: Any = await node.cluster("SLOTS")
    for start, end, (_host, port, *_), *_replicas in ranges:
        if int(start) <= slot <= int(end):
            return slot, int(port)
    pytest.fail(f"no node serves slot {slot}")


async def keys_by_node(redis_cluster: LocalRedisCluster) -> dict[int, set[str]]:
    """Every key, by the port of the node that stores it (each node asked on its own)."""
    found: dict[int, set[str]] = {}
    for port, node in zip(redis_cluster.ports, redis_cluster.nodes, strict=True):
        async with Redis.from_url(node.url) as direct:
            found[port] = {key.decode() async for key in direct.scan_iter()}
    return found


async def assert_on_one_slot_of_one_node(
    redis_cluster: LocalRedisCluster, lim: RedisRateLimiter
) -> tuple[int, int]:
    """The limiter's keys share a slot; its node holds them and no other node any."""
    placements = {await slot_owner(redis_cluster, key) for key in lim.keys}
    assert len(placements) == 1, placements
    [(slot, port)] = placements
    assert all(key_slot(key.encode()) == slot for key in lim.keys)  # As redis-py computes it.
    stored = await keys_by_node(redis_cluster)
    mine = set(lim.keys)
    assert stored[port] & mine, stored  # At least the slots key, maybe the pause.
    for other, keys in stored.items():
        if other != port:
            assert not keys & mine, (other, keys)
    return slot, port


# -- One process ---------------------------------------------------------------------------


async def test_acquire_and_complete_on_the_cluster(
    redis_cluster: LocalRedisCluster, cluster: RedisCluster
) -> None:
    lim = limiter(cluster)
    assert [(await lim._acquire(f"s{i}"))[0] for i in range(3)] == [GRANTED] * 3
    # All three in flight and nothing to reserve: it must subscribe before it queues.
    assert (await lim._acquire("s3"))[0] == SUBSCRIBE
    await lim._complete("s0", ())
    # s0 frees a window from its completion: the caller reserves its place.
    code, wait, *_ = await lim._acquire("s3")
    assert code == RESERVED
    assert 0 < wait <= HOLD
    assert await lim.busy() == 3
    assert (lim.calls.acquire, lim.calls.granted, lim.calls.reserved) == (5, 3, 1)
    assert lim.calls.complete == 1

    # Through the client's path: each request takes a slot and hands it back.
    other = limiter(cluster, "sk-SENTINEL-cluster-second-key-0123")
    for _ in range(5):
        async with other:
            pass
    assert other.calls.granted + other.calls.reserved == 5  # Reserved past the limit of 3.
    assert other.calls.complete == 5
    # The keys of both API keys are on the slot of their own hash tag.
    for lim_ in (lim, other):
        await assert_on_one_slot_of_one_node(redis_cluster, lim_)


async def test_a_queued_waiter_is_handed_its_slot_on_the_sharded_channel(
    redis_cluster: LocalRedisCluster, cluster: RedisCluster, other_cluster: RedisCluster
) -> None:
    holder = limiter(cluster, limit=2)
    waiter = _Answers(other_cluster, KEY, limit=2, window=WINDOW, margin=MARGIN, lease=30.0)
    await holder.__aenter__()
    await holder.__aenter__()  # Both slots in flight: nothing to reserve.
    request = asyncio.create_task(_one_request(waiter))
    await waiter.replied[QUEUED].wait()
    # The channel lives on the node that holds the key's state (sharded pub/sub).
    _, port = await slot_owner(redis_cluster, holder.channel)
    async with Redis(port=port) as owner:
        [(_, listening)] = await owner.pubsub_shardnumsub(holder.channel)
    assert listening == 1
    await holder.__aexit__(None, None, None)
    await request
    # Queued once, then the slot came by message: no poll.
    assert (waiter.calls.acquire, waiter.calls.queued, waiter.calls.handed) == (2, 1, 1)
    assert holder.calls.published == 1
    await holder.__aexit__(None, None, None)
    await asyncio.gather(holder.aclose(), waiter.aclose())
    await assert_on_one_slot_of_one_node(redis_cluster, holder)


async def _one_request(lim: RedisRateLimiter) -> None:
    async with lim:
        await asyncio.sleep(0.01)


async def test_busy_counts_the_slots_of_every_client(
    cluster: RedisCluster, other_cluster: RedisCluster
) -> None:
    here, there = limiter(cluster, limit=5), limiter(other_cluster, limit=5)
    await here.__aenter__()
    await here.__aenter__()
    async with there:
        pass
    assert await here.busy() == 3  # Two in flight here, one completed there.
    assert await there.busy() == 3
    await here.__aexit__(None, None, None)
    await here.__aexit__(None, None, None)
    assert await there.busy() == 3  # Completed slots stay taken for a window.


async def test_a_pause_from_one_client_stops_the_other(
    redis_cluster: LocalRedisCluster, cluster: RedisCluster, other_cluster: RedisCluster
) -> None:
    here, there = limiter(cluster), limiter(other_cluster)
    # Both clients learn the cluster's layout first: on a busy machine that
    # alone can outlast a short pause.
    await here.busy()
    await there.busy()
    here.pause(1.0)
    await here.flush()
    assert 0.5 < await there.paused_for() <= 1.0
    _, port = await slot_owner(redis_cluster, here.keys[1])
    async with Redis(host="127.0.0.1", port=port) as owner:
        pause_end = int(await owner.get(here.keys[1]) or 0) / 1e6
        async with there:
            seconds, micros = await owner.time()
    # Granted only once the pause ended, on the clock of the node that holds it.
    assert int(seconds) + int(micros) / 1e6 >= pause_end
    assert await there.paused_for() == 0


async def test_another_api_key_may_live_on_another_node(
    redis_cluster: LocalRedisCluster, cluster: RedisCluster
) -> None:
    lim = limiter(cluster)
    async with lim:
        pass
    slot, port = await assert_on_one_slot_of_one_node(redis_cluster, lim)
    # Keys are spread by their fingerprint: among a few other API keys, one hashes
    # to a slot of another node, so the cluster does spread the keys it is given.
    for i in range(64):
        candidate = limiter(cluster, f"sk-SENTINEL-cluster-other-{i:02d}-0123456789")
        other_slot, other_port = await slot_owner(redis_cluster, candidate.keys[0])
        if other_port != port:
            break
    else:
        pytest.fail("64 API keys all hashed to the slots of one node")
    assert other_slot != slot
    async with candidate:
        pass
    placed = await assert_on_one_slot_of_one_node(redis_cluster, candidate)
    assert placed == (other_slot, other_port)
    stored = await keys_by_node(redis_cluster)
    assert lim.keys[0] in stored[port]
    assert candidate.keys[0] in stored[other_port]


async def test_one_probe_for_two_clients_into_a_key_spent_just_before(
    redis_cluster: LocalRedisCluster, cluster: RedisCluster, other_cluster: RedisCluster
) -> None:
    """The probe-and-cap state is one hash on the key's slot: both clients wait for one probe."""
    async with FakeLemlistServer(
        seed=10, campaigns=40, leads_per_campaign=1, latency=LATENCY, jitter=JITTER
    ) as fake:
        assert fake.spend(20) == 0  # Another tool, just before.
        limiters = [
            RedisRateLimiter(client, fake.api_key, shared_key=True)
            for client in (cluster, other_cluster)
        ]

        async def fetch(lim: RedisRateLimiter, ids: list[str]) -> None:
            async with (
                contextlib.aclosing(lim),
                LemlistClient(fake.api_key, base_url=fake.base_url, rate_limit=lim) as client,
            ):
                await asyncio.gather(*(client.get_campaign_leads(cid) for cid in ids))

        await asyncio.gather(
            *(fetch(lim, fake.campaign_ids[i::2]) for i, lim in enumerate(limiters))
        )
        share = await cluster.hgetall(limiters[0].keys[5])
    assert fake.count(200) == 40
    assert fake.count(429) <= 1
    assert fake.max_arrivals_in_window(2.0) <= 20
    assert int(share[b"serial"]) >= 40  # One state for both clients' requests.
    await assert_on_one_slot_of_one_node(redis_cluster, limiters[0])


# -- Worker processes ------------------------------------------------------------------------

LATENCY = 0.02
JITTER = 0.02
CAMPAIGNS = 100  # 25 per worker process: five windows' worth, a run of about 8 s.


async def test_four_worker_processes_share_one_limit_on_the_cluster(
    redis_cluster: LocalRedisCluster, cluster: RedisCluster
) -> None:
    """The docs' example with ``REDIS_CLUSTER=1``: 4 processes, one key, one strict server."""
    async with FakeLemlistServer(
        seed=9, campaigns=CAMPAIGNS, leads_per_campaign=2, latency=LATENCY, jitter=JITTER
    ) as fake:
        env = {
            **os.environ,
            "REDIS_URL": redis_cluster.url,
            "REDIS_CLUSTER": "1",
            "LEMLIST_API_KEY": fake.api_key,
            "LEMLIST_BASE_URL": fake.base_url,
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests._redis_workers_example", *fake.campaign_ids,
            cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, err.decode()
        arrivals = sorted(r.time for r in fake.requests)

    share = CAMPAIGNS // 4
    assert out.decode().splitlines() == [
        *(f"worker {i}: {2 * share} leads from {share} campaigns" for i in range(4)),
        f"total: {2 * CAMPAIGNS} leads from {CAMPAIGNS} campaigns",
    ]
    assert fake.count(200) == CAMPAIGNS
    assert fake.count(429) == 0
    assert fake.max_arrivals_in_window(2.0) <= 20
    # Paced at the limit, not below it: within 10 % of the fastest legal schedule.
    makespan = arrivals[-1] - arrivals[0] + LATENCY + JITTER
    minimum = 2.0 * (math.ceil(CAMPAIGNS / 20) - 1) + LATENCY + JITTER
    assert minimum <= makespan <= 1.1 * minimum
    # The four processes' shared state: one slot of one node.
    await assert_on_one_slot_of_one_node(redis_cluster, RedisRateLimiter(cluster, fake.api_key))


def test_a_cluster_client_without_pub_sub_is_refused_with_the_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # redis-py before 8.0: no pub/sub on the asyncio cluster client.
    client = RedisCluster.__new__(RedisCluster)
    monkeypatch.delattr(RedisCluster, "pubsub")
    with pytest.raises(TypeError, match=r"redis-py 8\.0 or later.*pip install"):
        RedisRateLimiter(client, KEY)
