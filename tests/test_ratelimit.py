"""WindowRateLimiter on virtual time: the window bound, FIFO, pauses, cancellation."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

import looptime
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lemlist_async import LemlistClient, RateLimitInfo, WindowRateLimiter
from lemlist_async._ratelimit import adapt_limiter, shared_limiter

pytestmark = pytest.mark.looptime

WINDOW = 2.0
MARGIN = 0.005


def now() -> float:
    return asyncio.get_running_loop().time()


async def hold(
    limiter: WindowRateLimiter, duration: float, log: list[tuple[str, float]], tag: str
) -> None:
    async with limiter:
        log.append((tag, now()))
        await asyncio.sleep(duration)


async def test_burst_of_limit_then_next_one_window_after_first_response() -> None:
    limiter = WindowRateLimiter(20, WINDOW, margin=MARGIN, shared_key=False)
    log: list[tuple[str, float]] = []
    await asyncio.gather(*(hold(limiter, 0.25, log, str(i)) for i in range(45)))
    starts = sorted(t for _, t in log)
    assert starts[:20] == [0.0] * 20
    # Each slot comes back one window + margin after its request finished at 0.25.
    assert starts[20:40] == [pytest.approx(0.25 + WINDOW + MARGIN)] * 20
    assert starts[40:] == [pytest.approx(2 * (0.25 + WINDOW + MARGIN))] * 5


async def test_a_shared_key_burst_starts_with_one_probe() -> None:
    # The default: the first request goes alone; the others go when it ends.
    limiter = WindowRateLimiter(20, WINDOW, margin=MARGIN)
    log: list[tuple[str, float]] = []
    await asyncio.gather(*(hold(limiter, 0.25, log, str(i)) for i in range(45)))
    starts = sorted(t for _, t in log)
    assert starts[:1] == [0.0]
    assert starts[1:20] == [pytest.approx(0.25)] * 19
    # Slots still come back a window after each answer: no second probe while busy.
    assert starts[20:21] == [pytest.approx(0.25 + WINDOW + MARGIN)]
    assert starts[21:40] == [pytest.approx(0.5 + WINDOW + MARGIN)] * 19


async def test_waiters_are_served_first_in_first_out() -> None:
    limiter = WindowRateLimiter(2, WINDOW, margin=0)
    order: list[int] = []

    async def one(i: int) -> None:
        async with limiter:
            order.append(i)

    tasks = []
    for i in range(9):
        tasks.append(asyncio.create_task(one(i)))
        await asyncio.sleep(0)  # Queue them in a known order.
    await asyncio.gather(*tasks)
    assert order == list(range(9))


async def test_cancelled_waiter_leaks_no_slot() -> None:
    limiter = WindowRateLimiter(1, WINDOW, margin=0)
    async with limiter:
        waiter = asyncio.create_task(limiter.__aenter__())
        await asyncio.sleep(0.1)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
    assert limiter.busy() == 1  # Only the released slot, still within its window.
    start = now()
    async with limiter:
        assert now() == pytest.approx(start + WINDOW)
    assert limiter.busy() == 1
    assert len(limiter._waiters) == 0


async def test_waiter_cancelled_as_its_slot_arrives_passes_the_slot_on() -> None:
    limiter = WindowRateLimiter(1, WINDOW, margin=0)
    got: list[str] = []

    async def take(tag: str) -> None:
        async with limiter:
            got.append(tag)

    dispatch = limiter._dispatch

    def dispatch_then_cancel_first(loop: asyncio.AbstractEventLoop, at: float) -> None:
        # Cancel the first waiter right after its slot is granted, before it runs.
        dispatch(loop, at)
        if limiter._in_flight and not first.done():
            first.cancel()

    limiter._dispatch = dispatch_then_cancel_first  # type: ignore[method-assign,assignment]
    async with limiter:
        first = asyncio.create_task(take("first"))
        second = asyncio.create_task(take("second"))
        await asyncio.sleep(0)
    await asyncio.gather(first, second, return_exceptions=True)
    assert first.cancelled()
    assert got == ["second"]
    assert limiter._in_flight == 0
    assert limiter.busy() == 1  # Only the slot "second" used, within its window.


async def test_request_cancelled_in_flight_keeps_its_slot_for_a_window() -> None:
    limiter = WindowRateLimiter(1, WINDOW, margin=MARGIN)
    task = asyncio.create_task(hold(limiter, 10.0, [], "x"))
    await asyncio.sleep(1.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    cancelled_at = now()
    async with limiter:
        assert now() == pytest.approx(cancelled_at + WINDOW + MARGIN)


async def test_pause_blocks_everyone_and_a_shorter_pause_does_not_cut_it() -> None:
    limiter = WindowRateLimiter(20, WINDOW, margin=0)
    limiter.pause(5.0)
    limiter.pause(1.0)
    log: list[tuple[str, float]] = []
    await asyncio.gather(*(hold(limiter, 0, log, str(i)) for i in range(3)))
    assert [t for _, t in log] == [pytest.approx(5.0)] * 3


async def test_pause_extended_while_waiting() -> None:
    limiter = WindowRateLimiter(20, WINDOW, margin=0)
    limiter.pause(1.0)
    log: list[tuple[str, float]] = []
    task = asyncio.create_task(hold(limiter, 0, log, "x"))
    await asyncio.sleep(0.5)
    limiter.pause(2.0)  # Until 2.5.
    await task
    assert [t for _, t in log] == [pytest.approx(2.5)]


def info(limit: int, remaining: int) -> RateLimitInfo:
    return RateLimitInfo(limit=limit, remaining=remaining, reset=None, retry_after=None)


async def test_remaining_zero_from_own_traffic_does_not_pause() -> None:
    limiter = WindowRateLimiter(20, WINDOW, margin=0)
    for _ in range(20):
        async with limiter:
            pass
    limiter.observe(info(20, 0), pause=1.7)
    assert limiter.paused_until() == float("-inf")
    assert limiter.info == info(20, 0)


async def test_remaining_zero_from_another_consumer_pauses_until_reset() -> None:
    limiter = WindowRateLimiter(20, WINDOW, margin=0)
    async with limiter:
        pass
    limiter.observe(info(20, 0), pause=1.7)
    assert limiter.paused_until() == pytest.approx(now() + 1.7)
    limiter.observe(info(20, 0), pause=WINDOW)  # A longer pause extends it.
    assert limiter.paused_until() == pytest.approx(now() + WINDOW)


async def test_remaining_zero_with_no_pause_allowed_pauses_nothing() -> None:
    # The pipeline passes None when the reset is beyond max_rate_limit_wait.
    limiter = WindowRateLimiter(20, WINDOW, margin=0)
    async with limiter:
        pass
    limiter.observe(info(20, 0), pause=None)
    assert limiter.paused_until() == float("-inf")


async def test_remaining_above_zero_never_pauses() -> None:
    limiter = WindowRateLimiter(20, WINDOW, margin=0)
    limiter.observe(info(20, 3), pause=1.0)
    assert limiter.paused_until() == float("-inf")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"limit": 0}, ValueError),
        ({"limit": True}, ValueError),
        ({"limit": 2.5}, ValueError),
        ({"window": 0}, ValueError),
        ({"window": float("inf")}, ValueError),
        ({"margin": -1}, ValueError),
        ({"probe_timeout": 0}, ValueError),
        ({"probe_timeout": float("nan")}, ValueError),
    ],
)
def test_bad_limiter_settings(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        WindowRateLimiter(**kwargs)


async def test_clients_of_one_key_share_one_limiter_and_budget_per_loop() -> None:
    a = LemlistClient("key-1", base_url="http://127.0.0.1:9/api")
    b = LemlistClient("key-1", base_url="http://127.0.0.1:9/api")
    c = LemlistClient("key-2", base_url="http://127.0.0.1:9/api")
    d = LemlistClient("key-1", base_url="http://127.0.0.1:9/api", rate_limit=10)
    async with a, b, c, d:
        assert a.limiter is b.limiter
        assert a.limiter is not c.limiter
        # One key, one budget: the strictest limit asked for applies to all.
        assert d.limiter is a.limiter
        assert isinstance(a.limiter, WindowRateLimiter)
        assert a.limiter.limit == 10
        e = LemlistClient("key-1", base_url="http://127.0.0.1:9/api", rate_limit=15)
        async with e:
            assert e.limiter is a.limiter
            assert a.limiter.limit == 10


def test_shared_limiters_are_per_event_loop() -> None:
    async def get() -> WindowRateLimiter:
        return shared_limiter("fingerprint", 20)

    first = asyncio.run(get())
    second = asyncio.run(get())
    assert first is not second


def test_an_object_without_async_with_is_refused() -> None:
    with pytest.raises(TypeError, match="async with"):
        adapt_limiter(object())


# -- Invariants, on a virtual clock ------------------------------------------------


def millis(high: int, *, low: int = 0) -> st.SearchStrategy[float]:
    # Whole milliseconds: the virtual clock counts in fixed ticks.
    return st.integers(low, high).map(lambda ms: ms / 1000)


def run_virtual(main: Callable[[], Awaitable[None]]) -> None:
    loop = looptime.new_event_loop(start=0.0)
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


@settings(max_examples=60, deadline=None)
@given(
    limit=st.integers(1, 8),
    jobs=st.lists(
        st.tuples(
            millis(6000),  # When the caller arrives.
            millis(3000),  # How long the request is in flight.
            st.integers(0, 4).map(lambda q: q / 4),  # Where in flight the server counts it.
        ),
        min_size=1,
        max_size=40,
    ),
    pauses=st.lists(st.tuples(millis(6000), millis(3000)), max_size=3),
    shared=st.booleans(),
)
def test_no_window_ever_holds_more_than_limit_server_counts(
    limit: int,
    jobs: list[tuple[float, float, float]],
    pauses: list[tuple[float, float]],
    shared: bool,
) -> None:
    counted: list[float] = []
    grants: list[tuple[float, float]] = []  # (granted at, arrived at)
    sent_at: list[float] = []
    pause_spans: list[tuple[float, float]] = []

    async def main() -> None:
        limiter = WindowRateLimiter(limit, WINDOW, margin=0, shared_key=shared)

        async def job(i: int, arrive: float, flight: float, where: float) -> None:
            await asyncio.sleep(arrive)
            async with limiter:
                sent = now()
                grants.append((sent, arrive))
                sent_at.append(sent)
                await asyncio.sleep(flight * where)
                counted.append(now())
                await asyncio.sleep(flight * (1 - where))
            assert sent >= arrive

        async def pauser(at: float, length: float) -> None:
            await asyncio.sleep(at)
            limiter.pause(length)
            pause_spans.append((now(), now() + length))

        await asyncio.gather(
            *(job(i, *spec) for i, spec in enumerate(jobs)),
            *(pauser(*p) for p in pauses),
        )
        assert limiter._in_flight == 0
        assert not limiter._waiters
        assert not limiter._tickets

    run_virtual(main)
    counted.sort()
    for i, start in enumerate(counted):
        inside = [t for t in counted[i:] if t < start + WINDOW - 1e-9]
        assert len(inside) <= limit
    # No request starts while the key is paused.
    for start, end in pause_spans:
        assert not [t for t in sent_at if start < t < end - 1e-9]
    # First in, first out: a later arrival never gets a slot at an earlier instant
    # (slots granted at one instant may resume their tasks in any order).
    for granted, arrived in grants:
        assert not [a for g, a in grants if g < granted and a > arrived]
    assert len(grants) == len(jobs)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 120),
    flight=millis(500, low=10),
    seed=st.integers(0, 2**16),
    shared=st.booleans(),
)
def test_a_burst_finishes_at_the_fastest_legal_pace(
    n: int, flight: float, seed: int, shared: bool
) -> None:
    rng = random.Random(seed)
    finished: list[float] = []

    async def main() -> None:
        limiter = WindowRateLimiter(20, WINDOW, margin=MARGIN, shared_key=shared)

        async def job() -> None:
            async with limiter:
                await asyncio.sleep(flight * rng.uniform(0.5, 1.0))
            finished.append(now())

        await asyncio.gather(*(job() for _ in range(n)))

    run_virtual(main)
    cycles = -(-n // 20) - 1
    # One round trip and the margin per cycle is the price of the guarantee; the
    # probe of a shared key costs one more round trip, once.
    probe = flight if shared else 0.0
    assert max(finished) <= cycles * (WINDOW + flight + MARGIN) + flight + probe + 1e-6
