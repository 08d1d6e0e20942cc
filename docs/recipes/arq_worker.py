"""lemlist jobs for arq: one client and one shared rate limit per worker process.

Run two workers or more, on any hosts, with one key::

    LEMLIST_API_KEY=... REDIS_URL=redis://redis.internal:6379/0 \
        arq arq_worker.WorkerSettings --custom-log-dict arq_worker.LOG_CONFIG

Enqueue with `enqueue_export` and `enqueue_sync`, or ``enqueue_job`` by name:
jobs take a campaign id or an account id, never a key.

Every setting comes from the environment (see ``docs/task-queues.md``):
``LEMLIST_API_KEY``, ``REDIS_URL`` (arq's queue, and by default the rate
limit's), and optionally ``LEMLIST_REDIS_URL``, ``LEMLIST_BASE_URL``, ``LEMLIST_SYNC_DATABASE``,
``LEMLIST_MAX_RATE_LIMIT_WAIT``, ``LEMLIST_RETRY_DELAY`` and ``LEMLIST_MAX_TRIES``.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any, ClassVar

from arq import ArqRedis, Retry
from arq.connections import RedisSettings
from arq.jobs import Job
from arq.logs import default_log_config
from arq.worker import Function, func
from redis.asyncio import Redis
from redis.asyncio.retry import Retry as RedisRetry
from redis.backoff import NoBackoff

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

logger = logging.getLogger(__name__)

#: arq's own logging, plus this module's lines (``--custom-log-dict``).
LOG_CONFIG: dict[str, Any] = default_log_config(verbose=False)
LOG_CONFIG["loggers"][__name__] = {"handlers": ["arq.standard"], "level": "INFO"}


async def startup(ctx: dict[str, Any]) -> None:
    """Open this process's Redis client, rate limiter and lemlist client, in ``ctx``."""
    api_key = os.environ["LEMLIST_API_KEY"]
    ctx["lemlist_stack"] = stack = AsyncExitStack()
    # One retry at once, for a pooled connection Redis has dropped: a Redis that
    # is down fails the call now, and arq runs the job again later.
    redis = await stack.enter_async_context(
        Redis.from_url(LIMITER_REDIS_URL, retry=RedisRetry(NoBackoff(), 1))
    )
    limiter = RedisRateLimiter(redis, api_key)
    # Closed after the client and before Redis: its subscription must not outlive Redis.
    stack.push_async_callback(limiter.aclose)
    ctx["lemlist"] = await stack.enter_async_context(
        LemlistClient(
            api_key,
            base_url=BASE_URL,
            rate_limit=limiter,
            max_rate_limit_wait=MAX_RATE_LIMIT_WAIT,
        )
    )
    logger.info("lemlist client opened in process %d", os.getpid())


async def shutdown(ctx: dict[str, Any]) -> None:
    """Close what `startup` opened: the client, then the limiter, then Redis."""
    await ctx["lemlist_stack"].aclose()
    logger.info("lemlist client closed in process %d", os.getpid())


@contextlib.asynccontextmanager
async def retry_later() -> AsyncIterator[None]:
    """Turn the errors that a later try may not meet into arq's deferred retry.

    `RateLimitError` reaches a job when lemlist asks for a wait longer than
    ``LEMLIST_MAX_RATE_LIMIT_WAIT`` (a quota, or a long ``Retry-After``): the
    job runs again after ``retry_after``. `RateLimiterUnavailableError` means
    Redis, which holds the key's shared limit, failed; nothing was sent, and the
    job runs again after ``LEMLIST_RETRY_DELAY``. After ``LEMLIST_MAX_TRIES``
    tries, arq gives up.
    """
    try:
        yield
    except RateLimitError as error:
        raise Retry(defer=error.retry_after or RETRY_DELAY) from error
    except RateLimiterUnavailableError as error:
        raise Retry(defer=RETRY_DELAY) from error


async def sync_into_database(client: LemlistClient) -> int:
    """One run of the account sync into ``LEMLIST_SYNC_DATABASE``; return how many campaigns.

    The database is opened for the run (a connection, cheap next to the run);
    the client and its limiter stay the process's. A run stopped half-way
    (a retry, a worker killed) is finished by the next.
    """
    async with open_store(SYNC_DATABASE) as store:
        report = await sync_lemlist_account(client, store)
    return report.stream("campaigns").fetched


async def export_campaign(ctx: dict[str, Any], campaign_id: str) -> int:
    """Export every lead of the campaign; return how many leads it has."""
    client: LemlistClient = ctx["lemlist"]
    async with retry_later():
        leads = await client.campaigns.export_leads(campaign_id)
    return len(leads)


async def sync_account(ctx: dict[str, Any], account_id: str) -> int:
    """Sync the account whose key this worker holds; return how many campaigns it has.

    One at a time per account: `enqueue_sync` gives the job the id
    ``lemlist-sync:<account_id>``, and arq refuses a job whose id is queued,
    running or has a result kept.
    """
    client: LemlistClient = ctx["lemlist"]
    async with retry_later():
        return await sync_into_database(client)


async def enqueue_export(redis: ArqRedis, campaign_id: str) -> Job | None:
    """Queue `export_campaign` for one campaign."""
    return await redis.enqueue_job("export_campaign", campaign_id)


async def enqueue_sync(redis: ArqRedis, account_id: str) -> Job | None:
    """Queue `sync_account`, unless a sync of this account is queued or running.

    Returns:
        The job, or None when arq refused it: one of the same id exists.
    """
    return await redis.enqueue_job("sync_account", account_id, _job_id=sync_job_id(account_id))


def sync_job_id(account_id: str) -> str:
    """The arq job id of an account's sync: one such job at a time."""
    return f"lemlist-sync:{account_id}"


class WorkerSettings:
    """``arq arq_worker.WorkerSettings``: the jobs, the hooks and the queue's Redis."""

    functions: ClassVar[list[Function]] = [
        func(export_campaign),
        # No result kept: arq would refuse the account's next sync until it expired.
        func(sync_account, keep_result=0, timeout=3600),
    ]
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = RedisSettings.from_dsn(REDIS_URL)
    # Jobs waiting in the limiter per process: the limiter, not max_jobs, sets the rate.
    max_jobs = 20
    max_tries = MAX_TRIES
    # On SIGTERM, take no new job and let the running ones end, for this many
    # seconds at most. arq 0.28 skips on_shutdown when SIGTERM cancels a job that
    # is storing its outcome; below the orchestrator's grace period (30 s by default
    # on Kubernetes).
    job_completion_wait = 20
