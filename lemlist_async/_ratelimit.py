"""Client-side rate limiting: never more than 20 requests per 2 s per key, yet right at it.

lemlist allows 20 requests per 2 seconds per API key, counted by the server in a
window whose phase the client cannot see.
https://developer.lemlist.com/api-reference#rate-limit

``WindowRateLimiter`` gives each request a *slot* when it is sent and keeps the
slot taken until one window (plus a small margin) after the request's response
arrived or it failed. The server counts a request at some instant between its
send and its response, so at most ``limit`` requests can fall into any server
window, whatever the latency and its jitter. A leaky bucket such as
``aiolimiter.AsyncLimiter(20, 2)`` gives no such bound: it admits 20 at once and
then one every 0.1 s, up to 39 in one 2 s window.

Why not a library: aiolimiter (the card's choice) is a leaky bucket, and no
maintained asyncio library offers a window gated on *completion* rather than on
start. ``aiolimiter.AsyncLimiter`` still plugs in through ``rate_limit=``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import weakref
from collections import deque
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, Protocol, runtime_checkable

from ._constants import PROBE_TIMEOUT, RATE_LIMIT, RATE_MARGIN, RATE_WINDOW
from ._headers import RateLimitInfo
from ._params import check_count, check_seconds
from ._sharing import ShareState, Ticket

__all__ = [
    "AnswerObserver",
    "KeyRateLimiter",
    "WindowRateLimiter",
    "adapt_limiter",
    "shared_limiter",
]

logger = logging.getLogger("lemlist_async")


@runtime_checkable
class KeyRateLimiter(Protocol):
    """What the request pipeline needs of a key's limiter.

    ``async with limiter:`` holds a slot around one attempt (from just before it
    is sent until its response headers arrive or it fails). ``pause`` stops every
    caller of the key from starting a request for a while; ``observe`` hands over
    the rate-limit headers of each response, with the pause that
    ``X-RateLimit-Remaining: 0`` may cause (already bounded by the caller's
    ``max_rate_limit_wait``; ``None`` when it must pause nothing). A limiter
    that also has ``answered`` (see ``AnswerObserver``) gets that call instead
    of ``observe``.
    """

    async def __aenter__(self) -> object: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None: ...

    def pause(self, delay: float) -> None: ...

    def observe(self, info: RateLimitInfo, pause: float | None) -> None: ...

    @property
    def info(self) -> RateLimitInfo | None: ...


@runtime_checkable
class AnswerObserver(KeyRateLimiter, Protocol):
    """A ``KeyRateLimiter`` that learns from each answer while its slot is still held.

    The pipeline calls ``answered`` instead of ``observe``, inside ``async with
    limiter:``, right after the response headers arrived: the slot is still
    taken (``__aexit__`` comes next), so a probe's answer reaches the limiter
    before the requests queued behind it may go. ``__aexit__`` with an exception
    means the attempt got no answer. Limiters without ``answered`` keep getting
    ``observe``, after ``__aexit__``.
    """

    def answered(
        self, info: RateLimitInfo, pause: float | None, *, reset_in: float | None, refused: bool
    ) -> None: ...


class WindowRateLimiter:
    """At most ``limit`` requests in any ``window`` seconds, served first in, first out.

    Use one per API key (``LemlistClient`` shares one per key and event loop by
    default). Time is the running loop's clock, so tests can run it on virtual time.

    With ``shared_key`` (the default), the limiter also allows for other tools
    that spend the same key (see ``docs/rate-limits.md``): when it knows nothing
    recent about the server's window (first use, or no slot taken for a window),
    one request goes first and the others wait for its answer, which says what
    is left; and an answer that shows requests the limiter did not send caps
    what it sends until the server's window resets.

    Args:
        limit: Requests allowed per window (lemlist: 20). Set it lower to leave
            headroom for other tools that use the same key.
        window: The window in seconds (lemlist: 2).
        margin: Extra seconds a slot stays taken, for timer granularity.
        shared_key: Probe the server's window before a burst, and cap what is
            sent when the answers show another consumer. ``False``: count only
            this limiter's own requests (one round trip faster to start a
            burst, but a burst into a key spent elsewhere is answered 429).
        probe_timeout: Seconds the other requests wait for a probe that gets
            no answer before they go anyway.

    Raises:
        ValueError: ``limit`` is not a positive int, or ``window``/``margin``/
            ``probe_timeout`` are not finite and positive (non-negative for
            ``margin``).
    """

    def __init__(
        self,
        limit: int = RATE_LIMIT,
        window: float = RATE_WINDOW,
        *,
        margin: float = RATE_MARGIN,
        shared_key: bool = True,
        probe_timeout: float = PROBE_TIMEOUT,
    ) -> None:
        check_count(limit, "limit", minimum=1)
        check_seconds(window, "window")
        check_seconds(margin, "margin", allow_zero=True)
        check_seconds(probe_timeout, "probe_timeout")
        self.limit = limit
        self.window: float = float(window)
        self.margin: float = float(margin)
        self.shared_key: bool = bool(shared_key)
        self.probe_timeout: float = float(probe_timeout)
        self._share: ShareState | None = (
            ShareState(self.window + self.margin, self.probe_timeout) if shared_key else None
        )
        # The tickets of the slots each task holds (a task may nest slots), so
        # that an answer and __aexit__ find their slot without a handle.
        self._tickets: dict[asyncio.Task[Any] | None, list[Ticket]] = {}
        self._in_flight = 0
        # Loop times at which finished requests give their slot back, ascending
        # because requests finish in loop-time order.
        self._releases: deque[float] = deque()
        self._waiters: deque[asyncio.Future[Ticket | None]] = deque()
        self._paused_until = -math.inf
        self._timer: asyncio.TimerHandle | None = None
        self._info: RateLimitInfo | None = None

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} limit={self.limit} window={self.window} "
            f"in_flight={self._in_flight} waiting={len(self._waiters)}"
            f"{'' if self.shared_key else ' shared_key=False'}>"
        )

    @property
    def info(self) -> RateLimitInfo | None:
        """The rate-limit headers of the latest response seen through this limiter."""
        return self._info

    def busy(self, now: float | None = None) -> int:
        """Slots taken at loop time ``now``: in flight, or finished less than a window ago."""
        if now is None:
            now = asyncio.get_running_loop().time()
        releases = self._releases
        while releases and releases[0] <= now:
            releases.popleft()
        return self._in_flight + len(releases)

    def paused_until(self) -> float:
        """Loop time before which no request starts (``-inf`` when not paused)."""
        return self._paused_until

    async def __aenter__(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        if not self._waiters and self._has_free_slot(now):
            self._hold(self._take(now))
            return
        waiter: asyncio.Future[Ticket | None] = loop.create_future()
        self._waiters.append(waiter)
        self._arm(loop)
        granted = False
        try:
            ticket = await waiter
            granted = True
        finally:
            if not granted:
                self._abandon(waiter, loop)
        self._hold(ticket)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Also on failure and cancellation: the server may have counted the request.
        loop = asyncio.get_running_loop()
        now = loop.time()
        ticket = self._unhold()
        if ticket is not None and self._share is not None:
            if exc_type is None:
                self._share.ended(ticket, now)
            else:
                self._share.failed(ticket)
        self._in_flight -= 1
        self._releases.append(now + self.window + self.margin)
        if self._waiters:
            self._dispatch(loop, now)

    def pause(self, delay: float) -> None:
        """Let no request of this key start for ``delay`` seconds from now.

        A shorter pause never cuts a longer one short.
        """
        loop = asyncio.get_running_loop()
        until = loop.time() + max(0.0, delay)
        if until > self._paused_until:
            self._paused_until = until
            logger.info("rate limit: pausing the key for %.3f s", delay)
            if self._waiters:
                self._arm(loop)

    def observe(self, info: RateLimitInfo, pause: float | None) -> None:
        """Record a response's rate-limit headers; pause if someone else spends the key.

        ``X-RateLimit-Remaining: 0`` is routine when this limiter runs at the limit
        on its own. It only means *another* consumer is spending the key when the
        server has counted more requests than this limiter holds slots for: every
        request the server counted in its current window still holds its slot
        here. Only then does the key pause, for ``pause`` seconds (until the
        server's reset; see ``remaining_pause``).

        The request pipeline calls `answered` instead, which does more; this
        is the ``KeyRateLimiter`` call that any limiter understands.

        Args:
            info: The response's parsed rate-limit headers.
            pause: Seconds to pause if the key is spent elsewhere; ``None``: never.
        """
        self._info = info
        if pause is None or info.remaining != 0 or info.limit is None:
            return
        if info.limit - info.remaining > self.busy():
            self.pause(pause)

    def answered(
        self, info: RateLimitInfo, pause: float | None, *, reset_in: float | None, refused: bool
    ) -> None:
        """Take in the answer to the request that holds a slot in the current task.

        Called by the request pipeline inside ``async with limiter:``, as soon
        as the response headers arrive. Without ``shared_key`` this is
        `observe`. With it, a probe's answer opens the gate (or keeps it shut
        until the reset after a 429), and an answer whose
        ``X-RateLimit-Remaining`` is lower than this limiter's own requests can
        explain caps what may start until the server's window resets
        (https://developer.lemlist.com/api-reference#rate-limit).

        Args:
            info: The response's parsed rate-limit headers.
            pause: What `observe` takes: the pause ``Remaining: 0`` may cause.
            reset_in: Seconds until the server's window has surely reset,
                measured on the server's clock (for a 429, what it asks to
                wait); ``None`` when the headers do not say (one window is
                assumed); ``inf`` when it is further than the caller may wait,
                so not about the window: the counts are then ignored.
            refused: The response is a 429: the server's window is full.
        """
        share = self._share
        if share is None:
            self.observe(info, pause)
            return
        self._info = info
        loop = asyncio.get_running_loop()
        now = loop.time()
        ticket = self._held()
        if ticket is None:
            # Not inside a slot of this limiter: judge as if the slot were
            # taken now (every slot taken may be in the server's count).
            ticket = Ticket(share.serial, self.busy(now), self._in_flight)
        was_capped = now < share.cap_until
        share.answered(
            ticket,
            now,
            limit=info.limit,
            remaining=info.remaining,
            reset_in=reset_in,
            refused=refused,
        )
        if now < share.cap_until:
            if share.cap_left <= 0:
                # Nothing left of the server's window: a pause, and shown as one.
                self.pause(share.cap_until - now)
            elif not was_capped:
                logger.info(
                    "rate limit: the key is spent elsewhere too; at most %d more for %.3f s",
                    share.cap_left,
                    share.cap_until - now,
                )
        if self._waiters:
            self._dispatch(loop, now)

    def _take(self, now: float) -> Ticket | None:
        """Count a slot as taken at ``now``; the caller checked `_has_free_slot`."""
        share = self._share
        ticket = None
        if share is not None:
            ticket = share.take(now, self.busy(now), self._in_flight)
        self._in_flight += 1
        return ticket

    def _hold(self, ticket: Ticket | None) -> None:
        if ticket is not None:
            self._tickets.setdefault(asyncio.current_task(), []).append(ticket)

    def _held(self) -> Ticket | None:
        tickets = self._tickets.get(asyncio.current_task())
        return tickets[-1] if tickets else None

    def _unhold(self) -> Ticket | None:
        task = asyncio.current_task()
        tickets = self._tickets.get(task)
        if not tickets:
            return None
        ticket = tickets.pop()
        if not tickets:
            del self._tickets[task]
        return ticket

    def _has_free_slot(self, now: float) -> bool:
        if now < self._paused_until:
            return False
        busy = self.busy(now)
        if busy >= self.limit:
            return False
        return self._share is None or self._share.allowance(now, busy) != 0

    def _abandon(
        self, waiter: asyncio.Future[Ticket | None], loop: asyncio.AbstractEventLoop
    ) -> None:
        if waiter.done() and not waiter.cancelled():
            # The slot was handed over just as the waiter was cancelled: it was
            # never used, so it goes to the next in line (a probe: the next
            # request probes instead).
            ticket = waiter.result()
            if ticket is not None and self._share is not None:
                self._share.failed(ticket)
            self._in_flight -= 1
            self._dispatch(loop, loop.time())
        else:
            waiter.cancel()
            # A dispatch may already have dropped it from the queue.
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)

    def _dispatch(self, loop: asyncio.AbstractEventLoop, now: float) -> None:
        waiters = self._waiters
        while waiters and self._has_free_slot(now):
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(self._take(now))
        self._arm(loop)

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        """Schedule the next dispatch at the earliest instant a waiter could go."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._waiters:
            return
        now = loop.time()
        busy = self.busy(now)
        excess = busy - self.limit
        if excess < 0:
            when = now
        elif excess < len(self._releases):
            when = self._releases[excess]
        else:
            return  # Every slot is in flight: the next __aexit__ dispatches.
        share = self._share
        if share is not None and share.allowance(now, busy) == 0:
            # The gate opens at the probe's deadline or the cap's end, or
            # earlier on an answer or a failure, which dispatch themselves.
            opens = share.next_change(now)
            if math.isinf(opens):
                return
            when = max(when, opens)
        when = max(when, self._paused_until)
        self._timer = loop.call_at(when, self._on_timer, loop, when)

    def _on_timer(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        self._timer = None
        # The loop may run a timer a hair early (clock resolution); taking the
        # scheduled instant as "now" avoids re-arming for the same instant forever.
        self._dispatch(loop, max(loop.time(), when))


class _ForeignLimiter:
    """Gives any ``async with`` limiter (e.g. ``aiolimiter.AsyncLimiter``) the key's pause."""

    def __init__(self, inner: AbstractAsyncContextManager[Any], window: float) -> None:
        self.inner = inner
        self._window = window
        self._paused_until = -math.inf
        self._info: RateLimitInfo | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.inner!r}>"

    @property
    def info(self) -> RateLimitInfo | None:
        return self._info

    async def __aenter__(self) -> object:
        loop = asyncio.get_running_loop()
        # A loop, not an Event: a pause can be extended while it is slept on.
        while (delay := self._paused_until - loop.time()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)
        return await self.inner.__aenter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        return await self.inner.__aexit__(exc_type, exc, tb)

    def pause(self, delay: float) -> None:
        until = asyncio.get_running_loop().time() + max(0.0, delay)
        if until > self._paused_until:
            self._paused_until = until
            logger.info("rate limit: pausing the key for %.3f s", delay)

    def observe(self, info: RateLimitInfo, pause: float | None) -> None:
        # A foreign limiter cannot tell its own traffic from another consumer's,
        # so an exhausted window always pauses.
        self._info = info
        if pause is not None and info.remaining == 0:
            self.pause(pause)


def adapt_limiter(limiter: object) -> KeyRateLimiter:
    """Wrap what a caller passed as ``rate_limit=`` into the pipeline's interface.

    Raises:
        TypeError: ``limiter`` is not usable as ``async with limiter:``.
    """
    if isinstance(limiter, KeyRateLimiter):
        return limiter
    if isinstance(limiter, AbstractAsyncContextManager) or (
        hasattr(limiter, "__aenter__") and hasattr(limiter, "__aexit__")
    ):
        return _ForeignLimiter(limiter, RATE_WINDOW)
    raise TypeError(
        "rate_limit must be an int (requests per 2 s), a WindowRateLimiter, or an "
        f"object usable as 'async with limiter:', not {type(limiter).__name__}"
    )


_shared: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, WindowRateLimiter]] = (
    weakref.WeakKeyDictionary()
)


def shared_limiter(key_id: str, limit: int = RATE_LIMIT) -> WindowRateLimiter:
    """The limiter every client of this event loop shares for one key.

    One key has one budget: a client that asks for a lower limit lowers it for
    every client of the key (the strictest limit asked for wins), rather than
    getting a budget of its own that would add up with the others.

    Args:
        key_id: A fingerprint of the API key (never the key itself).
        limit: Requests per window this client asks for.
    """
    loop = asyncio.get_running_loop()
    per_loop = _shared.setdefault(loop, {})
    limiter = per_loop.get(key_id)
    if limiter is None:
        limiter = per_loop[key_id] = WindowRateLimiter(limit)
    elif limit < limiter.limit:
        limiter.limit = limit
    return limiter
