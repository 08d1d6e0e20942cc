"""A worker that takes every slot of its key, says so, then hangs until it is killed.

Run by the crash test as ``python -m tests._redis_crash_worker`` with
``REDIS_URL``, ``LEMLIST_API_KEY`` and ``LEASE`` (seconds) in the environment.
It prints ``holding`` once it holds ``limit`` slots in flight; it never
completes them, so only their lease can free them after a SIGKILL.

With ``PROBE_ONLY=1`` it takes one slot with ``shared_key`` on, on a key with
nothing known: the probe that every other process waits for, left unanswered.
"""

from __future__ import annotations

import asyncio
import contextlib
import os

from redis.asyncio import Redis

from lemlist_async.redis import RedisRateLimiter


async def hold_every_slot() -> None:
    async with Redis.from_url(os.environ["REDIS_URL"]) as redis:
        probe_only = os.environ.get("PROBE_ONLY") == "1"
        limiter = RedisRateLimiter(
            redis,
            os.environ["LEMLIST_API_KEY"],
            lease=float(os.environ["LEASE"]),
            # Without the probe, the slots are all taken at once.
            shared_key=probe_only,
        )
        async with contextlib.AsyncExitStack() as slots:
            for _ in range(1 if probe_only else limiter.limit):
                await slots.enter_async_context(limiter)
            print("holding", flush=True)
            await asyncio.Event().wait()  # Until SIGKILL.


if __name__ == "__main__":
    asyncio.run(hold_every_slot())
