"""The rate limit shared through Redis by every process and host of an API key.

Needs the ``redis`` extra (redis-py)::

    pip install "lemlist-async[redis]"

``import lemlist_async`` does not import this module, so the SDK works without
redis-py; import it explicitly::

    from lemlist_async.redis import RedisRateLimiter

See ``docs/workers.md`` ("Running many workers").
"""

from __future__ import annotations

from ._redis import RateLimiterUnavailableError, RedisCalls, RedisRateLimiter

__all__ = ["RateLimiterUnavailableError", "RedisCalls", "RedisRateLimiter"]
