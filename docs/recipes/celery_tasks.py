"""lemlist tasks for Celery: one event loop and one client per prefork child process.

Celery runs no coroutine itself, so each child of the prefork pool opens one
event loop when it starts, with its Redis client, rate limiter and lemlist
client on it, and runs every task's coroutine on that loop. The client and
the limiter are bound to the loop they were opened on: a loop per task
(``asyncio.run`` in the task) would have to open and close them for every task.

Run, on any hosts, with one key::

    LEMLIST_API_KEY=... REDIS_URL=redis://redis.internal:6379/0 \
        celery -A celery_tasks worker --pool=prefork --concurrency=4

Send with ``export_campaign.delay(campaign_id)`` and
``sync_account.delay(account_id)``: tasks take a campaign id or an account id,
never a key.

Every setting comes from the environment (see ``docs/task-queues.md``):
``LEMLIST_API_KEY``, ``REDIS_URL`` (Celery's broker and result backend, and by
default the rate limit's), and optionally ``LEMLIST_REDIS_URL``,
``LEMLIST_BASE_URL``, ``LEMLIST_SYNC_DATABASE``, ``LEMLIST_MAX_RATE_LIMIT_WAIT``,
``LEMLIST_RETRY_DELAY`` and ``LEMLIST_MAX_TRIES``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Coroutine, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, TypeVar

from celery import Celery, Task
from celery.signals import worker_process_init, worker_process_shutdown
from redis.asyncio import Redis
from redis.asyncio.retry import Retry as RedisRetry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

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

T = TypeVar("T")

logger = logging.getLogger(__name__)

app = Celery("celery_tasks", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    # A child that dies mid-task leaves its message to another child.
    task_acks_late=True,
    # A child reserves one task at a time: the others stay free for the other children.
    worker_prefetch_multiplier=1,
    result_expires=3600,
)


@dataclass
class Lemlist:
    """What one child process opened: its event loop, and the client's resources on it."""

    loop: asyncio.AbstractEventLoop
    stack: AsyncExitStack
    redis: Redis
    client: LemlistClient


#: This child's, from `open_lemlist` to `close_lemlist`.
lemlist: Lemlist | None = None


async def open_client(stack: AsyncExitStack) -> tuple[Redis, LemlistClient]:
    """Open a Redis client, a rate limiter and a lemlist client, closed by ``stack``."""
    api_key = os.environ["LEMLIST_API_KEY"]
    # One retry at once, for a pooled connection Redis has dropped: a Redis that
    # is down fails the call now, and Celery runs the task again later.
    redis = await stack.enter_async_context(
        Redis.from_url(LIMITER_REDIS_URL, retry=RedisRetry(NoBackoff(), 1))
    )
    limiter = RedisRateLimiter(redis, api_key)
    # Closed after the client and before Redis: its subscription must not outlive Redis.
    stack.push_async_callback(limiter.aclose)
    client = await stack.enter_async_context(
        LemlistClient(
            api_key,
            base_url=BASE_URL,
            rate_limit=limiter,
            max_rate_limit_wait=MAX_RATE_LIMIT_WAIT,
        )
    )
    return redis, client


@worker_process_init.connect
def open_lemlist(**_: object) -> None:
    """In each prefork child, after the fork: a new loop, and the client on it."""
    global lemlist
    loop = asyncio.new_event_loop()
    stack = AsyncExitStack()
    redis, client = loop.run_until_complete(open_client(stack))
    lemlist = Lemlist(loop, stack, redis, client)
    logger.info("lemlist client opened in process %d", os.getpid())


@worker_process_shutdown.connect
def close_lemlist(**_: object) -> None:
    """In each prefork child, before it exits: the client, the limiter, Redis, the loop."""
    global lemlist
    if lemlist is None:
        return
    opened, lemlist = lemlist, None
    opened.loop.run_until_complete(opened.stack.aclose())
    opened.loop.close()
    logger.info("lemlist client closed in process %d", os.getpid())


def opened() -> Lemlist:
    """This child's loop and client.

    Raises:
        RuntimeError: ``worker_process_init`` did not run: the pool is not prefork
            (``--pool=solo`` and the thread pools do not send it).
    """
    if lemlist is None:
        raise RuntimeError("no lemlist client in this process: run the worker with --pool=prefork")
    return lemlist


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run one task's coroutine on this child's loop, until it is done."""
    return opened().loop.run_until_complete(coroutine)


@contextlib.contextmanager
def retry_later(task: Task) -> Iterator[None]:
    """Turn the errors that a later try may not meet into Celery's deferred retry.

    `RateLimitError` reaches a task when lemlist asks for a wait longer than
    ``LEMLIST_MAX_RATE_LIMIT_WAIT`` (a quota, or a long ``Retry-After``): the
    task runs again after ``retry_after``. `RateLimiterUnavailableError` means
    Redis, which holds the key's shared limit, failed; nothing was sent, and
    the task runs again after ``LEMLIST_RETRY_DELAY``; so does a `RedisError`
    of the sync lock, which lives in the same Redis. After
    ``LEMLIST_MAX_TRIES`` tries, the error is the task's result.
    """
    try:
        yield
    except RateLimitError as error:
        raise task.retry(countdown=error.retry_after or RETRY_DELAY, exc=error) from error
    except (RateLimiterUnavailableError, RedisError) as error:
        raise task.retry(countdown=RETRY_DELAY, exc=error) from error


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


async def export_leads(campaign_id: str) -> int:
    """How many leads the campaign has, from its export, on this child's client."""
    leads = await opened().client.campaigns.export_leads(campaign_id)
    return len(leads)


async def sync_once(account_id: str) -> int | None:
    """`sync_into_database` under the account's sync lock; None when another sync holds it."""
    lock = opened().redis.lock(sync_lock_name(account_id), timeout=SYNC_LOCK_SECONDS)
    if not await lock.acquire(blocking=False):
        logger.info("sync of account %s refused: another one is running", account_id)
        return None
    try:
        return await sync_into_database(opened().client)
    finally:
        await lock.release()


# No rate_limit=: Celery applies it per worker instance, not per key.
@app.task(bind=True, max_retries=MAX_TRIES - 1)
def export_campaign(self: Task, campaign_id: str) -> int:
    """Export every lead of the campaign; return how many leads it has."""
    with retry_later(self):
        return run(export_leads(campaign_id))


@app.task(bind=True, max_retries=MAX_TRIES - 1)
def sync_account(self: Task, account_id: str) -> int | None:
    """Sync the account whose key this worker holds; return how many campaigns it has.

    One at a time per account: the sync holds a Redis lock named after the
    account while it runs. Returns None, having sent nothing, when another
    sync of the account holds it.
    """
    with retry_later(self):
        return run(sync_once(account_id))
