"""lemlist tasks for taskiq: one client and one shared rate limit per worker process.

Run the workers, and one scheduler, which sends the deferred retries when they
are due::

    LEMLIST_API_KEY=... REDIS_URL=redis://redis.internal:6379/0 \
        taskiq worker taskiq_tasks:broker --workers 2
    REDIS_URL=redis://redis.internal:6379/0 \
        taskiq scheduler taskiq_tasks:scheduler --update-interval 5

Send with ``await export_campaign.kiq(campaign_id)`` and
``await sync_account.kiq(account_id)``: tasks take a campaign id or an account
id, never a key.

Every setting comes from the environment (see ``docs/task-queues.md``):
``LEMLIST_API_KEY``, ``REDIS_URL`` (taskiq's queue, results and schedules, and
by default the rate limit's), and optionally ``LEMLIST_REDIS_URL``,
``LEMLIST_BASE_URL``, ``LEMLIST_SYNC_DATABASE``, ``LEMLIST_MAX_RATE_LIMIT_WAIT``,
``LEMLIST_RETRY_DELAY`` and ``LEMLIST_MAX_TRIES``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import os
import signal
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any, NoReturn

from redis.asyncio import Redis
from redis.asyncio.retry import Retry as RedisRetry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from taskiq import (
    Context,
    NoResultError,
    TaskiqDepends,
    TaskiqEvents,
    TaskiqScheduler,
    TaskiqState,
)
from taskiq.kicker import AsyncKicker
from taskiq_redis import ListRedisScheduleSource, RedisAsyncResultBackend, RedisStreamBroker

from lemlist_async import LemlistClient, RateLimitError
from lemlist_async.redis import RateLimiterUnavailableError, RedisRateLimiter
from lemlist_async.sync import open_store
from lemlist_async.sync import sync_account as sync_lemlist_account

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")
LIMITER_REDIS_URL = os.environ.get("LEMLIST_REDIS_URL", REDIS_URL)
BASE_URL = os.environ.get("LEMLIST_BASE_URL", "https://api.lemlist.com/api")
SYNC_DATABASE = os.environ.get("LEMLIST_SYNC_DATABASE", "sqlite:///lemlist.db")
MAX_RATE_LIMIT_WAIT = float(os.environ.get("LEMLIST_MAX_RATE_LIMIT_WAIT", "60"))
RETRY_DELAY = float(os.environ.get("LEMLIST_RETRY_DELAY", "10"))
MAX_TRIES = int(os.environ.get("LEMLIST_MAX_TRIES", "5"))
#: Seconds a crashed worker's sync lock outlives it: keep it above the longest sync.
SYNC_LOCK_SECONDS = 3600

logger = logging.getLogger(__name__)

# A stream, not ListQueueBroker: that one pops a message before its task runs (a
# worker that dies loses it), and waits in an endless BRPOP that redis-py 8's
# default socket timeout (5 s) cuts, killing idle workers
# (taskiq-python/taskiq-redis#127). A stream's reads block 2 s at a time, and a
# message is acknowledged once its task is done.
broker = RedisStreamBroker(
    REDIS_URL,
    # One message per read: the worker processes share the jobs.
    xread_count=1,
    # A message not acknowledged for this long goes to another worker: above the
    # longest task.
    idle_timeout=SYNC_LOCK_SECONDS * 1000,
    # Acknowledged messages stay in the stream: keep the latest ones only.
    maxlen=10_000,
).with_result_backend(RedisAsyncResultBackend(REDIS_URL, result_ex_time=3600))
#: Deferred retries wait here until ``taskiq scheduler`` sends them.
retries = ListRedisScheduleSource(REDIS_URL, prefix="lemlist-retry")
scheduler = TaskiqScheduler(broker, sources=[retries])


@broker.on_event(TaskiqEvents.WORKER_STARTUP)
async def startup(state: TaskiqState) -> None:
    """Open this process's Redis client, rate limiter and lemlist client, in ``state``."""
    api_key = os.environ["LEMLIST_API_KEY"]
    state.lemlist_stack = stack = AsyncExitStack()
    # One retry at once, for a pooled connection Redis has dropped: a Redis that
    # is down fails the call now, and the task is sent again later.
    state.lemlist_redis = redis = await stack.enter_async_context(
        Redis.from_url(LIMITER_REDIS_URL, retry=RedisRetry(NoBackoff(), 1))
    )
    limiter = RedisRateLimiter(redis, api_key)
    # Closed after the client and before Redis: its subscription must not outlive Redis.
    stack.push_async_callback(limiter.aclose)
    state.lemlist = await stack.enter_async_context(
        LemlistClient(
            api_key,
            base_url=BASE_URL,
            rate_limit=limiter,
            max_rate_limit_wait=MAX_RATE_LIMIT_WAIT,
        )
    )
    logger.info("lemlist client opened in process %d", os.getpid())
    stop_through_the_loop()


def stop_through_the_loop() -> None:
    """Have the event loop run taskiq's stop handlers, so that a signal wakes it.

    taskiq (0.12, 0.13) sets them with ``signal.signal``, which does not wake the
    event loop: a worker waiting for a message from Redis did not stop on SIGTERM.
    """
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        handler = signal.getsignal(signum)
        if callable(handler):
            loop.add_signal_handler(signum, handler, signum, None)


@broker.on_event(TaskiqEvents.WORKER_SHUTDOWN)
async def shutdown(state: TaskiqState) -> None:
    """Close what `startup` opened: the client, then the limiter, then Redis."""
    await state.lemlist_stack.aclose()
    logger.info("lemlist client closed in process %d", os.getpid())


async def send_again_later(context: Context, delay: float, error: Exception) -> NoReturn:
    """Schedule this task's message again in ``delay`` seconds, under the same task id.

    The retry keeps the task id, so ``wait_result`` gets its result; this try
    stores none (`NoResultError`). After ``LEMLIST_MAX_TRIES`` tries, ``error``
    is raised and stored as the task's result.
    """
    message = context.message
    tries = int(message.labels.get("lemlist_tries", 1))
    if tries >= MAX_TRIES:
        raise error
    logger.info("task %s: try %d failed, sent again in %.1f s", message.task_id, tries, delay)
    due = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=delay)
    kicker: AsyncKicker[Any, Any] = (
        AsyncKicker(message.task_name, context.broker, message.labels)
        .with_task_id(message.task_id)
        .with_labels(lemlist_tries=tries + 1)
    )
    await kicker.schedule_by_time(retries, due, *message.args, **message.kwargs)
    raise NoResultError from error


@contextlib.asynccontextmanager
async def retry_later(context: Context) -> AsyncIterator[None]:
    """Turn the errors that a later try may not meet into a deferred retry.

    `RateLimitError` reaches a task when lemlist asks for a wait longer than
    ``LEMLIST_MAX_RATE_LIMIT_WAIT`` (a quota, or a long ``Retry-After``): the
    task runs again after ``retry_after``. `RateLimiterUnavailableError` means
    Redis, which holds the key's shared limit, failed; nothing was sent, and
    the task runs again after ``LEMLIST_RETRY_DELAY``; so does a `RedisError`
    of the sync lock, which lives in the same Redis.
    """
    try:
        yield
    except RateLimitError as error:
        await send_again_later(context, error.retry_after or RETRY_DELAY, error)
    except (RateLimiterUnavailableError, RedisError) as error:
        await send_again_later(context, RETRY_DELAY, error)


async def sync_into_database(client: LemlistClient) -> int:
    """One run of the account sync into ``LEMLIST_SYNC_DATABASE``; return how many campaigns.

    The database is opened for the run (a connection, cheap next to the run);
    the client and its limiter stay the process's. A run stopped half-way
    (a retry, a worker killed) is finished by the next.
    """
    async with open_store(SYNC_DATABASE) as store:
        report = await sync_lemlist_account(client, store)
    return report.stream("campaigns").fetched


def sync_lock_name(account_id: str) -> str:
    """The Redis lock that one sync of the account holds while it runs."""
    return f"lemlist-sync:{account_id}"


@broker.task
async def export_campaign(campaign_id: str, context: Context = TaskiqDepends()) -> int:
    """Export every lead of the campaign; return how many leads it has."""
    client: LemlistClient = context.state.lemlist
    async with retry_later(context):
        leads = await client.campaigns.export_leads(campaign_id)
    return len(leads)


@broker.task
async def sync_account(account_id: str, context: Context = TaskiqDepends()) -> int | None:
    """Sync the account whose key this worker holds; return how many campaigns it has.

    One at a time per account: the sync holds a Redis lock named after the
    account while it runs. Returns None, having sent nothing, when another
    sync of the account holds it.
    """
    client: LemlistClient = context.state.lemlist
    redis: Redis = context.state.lemlist_redis
    async with retry_later(context):
        lock = redis.lock(sync_lock_name(account_id), timeout=SYNC_LOCK_SECONDS)
        if not await lock.acquire(blocking=False):
            logger.info("sync of account %s refused: another one is running", account_id)
            return None
        try:
            return await sync_into_database(client)
        finally:
            await lock.release()
