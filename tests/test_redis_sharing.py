"""The probe and the cap of a shared key, across processes: ``RedisRateLimiter(shared_key=True)``.

First the rules: the Lua port of ``_sharing.py`` (``SHARE`` in ``_redis_scripts.py``)
and ``ShareState`` are driven through the same events, at the same instants,
and must agree on every field and every answer. Then end to end against a real
``redis-server`` and a ``FakeLemlistServer`` on which another consumer has
just spent the key: several limiters on connections of their own (the
processes' view), worker processes, a cap mid-run, the probe's owner cancelled
or killed. Real time (Redis's clock is real), so the fake lemlist keeps
its real 2 s window and the assertions count responses and arrivals, never a
sleep that happens to be long enough.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as sync_redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from lemlist_async import LemlistClient
from lemlist_async._redis_scripts import SHARE
from lemlist_async._sharing import ShareState, Ticket
from lemlist_async.redis import RedisRateLimiter
from lemlist_async.testing import FakeLemlistServer

from ._redis_server import RedisServer
from .test_redis import QUEUED, _Answers, _env, kill_once_holding

# A limiter that waited holds a subscription: each test closes what it built.
pytestmark = pytest.mark.usefixtures("close_redis_limiters")

REPO = Path(__file__).resolve().parent.parent
LATENCY = 0.03
JITTER = 0.03


# -- The Lua rules against ShareState ----------------------------------------------------

#: Drives the Lua port of the rules at a given instant (the production scripts
#: pass Redis's TIME instead). Returns {the operation's answer, the hash}.
_DRIVER = (
    """
local SHARE = KEYS[1]
local hold, probe_timeout = tonumber(ARGV[1]), tonumber(ARGV[2])
"""
    + SHARE
    + """
share_load()
local op, now = ARGV[3], tonumber(ARGV[4])
local out = {}
if op == 'allowance' then
  local a = share_allowance(now, tonumber(ARGV[5]))
  if a == nil then a = -1 end
  out = {a}
elseif op == 'next_change' then
  out = {share_next_change(now) or -2}
elseif op == 'take' then
  out = share_take(now, tonumber(ARGV[5]), tonumber(ARGV[6]), now, ARGV[7])
elseif op == 'answered' then
  share_answered({tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])}, nil, now,
    tonumber(ARGV[8]), tonumber(ARGV[9]), share_reset_in(ARGV[10]), ARGV[11] == '1')
elseif op == 'ended' then
  share_ended({tonumber(ARGV[5])}, nil, now)
elseif op == 'failed' then
  share_failed({tonumber(ARGV[5])}, nil)
end
share_save()
return {out, redis.call('HMGET', SHARE, 'serial', 'probe', 'probe_until', 'cap_left',
  'cap_until', 'known_until')}
"""
)

HOLD_US = 2_005_000
PROBE_US = 2_000_000
EPOCH_US = 1_800_000_000_000_000  # About Redis's TIME in µs today.
NEVER, FOREVER = -1, 4_000_000_000_000_000


def _lua_time(value: float) -> int:
    """ShareState's time as the Lua port stores it."""
    if value == -math.inf:
        return NEVER
    if value == math.inf:
        return FOREVER
    return int(value)


def _state(share: ShareState) -> list[int]:
    return [
        share.serial,
        share.probe,
        _lua_time(share.probe_until),
        share.cap_left,
        _lua_time(share.cap_until),
        _lua_time(share.known_until),
    ]


@pytest.fixture(scope="module")
def sync_client(redis_server: RedisServer) -> Iterator[sync_redis.Redis]:
    client = sync_redis.Redis.from_url(redis_server.url)
    try:
        yield client
    finally:
        client.close()


_event = st.one_of(
    st.tuples(st.just("allowance"), st.integers(0, 25)),
    st.tuples(st.just("next_change")),
    st.tuples(st.just("take"), st.integers(0, 25), st.integers(0, 25)),
    st.tuples(
        st.just("answered"),
        st.integers(0, 50),  # Which ticket (modulo those taken).
        st.one_of(st.none(), st.just(20)),  # limit
        st.one_of(st.none(), st.integers(0, 20)),  # remaining
        st.one_of(st.none(), st.just(math.inf), st.integers(-500_000, 5_000_000)),  # reset_in
        st.booleans(),  # refused
    ),
    st.tuples(st.just("ended"), st.integers(0, 50)),
    st.tuples(st.just("failed"), st.integers(0, 50)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=st.lists(st.tuples(st.integers(0, 1_500_000), _event), max_size=40))
def test_the_lua_rules_follow_share_state_event_for_event(
    sync_client: sync_redis.Redis, events: list[tuple[int, tuple[Any, ...]]]
) -> None:
    key = "parity:{k}:share"
    sync_client.delete(key)
    driver = sync_client.register_script(_DRIVER)
    share = ShareState(HOLD_US, PROBE_US)
    tickets: list[Ticket] = []
    now = EPOCH_US

    def lua(op: str, *args: int | str) -> list[Any]:
        out, fields = driver(keys=[key], args=[HOLD_US, PROBE_US, op, now, *args])
        assert [int(f) for f in fields] == _state(share), (op, args)
        return [int(v) for v in out]

    for step, (dt, (op, *params)) in enumerate(events):
        now += dt
        if op == "allowance":
            (busy,) = params
            expected = share.allowance(now, busy)
            assert lua(op, busy) == [-1 if expected is None else expected]
        elif op == "next_change":
            change = share.next_change(now)
            assert lua(op) == [-2 if math.isinf(change) else int(change)]
        elif op == "take":
            busy, in_flight = params
            ticket = share.take(now, busy, in_flight)
            tickets.append(ticket)
            taken = lua(op, busy, in_flight, f"slot-{step}")
            assert taken == [ticket.serial, ticket.busy, ticket.in_flight, int(ticket.probe)]
        elif tickets:
            ticket = tickets[params[0] % len(tickets)]
            if op == "answered":
                _, limit, remaining, reset_in, refused = params
                share.answered(
                    ticket, now, limit=limit, remaining=remaining, reset_in=reset_in,
                    refused=refused,
                )  # fmt: skip
                lua(
                    op, ticket.serial, ticket.busy, ticket.in_flight,
                    "" if limit is None else limit,
                    "" if remaining is None else remaining,
                    "" if reset_in is None else "inf" if math.isinf(reset_in) else reset_in,
                    int(refused),
                )  # fmt: skip
            elif op == "ended":
                share.ended(ticket, now)
                lua(op, ticket.serial)
            else:
                share.failed(ticket)
                lua(op, ticket.serial)


def test_hand_written_sequences_agree_too(sync_client: sync_redis.Redis) -> None:
    """The scenarios of the docs, step by step: probe, answer, cap, 429, failed probe."""
    key = "parity:{k}:share"
    sync_client.delete(key)
    driver = sync_client.register_script(_DRIVER)
    share = ShareState(HOLD_US, PROBE_US)

    def both(op: str, now: float, *args: int | str) -> list[int]:
        out, fields = driver(keys=[key], args=[HOLD_US, PROBE_US, op, now, *args])
        return [int(v) for v in out] + [-99] + [int(f) for f in fields]

    t0 = EPOCH_US
    # Nothing known: one request may go, and it is the probe.
    assert both("allowance", t0, 0)[0] == share.allowance(t0, 0) == 1
    probe = share.take(t0, 0, 0)
    assert probe.probe
    assert both("take", t0, 0, 0, "p")[:4] == [1, 0, 0, 1]
    assert both("allowance", t0 + 1, 1)[0] == share.allowance(t0 + 1, 1) == 0
    # Its answer: 20 - 1 = 19 counted, the probe explains 1: spent elsewhere,
    # 1 left.
    now = t0 + 50_000
    share.answered(probe, now, limit=20, remaining=1, reset_in=1_000_000)
    lua = both("answered", now, 1, 0, 0, 20, 1, 1_000_000, 0)
    assert lua[-6:] == _state(share)
    assert (share.cap_left, share.cap_until) == (1, now + 1_000_000)
    # A 429: nothing left until the reset.
    second = share.take(now, 1, 0)
    assert both("take", now, 1, 0, "q")[:4] == [2, 1, 0, 0]
    share.answered(second, now + 10, limit=20, remaining=0, reset_in=900_000, refused=True)
    lua = both("answered", now + 10, 2, 1, 0, 20, 0, 900_000, 1)
    assert lua[-6:] == _state(share)
    assert share.allowance(now + 20, 2) == 0 == both("allowance", now + 20, 2)[0]
    # After the cap: unknown again, a new probe; it fails, the next one probes.
    later = share.cap_until
    third = share.take(later, 2, 0)
    assert third.probe
    assert both("take", later, 2, 0, "r")[3] == 1
    share.failed(third)
    assert both("failed", later + 5, 3)[-6:] == _state(share)
    assert share.allowance(later + 5, 3) == 1 == both("allowance", later + 5, 3)[0]


# -- End to end --------------------------------------------------------------------------


@pytest.fixture
async def clients(redis_server: RedisServer) -> AsyncIterator[list[Redis]]:
    """Three clients with connections of their own: three processes' views."""
    first = Redis.from_url(redis_server.url)
    await first.flushall()
    others = [Redis.from_url(redis_server.url) for _ in range(2)]
    try:
        yield [first, *others]
    finally:
        for client in [first, *others]:
            await client.aclose()


async def _gather(fake: FakeLemlistServer, limiter: RedisRateLimiter, ids: list[str]) -> int:
    async with (
        contextlib.aclosing(limiter),
        LemlistClient(fake.api_key, base_url=fake.base_url, rate_limit=limiter) as client,
    ):
        results = await asyncio.gather(*(client.get_campaign_leads(cid) for cid in ids))
    return sum(len(r) for r in results)


@pytest.mark.parametrize("shared", [True, False], ids=["shared", "unshared"])
async def test_three_limiters_into_a_key_spent_just_before(
    clients: list[Redis], shared: bool
) -> None:
    async with FakeLemlistServer(
        seed=11, campaigns=60, leads_per_campaign=2, latency=LATENCY, jitter=JITTER
    ) as fake:
        assert fake.spend(20) == 0  # Another tool, just before.
        limiters = [RedisRateLimiter(c, fake.api_key, shared_key=shared) for c in clients]
        shares = [fake.campaign_ids[i::3] for i in range(3)]
        counts = await asyncio.gather(
            *(_gather(fake, lim, ids) for lim, ids in zip(limiters, shares, strict=True))
        )
    assert counts == [40, 40, 40]
    assert fake.count(200) == 60
    assert fake.max_arrivals_in_window(2.0) <= 20
    if shared:
        assert fake.count(429) <= 1
        # The probe went alone: nothing else was sent before its answer.
        first, second = sorted(r.time for r in fake.requests)[:2]
        assert second - first >= LATENCY
        assert (
            sum(lim.calls.per_request() * lim.calls.complete for lim in limiters)
            / (sum(lim.calls.complete for lim in limiters))
            <= 2.5
        )
    else:
        # Without the probe, the first burst of every process is answered 429.
        assert fake.count(429) >= 10


async def test_another_consumer_mid_run_is_capped_across_limiters(clients: list[Redis]) -> None:
    # Two limiters, two calls at a time each, 0.1 s each: together they spend
    # the window by fifths. Another tool spends 3 while they are under way.
    async with FakeLemlistServer(seed=12, campaigns=60, leads_per_campaign=1, latency=0.1) as fake:
        limiters = [RedisRateLimiter(c, fake.api_key) for c in clients[:2]]

        async def calls(limiter: RedisRateLimiter, ids: list[str]) -> None:
            semaphore = asyncio.Semaphore(2)
            async with (
                contextlib.aclosing(limiter),
                LemlistClient(fake.api_key, base_url=fake.base_url, rate_limit=limiter) as c,
            ):

                async def one(cid: str) -> None:
                    async with semaphore:
                        await c.get_campaign_leads(cid)

                await asyncio.gather(*(one(cid) for cid in ids))

        async def other_tool() -> None:
            # Once the limiters run at their pace, not at a time that has to be right.
            while len(fake.requests) < 8:  # noqa: ASYNC110 (the fake signals no arrival)
                await asyncio.sleep(0.01)
            fake.spend(3)

        await asyncio.gather(
            other_tool(),
            *(calls(lim, fake.campaign_ids[i::2]) for i, lim in enumerate(limiters)),
        )
        state = await clients[0].hgetall(limiters[0].keys[5])
    assert fake.count(200) == 60
    assert fake.count(429) <= 1
    assert fake.max_arrivals_in_window(2.0) <= 20
    assert int(state[b"serial"]) >= 60  # One state for both limiters.


async def test_a_cancelled_probe_opens_the_gate_for_the_other_processes_at_once(
    clients: list[Redis],
) -> None:
    owner = RedisRateLimiter(clients[0], "sk-probe-cancelled", probe_timeout=30.0)
    other = _Answers(clients[1], "sk-probe-cancelled", probe_timeout=30.0)
    probing = asyncio.Event()

    async def probe() -> None:
        async with owner:
            probing.set()
            await asyncio.Event().wait()  # No answer: cancelled.

    task = asyncio.create_task(probe())
    await probing.wait()
    state = await clients[0].hgetall(owner.keys[5])
    assert int(state[b"probe"]) == 1
    loop = asyncio.get_running_loop()
    waiting = asyncio.create_task(_enter_and_leave(other))
    # The other process is held by the gate: it queued in Redis.
    await other.replied[QUEUED].wait()
    assert not waiting.done()
    cancelled_at = loop.time()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await waiting
    # Handed its slot by the failed probe's complete, not by the 30 s deadline.
    assert loop.time() - cancelled_at < 5.0
    assert other.calls.handed == 1
    # It was the next probe: the failed one taught nothing.
    state = await clients[0].hgetall(owner.keys[5])
    assert int(state[b"serial"]) == 2
    await owner.aclose()
    await other.aclose()


async def _enter_and_leave(limiter: RedisRateLimiter) -> None:
    async with limiter:
        pass


async def test_a_probe_given_back_unused_opens_the_gate(clients: list[Redis]) -> None:
    """A waiter granted the probe but cancelled before it sends gives it back: the gate opens."""
    lim = RedisRateLimiter(clients[0], "sk-probe-unused", probe_timeout=30.0)
    code, _, _, ticket = await lim._acquire("p")
    assert code == 1
    assert ticket is not None
    assert ticket.probe
    await lim._give_back("p")
    state = await clients[0].hgetall(lim.keys[5])
    assert int(state[b"probe"]) == 0
    code, _, _, ticket = await lim._acquire("q")
    assert code == 1
    assert ticket is not None
    assert ticket.probe  # The next request probes.


async def test_a_killed_probes_process_blocks_the_others_no_longer_than_probe_timeout(
    redis_server: RedisServer, clients: list[Redis]
) -> None:
    async with FakeLemlistServer(seed=13, campaigns=20, leads_per_campaign=1) as fake:
        crashing = await kill_once_holding(
            _env(redis_server.url, fake.api_key, LEASE="30", PROBE_ONLY="1")
        )
        survivor = RedisRateLimiter(clients[0], fake.api_key, lease=30.0)
        state = await clients[0].hgetall(survivor.keys[5])
        assert int(state[b"probe"]) == 1
        probe_until = int(state[b"probe_until"]) / 1e6  # The deadline lives in Redis.
        assert await _gather(fake, survivor, fake.campaign_ids) == 20
        seconds, micros = await clients[0].time()
        first_arrival = min(r.time for r in fake.requests)

    assert crashing.returncode == -signal.SIGKILL
    assert fake.count(200) == 20
    assert fake.count(429) == 0
    # Nobody went before the dead probe's deadline, on Redis's clock: the
    # survivor's requests all came after it (the fake's clock is the loop's, so
    # compare through "now" on both clocks).
    loop_now = asyncio.get_running_loop().time()
    redis_now = int(seconds) + int(micros) / 1e6
    assert first_arrival - loop_now >= probe_until - redis_now - 0.05
    # And not long after it: the waiters are woken at the deadline.
    assert first_arrival - loop_now <= probe_until - redis_now + 1.0


async def _worker(env: dict[str, str], ids: list[str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests._redis_sharing_worker", *ids,
        cwd=REPO, env=env, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def test_worker_processes_into_a_key_spent_just_before(redis_server: RedisServer) -> None:
    """Real processes: each connects, says ready; the other consumer spends; all go."""
    processes = 3
    async with FakeLemlistServer(
        seed=14, campaigns=60, leads_per_campaign=2, latency=LATENCY, jitter=JITTER
    ) as fake:
        env = _env(redis_server.url, fake.api_key, LEMLIST_BASE_URL=fake.base_url)
        workers = [await _worker(env, fake.campaign_ids[i::processes]) for i in range(processes)]
        for worker in workers:
            assert worker.stdout is not None
            assert await asyncio.wait_for(worker.stdout.readline(), 30) == b"ready\n"
        assert fake.spend(20) == 0  # Another tool, just before they all start.
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write(b"go\n")
            await worker.stdin.drain()
        outputs = [await asyncio.wait_for(w.communicate(), 60) for w in workers]
    for worker, (out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err.decode()
        assert out.decode().split() == ["40"]
    assert fake.count(200) == 60
    assert fake.count(429) <= 1
    assert fake.max_arrivals_in_window(2.0) <= 20
