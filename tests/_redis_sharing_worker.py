"""A worker process for the shared-key test: connect, say ``ready``, wait for ``go``, fetch.

Run as ``python -m tests._redis_sharing_worker CAMPAIGN_ID...`` with ``REDIS_URL``,
``LEMLIST_API_KEY`` and ``LEMLIST_BASE_URL`` in the environment. It prints the
number of leads fetched.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys

from redis.asyncio import Redis

from lemlist_async import LemlistClient
from lemlist_async.redis import RedisRateLimiter


async def fetch(campaign_ids: list[str]) -> int:
    api_key = os.environ["LEMLIST_API_KEY"]
    async with (
        Redis.from_url(os.environ["REDIS_URL"]) as redis,
        contextlib.aclosing(RedisRateLimiter(redis, api_key)) as limiter,
        LemlistClient(api_key, base_url=os.environ["LEMLIST_BASE_URL"], rate_limit=limiter) as c,
    ):
        await redis.ping()
        print("ready", flush=True)
        # Started together once the other consumer has spent the key.
        await asyncio.to_thread(sys.stdin.readline)
        results = await asyncio.gather(*(c.get_campaign_leads(cid) for cid in campaign_ids))
    return sum(len(r) for r in results)


if __name__ == "__main__":
    print(asyncio.run(fetch(sys.argv[1:])))
