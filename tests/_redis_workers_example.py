"""Four worker processes fetch campaigns with one API key, sharing one rate limit.

Run it with the key in ``LEMLIST_API_KEY`` and a Redis that every worker can
reach in ``REDIS_URL`` (for a Redis Cluster, any node's URL and ``REDIS_CLUSTER=1``)::

    python workers.py cam_A1B2C3D4E5F6G7H8I9 cam_... cam_...

Each process has its own client and its own ``RedisRateLimiter``; the limiters
share their slots through Redis, so the four together never send more than 20
requests in any 2 s, and a 429 seen by one pauses all of them.

(docs/workers.md includes this file; the test suite runs it against a local
fake of lemlist, which it points ``LEMLIST_BASE_URL`` at.)
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import sys

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from lemlist_async import FanOutError, LemlistClient
from lemlist_async.redis import RedisRateLimiter

PROCESSES = 4
REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")
REDIS_CLUSTER = os.environ.get("REDIS_CLUSTER") == "1"
BASE_URL = os.environ.get("LEMLIST_BASE_URL", "https://api.lemlist.com/api")


def connect_redis() -> Redis | RedisCluster:
    """The Redis that every worker shares: one server, or a Redis Cluster."""
    if REDIS_CLUSTER:
        # Any node's URL: the client reads the cluster's layout from it.
        return RedisCluster.from_url(REDIS_URL)
    return Redis.from_url(REDIS_URL)


async def fetch_leads(campaign_ids: list[str]) -> tuple[int, dict[str, str]]:
    """Fetch every campaign's leads; the shared limiter paces all the processes.

    Returns the number of leads fetched and, for each campaign that failed, why.
    """
    api_key = os.environ["LEMLIST_API_KEY"]
    async with (
        connect_redis() as redis,
        # aclose() closes the limiter's subscription to the key's channel.
        contextlib.aclosing(RedisRateLimiter(redis, api_key)) as limiter,
        LemlistClient(api_key, base_url=BASE_URL, rate_limit=limiter) as client,
    ):
        try:
            by_campaign = await client.get_leads_for_campaigns(campaign_ids)
            failed: dict[str, str] = {}
        except FanOutError as error:  # Keeps the campaigns that succeeded.
            by_campaign = error.results
            failed = {cid: str(err) for cid, err in error.errors_by_campaign.items()}
    return sum(len(leads) for leads in by_campaign.values()), failed


def worker(campaign_ids: list[str]) -> tuple[int, dict[str, str]]:
    """One process: its own event loop, Redis connections and client."""
    return asyncio.run(fetch_leads(campaign_ids))


def main(campaign_ids: list[str]) -> int:
    shares = [campaign_ids[i::PROCESSES] for i in range(PROCESSES)]
    with multiprocessing.get_context("spawn").Pool(PROCESSES) as pool:
        results = pool.map(worker, shares)
    failures = 0
    for i, (share, (count, failed)) in enumerate(zip(shares, results, strict=True)):
        print(f"worker {i}: {count} leads from {len(share)} campaigns")
        for campaign_id, reason in failed.items():
            print(f"worker {i}: {campaign_id} failed: {reason}", file=sys.stderr)
        failures += len(failed)
    print(f"total: {sum(count for count, _ in results)} leads from {len(campaign_ids)} campaigns")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
