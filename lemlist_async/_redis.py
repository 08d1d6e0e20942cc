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
process). Times are Redis times in integer µs:

* ``lemlist-async:{<fp>}:slots``, a sorted set: every busy slot, scored by when
  it frees itself. Sent and not yet completed (or reserved): ``start + lease``,
  so the slots of a process that dies free themselves. Completed:
  ``now + window + margin``. Its size is the number of busy slots.
* ``lemlist-async:{<fp>}:done``, a sorted set: the completed slots that no
  waiter has claimed yet, scored by when they free (the same score as in
  ``slots``).
* ``lemlist-async:{<fp>}:reserved``, a hash: slot id -> the instant it may be
  used, for the slots handed out for a later start and not yet completed.
* ``lemlist-async:{<fp>}:queue``, a sorted set: the waiters (one per process at
  most) that found no slot, scored by when they queued: first in, first out
  across processes.
* ``lemlist-async:{<fp>}:pause``, a string: when a pause ends.
* ``lemlist-async:{<fp>}:share``, a hash (with ``shared_key``): the probe-and-cap
  state of ``_sharing.py`` (`ShareState`'s fields, and the probe's slot id),
  one for every process of the key.
* ``lemlist-async:{<fp>}:wake``, a pub/sub shard channel (``SPUBLISH``,
  ``SSUBSCRIBE``: Redis 7.0 or later): ``"<slot id> <µs>"`` hands a queued
  waiter its slot, usable that many µs after the message was published (with
  ``shared_key``, followed by the slot's ticket: ``<serial> <busy> <in flight>
  <probe>``);
  ``"pause <µs>"`` tells every process of a pause.

Slot ids are ``<instance>-<n>``: random per limiter, a counter per slot.

Five scripts (in ``_redis_scripts``), each one atomic step on Redis's clock;
each first drops the slots whose time is up:

* *acquire* (one call per request): if a slot is free now, it takes it. Else it
  *reserves* the earliest completed slot that nobody claimed: that slot leaves
  the set and the caller's takes its place, scored ``release + lease``, so the
  number of busy slots is the same at every instant (the old slot was busy until
  ``release``, the new one is from then), and the caller sleeps until
  ``release`` and sends without asking again. Else (every slot is in flight or
  reserved) the caller is queued. Refused while paused.
* *complete* (one call per request): the slot frees ``window + margin`` from
  now; if a waiter is queued, the slot is at once reserved for it, and the
  message on the channel tells it when to send. Otherwise it is claimable.
* *release*: gives back what a waiter that left held: a ticket leaves the
  queue, a slot granted now is removed, a reservation becomes again the
  completed slot it replaced, busy until the same instant (removing it would
  free capacity earlier than the slot it replaced).
* *pause* (optionally only if the server counted more requests than there are
  busy slots), which also tells every process through the channel, and
  *status*.

With ``shared_key`` (the default) the rules of ``_sharing.py`` hold across
processes, ported line for line to Lua (``SHARE`` in ``_redis_scripts``) on
the ``share`` hash:
acquire, and complete's hand-over to the queue, grant nothing while a probe is
out or the cap is spent (the caller is queued, and asks again at the probe's
deadline or the cap's end if no message came first); the script that takes a
slot returns its `Ticket`, which the process keeps with the slot id and hands
back with the slot's complete, together with what became of its request (the
answer's headers, no answer, or a failure). So the answer costs no call of its
own. Counted as Redis knows them: *busy* is the ``slots`` set's size, and *in
flight* every slot not completed, reservations not yet started included (they
will be sent after any request answered now). A probe ends with its slot's
complete, or when a waiter gives it back unused (found by its slot id, so a
lost ticket does not keep the gate shut); a probe whose process died holds the
others until ``probe_until``, a Redis time.

Uncontended, a request costs two Redis calls (acquire, complete); under
contention too: a reservation is known from the acquire's answer, and a queued
waiter is handed its slot by someone else's complete. Nobody polls. Pub/sub
delivers at most once, so a queued waiter that hears nothing for
``REDIS_WAKE_TIMEOUT`` asks again (a reservation made for it is then found).

In one process a single coroutine talks to Redis for the waiters at a time, the
others queue behind it first in, first out; it passes the turn on as soon as it
knows when its slot starts, so reservations pipeline, and requests are sent in
the order their waiters came. One subscription connection per limiter listens to
the channel, opened when a process first has to wait; ``aclose`` closes it (so
does the end of the event loop). If Redis cannot be reached the limiter raises
``RateLimiterUnavailableError`` and nothing is sent: it fails closed. The
waiters queued behind a Redis call that fails fail with it, so with Redis hung
none waits for it longer than about one ``timeout``; a waiter queued in Redis
fails as soon as its subscription is lost.
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
from typing import TYPE_CHECKING, Any, TypeVar, cast

import attrs

from ._config import key_fingerprint, resolve_api_key
from ._constants import (
    PROBE_TIMEOUT,
    RATE_LIMIT,
    RATE_MARGIN,
    RATE_WINDOW,
    REDIS_CLUSTER_READ,
    REDIS_KEY_PREFIX,
    REDIS_LEASE,
    REDIS_MIN_POLL,
    REDIS_TIMEOUT,
    REDIS_WAKE_TIMEOUT,
)
from ._errors import LemlistError
from ._headers import RateLimitInfo
from ._params import check_count, check_seconds
from ._redis_scripts import (
    ACQUIRE,
    COMPLETE,
    GRANTED,
    HOLDING,
    PAUSE,
    PAUSED,
    QUEUED,
    RELEASE,
    RESERVED,
    STATUS,
    SUBSCRIBE,
    US,
)
from ._sharing import Ticket

try:
    from redis.asyncio import Redis
    from redis.asyncio.client import PubSub
    from redis.asyncio.cluster import RedisCluster
    from redis.commands.core import AsyncScript
    from redis.exceptions import RedisError
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        'RedisRateLimiter needs redis-py: pip install "lemlist-async[redis]"'
    ) from exc

if TYPE_CHECKING:
    # redis-py 8 and later; older ones have no pub/sub on the asyncio cluster client.
    from redis.asyncio.cluster import ClusterPubSub

__all__ = ["RateLimiterUnavailableError", "RedisCalls", "RedisRateLimiter"]

logger = logging.getLogger("lemlist_async")

T = TypeVar("T")


class RateLimiterUnavailableError(LemlistError):
    """Redis, which holds the key's shared rate limit, failed or did not answer.

    No request was sent: the limiter fails closed, because going on without it
    could break the limit for every process of the key. The Redis error is
    chained as ``__cause__``.
    """


@attrs.define
class RedisCalls:
    """How many Redis calls a ``RedisRateLimiter`` made, by kind, and the messages it exchanged.

    Every attribute but the last two counts round trips to Redis (``total``).
    Messages travel without a call of their own: a script publishes them inside
    the call that runs it, and Redis pushes them to the subscription.

    Attributes:
        acquire: Acquire calls, whatever their answer (one per request, plus one
            per pause, lost message, or first wait of the limiter).
        granted: Acquire calls that took a slot free at once.
        reserved: Acquire calls that took a slot for a later start.
        queued: Acquire calls that queued the waiter (a message hands it its slot).
        complete: Slots handed back after their request (one per request sent).
        pause: Pauses sent, and ``Remaining: 0`` checks against the busy slots.
        release: Slots, reservations or places in the queue given back unused
            (the waiter was cancelled, or the key paused meanwhile).
        status: ``busy()`` and ``paused_for()`` calls.
        subscribe: Subscriptions to the key's channel (one per limiter, and one
            more after each loss of the connection).
        published: Messages this limiter's scripts published (slots handed to
            queued waiters of any process, pauses).
        handed: Messages that handed this limiter's waiters their slot.
    """

    acquire: int = 0
    granted: int = 0
    reserved: int = 0
    queued: int = 0
    complete: int = 0
    pause: int = 0
    release: int = 0
    status: int = 0
    subscribe: int = 0
    published: int = 0
    handed: int = 0

    @property
    def total(self) -> int:
        """Every Redis call made (messages are not calls)."""
        return (
            self.acquire + self.complete + self.pause + self.release + self.status + self.subscribe
        )

    def per_request(self) -> float:
        """Calls per completed request (``nan`` before the first)."""
        return self.total / self.complete if self.complete else math.nan


class RedisRateLimiter:
    """At most ``limit`` requests in any ``window`` seconds across every process of a key.

    A ``KeyRateLimiter`` for ``LemlistClient(rate_limit=...)`` with the semantics of
    ``WindowRateLimiter``, its slots kept in Redis: every process (and host) that
    builds one with the same Redis and the same API key shares one budget, one
    pause on 429, and one view of ``X-RateLimit-Remaining: 0``. Use one per API
    key and event loop, and ``await limiter.aclose()`` when done with it (or
    ``async with contextlib.aclosing(RedisRateLimiter(...)) as limiter:``).

    Waiting costs no Redis call: a waiter learns when its slot starts from the
    call that asks for it, or from a message on the key's channel (Redis 7.0 or
    later: sharded pub/sub). The first time a process must wait, the limiter
    opens one subscription connection from the client's pool, kept until
    ``aclose``.

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
        shared_key: Probe the server's window before a burst, and cap what is
            sent when the answers show another consumer of the key, as
            ``WindowRateLimiter`` does, for every process of the key at once:
            the probe-and-cap state lives in Redis beside the slots. Every
            process of the key must use the same value. ``False``: count only
            the processes' own requests.
        probe_timeout: Seconds the other requests, in every process, wait for
            a probe that gets no answer (its process hung or died) before they
            go anyway.

    Raises:
        ValueError: An argument is out of range, or the key is empty.
        TypeError: ``api_key`` is not a string, or ``redis`` is a Redis Cluster
            client of a redis-py older than 8.0 (no cluster pub/sub).
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
        shared_key: bool = True,
        probe_timeout: float = PROBE_TIMEOUT,
    ) -> None:
        self._cluster = isinstance(redis, RedisCluster)
        if self._cluster and not hasattr(redis, "pubsub"):
            # Waiters hear of their slot on the key's sharded channel.
            raise TypeError(
                "RedisRateLimiter on a Redis Cluster needs redis-py 8.0 or later "
                '(pub/sub on redis.asyncio.cluster.RedisCluster): pip install "redis>=8"'
            )
        check_count(limit, "limit", minimum=1)
        check_seconds(window, "window")
        check_seconds(margin, "margin", allow_zero=True)
        check_seconds(lease, "lease")
        check_seconds(timeout, "timeout")
        check_seconds(probe_timeout, "probe_timeout")
        self.limit = limit
        self.window: float = float(window)
        self.margin: float = float(margin)
        self.lease: float = float(lease)
        self.timeout: float = float(timeout)
        self.shared_key: bool = bool(shared_key)
        self.probe_timeout: float = float(probe_timeout)
        self._redis = redis
        prefix = f"{REDIS_KEY_PREFIX}:{{{key_fingerprint(resolve_api_key(api_key))}}}"
        self._prefix = prefix
        self._keys: tuple[str, ...] = tuple(
            f"{prefix}:{name}" for name in ("slots", "pause", "done", "reserved", "queue", "share")
        )
        self._channel = f"{prefix}:wake"
        self._acquire_script = redis.register_script(ACQUIRE)
        self._complete_script = redis.register_script(COMPLETE)
        self._release_script = redis.register_script(RELEASE)
        self._pause_script = redis.register_script(PAUSE)
        self._status_script = redis.register_script(STATUS)
        # Slot ids: unique per limiter (random) and per slot (a counter).
        self._instance = secrets.token_hex(6)
        self._serial = 0
        # Ids that a failed or timed-out call may have left holding a slot, a
        # reservation or a place in the queue; the next acquire gives them back.
        self._abandoned: set[str] = set()
        # One coroutine talks to Redis for the waiters at a time; asyncio.Lock
        # queues the others first in, first out, and lets a cancelled one leave.
        self._turn = asyncio.Lock()
        # Resolved once the latest waiter that had its turn has sent (or left):
        # the next one sends after it, whatever their slots' starts.
        self._sent: asyncio.Future[None] | None = None
        # The error of the latest turn that found Redis unavailable: a waiter
        # that queued before it fails with it (see _wait_for_turn).
        self._outage: RateLimiterUnavailableError | None = None
        # Ids of this process's slots in flight, oldest first. Any of them can be
        # completed by any request: they differ only in their lease's end, so the
        # oldest goes first and the longest-running request keeps a later lease.
        self._in_flight: deque[str] = deque()
        # With shared_key: the slots each task holds, with their tickets (a task
        # may nest slots), so that an answer and __aexit__ find their slot; and
        # the answer reported for a slot, sent with its complete.
        self._held: dict[asyncio.Task[Any] | None, list[tuple[str, Ticket | None]]] = {}
        self._answers: dict[str, tuple[str, ...]] = {}
        self._paused_until = -math.inf  # Loop time: pauses asked for here or heard of.
        self._tasks: set[asyncio.Task[Any]] = set()
        # The subscription to the key's channel, and the waiters queued in Redis
        # that it may hand a slot: id -> seconds until the slot starts, or the
        # error that ended the subscription.
        self._reader: asyncio.Task[None] | None = None
        self._tickets: dict[
            str, asyncio.Future[tuple[float, Ticket | None] | RateLimiterUnavailableError]
        ] = {}
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
    def channel(self) -> str:
        """The key's pub/sub shard channel (under the same hash tag as the keys)."""
        return self._channel

    @property
    def info(self) -> RateLimitInfo | None:
        """The rate-limit headers of the latest response seen through this limiter."""
        return self._info

    @property
    def calls(self) -> RedisCalls:
        """A snapshot of the Redis calls made so far."""
        return attrs.evolve(self._calls)

    async def busy(self) -> int:
        """Slots taken now across all processes: sent, reserved, or completed within a window.

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
        two awaits), so they send their scripts from background tasks; so are the
        slots of cancelled waiters given back.
        """
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def aclose(self) -> None:
        """Close the subscription to the key's channel, after the background calls.

        The ``Redis`` client stays open (the limiter does not own it). Call it
        once the limiter's requests are done; a waiter still queued in Redis
        would then wait for a message that can no longer come, up to
        ``REDIS_WAKE_TIMEOUT``, and ask again. The limiter may be used after it:
        it subscribes again when a process next has to wait. Without it, the
        subscription closes when the event loop ends.
        """
        await self.flush()
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            # Not awaited directly: the reader's cancellation is not this caller's.
            await asyncio.wait([reader])

    async def __aenter__(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            slot, start, ticket, predecessor, sent = await self._wait_for_turn()
            # The turn has passed on: the next waiter asks while this one waits
            # for its slot's start.
            used = False
            try:
                if start > loop.time():
                    await asyncio.sleep(start - loop.time())
                if predecessor is not None:
                    # Shielded: a cancelled waiter must not cancel its predecessor's signal.
                    await asyncio.shield(predecessor)
                if self._paused_until <= loop.time():
                    self._in_flight.append(slot)
                    if self.shared_key:
                        self._held.setdefault(asyncio.current_task(), []).append((slot, ticket))
                    used = True
                    return
            finally:
                if not sent.done():
                    sent.set_result(None)
                if not used:
                    # Cancelled while it waited for its slot's start, or a pause
                    # came: the slot goes back (a reservation as the slot it replaced).
                    self._spawn(self._give_back(slot))
            # A pause that would cover this slot's start: queue again once it ends
            # (behind the waiters that queued meanwhile).

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
        if not self.shared_key:
            slot = self._in_flight.popleft()
            await asyncio.shield(self._spawn(self._complete(slot, ())))
            return
        # With shared_key the task's own slot, with its ticket and what became
        # of its request: the probe-and-cap rules judge by them.
        slot, ticket = self._unhold()
        answer = self._answers.pop(slot, None)
        if exc_type is not None:
            outcome: tuple[str, ...] = ("failed", *_ticket_args(ticket))
        elif answer is None:
            outcome = ("ended", *_ticket_args(ticket))
        else:
            outcome = ("answered", *_ticket_args(ticket), *answer)
        await asyncio.shield(self._spawn(self._complete(slot, outcome)))

    def _unhold(self) -> tuple[str, Ticket | None]:
        """The slot the current task took last (else the oldest: it left another task)."""
        task = asyncio.current_task()
        held = self._held.get(task)
        if held:
            slot, ticket = held.pop()
            if not held:
                del self._held[task]
            self._in_flight.remove(slot)
            return slot, ticket
        slot = self._in_flight.popleft()
        for other, entries in list(self._held.items()):
            for entry in entries:
                if entry[0] == slot:
                    entries.remove(entry)
                    if not entries:
                        del self._held[other]
                    return entry
        return slot, None

    def pause(self, delay: float) -> None:
        """Let no request of this key start, in any process, for ``delay`` seconds from now.

        This process stops at once; the others as soon as the pause reaches Redis
        (a background call; see ``flush``), which tells them through the key's
        channel. A shorter pause never cuts a longer one short.

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

    def answered(
        self, info: RateLimitInfo, pause: float | None, *, reset_in: float | None, refused: bool
    ) -> None:
        """Take in the answer to the request that holds a slot in the current task.

        Called by the request pipeline inside ``async with limiter:``, as soon
        as the response headers arrive. Without ``shared_key`` this is
        `observe`. With it, the answer rides with the slot's complete (no call
        of its own), where Redis applies the rules of ``WindowRateLimiter``
        for every process at once: a probe's answer opens the gate (or keeps
        it shut until the reset after a 429), and an answer whose
        ``X-RateLimit-Remaining`` is lower than the processes' own requests can
        explain caps what may start, in any process, until the server's window
        resets (https://developer.lemlist.com/api-reference#rate-limit).
        Outside a slot of this limiter, it is `observe`.

        Args:
            info: The response's parsed rate-limit headers.
            pause: What `observe` takes: the pause ``Remaining: 0`` may cause.
            reset_in: Seconds until the server's window has surely reset (for
                a 429, what it asks to wait); ``None`` when the headers do not
                say; ``inf`` when too far to be about the window.
            refused: The response is a 429: the server's window is full.
        """
        held = self._held.get(asyncio.current_task()) if self.shared_key else None
        if not held:
            self.observe(info, pause)
            return
        self._info = info
        self._answers[held[-1][0]] = (
            "" if info.limit is None else str(info.limit),
            "" if info.remaining is None else str(info.remaining),
            "" if reset_in is None else "inf" if math.isinf(reset_in) else str(_micros(reset_in)),
            "1" if refused else "0",
        )

    # -- Waiting for a slot ---------------------------------------------------------

    async def _wait_for_turn(
        self,
    ) -> tuple[str, float, Ticket | None, asyncio.Future[None] | None, asyncio.Future[None]]:
        """Take the turn, learn when a slot starts, pass the turn on.

        Returns the slot's id, the loop time at which it may be used, its
        ticket (with ``shared_key``, when known), and the signals of the
        previous waiter's send and of this one's.
        """
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
            try:
                slot, start, ticket = await self._slot_start()
            except RateLimiterUnavailableError as exc:
                self._outage = exc
                raise
            predecessor = self._sent
            sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._sent = sent
            return slot, start, ticket, predecessor, sent

    async def _slot_start(self) -> tuple[str, float, Ticket | None]:
        """Ask Redis for a slot until one is known: its id, the loop time it starts, its ticket."""
        loop = asyncio.get_running_loop()
        slot = self._next_slot()
        queued = False  # Redis may hold a place in the queue, or a slot handed to it, for slot.
        known = False
        try:
            while True:
                pause = self._paused_until - loop.time()
                if pause > 0:
                    # A pause asked for here (or heard of) may not have reached Redis yet.
                    await asyncio.sleep(pause)
                    continue
                # Listening before asking: the message that hands the slot may
                # come before the call's answer.
                ticket: asyncio.Future[tuple[float, Ticket | None] | RateLimiterUnavailableError]
                ticket = loop.create_future()
                self._tickets[slot] = ticket
                try:
                    code, value, ahead, share_ticket = await self._ask(slot)
                    if code == QUEUED:
                        queued = True
                        try:
                            async with asyncio.timeout(self._wake_timeout(ahead, value)):
                                handed = await ticket
                        except TimeoutError:
                            continue  # No message: ask again (a slot handed meanwhile is found).
                        if isinstance(handed, RateLimiterUnavailableError):
                            raise RateLimiterUnavailableError(*handed.args) from handed.__cause__
                        code, (value, share_ticket) = RESERVED, handed
                finally:
                    del self._tickets[slot]
                if code == SUBSCRIBE:
                    await self._subscribe()
                    continue
                if code == PAUSED:
                    await asyncio.sleep(max(value, REDIS_MIN_POLL))
                    continue
                start = loop.time() + value
                if self._paused_until > loop.time():
                    # pause() came while Redis was answering: the slot is unused,
                    # so it goes back and this waiter waits the pause out.
                    self._spawn(self._give_back(slot))
                    slot, queued = self._next_slot(), False
                    continue
                known = True
                return slot, start, share_ticket
        finally:
            if queued and not known:
                # Cancelled, or failed, while queued in Redis.
                self._spawn(self._give_back(slot))

    def _wake_timeout(self, ahead: int, lease_end: float) -> float:
        """How long a queued waiter waits for its message before it asks again.

        A message may be lost: ``REDIS_WAKE_TIMEOUT``, plus the time the waiters
        ahead take at the limit's pace. A slot whose lease ends frees without a
        message (a crashed process's slots), and so does the gate at a probe's
        deadline or a cap's end: no later than ``lease_end``, the first of them.
        """
        pace = (self.window + self.margin) / self.limit
        return min(REDIS_WAKE_TIMEOUT + ahead * pace, lease_end + REDIS_MIN_POLL)

    # -- The subscription -----------------------------------------------------------

    @property
    def _listening(self) -> bool:
        return self._reader is not None and not self._reader.done()

    async def _subscribe(self) -> None:
        """Open the limiter's one subscription to the key's channel, and start reading it.

        Raises:
            RateLimiterUnavailableError: Redis failed or did not confirm in time.
        """
        if self._listening:
            return
        self._calls.subscribe += 1
        pubsub = self._redis.pubsub()
        subscribed = False
        try:
            async with asyncio.timeout(self.timeout):
                await pubsub.ssubscribe(self._channel)
                # Confirmed before any waiter is queued: a message published
                # before the subscription took effect would be lost.
                while True:
                    reply = await _next_message(
                        pubsub, timeout=self.timeout, sharded=self._cluster
                    )
                    if reply is not None and reply["type"] == "ssubscribe":
                        break
            subscribed = True
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from exc
        finally:
            if not subscribed:  # Failed or cancelled: the connection goes back to the pool.
                await pubsub.aclose()
        reader = asyncio.get_running_loop().create_task(self._read(pubsub))
        reader.add_done_callback(_retrieve)
        self._reader = reader

    async def _read(self, pubsub: PubSub) -> None:
        """Hand each message to its waiter, until the subscription fails or is closed."""
        try:
            while True:
                message = await _next_message(pubsub, timeout=None, sharded=self._cluster)
                if message is not None and message["type"] == "smessage":
                    self._on_message(message["data"])
        except (RedisError, OSError) as exc:
            # The waiters queued in Redis would never hear of their slot: they
            # fail now, as they would on their next call. The next waiter
            # subscribes again (or fails, if Redis is still away).
            error = _unavailable(exc)
            error.__cause__ = exc
            logger.warning("rate limit: lost the subscription to Redis (%s)", exc)
            for ticket in self._tickets.values():
                if not ticket.done():
                    ticket.set_result(error)
        finally:
            await pubsub.aclose()

    def _on_message(self, data: bytes | str) -> None:
        text = data.decode() if isinstance(data, bytes) else data
        head, *fields = text.split(" ")
        seconds = int(fields[0]) / US
        if head == "pause":
            # Another process paused the key: a waiter sleeping until its
            # reserved slot's start gives it back rather than send inside the pause.
            self._paused_until = max(
                self._paused_until, asyncio.get_running_loop().time() + seconds
            )
            return
        ticket = self._tickets.get(head)
        if ticket is not None and not ticket.done():
            self._calls.handed += 1
            ticket.set_result((seconds, _ticket(fields[1:])))

    # -- Redis calls -----------------------------------------------------------------

    def _next_slot(self) -> str:
        self._serial += 1
        return f"{self._instance}-{self._serial}"

    async def _ask(self, slot: str) -> tuple[int, float, int, Ticket | None]:
        """One acquire call: its answer's code, seconds to wait, and waiters ahead if queued.

        The call runs in a task of its own that a cancelled waiter does not stop:
        once it is answered, whatever Redis holds for a waiter that left goes
        back, and so does whatever a failed or timed-out call may have taken.
        """
        task = self._spawn(self._acquire(slot), quiet=True)
        answered = False
        try:
            answer = await asyncio.shield(task)
            answered = True
        finally:
            if not answered:
                task.add_done_callback(functools.partial(self._give_back_if_held, slot))
        return answer

    def _give_back_if_held(
        self, slot: str, task: asyncio.Task[tuple[int, float, int, Ticket | None]]
    ) -> None:
        if not task.cancelled() and task.exception() is None:
            if task.result()[0] in HOLDING:  # For a waiter that left: give it back.
                self._spawn(self._give_back(slot))
            return
        # A call that failed or timed out may have run on Redis all the same and
        # would hold a slot for a whole lease. Redis may still be away, so the
        # id rides along with this process's next acquire, which gives it back.
        self._abandoned.add(slot)

    async def _acquire(self, slot: str) -> tuple[int, float, int, Ticket | None]:
        self._calls.acquire += 1
        abandoned = tuple(self._abandoned)
        code, value, published, ahead, *ticket = await self._run(
            self._acquire_script,
            (slot, int(self._listening), *abandoned),
        )
        self._abandoned.difference_update(abandoned)
        self._calls.published += int(published)
        code = int(code)
        if code == GRANTED:
            self._calls.granted += 1
        elif code == RESERVED:
            self._calls.reserved += 1
        elif code == QUEUED:
            self._calls.queued += 1
        return code, int(value) / US, int(ahead), _ticket(ticket)

    async def _complete(self, slot: str, outcome: Sequence[str]) -> None:
        self._calls.complete += 1
        try:
            held, published, paused = await self._run(self._complete_script, (slot, *outcome))
        except RateLimiterUnavailableError as exc:
            logger.warning(
                "rate limit: could not hand a slot back to Redis (%s); its lease frees it "
                "within %.0f s",
                exc.__cause__ or exc,
                self.lease,
            )
            return
        self._calls.published += int(published)
        if int(paused) > 0:
            # The answer left nothing of the server's window: every process
            # pauses (the others hear it on the channel), this one at once.
            delay = int(paused) / US
            loop = asyncio.get_running_loop()
            self._paused_until = max(self._paused_until, loop.time() + delay)
            logger.info(
                "rate limit: the key is spent elsewhere too; every process pauses for %.3f s",
                delay,
            )
        if not held:
            logger.warning(
                "rate limit: a request outlived its slot's lease of %.0f s; set lease above "
                "the client's timeout plus the window",
                self.lease,
            )

    async def _give_back(self, slot: str) -> None:
        self._calls.release += 1
        try:
            _, published = await self._run(self._release_script, (slot,))
        except RateLimiterUnavailableError as exc:
            # Redis may hold it for a whole lease: the next acquire gives it back.
            self._abandoned.add(slot)
            logger.warning("rate limit: could not give back an unused slot (%s)", exc.__cause__)
            return
        self._calls.published += int(published)

    async def _pause(self, delay: float, *, counted: int) -> None:
        self._calls.pause += 1
        try:
            paused, remaining, published = await self._run(
                self._pause_script, (_micros(delay), counted)
            )
        except RateLimiterUnavailableError as exc:
            # The next acquire fails closed with the same cause.
            logger.warning("rate limit: could not share a pause through Redis (%s)", exc.__cause__)
            return
        self._calls.published += int(published)
        if paused and counted >= 0:
            logger.info(
                "rate limit: the server counted %d requests, more than the key's busy slots: "
                "another consumer spends the key; every process pauses for %.3f s",
                counted,
                int(remaining) / US,
            )

    async def _status(self) -> tuple[int, float]:
        self._calls.status += 1
        busy, remaining = await self._run(self._status_script, ())
        return int(busy), int(remaining) / US

    async def _run(self, script: AsyncScript, args: Sequence[int | str]) -> list[Any]:
        """Run one script on the key's Redis keys.

        Raises:
            RateLimiterUnavailableError: Redis failed, refused or did not answer
                within ``timeout`` (the cause is chained).
        """
        probe_us = _micros(self.probe_timeout) if self.shared_key else 0
        common = (self.limit, self._lease_us, self._hold_us, self._channel, probe_us)
        try:
            async with asyncio.timeout(self.timeout):
                result: list[Any] | int = await script(keys=self._keys, args=(*common, *args))
        except (RedisError, OSError) as exc:  # OSError covers TimeoutError.
            raise _unavailable(exc) from exc
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


def _unavailable(exc: BaseException) -> RateLimiterUnavailableError:
    return RateLimiterUnavailableError(
        "the shared rate limit's Redis failed or did not answer "
        f"({type(exc).__name__}: {exc}); no request was sent"
    )


def _retrieve(task: asyncio.Task[None]) -> None:
    """Retrieve a finished reader's outcome (its errors are handled inside it)."""
    if not task.cancelled():
        task.exception()


def _ticket(fields: Sequence[int | str | bytes]) -> Ticket | None:
    """A ticket from a script's answer or a message (serial 0 or nothing: none)."""
    if len(fields) < 4 or int(fields[0]) == 0:
        return None
    serial, busy, in_flight, probe = (int(field) for field in fields[:4])
    return Ticket(serial, busy, in_flight, bool(probe))


def _ticket_args(ticket: Ticket | None) -> tuple[str, str, str]:
    """A ticket as the complete script takes it (serial 0: unknown)."""
    if ticket is None:
        return ("0", "0", "0")
    return (str(ticket.serial), str(ticket.busy), str(ticket.in_flight))


def _micros(seconds: float) -> int:
    """Whole microseconds, rounded up (after float noise: 0.205 s is 205000 µs)."""
    return max(0, math.ceil(round(seconds * US, 6)))


async def _next_message(
    pubsub: PubSub,
    *,
    timeout: float | None,  # noqa: ASYNC109 (redis-py's own read timeout)
    sharded: bool,
) -> dict[str, Any] | None:
    """The subscription's next message, ``None`` after ``timeout`` seconds (``None``: wait).

    A cluster's sharded messages come from the node that owns the channel's
    slot, which only ``ClusterPubSub.get_sharded_message`` reads (redis-py 8).
    """
    message: dict[str, Any] | None
    if sharded:
        # Its timeout is a number only: waiting without end is a long wait, repeated.
        message = await cast("ClusterPubSub", pubsub).get_sharded_message(
            timeout=REDIS_CLUSTER_READ if timeout is None else timeout
        )
    else:
        message = await pubsub.get_message(timeout=timeout)
    return message
