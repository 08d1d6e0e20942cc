"""Four worker processes fetch campaigns with one API key, sharing one rate limit.

Run it with the key in ``LEMLIST_API_KEY`` and a Redis that every worker can
reach in ``REDIS_URL``::

    python workers.py cam_A1B2C3D4E5F6G7H8I9 cam_... cam_...

Each process has its own client and its own ``RedisRateLimiter``; the limiters
share their slots through Redis, so the four together never send more than 20
requests in any 2 s, and a 429 seen by one pauses all of them.

(docs/workers.md includes this file; the test suite runs it against a local
fake of lemlist, which it points ``LEMLIST_BASE_URL`` at.)
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys

from redis.asyncio import Redis

from lemlist_async import LemlistClient
from lemlist_async.redis import RedisRateLimiter

PROCESSES = 4
REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")
BASE_URL = os.environ.get("LEMLIST_BASE_URL", "https://api.lemlist.com/api")


async def fetch_leads(campaign_ids: list[str]) -> int:
    """Fetch every campaign's leads at once; the shared limiter paces them."""
    api_key = os.environ["LEMLIST_API_KEY"]
    async with Redis.from_url(REDIS_URL) as redis:
        limiter = RedisRateLimiter(redis, api_key)
        async with LemlistClient(api_key, base_url=BASE_URL, rate_limit=limiter) as client:
            pages = await asyncio.gather(*(client.get_campaign_leads(c) for c in campaign_ids))
    return sum(len(leads) for leads in pages)


def worker(campaign_ids: list[str]) -> int:
    """One process: its own event loop, Redis connections and client."""
    return asyncio.run(fetch_leads(campaign_ids))


def main(campaign_ids: list[str]) -> None:
    shares = [campaign_ids[i::PROCESSES] for i in range(PROCESSES)]
    with multiprocessing.get_context("spawn").Pool(PROCESSES) as pool:
        counts = pool.map(worker, shares)
    for i, (share, count) in enumerate(zip(shares, counts, strict=True)):
        print(f"worker {i}: {count} leads from {len(share)} campaigns")
    print(f"total: {sum(counts)} leads from {len(campaign_ids)} campaigns")


if __name__ == "__main__":
    main(sys.argv[1:])
