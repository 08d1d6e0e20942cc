"""One rate limit for every process and host that uses an API key, kept in Redis.

lemlist's limit of 20 requests per 2 s is per API key, not per process. Four
workers that each run their own ``WindowRateLimiter`` send up to four times the
allowed rate and drown in 429s. ``RedisRateLimiter`` keeps the guarantee of
``WindowRateLimiter`` — a slot is taken when a request is sent and given back one
window (plus a margin) after its response — but keeps the slots in Redis, so
every process of a key draws on one budget.

Why Redis: it is the shared store most deployments already run, it runs a Lua
script as one atomic step (no other client can come between "is a slot free?"
and "take it"), and its ``TIME`` gives every host one clock, so clock skew
between workers does not matter.

The state of one key, under a hash tag so that a Redis Cluster keeps it on one
slot (``<fp>`` is ``key_fingerprint(api_key)``; the key itself never leaves the
process):

* ``lemlist-async:{<fp>}:slots``, a sorted set of slot ids scored by the Redis
  time (µs) at which each slot frees itself. A slot in flight scores
  ``now + lease``, so the slots of a process that dies mid-request free
  themselves; completing a slot rescores it to ``now + window + margin``.
* ``lemlist-async:{<fp>}:pause``, the Redis time (µs) at which a pause ends.

Four scripts, each one atomic step on Redis's clock: *acquire* (drop expired
slots; refuse while paused; take a slot if fewer than ``limit`` are busy, else
answer how long until one could free), *complete*, *pause* (optionally only if
the server counted more requests than there are busy slots) and *status*.

In one process a single coroutine talks to Redis for the waiters at a time, the
others queue behind it first in, first out. A refused acquire sleeps exactly
until the earliest instant a slot could free (or the pause ends), never less
than ``REDIS_MIN_POLL``: no busy loop. Uncontended, a request costs two Redis
calls (acquire, complete). If Redis cannot be reached the limiter raises
``RateLimiterUnavailableError`` and nothing is sent: it fails closed. The
waiters queued behind a Redis call that fails fail with it, so with Redis hung
none waits for it longer than about one ``timeout``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import secrets
from collections import deque
from collections.abc import Coroutine, Sequence
from types import TracebackType
from typing import Any, Final, TypeVar

import attrs

from ._config import key_fingerprint, resolve_api_key
from ._constants import (
    RATE_LIMIT,
    RATE_MARGIN,
    RATE_WINDOW,
    REDIS_KEY_PREFIX,
    REDIS_LEASE,
    REDIS_MIN_POLL,
    REDIS_TIMEOUT,
)
from ._errors import LemlistError
from ._headers import RateLimitInfo
from ._params import check_count, check_seconds

try:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster
    from redis.commands.core import AsyncScript
    from redis.exceptions import RedisError
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        'RedisRateLimiter needs redis-py: pip install "lemlist-async[redis]"'
    ) from exc

__all__ = ["RateLimiterUnavailableError", "RedisCalls", "RedisRateLimiter"]

logger = logging.getLogger("lemlist_async")

T = TypeVar("T")


_US: Final = 1_000_000  # Scripts count Redis time in integer microseconds.

# Every script takes KEYS = [slots, pause] and reads the clock from Redis TIME.
# Times are integer microseconds (about 1.8e15: exact in a Lua double). They are
# passed to redis.call as numbers, which Redis formats with 17 significant
# digits; Lua's tostring() would round them to 14, so no time is ever
# concatenated into a string.

_NOW: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
"""

#: ARGV: limit, lease µs, window + margin µs, slot id, then the ids of slots this
#: process may have taken by a call that failed (they are removed first).
#: Returns {1, 0} when the slot is taken, else {0, µs to wait}.
_ACQUIRE: Final = (
    _NOW
    + """
for i = 5, #ARGV do
  redis.call('ZREM', KEYS[1], ARGV[i])
end
local pause_end = tonumber(redis.call('GET', KEYS[2]) or 0)
if pause_end > now then
  return {0, pause_end - now}
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local limit = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
local hold = tonumber(ARGV[3])
local busy = redis.call('ZCARD', KEYS[1])
if busy < limit then
  redis.call('ZADD', KEYS[1], now + lease, ARGV[4])
  -- Every score is at most now + max(lease, hold): the set may vanish after that.
  redis.call('PEXPIRE', KEYS[1], math.ceil(math.max(lease, hold) / 1000) + 1000)
  return {1, 0}
end
-- busy - limit + 1 slots must free. A slot in flight frees at the earliest
-- window + margin from now (if it completed this instant), so no slot frees
-- later than that bound unless it is still in flight then: wait until the
-- sooner of the two, then ask again.
local nth = redis.call('ZRANGE', KEYS[1], busy - limit, busy - limit, 'WITHSCORES')
return {0, math.min(tonumber(nth[2]), now + hold) - now}
"""
)

#: ARGV: slot id, window + margin µs, lease µs.
#: Returns 1 if the slot was still held, 0 if its lease had run out (it is held
#: again all the same: the server may have counted the request).
_COMPLETE: Final = (
    _NOW
    + """
local held = redis.call('ZSCORE', KEYS[1], ARGV[1])
local hold = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + hold, ARGV[1])
redis.call('PEXPIRE', KEYS[1], math.ceil(math.max(tonumber(ARGV[3]), hold) / 1000) + 1000)
if held then
  return 1
end
return 0
"""
)

#: ARGV: delay µs, counted (-1: pause unconditionally; else pause only if the
#: server counted more requests than there are busy slots).
#: Returns {1 if the key is paused now else 0, µs until the pause ends}.
_PAUSE: Final = (
    _NOW
    + """
local counted = tonumber(ARGV[2])
if counted >= 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  if counted <= redis.call('ZCARD', KEYS[1]) then
    return {0, 0}
  end
end
local pause_end = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[2]) or 0)
if current >= pause_end then
  return {1, current - now}
end
redis.call('SET', KEYS[2], pause_end, 'PX', math.ceil((pause_end - now) / 1000) + 1)
return {1, pause_end - now}
"""
)

#: Returns {busy slots, µs until the pause ends (0 when not paused)}.
_STATUS: Final = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local pause_end = tonumber(redis.call('GET', KEYS[2]) or 0)
return {redis.call('ZCARD', KEYS[1]), math.max(0, pause_end - now)}
"""
)


class RateLimiterUnavailableError(LemlistError):
    """Redis, which holds the key's shared rate limit, failed or did not answer.

    No request was sent: the limiter fails closed, because going on without it
    could break the limit for every process of the key. The Redis error is
    chained as ``__cause__``.
    """


@attrs.define
class RedisCalls:
    """How many Redis calls a ``RedisRateLimiter`` made, by script.

    Attributes:
        acquire: Acquire calls, granted or refused (a refusal means a later poll).
        granted: Acquire calls that took a slot.
        complete: Slots handed back after their request (one per request sent).
        pause: Pauses sent, and ``Remaining: 0`` checks against the busy slots.
        release: Slots taken but never used (the waiter was cancelled or the key
            paused meanwhile), given back at once.
        status: ``busy()`` and ``paused_for()`` calls.
    """

    acquire: int = 0
    granted: int = 0
    complete: int = 0
    pause: int = 0
    release: int = 0
    status: int = 0

    @property
    def total(self) -> int:
        """Every Redis call made."""
        return self.acquire + self.complete + self.pause + self.release + self.status

    def per_request(self) -> float:
        """Calls per completed request (``nan`` before the first)."""
        return self.total / self.complete if self.complete else math.nan


class RedisRateLimiter:
    """At most ``limit`` requests in any ``window`` seconds across every process of a key.

    A ``KeyRateLimiter`` for ``LemlistClient(rate_limit=...)`` with the semantics of
    ``WindowRateLimiter``, its slots kept in Redis: every process (and host) that
    builds one with the same Redis and the same API key shares one budget, one
    pause on 429, and one view of ``X-RateLimit-Remaining: 0``. Use one per API
    key and event loop.

    Args:
        redis: A ``redis.asyncio.Redis`` client, or a
            ``redis.asyncio.cluster.RedisCluster`` one (a key's state lives on one
            slot of the cluster). The limiter does not close it.
        api_key: The lemlist API key, used only to derive the Redis keys from
            its fingerprint; it is not kept, and never sent to Redis.
        limit: Requests allowed per window, for all processes together. Every
            process of the key must use the same value.
        window: The window in seconds (lemlist: 2).
        margin: Extra seconds a slot stays taken after its window.
        lease: Seconds a slot taken but never completed stays taken: how long a
            crashed worker can hold its slots. Keep it above the client's
            per-attempt ``timeout`` plus ``window``, or a slow request may lose
            its slot before the server has stopped counting it.
        timeout: Seconds one Redis call may take before the limiter gives up.

    Raises:
        ValueError: An argument is out of range, or the key is empty.
        TypeError: ``api_key`` is not a string.
    """

    def __init__(
        self,
        redis: Redis | RedisCluster,
        api_key: str,
        *,
        limit: int = RATE_LIMIT,
        window: float = RATE_WINDOW,
        margin: float = RATE_MARGIN,
        lease: float = REDIS_LEASE,
        timeout: float = REDIS_TIMEOUT,
    ) -> None:
        check_count(limit, "limit", minimum=1)
        check_seconds(window, "window")
        check_seconds(margin, "margin", allow_zero=True)
        check_seconds(lease, "lease")
        check_seconds(timeout, "timeout")
        self.limit = limit
        self.window: float = float(window)
        self.margin: float = float(margin)
        self.lease: float = float(lease)
        self.timeout: float = float(timeout)
        self._redis = redis
        prefix = f"{REDIS_KEY_PREFIX}:{{{key_fingerprint(resolve_api_key(api_key))}}}"
        self._prefix = prefix
        self._keys: tuple[str, str] = (f"{prefix}:slots", f"{prefix}:pause")
        self._acquire_script = redis.register_script(_ACQUIRE)
        self._complete_script = redis.register_script(_COMPLETE)
        self._pause_script = redis.register_script(_PAUSE)
        self._status_script = redis.register_script(_STATUS)
        # Slot ids: unique per limiter (random) and per slot (a counter).
        self._instance = secrets.token_hex(6)
        self._serial = 0
        # Slots a failed or timed-out acquire may have taken; the next acquire drops them.
        self._abandoned: set[str] = set()
        # One coroutine talks to Redis for the waiters at a time; asyncio.Lock
        # queues the others first in, first out, and lets a cancelled one leave.
        self._turn = asyncio.Lock()
        # The error of the latest turn that found Redis unavailable: a waiter
        # that queued before it fails with it (see __aenter__).
        self._outage: RateLimiterUnavailableError | None = None
        # Ids of this process's slots in flight, oldest first. Any of them can be
        # completed by any request: they differ only in their lease's end, so the
        # oldest goes first and the longest-running request keeps a later lease.
        self._in_flight: deque[str] = deque()
        self._paused_until = -math.inf  # Loop time: pauses asked for here.
        self._tasks: set[asyncio.Task[Any]] = set()
        self._info: RateLimitInfo | None = None
        self._calls = RedisCalls()

    @property
    def _hold_us(self) -> int:
        """How long a completed slot stays taken, in µs."""
        return _micros(self.window + self.margin)

    @property
    def _lease_us(self) -> int:
        return _micros(self.lease)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self._prefix!r} limit={self.limit} "
            f"window={self.window} lease={self.lease} in_flight={len(self._in_flight)}>"
        )

    @property
    def keys(self) -> tuple[str, ...]:
        """The Redis keys this limiter uses (each carries the fingerprint as a hash tag)."""
        return self._keys

    @property
    def info(self) -> RateLimitInfo | None:
        """The rate-limit headers of the latest response seen through this limiter."""
        return self._info

    @property
    def calls(self) -> RedisCalls:
        """A snapshot of the Redis calls made so far."""
        return attrs.evolve(self._calls)

    async def busy(self) -> int:
        """Slots taken now across all processes: in flight, or finished less than a window ago.

        Raises:
            RateLimiterUnavailableError: Redis failed or did not answer.
        """
        busy, _ = await self._status()
        return busy

    async def paused_for(self) -> float:
        """Seconds before the key's pause ends, for every process (0 when not paused).

        Raises:
            RateLimiterUnavailableError: Redis failed or did not answer.
        """
        _, remaining = await self._status()
        return remaining

    async def flush(self) -> None:
        """Wait until every call this limiter made in the background has reached Redis.

        ``pause`` and ``observe`` are synchronous (the pipeline calls them between
        two awaits), so they send their scripts from background tasks.
        """
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def __aenter__(self) -> None:
        loop = asyncio.get_running_loop()
        # Redis unavailable: the waiter holding the turn fails after at most one
        # timeout, and every waiter that was queued behind it by then fails with
        # the same cause instead of asking in turn (with Redis hung, the k-th
        # waiter would fail only after k timeouts). They shared that outage: the
        # call that failed was made for all of them, one at a time being how the
        # limiter avoids a herd of calls. A waiter that comes after the failure
        # asks afresh, as Redis may be back. So a waiter fails as soon as the
        # call in flight (or the next one) has failed, at most one timeout after
        # it started; the queue stays FIFO with one call in flight; and no slot
        # is taken by the waiters that fail without asking. (A deadline per
        # waiter would not do: a waiter may queue for many windows while Redis
        # is healthy and the key is at its limit, so only its wait for a Redis
        # call may be bounded, and that call is the holder's.)
        seen = self._outage
        async with self._turn:
            outage = self._outage
            if outage is not seen and outage is not None:
                raise RateLimiterUnavailableError(*outage.args) from outage.__cause__
            while True:
                pause = self._paused_until - loop.time()
                if pause > 0:
                    # A pause asked for here may not have reached Redis yet.
                    await asyncio.sleep(pause)
                    continue
                slot = self._next_slot()
                try:
                    wait = await self._ask(slot)
                except RateLimiterUnavailableError as exc:
                    self._outage = exc
                    raise
                if wait is None:
                    if self._paused_until > loop.time():
                        # pause() came while Redis was granting: the slot is
                        # unused, so it goes back and this waiter waits it out.
                        self._spawn(self._release(slot))
                        continue
                    self._in_flight.append(slot)
                    return
                await asyncio.sleep(max(wait, REDIS_MIN_POLL))

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._in_flight:
            raise RuntimeError("RedisRateLimiter.__aexit__ without a slot taken by __aenter__")
        # Also on failure and cancellation: the server may have counted the
        # request. Shielded, so that a second cancellation cannot stop the slot
        # from being completed; if Redis is gone, its lease frees it.
        slot = self._in_flight.popleft()
        await asyncio.shield(self._spawn(self._complete(slot)))

    def pause(self, delay: float) -> None:
        """Let no request of this key start, in any process, for ``delay`` seconds from now.

        This process stops at once; the others as soon as the pause reaches Redis
        (a background call; see ``flush``). A shorter pause never cuts a longer
        one short.

        Raises:
            ValueError: ``delay`` is not a finite number.
        """
        if not math.isfinite(delay):
            raise ValueError(f"delay must be a finite number of seconds, got {delay!r}")
        if delay <= 0:
            return
        until = asyncio.get_running_loop().time() + delay
        if until > self._paused_until:
            self._paused_until = until
            logger.info("rate limit: pausing the key for %.3f s, in every process", delay)
            self._spawn(self._pause(delay, counted=-1))

    def observe(self, info: RateLimitInfo, pause: float | None) -> None:
        """Record a response's rate-limit headers; pause if someone else spends the key.

        ``X-RateLimit-Remaining: 0`` is routine when the processes that share this
        limiter run at the limit. It means that *another* consumer spends the key
        only when the server counted more requests than there are busy slots across
        all processes; then every process pauses until the server's reset. The
        comparison runs atomically in Redis, from a background task.
        """
        self._info = info
        if pause is None or info.remaining != 0 or info.limit is None:
            return
        if pause > 0 and math.isfinite(pause):
            self._spawn(self._pause(pause, counted=info.limit - info.remaining))

    # -- Redis calls -----------------------------------------------------------------

    def _next_slot(self) -> str:
        self._serial += 1
        return f"{self._instance}-{self._serial}"

    async def _ask(self, slot: str) -> float | None:
        """One acquire call: ``None`` when ``slot`` was taken, else seconds to wait.

        The call runs in a task of its own that a cancelled waiter does not stop:
        once it is answered, a slot granted to a waiter that left goes back, and so
        does one a failed or timed-out call may have taken (removing a slot that
        was never added is harmless).
        """
        task = self._spawn(self._acquire(slot), quiet=True)
        answered = False
        try:
            wait = await asyncio.shield(task)
            answered = True
        finally:
            if not answered:
                task.add_done_callback(functools.partial(self._release_if_granted, slot))
        return wait

    def _release_if_granted(self, slot: str, task: asyncio.Task[float | None]) -> None:
        if not task.cancelled() and task.exception() is None:
            if task.result() is None:  # Granted to a waiter that left: give it back.
                self._spawn(self._release(slot))
            return
        # A call that failed or timed out may have run on Redis all the same and
        # would hold the slot for a whole lease. Redis may still be away, so the
        # id rides along with this process's next acquire, which removes it.
        self._abandoned.add(slot)

    async def _acquire(self, slot: str) -> float | None:
        self._calls.acquire += 1
        abandoned = tuple(self._abandoned)
        granted, wait = await self._run(
            self._acquire_script, (self.limit, self._lease_us, self._hold_us, slot, *abandoned)
        )
        self._abandoned.difference_update(abandoned)
        if granted:
            self._calls.granted += 1
            return None
        return int(wait) / _US

    async def _complete(self, slot: str) -> None:
        self._calls.complete += 1
        try:
            held = await self._run(self._complete_script, (slot, self._hold_us, self._lease_us))
        except RateLimiterUnavailableError as exc:
            logger.warning(
                "rate limit: could not hand a slot back to Redis (%s); its lease frees it "
                "within %.0f s",
                exc.__cause__ or exc,
                self.lease,
            )
            return
        if not held:
            logger.warning(
                "rate limit: a request outlived its slot's lease of %.0f s; set lease above "
                "the client's timeout plus the window",
                self.lease,
            )

    async def _pause(self, delay: float, *, counted: int) -> None:
        self._calls.pause += 1
        try:
            paused, remaining = await self._run(self._pause_script, (_micros(delay), counted))
        except RateLimiterUnavailableError as exc:
            # The next acquire fails closed with the same cause.
            logger.warning("rate limit: could not share a pause through Redis (%s)", exc.__cause__)
            return
        if paused and counted >= 0:
            logger.info(
                "rate limit: the server counted %d requests, more than the key's busy slots: "
                "another consumer spends the key; every process pauses for %.3f s",
                counted,
                int(remaining) / _US,
            )

    async def _release(self, slot: str) -> None:
        self._calls.release += 1
        try:
            async with asyncio.timeout(self.timeout):
                await self._redis.zrem(self._keys[0], slot)
        except (RedisError, OSError) as exc:
            logger.warning("rate limit: could not give back an unused slot (%s)", exc)

    async def _status(self) -> tuple[int, float]:
        self._calls.status += 1
        busy, remaining = await self._run(self._status_script, ())
        return int(busy), int(remaining) / _US

    async def _run(self, script: AsyncScript, args: Sequence[int | str]) -> list[Any]:
        """Run one script on the key's Redis keys.

        Raises:
            RateLimiterUnavailableError: Redis failed, refused or did not answer
                within ``timeout`` (the cause is chained).
        """
        try:
            async with asyncio.timeout(self.timeout):
                result: list[Any] | int = await script(keys=self._keys, args=args)
        except (RedisError, OSError) as exc:  # OSError covers TimeoutError.
            raise RateLimiterUnavailableError(
                "the shared rate limit's Redis failed or did not answer "
                f"({type(exc).__name__}: {exc}); no request was sent"
            ) from exc
        return result if isinstance(result, list) else [result]

    def _spawn(self, coro: Coroutine[Any, Any, T], *, quiet: bool = False) -> asyncio.Task[T]:
        """Run ``coro`` in a task that the limiter keeps alive until it is done."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(functools.partial(self._reap, quiet=quiet))
        return task

    def _reap(self, task: asyncio.Task[Any], *, quiet: bool) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()  # Retrieved, so asyncio does not log it as lost.
        if error is not None and not quiet:
            logger.error("rate limit: a background Redis call failed", exc_info=error)


def _micros(seconds: float) -> int:
    """Whole microseconds, rounded up (after float noise: 0.205 s is 205000 µs)."""
    return max(0, math.ceil(round(seconds * _US, 6)))
