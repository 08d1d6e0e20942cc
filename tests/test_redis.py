"""The Redis-backed limiter, against a real ``redis-server`` on loopback.

A module fixture starts ``redis-server`` on a free port (nothing saved to disk)
and stops it at the end; when it is missing or does not start, the tests FAIL
with the line that installs it, they are never skipped. Redis's clock is real,
so windows here are short (0.2 s) and assertions read Redis's own state and
clock (``TIME``, slot scores, the pause deadline) or the order of events,
never a sleep that happens to be long enough.

The slow tests run worker *processes*: the docs' four-worker example against
one strict fake lemlist, and a worker killed while it holds every slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.crc import key_slot
from redis.exceptions import RedisError

import lemlist_async.redis
from lemlist_async import KeyRateLimiter, LemlistClient, LemlistError, RateLimitError
from lemlist_async._config import key_fingerprint
from lemlist_async._headers import RateLimitInfo
from lemlist_async._ratelimit import adapt_limiter
from lemlist_async._sharing import Ticket
from lemlist_async.redis import RateLimiterUnavailableError, RedisRateLimiter
from lemlist_async.testing import FakeLemlistServer

from ._redis_server import RedisServer, free_port, running_redis_server
from .conftest import ScriptedServer

# A limiter that waited holds a subscription: each test closes what it built.
pytestmark = pytest.mark.usefixtures("close_redis_limiters")

KEY = "sk-SENTINEL-redis-0123456789abcdef"
WINDOW = 0.2
MARGIN = 0.005
HOLD = WINDOW + MARGIN
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url)
    await client.flushall()
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def other_redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    """A second client with connections of its own: another process's view."""
    client = Redis.from_url(redis_server.url)
    try:
        yield client
    finally:
        await client.aclose()


def limiter(redis: Redis, **options: Any) -> RedisRateLimiter:
    """A limiter for the slot mechanics: without the probe, which would gate them.

    The probe and the cap across processes have their tests in test_redis_sharing.py.
    """
    options = {
        "limit": 3, "window": WINDOW, "margin": MARGIN, "lease": 30.0, "shared_key": False,
        **options,
    }  # fmt: skip
    return RedisRateLimiter(redis, KEY, **options)


async def redis_now(redis: Redis) -> float:
    """Redis's clock, in seconds."""
    seconds, micros = await redis.time()
    return int(seconds) + int(micros) / 1e6


async def slots(redis: Redis, lim: RedisRateLimiter) -> dict[str, float]:
    """Each slot's id and when it frees itself (Redis seconds), soonest first."""
    # redis-py's annotations cover every reply shape; this client returns bytes.
    entries: Any = await redis.zrange(lim.keys[0], 0, -1, withscores=True)
    return {member.decode(): score / 1e6 for member, score in entries}


async def scores(redis: Redis, lim: RedisRateLimiter) -> list[float]:
    """When each slot frees itself, in Redis seconds, ascending."""
    return list((await slots(redis, lim)).values())


async def pause_end(redis: Redis, lim: RedisRateLimiter) -> float | None:
    raw = await redis.get(lim.keys[1])
    return None if raw is None else int(raw) / 1e6


# -- The scripts ---------------------------------------------------------------------------


GRANTED, RESERVED, QUEUED, SUBSCRIBE = 1, 2, 4, 5


async def test_grants_up_to_the_limit_then_reserves_the_earliest_completed_slot(
    redis: Redis,
) -> None:
    lim = limiter(redis)
    assert [(await lim._acquire(f"s{i}"))[0] for i in range(3)] == [GRANTED] * 3
    # All three in flight, and not listening yet: it must subscribe before it queues.
    assert (await lim._acquire("s3"))[0] == SUBSCRIBE
    assert await lim.busy() == 3

    before = await redis_now(redis)
    await lim._complete("s1", ())
    await lim._complete("s0", ())
    after = await redis_now(redis)
    frees_at = await slots(redis, lim)
    # Completed: held window + margin from the moment it completed, on Redis's clock.
    assert before + HOLD <= frees_at["s0"] <= after + HOLD
    # Still in flight: the lease.
    assert frees_at["s2"] >= before + 30.0 - 1.0

    # Full: the caller takes the place of the completed slot that frees first (s1),
    # from the instant it frees, and is told how long until then.
    code, wait, *_ = await lim._acquire("s3")
    now = await redis_now(redis)
    assert code == RESERVED
    assert frees_at["s1"] - now - 0.01 <= wait <= frees_at["s1"] - now + 0.01
    held = await slots(redis, lim)
    assert "s1" not in held
    assert held["s3"] == pytest.approx(frees_at["s1"] + 30.0, abs=1e-6)
    assert await lim.busy() == 3  # One slot replaced by another: never more busy.
    reserved: Any = await redis.hgetall(lim.keys[3])
    assert {k.decode(): int(v) / 1e6 for k, v in reserved.items()} == {
        "s3": pytest.approx(frees_at["s1"], abs=1e-6)
    }
    # The next one gets s0's place, which frees later.
    code, wait, *_ = await lim._acquire("s4")
    assert code == RESERVED
    assert (await slots(redis, lim))["s4"] == pytest.approx(frees_at["s0"] + 30.0, abs=1e-6)
    assert lim.calls.acquire == 6
    assert (lim.calls.granted, lim.calls.reserved) == (3, 2)


async def test_a_reservation_given_back_frees_no_earlier_than_the_slot_it_replaced(
    redis: Redis,
) -> None:
    lim = limiter(redis, limit=1)
    assert (await lim._acquire("s0"))[0] == GRANTED
    await lim._complete("s0", ())
    [release] = await scores(redis, lim)
    assert (await lim._acquire("s1"))[0] == RESERVED
    await lim._give_back("s1")
    # Back as a completed slot, busy until the instant s0 would have freed: not removed.
    assert await slots(redis, lim) == {"s1": pytest.approx(release, abs=1e-6)}
    assert await redis.hlen(lim.keys[3]) == 0
    # And claimable again, from that instant.
    code, wait, *_ = await lim._acquire("s2")
    assert code == RESERVED
    assert wait <= release - await redis_now(redis) + 0.01


async def test_a_completed_slot_frees_window_plus_margin_later_and_not_before(
    redis: Redis,
) -> None:
    lim = limiter(redis)
    start = await redis_now(redis)
    for _ in range(3):
        async with lim:
            pass
    done = await redis_now(redis)
    assert await lim.busy() == 3
    assert all(start + HOLD <= s <= done + HOLD for s in await scores(redis, lim))
    # The 4th request starts only once the first slot has freed, on Redis's clock.
    first_free = (await scores(redis, lim))[0]
    async with lim:
        granted_at = await redis_now(redis)
    assert granted_at >= first_free
    assert granted_at - first_free < 1.0  # It slept until then, not a poll period longer.


@pytest.mark.parametrize("shared_key", [True, False], ids=["shared_key", "unshared"])
async def test_uncontended_requests_cost_two_redis_calls_each(
    redis: Redis, shared_key: bool
) -> None:
    # With shared_key, the first request is the probe; each answer rides with its complete.
    lim = limiter(redis, limit=20, shared_key=shared_key)
    for _ in range(10):
        async with lim:
            pass
    calls = lim.calls
    assert (calls.acquire, calls.granted, calls.complete, calls.total) == (10, 10, 10, 20)
    assert calls.per_request() == 2.0
    assert math.isnan(limiter(redis).calls.per_request())


async def test_waiters_know_when_their_slot_starts_without_polling(redis: Redis) -> None:
    lim = limiter(redis, limit=2)
    await asyncio.gather(*(_one_request(lim) for _ in range(8)))
    calls = lim.calls
    assert calls.complete == 8
    # Each request asked once: 2 free slots, then reservations and places in the
    # queue handed over by the completes. One subscription, for the first wait.
    assert calls.acquire == 8 + 1  # + the answer that said "subscribe first"
    assert calls.subscribe == 1
    assert calls.granted + calls.reserved + calls.handed == 8
    assert calls.total == 2 * 8 + 2
    await lim.aclose()


async def _one_request(lim: RedisRateLimiter, delay: float = 0.01) -> None:
    async with lim:
        await asyncio.sleep(delay)


# -- Pause, across processes -----------------------------------------------------------------


async def test_a_pause_in_one_process_stops_every_process(
    redis: Redis, other_redis: Redis
) -> None:
    here, there = limiter(redis), limiter(other_redis)
    here.pause(0.3)
    await here.flush()
    deadline = await pause_end(redis, here)
    assert deadline is not None
    assert 0.2 < await there.paused_for() <= 0.3
    async with there:
        started = await redis_now(other_redis)
    assert started >= deadline
    # A shorter pause never cuts a longer one short.
    here.pause(5.0)
    there.pause(0.1)
    await here.flush()
    await there.flush()
    assert await there.paused_for() > 4.0


async def test_a_429_in_one_process_pauses_the_others_until_retry_after(
    server: ScriptedServer, redis: Redis, other_redis: Redis
) -> None:
    server.answer(429, "Too many requests", headers={"Retry-After": "0.4"})
    first = RedisRateLimiter(redis, KEY, window=WINDOW)
    second = RedisRateLimiter(other_redis, KEY, window=WINDOW)
    async with (
        LemlistClient(KEY, base_url=server.base_url, rate_limit=first, max_retries=0) as a,
        LemlistClient(KEY, base_url=server.base_url, rate_limit=second) as b,
    ):
        with pytest.raises(RateLimitError):
            await a.get_campaign_leads("cam_1")
        await first.flush()  # The pause reaches Redis in the background.
        await b.get_campaign_leads("cam_2")
    assert [r.path for r in server.requests] == [
        "/api/campaigns/cam_1/leads/",
        "/api/campaigns/cam_2/leads/",
    ]
    assert server.requests[1].time - server.requests[0].time >= 0.4


async def test_remaining_zero_pauses_everyone_only_when_the_server_counted_more(
    redis: Redis, other_redis: Redis
) -> None:
    here, there = limiter(redis), limiter(other_redis)
    async with here, here:
        pass
    # Two slots busy and the server counted 2 of a limit of 2: our own traffic.
    here.observe(RateLimitInfo(limit=2, remaining=0), pause=0.5)
    await here.flush()
    assert await pause_end(redis, here) is None
    assert here.info == RateLimitInfo(limit=2, remaining=0)
    # It counted 3 with two busy: someone else spends the key; everyone pauses.
    here.observe(RateLimitInfo(limit=3, remaining=0), pause=0.5)
    await here.flush()
    assert 0.4 < await there.paused_for() <= 0.5
    # No headers, or requests left: nothing to do.
    here.observe(RateLimitInfo(), pause=None)
    here.observe(RateLimitInfo(limit=20, remaining=5), pause=1.0)
    assert here.calls.pause == 2


# -- Leases: a crashed holder --------------------------------------------------------------


async def test_a_slot_never_completed_frees_itself_after_its_lease(
    redis: Redis, other_redis: Redis
) -> None:
    crashed = limiter(redis, limit=1, lease=0.4)
    await crashed.__aenter__()  # ... and its process dies: no __aexit__.
    [lease_end] = await scores(redis, crashed)
    survivor = limiter(other_redis, limit=1, lease=0.4)
    async with survivor:
        started = await redis_now(other_redis)
    assert started >= lease_end
    assert started - lease_end < 1.0


# -- Inside one process: FIFO and cancellation ---------------------------------------------


async def test_waiters_of_one_process_are_served_first_in_first_out(redis: Redis) -> None:
    lim = limiter(redis, limit=2)
    order: list[int] = []

    async def request(i: int) -> None:
        async with lim:
            order.append(i)

    await asyncio.gather(*(request(i) for i in range(7)))
    assert order == list(range(7))


async def test_a_waiter_cancelled_in_the_queue_takes_no_slot(redis: Redis) -> None:
    lim = limiter(redis, limit=1)
    holds, release = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with lim:
            holds.set()
            await release.wait()

    holding = asyncio.create_task(holder())
    await holds.wait()
    waiter = asyncio.create_task(_one_request(lim))
    await asyncio.sleep(0.05)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    release.set()
    await holding
    await lim.flush()
    assert await lim.busy() == 1  # The holder's slot, completed; nothing else.
    assert lim.calls.granted == 1
    assert not lim._in_flight


class _GatedLimiter(RedisRateLimiter):
    """Holds Redis's answer to every acquire call until ``gate`` opens.

    ``replied`` is set once Redis has answered: whatever happens to the waiter
    while the gate is shut happens between Redis's grant and the waiter hearing of it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = asyncio.Event()
        self.replied = asyncio.Event()

    async def _acquire(self, slot: str) -> tuple[int, float, int, Ticket | None]:
        answer = await super()._acquire(slot)
        self.replied.set()
        await self.gate.wait()
        return answer


async def test_a_slot_granted_to_a_waiter_cancelled_mid_call_goes_back(redis: Redis) -> None:
    lim = _GatedLimiter(redis, KEY, limit=1, window=WINDOW, lease=30.0)
    waiter = asyncio.create_task(_one_request(lim))
    await lim.replied.wait()
    assert await lim.busy() == 1  # Redis granted it...
    waiter.cancel()  # ... to a waiter that leaves before hearing of it.
    with pytest.raises(asyncio.CancelledError):
        await waiter
    lim.gate.set()
    await lim.flush()
    assert lim.calls.granted == 1
    assert lim.calls.release == 1  # So it goes straight back.
    assert await lim.busy() == 0
    async with lim:  # And the next caller gets it at once.
        pass


class _Answers(RedisRateLimiter):
    """Sets ``replied[code]`` once an acquire call has answered ``code``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.replied = {code: asyncio.Event() for code in (GRANTED, RESERVED, QUEUED)}

    async def _acquire(self, slot: str) -> tuple[int, float, int, Ticket | None]:
        answer = await super()._acquire(slot)
        if answer[0] in self.replied:
            self.replied[answer[0]].set()
        return answer


async def test_a_waiter_cancelled_while_it_holds_a_reservation_gives_back_the_slot_it_replaced(
    redis: Redis,
) -> None:
    lim = _Answers(redis, KEY, limit=1, window=WINDOW, margin=MARGIN, lease=30.0)
    async with lim:
        pass
    [release] = await scores(redis, lim)
    waiter = asyncio.create_task(_one_request(lim))
    await lim.replied[RESERVED].wait()  # It sleeps until the completed slot frees.
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await lim.flush()
    assert lim.calls.release == 1
    # Not removed: busy until the same instant as the slot it replaced, and claimable.
    [(member, frees_at)] = (await slots(redis, lim)).items()
    assert frees_at == pytest.approx(release, abs=1e-6)
    assert await redis.zscore(lim.keys[2], member) == pytest.approx(release * 1e6, abs=1)
    async with lim:
        started = await redis_now(redis)
    assert started >= release
    assert not lim._in_flight


async def test_a_waiter_queued_in_one_process_is_handed_its_slot_by_anothers_complete(
    redis: Redis, other_redis: Redis
) -> None:
    holder = limiter(redis, limit=2)
    waiter = _Answers(other_redis, KEY, limit=2, window=WINDOW, margin=MARGIN, lease=30.0)
    await holder.__aenter__()
    await holder.__aenter__()  # Both slots in flight: nothing to reserve.
    request = asyncio.create_task(_one_request(waiter))
    await waiter.replied[QUEUED].wait()
    await holder.__aexit__(None, None, None)
    [release, _] = await scores(redis, holder)
    await request
    calls = waiter.calls
    # Asked twice (told to subscribe first, then queued); the slot came by message.
    assert (calls.acquire, calls.subscribe, calls.queued, calls.handed) == (2, 1, 1, 1)
    assert holder.calls.published == 1
    # It replaced the completed slot, from the instant that slot freed.
    assert all(s >= release + WINDOW for s in await scores(redis, holder) if s > release)
    await holder.__aexit__(None, None, None)
    await asyncio.gather(holder.aclose(), waiter.aclose())


async def test_requests_under_contention_cost_a_bounded_number_of_redis_calls(
    redis_server: RedisServer,
) -> None:
    processes, per_process, limit = 3, 10, 3
    clients = [Redis.from_url(redis_server.url) for _ in range(processes)]
    limiters = [limiter(client, limit=limit) for client in clients]
    loop = asyncio.get_running_loop()
    starts: list[float] = []

    async def request(lim: RedisRateLimiter) -> None:
        async with lim:
            starts.append(loop.time())
            await asyncio.sleep(0.01)

    try:
        await asyncio.gather(*(request(lim) for lim in limiters for _ in range(per_process)))
        for lim in limiters:
            await lim.aclose()
    finally:
        for client in clients:
            await client.aclose()
    requests = processes * per_process
    calls = [lim.calls for lim in limiters]
    total = sum(c.total for c in calls)
    # acquire + complete per request; per process at most one subscription and
    # the answer that asked for it. No poll: waiting costs no call.
    assert sum(c.complete for c in calls) == requests
    assert sum(c.acquire for c in calls) <= requests + processes
    assert total <= 2 * requests + 2 * processes
    assert total / requests <= 2.5
    assert sum(c.handed for c in calls) <= sum(c.published for c in calls)
    # And still never more than `limit` starts in any window.
    starts.sort()
    assert all(b - a >= WINDOW for a, b in zip(starts, starts[limit:], strict=False))


async def test_aclose_closes_the_one_subscription(redis: Redis) -> None:
    lim = limiter(redis, limit=1)
    await asyncio.gather(*(_one_request(lim) for _ in range(3)))
    assert lim.calls.subscribe == 1
    [(_, listening)] = await redis.pubsub_shardnumsub(lim.channel)
    assert listening == 1
    await lim.aclose()
    [(_, listening)] = await redis.pubsub_shardnumsub(lim.channel)
    assert listening == 0
    assert lim._reader is None
    await lim.aclose()  # Twice is harmless.


@pytest.mark.parametrize("outcome", ["cancelled", "raised"])
async def test_a_slot_whose_request_was_cancelled_or_failed_is_held_a_window(
    redis: Redis, outcome: str
) -> None:
    lim = limiter(redis)
    sent = asyncio.Event()

    async def request() -> None:
        async with lim:
            sent.set()
            if outcome == "raised":
                raise RuntimeError("boom")
            await asyncio.sleep(10)

    before = await redis_now(redis)
    task = asyncio.create_task(request())
    await sent.wait()
    if outcome == "cancelled":
        task.cancel()
    with pytest.raises(asyncio.CancelledError if outcome == "cancelled" else RuntimeError):
        await task
    [frees_at] = await scores(redis, lim)
    # Completed (a window from now), not left to its 30 s lease.
    assert before + HOLD <= frees_at <= await redis_now(redis) + HOLD
    assert lim.calls.complete == 1


async def test_pause_called_while_redis_grants_sends_the_slot_back(redis: Redis) -> None:
    lim = _GatedLimiter(redis, KEY, limit=1, window=WINDOW, lease=30.0)
    request = asyncio.create_task(_one_request(lim))
    await lim.replied.wait()
    lim.pause(0.3)  # While the grant is on its way.
    lim.gate.set()
    await request
    assert lim.calls.release == 1
    assert lim.calls.granted == 2  # The unused grant, then the real one after the pause.


# -- Redis unreachable: fail closed ----------------------------------------------------------


async def test_unreachable_redis_raises_and_sends_nothing(server: ScriptedServer) -> None:
    # No retries: redis-py's default backs off for seconds before giving up.
    dead = Redis(host="127.0.0.1", port=free_port(), retry=Retry(NoBackoff(), 0))
    lim = RedisRateLimiter(dead, KEY)
    try:
        with pytest.raises(RateLimiterUnavailableError) as caught:
            async with lim:
                pytest.fail("a slot without Redis")
        assert isinstance(caught.value, LemlistError)
        assert isinstance(caught.value.__cause__, RedisError)
        assert "no request was sent" in str(caught.value)
        with pytest.raises(RateLimiterUnavailableError):
            await lim.busy()
        async with LemlistClient(KEY, base_url=server.base_url, rate_limit=lim) as client:
            with pytest.raises(RateLimiterUnavailableError):
                await client.get_campaign_leads("cam_1")
        assert server.requests == []
    finally:
        await dead.aclose()


async def test_a_redis_that_never_answers_fails_closed_after_the_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # Reads everything, answers nothing.
        writer.close()

    black_hole = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = black_hole.sockets[0].getsockname()[1]
    client = Redis(host="127.0.0.1", port=port)
    lim = RedisRateLimiter(client, KEY, timeout=0.2)
    try:
        started = time.monotonic()
        with pytest.raises(RateLimiterUnavailableError) as caught:
            async with lim:
                pass
        assert time.monotonic() - started < 2.0
        assert isinstance(caught.value.__cause__, TimeoutError)
    finally:
        await client.aclose()
        black_hole.close()
        await black_hole.wait_closed()


@contextlib.contextmanager
def stopped(server: RedisServer) -> Iterator[None]:
    """``redis-server`` frozen by SIGSTOP: it accepts connections and answers nothing."""
    os.kill(server.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(server.process.pid, signal.SIGCONT)


async def _fails_closed(lim: RedisRateLimiter, started: float) -> float:
    """Seconds from ``started`` until ``lim`` refused a slot for want of Redis."""
    with pytest.raises(RateLimiterUnavailableError) as caught:
        async with lim:
            pytest.fail("a slot without Redis")
    assert isinstance(caught.value.__cause__, TimeoutError)
    return asyncio.get_running_loop().time() - started


async def test_callers_queued_behind_a_hung_redis_all_fail_within_one_timeout() -> None:
    timeout = 0.5
    loop = asyncio.get_running_loop()
    with running_redis_server() as own:  # Its own server: this one gets frozen.
        client = Redis.from_url(own.url)
        lim = RedisRateLimiter(client, KEY, timeout=timeout, lease=30.0)
        try:
            async with lim:  # Connected, scripts loaded: only the hang differs below.
                pass
            asked = lim.calls.acquire
            with stopped(own):
                started = loop.time()
                elapsed = await asyncio.gather(*(_fails_closed(lim, started) for _ in range(20)))
                # The 20 shared the outage of one Redis call: none waited for the
                # timeouts of those queued before it.
                assert max(elapsed) < 2 * timeout, sorted(elapsed)
                assert lim.calls.acquire == asked + 1
                # A caller that comes after the failure asks Redis afresh (it may be back).
                await _fails_closed(lim, loop.time())
                assert lim.calls.acquire == asked + 2
            # Redis is back: the next caller gets a slot.
            async with lim:
                pass
            await lim.flush()
            # No slot left to its lease by the calls that timed out: every one
            # still held is a completed one, freed a window from now.
            now = await redis_now(client)
            assert all(s <= now + 2.0 + 0.005 for s in await scores(client, lim))
            assert not lim._in_flight
        finally:
            await client.aclose()


async def test_a_waiter_queued_in_redis_fails_closed_when_redis_dies() -> None:
    with running_redis_server() as own:
        client = Redis.from_url(own.url, retry=Retry(NoBackoff(), 0))
        holder = RedisRateLimiter(client, KEY, limit=1, window=WINDOW, lease=30.0)
        waiter = _Answers(client, KEY, limit=1, window=WINDOW, lease=30.0)
        try:
            await holder.__aenter__()  # Its one slot in flight.
            request = asyncio.create_task(_one_request(waiter))
            await waiter.replied[QUEUED].wait()
            started = asyncio.get_running_loop().time()
            own.stop()  # Redis dies while the waiter waits for its message.
            with pytest.raises(RateLimiterUnavailableError) as caught:
                await request
            # From the lost subscription, not from a later timeout.
            assert asyncio.get_running_loop().time() - started < 2.0
            assert isinstance(caught.value.__cause__, RedisError)
            assert not waiter._in_flight
            assert waiter.calls.granted + waiter.calls.reserved == 0
            await waiter.flush()
            await waiter.aclose()
        finally:
            await client.aclose()


async def test_a_slot_that_cannot_be_completed_is_left_to_its_lease(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with running_redis_server() as own:
        client = Redis.from_url(own.url, socket_connect_timeout=1.0)
        try:
            lim = RedisRateLimiter(client, KEY, timeout=1.0)
            with caplog.at_level(logging.WARNING, logger="lemlist_async"):
                async with lim:
                    own.stop()  # Redis goes away while the request is in flight.
            assert "its lease frees it" in caplog.text
            with pytest.raises(RateLimiterUnavailableError):
                async with lim:
                    pass
        finally:
            await client.aclose()


# -- Keys: hashed, hash-tagged ----------------------------------------------------------


async def test_a_slot_a_timed_out_acquire_took_is_dropped_by_the_next_acquire(
    redis: Redis, other_redis: Redis
) -> None:
    lim = limiter(redis, timeout=0.3)
    async with lim:  # Loads the scripts.
        pass
    await other_redis.delete(*lim.keys)

    # Another client keeps Redis busy for 1 s: the acquire times out on this side,
    # yet Redis runs it afterwards and the slot is taken.
    async def keep_redis_busy() -> None:
        await other_redis.eval(_BUSY_FOR_ONE_SECOND, 0)

    stall = asyncio.create_task(keep_redis_busy())
    await asyncio.sleep(0.05)
    with pytest.raises(RateLimiterUnavailableError):
        async with lim:
            pytest.fail("no slot may be granted while Redis does not answer")
    await stall
    await lim.flush()
    assert await lim.busy() == 1  # The orphan, held for a whole lease...
    async with lim:
        pass
    assert await lim.busy() == 1  # ...until the next acquire drops it: one slot, its own.


_BUSY_FOR_ONE_SECOND = """
local t = redis.call('TIME')
local start = t[1] * 1000000 + t[2]
while true do
  local u = redis.call('TIME')
  if u[1] * 1000000 + u[2] - start > 1000000 then return 1 end
end
"""


async def test_the_raw_key_never_reaches_redis_nor_repr(redis: Redis) -> None:
    lim = limiter(redis)
    async with lim:
        pass
    await lim.__aenter__()  # One in flight too.
    lim.pause(1.0)
    lim.observe(RateLimitInfo(limit=3, remaining=0), pause=1.0)
    await lim.flush()
    found: list[bytes] = []
    async for key in redis.scan_iter():
        kind: Any = await redis.type(key)
        found.append(key)
        if kind == b"zset":
            members: Any = await redis.zrange(key, 0, -1)
            found += members
        elif kind == b"string":
            value: Any = await redis.get(key)
            found.append(value)
        elif kind == b"hash":
            fields: Any = await redis.hgetall(key)
            found += [*fields, *fields.values()]
        else:
            pytest.fail(f"unexpected key type {kind!r} for {key!r}")
    assert len(found) >= 4  # Slots (one completed, one in flight) and the pause.
    assert not [item for item in found if KEY.encode() in item]
    assert KEY not in repr(lim)
    assert KEY not in repr(vars(lim))
    assert key_fingerprint(KEY) in repr(lim)


async def test_every_key_carries_the_fingerprint_as_a_cluster_hash_tag(redis: Redis) -> None:
    lim = limiter(redis, shared_key=True)  # So that the probe-and-cap hash is written too.
    async with lim:
        pass
    lim.pause(1.0)
    await lim.flush()
    keys = sorted([key.decode() async for key in redis.scan_iter()])
    assert set(keys) <= set(lim.keys)
    assert lim.keys[5] in keys
    assert len(lim.keys) == 6
    tag = key_fingerprint(KEY)
    for key in [*lim.keys, lim.channel]:
        assert re.fullmatch(r"lemlist-async:\{([0-9a-f]{16})\}:[a-z]+", key)
        assert f"{{{tag}}}" in key
    assert len({key_slot(key.encode()) for key in [*lim.keys, lim.channel]}) == 1
    # A key with spaces around it is the same key, as for the client.
    assert RedisRateLimiter(redis, f" {KEY}\n").keys == lim.keys


# -- Construction and the protocol -----------------------------------------------------


async def test_it_plugs_into_the_client_as_is(redis: Redis) -> None:
    lim = limiter(redis)
    assert isinstance(lim, KeyRateLimiter)
    assert adapt_limiter(lim) is lim
    async with FakeLemlistServer(seed=1, campaigns=2, leads_per_campaign=3) as fake:
        lim = RedisRateLimiter(redis, fake.api_key, window=WINDOW)
        async with LemlistClient(fake.api_key, base_url=fake.base_url, rate_limit=lim) as client:
            leads = await client.get_campaign_leads(fake.campaign_ids[0])
            assert client.limiter is lim
            assert client.latest_rate_limit == lim.info
    assert len(leads) == 3
    assert lim.info is not None
    assert lim.info.limit == 20
    assert lim.calls.complete == 1


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"limit": 0}, ValueError),
        ({"limit": True}, ValueError),
        ({"limit": 2.0}, ValueError),
        ({"window": 0}, ValueError),
        ({"window": math.inf}, ValueError),
        ({"margin": -0.1}, ValueError),
        ({"lease": 0}, ValueError),
        ({"lease": math.nan}, ValueError),
        ({"timeout": -1}, ValueError),
        ({"api_key": ""}, ValueError),
        ({"api_key": 123}, TypeError),
    ],
)
async def test_bad_arguments_are_refused(
    redis: Redis, options: dict[str, Any], error: type[Exception]
) -> None:
    api_key = options.pop("api_key", KEY)
    with pytest.raises(error):
        RedisRateLimiter(redis, api_key, **options)


async def test_pause_refuses_a_delay_that_is_not_finite(redis: Redis) -> None:
    lim = limiter(redis)
    with pytest.raises(ValueError, match="finite"):
        lim.pause(math.inf)
    lim.pause(0)
    lim.pause(-1)
    assert lim.calls.pause == 0


def test_the_public_module_exports_the_limiter() -> None:
    assert lemlist_async.redis.__all__ == [
        "RateLimiterUnavailableError",
        "RedisCalls",
        "RedisRateLimiter",
    ]
    assert issubclass(RateLimiterUnavailableError, LemlistError)


# -- Worker processes ------------------------------------------------------------------------

LATENCY = 0.02
JITTER = 0.02


def _env(redis_url: str, api_key: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "REDIS_URL": redis_url, "LEMLIST_API_KEY": api_key, **extra}


async def kill_once_holding(env: dict[str, str]) -> asyncio.subprocess.Process:
    """Start ``tests._redis_crash_worker``, SIGKILL it once it holds its slots, reap it."""
    crashing = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests._redis_crash_worker",
        cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert crashing.stdout is not None
        line = await asyncio.wait_for(crashing.stdout.readline(), 30)
        assert line == b"holding\n"
    finally:
        with contextlib.suppress(ProcessLookupError):
            crashing.send_signal(signal.SIGKILL)
        await crashing.wait()
    return crashing


async def test_four_worker_processes_share_one_limit(redis_server: RedisServer) -> None:
    """The docs' example: 4 processes x 50 campaigns, one key, one strict server."""
    async with FakeLemlistServer(
        seed=6, campaigns=200, leads_per_campaign=2, latency=LATENCY, jitter=JITTER
    ) as fake:
        env = _env(redis_server.url, fake.api_key, LEMLIST_BASE_URL=fake.base_url)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests._redis_workers_example", *fake.campaign_ids,
            cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), 90)
        assert process.returncode == 0, err.decode()
        arrivals = sorted(r.time for r in fake.requests)

    assert out.decode().splitlines() == [
        *(f"worker {i}: 100 leads from 50 campaigns" for i in range(4)),
        "total: 400 leads from 200 campaigns",
    ]
    assert fake.count(200) == 200
    assert fake.count(429) == 0
    assert fake.max_arrivals_in_window(2.0) <= 20
    # From the first request to the last response, against the fastest legal
    # schedule of 200 requests: 2 * (ceil(200 / 20) - 1) s plus a round trip.
    makespan = arrivals[-1] - arrivals[0] + LATENCY + JITTER
    minimum = 2.0 * (math.ceil(200 / 20) - 1) + LATENCY + JITTER
    assert minimum <= makespan <= 1.1 * minimum


async def test_the_workers_example_reports_a_failed_campaign_and_keeps_the_rest(
    redis_server: RedisServer,
) -> None:
    async with FakeLemlistServer(seed=8, campaigns=7, leads_per_campaign=1) as fake:
        env = _env(redis_server.url, fake.api_key, LEMLIST_BASE_URL=fake.base_url)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests._redis_workers_example", *fake.campaign_ids, "cam_gone",
            cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1
    assert "cam_gone failed: 404 Campaign not found" in err.decode()
    assert out.decode().splitlines()[-1] == "total: 7 leads from 8 campaigns"


async def test_a_killed_worker_blocks_the_others_no_longer_than_its_lease(
    redis_server: RedisServer, redis: Redis
) -> None:
    lease = 1.0
    async with FakeLemlistServer(seed=7, campaigns=20, leads_per_campaign=1) as fake:
        crashing = await kill_once_holding(_env(redis_server.url, fake.api_key, LEASE=str(lease)))
        loop = asyncio.get_running_loop()
        killed_at = loop.time()
        survivor = RedisRateLimiter(redis, fake.api_key, lease=lease)
        assert await survivor.busy() == 20  # Every slot orphaned, in flight.
        orphans = await scores(redis, survivor)
        now = await redis_now(redis)
        first_free_in, last_free_in = orphans[0] - now, orphans[-1] - now
        assert 0 < first_free_in <= last_free_in <= lease
        async with LemlistClient(
            fake.api_key, base_url=fake.base_url, rate_limit=survivor
        ) as client:
            await asyncio.gather(*(client.get_campaign_leads(c) for c in fake.campaign_ids))
        done_at = loop.time()
        first_arrival = min(r.time for r in fake.requests)

    assert crashing.returncode == -signal.SIGKILL
    assert fake.count(200) == 20
    assert fake.count(429) == 0
    # The survivors waited for the lease, and not much longer.
    assert first_arrival - killed_at >= first_free_in - 0.01
    assert done_at - killed_at <= last_free_in + 1.0
