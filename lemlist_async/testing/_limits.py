"""Rate-limit windows: lemlist's fixed window and a sliding one.

https://developer.lemlist.com/api-reference#rate-limit : 20 requests per 2 s per key.
The header set is that of rate-limiter-flexible, a fixed window opened by a key's
first request; the sliding window is offered for tests that want the strictest reading.
"""

from __future__ import annotations

import collections
import itertools
import math
from collections.abc import Iterable
from typing import Final, Literal, Protocol, TypeAlias

import attrs

#: How the rate limiter counts; see `FakeLemlistServer`.
WindowMode: TypeAlias = Literal["fixed", "sliding"]

#: Loop times are floats: ``(t0 + 2.0) - t0`` can come out one ulp short of 2.0.
#: An arrival exactly one window after another must still fall outside it.
EPSILON: Final = 1e-9


@attrs.frozen
class Verdict:
    """A rate limiter's decision on one arrival.

    Attributes:
        admitted: Whether the request may be served.
        remaining: Requests still admitted before the reset (>= 0).
        reset_in: Seconds from the arrival to the reset; for a rejected request,
            when a request would next be admitted.
    """

    admitted: bool
    remaining: int
    reset_in: float


class Limiter(Protocol):
    def hit(self, key: str, now: float) -> Verdict:
        """Count an arrival of ``key`` at loop time ``now`` and judge it."""
        ...

    def spend(self, key: str, now: float, count: int) -> Verdict:
        """Count ``count`` arrivals of ``key`` at ``now`` (another tool's); judge the last."""
        ...


def make_limiter(mode: WindowMode, limit: int, window: float) -> Limiter:
    """The limiter of ``mode`` admitting ``limit`` requests per ``window`` seconds."""
    return FixedWindow(limit, window) if mode == "fixed" else SlidingWindow(limit, window)


def max_in_window(times: Iterable[float], window: float) -> int:
    """The most of ``times`` within any half-open interval ``[t, t + window)``."""
    ordered = sorted(times)
    best = 0
    first = 0
    for last, arrival in enumerate(ordered):
        while arrival - ordered[first] >= window - EPSILON:
            first += 1
        best = max(best, last - first + 1)
    return best


class FixedWindow:
    """rate-limiter-flexible's fixed window, opened by a key's first request."""

    def __init__(self, limit: int, window: float) -> None:
        self._limit = limit
        self._window = window
        self._windows: dict[str, tuple[float, int]] = {}  # key -> (start, hits)

    def hit(self, key: str, now: float) -> Verdict:
        return self.spend(key, now, 1)

    def spend(self, key: str, now: float, count: int) -> Verdict:
        start, hits = self._windows.get(key, (-math.inf, 0))
        if now - start >= self._window - EPSILON:
            start, hits = now, 0
        hits += count
        self._windows[key] = (start, hits)
        return Verdict(
            admitted=hits <= self._limit,
            remaining=max(0, self._limit - hits),
            reset_in=max(0.0, start + self._window - now),
        )


class SlidingWindow:
    """At most ``limit`` arrivals, rejected ones included, in any ``window`` seconds."""

    def __init__(self, limit: int, window: float) -> None:
        self._limit = limit
        self._window = window
        self._arrivals: dict[str, collections.deque[float]] = {}

    def hit(self, key: str, now: float) -> Verdict:
        return self.spend(key, now, 1)

    def spend(self, key: str, now: float, count: int) -> Verdict:
        arrivals = self._arrivals.setdefault(key, collections.deque())
        while arrivals and now - arrivals[0] >= self._window - EPSILON:
            arrivals.popleft()
        arrivals.extend(itertools.repeat(now, count))
        hits = len(arrivals)
        # A request at t is admitted once at most limit - 1 of these arrivals
        # are still within (t - window, t]: the oldest max(1, hits - limit + 1)
        # of them must have left.
        frees_at = arrivals[max(0, hits - self._limit)] + self._window
        return Verdict(
            admitted=hits <= self._limit,
            remaining=max(0, self._limit - hits),
            reset_in=max(0.0, frees_at - now),
        )
