"""The recipes of docs/task-queues.md, run as real workers of arq, taskiq and Celery.

For each framework, the recipe module in ``docs/recipes`` (the very file the
page includes) runs under its framework's own worker command, two worker
processes, against the suite's real ``redis-server`` (queue, results,
schedules and the shared rate limit) and a `FakeLemlistServer` that enforces
lemlist's 20 requests per 2 s. The workers reach the rate limit's Redis
through a `TcpProxy`, so that a test can take that Redis away from the limiter
alone. One fleet of workers serves every test of its framework; the last test
stops it.

Nothing waits for a time that happens to be long enough: a test that needs a
job to be waiting holds every slot of the key's limit itself (as 20 requests
in flight would) and waits until the job is queued in Redis behind them.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from lemlist_async.redis import RedisRateLimiter
from lemlist_async.testing import FakeLemlistServer

from ._redis_server import RedisServer
from ._tcp_proxy import TcpProxy

try:
    from ._queue_workers import QUEUES, Queue, eventually
except ModuleNotFoundError as missing:  # pragma: no cover - depends on the environment
    hint = (
        "arq asks for redis<6, so it is installed on its own: "
        "pip install --no-deps 'arq>=0.28,<0.29' (see noxfile.py)"
        if missing.name == "arq"
        else "pip install -e '.[test]'"
    )
    pytest.fail(f"these tests need {missing.name}: {hint}", pytrace=False)

pytestmark = pytest.mark.asyncio(loop_scope="module")

CAMPAIGNS = 24
LEADS = 2
ACCOUNT = "acc_SENTINEL"
#: The key's waiters that found every slot in flight: one per process at most.
QUEUE_KEY = re.compile(r":queue$")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fake() -> AsyncIterator[FakeLemlistServer]:
    async with FakeLemlistServer(seed=41, campaigns=CAMPAIGNS, leads_per_campaign=LEADS) as server:
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def proxy(redis_server: RedisServer) -> AsyncIterator[TcpProxy]:
    async with TcpProxy(redis_server.port) as tcp:
        yield tcp


@pytest.fixture(scope="module")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where each framework's sync job writes its SQLite database."""
    return tmp_path_factory.mktemp("sync")


def database(directory: Path, queue: Queue) -> Path:
    return directory / f"{queue.name}.db"


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=sorted(QUEUES))
async def queue(
    request: pytest.FixtureRequest,
    redis_server: RedisServer,
    redis: Redis,
    fake: FakeLemlistServer,
    proxy: TcpProxy,
    databases: Path,
) -> AsyncIterator[Queue]:
    """One framework's workers, started once for all of its tests."""
    await redis.flushall()
    proxy.restore()
    workers = QUEUES[request.param](redis_server.url, proxy.url(), fake.base_url, fake.api_key)
    workers.env["LEMLIST_SYNC_DATABASE"] = f"sqlite:///{database(databases, workers)}"
    try:
        await workers.start()
        yield workers
    finally:
        await workers.stop()


@pytest.fixture
def records(fake: FakeLemlistServer) -> FakeLemlistServer:
    """The fake, its records of earlier tests forgotten (its rate limit is not)."""
    fake.reset_records()
    return fake


@contextlib.asynccontextmanager
async def every_slot_held(redis: Redis, api_key: str) -> AsyncIterator[str]:
    """Hold every slot of the key's shared limit, as 20 requests in flight would.

    Every worker's request waits in Redis until the block ends. Yields the
    Redis key of the queue of waiters (one per worker process at most).
    """
    gate = RedisRateLimiter(redis, api_key, shared_key=False)
    try:
        async with AsyncExitStack() as stack:
            for _ in range(gate.limit):
                await stack.enter_async_context(gate)
            yield next(key for key in gate.keys if QUEUE_KEY.search(key))
    finally:
        await gate.aclose()


async def waiters(redis: Redis, queue_key: str, count: int) -> None:
    async def queued() -> bool:
        return await redis.zcard(queue_key) == count

    await eventually(queued, f"{count} worker processes waiting for a slot in Redis")


def readable(value: bytes) -> list[bytes]:
    """``value``, and what each run of base64 in it decodes to.

    Kombu's Redis transport stores a message's body in base64: a key in a task's
    arguments would not show in the raw bytes.
    """
    found = [value]
    for run in re.findall(rb"[A-Za-z0-9+/]{16,}={0,2}", value):
        with contextlib.suppress(binascii.Error, ValueError):
            found.append(base64.b64decode(run + b"=" * (-len(run) % 4)))
    return found


def as_bytes(value: object) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


async def stored(redis: Redis) -> list[bytes]:
    """Every key in Redis and every value, members and fields, made readable."""
    values: list[object] = []
    async for key in redis.scan_iter(count=1000):
        values.append(key)
        kind = as_bytes(await redis.type(key))
        # redis-py's annotations cover every reply shape; this client returns bytes.
        found: Any
        if kind == b"string":
            found = [await redis.get(key)]
        elif kind == b"list":
            found = await redis.lrange(key, 0, -1)
        elif kind == b"set":
            found = await redis.smembers(key)
        elif kind == b"zset":
            found = await redis.zrange(key, 0, -1)
        elif kind == b"hash":
            fields = await redis.hgetall(key)
            found = [*fields.keys(), *fields.values()]
        elif kind == b"stream":
            entries: Any = await redis.xrange(key)
            found = [part for _, entry in entries for item in entry.items() for part in item]
        else:
            found = []
        values += found
    return [part for value in values for part in readable(as_bytes(value))]


async def assert_no_key_in_redis(redis: Redis, api_key: str, *present: str) -> None:
    """The key is nowhere in Redis, while each of ``present`` (a job's argument) is."""
    contents = await stored(redis)
    assert not [value for value in contents if api_key.encode() in value]
    for argument in present:
        assert any(argument.encode() in value for value in contents), argument


async def test_jobs_of_two_worker_processes_share_the_limit(
    queue: Queue, redis: Redis, records: FakeLemlistServer
) -> None:
    expected = [len(records.exported_leads(cid)) for cid in records.campaign_ids]
    async with every_slot_held(redis, records.api_key) as queue_key:
        jobs = [await queue.export(cid) for cid in records.campaign_ids]
        # Both processes have jobs waiting at once, behind one limiter each.
        await waiters(redis, queue_key, queue.processes)
        await assert_no_key_in_redis(redis, records.api_key)
    assert [await queue.result(job) for job in jobs] == expected

    assert records.count(200) == CAMPAIGNS
    assert records.count(429) == 0
    assert records.max_arrivals_in_window(2.0) <= 20
    # One limiter per process, subscribed since it first waited: not one per job.
    limiter = RedisRateLimiter(redis, records.api_key)
    [(_, subscribers)] = await redis.pubsub_shardnumsub(limiter.channel)
    assert subscribers == queue.processes


async def test_a_long_retry_after_becomes_a_deferred_retry(
    queue: Queue, redis: Redis, records: FakeLemlistServer
) -> None:
    campaign_id = records.campaign_ids[0]
    # Longer than the workers' max_rate_limit_wait: the client raises RateLimitError.
    records.fail_next(429, headers={"Retry-After": "2"})
    job = await queue.export(campaign_id)
    await eventually(lambda: queue.deferred(job), "the job deferred")
    # The job waits in Redis to be tried again: by its campaign id, without the key.
    await assert_no_key_in_redis(redis, records.api_key, campaign_id)
    assert await queue.result(job) == len(records.exported_leads(campaign_id))

    assert [(r.campaign_id, r.status) for r in records.requests] == [
        (campaign_id, 429),
        (campaign_id, 200),
    ]
    first, second = records.arrival_times()
    # The queue's clock (wall time) and the fake's (monotonic) may differ by a few ms.
    assert second - first >= 2.0 - 0.05


async def test_redis_unreachable_becomes_a_deferred_retry_that_sent_nothing(
    queue: Queue, redis: Redis, proxy: TcpProxy, records: FakeLemlistServer
) -> None:
    campaign_id = records.campaign_ids[1]
    refused = proxy.refused
    proxy.cut()
    try:
        job = await queue.export(campaign_id)
        await eventually(lambda: queue.deferred(job), "the job deferred")
        assert proxy.refused > refused  # The limiter did try its Redis.
        assert records.requests == []
    finally:
        proxy.restore()
    assert await queue.result(job) == len(records.exported_leads(campaign_id))
    assert [(r.campaign_id, r.status) for r in records.requests] == [(campaign_id, 200)]


async def test_a_second_sync_of_an_account_is_refused_while_one_runs(
    queue: Queue, redis: Redis, records: FakeLemlistServer, databases: Path
) -> None:
    async with every_slot_held(redis, records.api_key) as queue_key:
        first = await queue.sync(ACCOUNT)
        assert first is not None
        await waiters(redis, queue_key, 1)  # The first sync runs, blocked on its request.
        second = await queue.sync(ACCOUNT)
        assert await queue.refused(second)
        assert records.requests == []
    assert await queue.result(first) == CAMPAIGNS
    paths = [r.path for r in records.requests]
    assert paths[0] == "/api/team"
    assert sum(path.endswith("/export/leads") for path in paths) == CAMPAIGNS
    with contextlib.closing(sqlite3.connect(database(databases, queue))) as db:
        (campaigns,) = db.execute("SELECT count(*) FROM lemlist_campaigns").fetchone()
        (leads,) = db.execute("SELECT count(*) FROM lemlist_leads").fetchone()
    assert (campaigns, leads) == (CAMPAIGNS, CAMPAIGNS * LEADS)

    # The refusal ends with the sync; the next run reads only what changed.
    records.reset_records()
    third = await queue.sync(ACCOUNT)
    assert third is not None
    assert await queue.result(third) == CAMPAIGNS
    assert not any(r.path.endswith("/export/leads") for r in records.requests)


async def test_each_worker_process_opened_one_client_and_closed_it_at_shutdown(
    queue: Queue, redis: Redis, records: FakeLemlistServer
) -> None:
    jobs = [await queue.export(cid) for cid in records.campaign_ids[:6]]
    assert [await queue.result(job) for job in jobs] == [LEADS] * len(jobs)
    opened = queue.log.lifecycle("opened")

    await queue.stop()

    assert queue.exit_codes == [0] * len(queue.exit_codes)
    assert len(opened) == queue.processes
    assert sorted(queue.log.lifecycle("closed")) == sorted(opened)
    assert len(set(opened)) == queue.processes
    # Neither the logs nor anything left in Redis shows the key.
    assert records.api_key not in queue.log.text()
    await assert_no_key_in_redis(redis, records.api_key)
