"""The probe-and-cap rules of a shared key, pure: no I/O, no event loop, times as numbers."""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from lemlist_async._sharing import ShareState, Ticket

HOLD = 2.005
TIMEOUT = 2.0
INF = math.inf


def state() -> ShareState:
    return ShareState(HOLD, TIMEOUT)


def test_first_use_admits_one_probe_then_shuts_the_gate() -> None:
    s = state()
    assert s.allowance(0.0, busy=0) == 1
    probe = s.take(0.0, busy=0, in_flight=0)
    assert probe == Ticket(serial=1, busy=0, in_flight=0, probe=True)
    assert s.allowance(0.0, busy=1) == 0
    assert s.next_change(0.0) == TIMEOUT


def test_an_answered_probe_opens_the_gate_for_the_slot_rule() -> None:
    s = state()
    probe = s.take(0.0, 0, 0)
    s.answered(probe, 0.1, limit=20, remaining=19, reset_in=1.9)
    assert s.probe == 0
    assert s.allowance(0.1, busy=1) is None
    assert s.cap_until == -INF
    assert s.known_until == INF


def test_a_probe_refused_429_keeps_the_gate_shut_until_the_reset_then_probes_again() -> None:
    s = state()
    probe = s.take(0.0, 0, 0)
    s.answered(probe, 0.1, limit=20, remaining=0, reset_in=1.5, refused=True)
    assert s.allowance(0.1, busy=1) == 0
    assert s.next_change(0.1) == 1.6
    assert s.allowance(1.6, busy=1) == 1  # The window reset: what is in it now is unknown.
    assert s.take(1.6, 1, 0).probe


def test_a_probe_that_finds_another_consumer_caps_what_is_left() -> None:
    s = state()
    probe = s.take(0.0, 0, 0)
    # The server counted 15: 14 are someone else's.
    s.answered(probe, 0.1, limit=20, remaining=5, reset_in=1.0)
    assert s.allowance(0.1, busy=1) == 5
    for i in range(5):
        s.take(0.1, 1 + i, i)
    assert s.allowance(0.1, busy=6) == 0
    assert s.next_change(0.1) == 1.1
    assert s.allowance(1.1, busy=6) == 1  # The cap ended with the window: probe again.


def test_a_cap_lasts_at_most_one_hold_after_its_answer() -> None:
    s = state()
    probe = s.take(0.0, 0, 0)
    # A reset far in the header (coarse, or its margin) never caps longer than
    # the window that counted the request can last.
    s.answered(probe, 0.1, limit=20, remaining=2, reset_in=7.0)
    assert s.cap_until == 0.1 + HOLD
    s2 = state()
    s2.answered(s2.take(0.0, 0, 0), 0.1, limit=20, remaining=2, reset_in=None)
    assert s2.cap_until == 0.1 + HOLD


def test_a_reset_too_far_to_be_the_window_is_ignored() -> None:
    s = state()
    s.answered(s.take(0.0, 0, 0), 0.1, limit=20, remaining=0, reset_in=INF, refused=True)
    assert s.cap_until == -INF
    assert s.allowance(0.1, busy=1) is None


def test_a_failed_probe_makes_the_next_request_the_probe() -> None:
    s = state()
    s.answered(s.take(0.0, 0, 0), 0.1, limit=20, remaining=19, reset_in=1.0)
    # Idle: no slot taken any more, so the next burst probes again.
    probe = s.take(5.0, 0, 0)
    assert probe.probe
    s.failed(probe)
    assert s.allowance(5.1, busy=1) == 1  # Its slot is still taken, yet nothing was learnt.
    assert s.take(5.1, 1, 0).probe


def test_a_probe_that_hangs_lets_everyone_go_after_the_timeout_without_a_new_probe() -> None:
    s = state()
    probe = s.take(0.0, 0, 0)
    assert s.allowance(TIMEOUT - 0.001, busy=1) == 0
    assert s.allowance(TIMEOUT, busy=1) is None
    ticket = s.take(TIMEOUT, 1, 1)
    assert not ticket.probe
    # The late answer still counts.
    s.answered(probe, 3.0, limit=20, remaining=18, reset_in=1.0)
    assert s.probe == 0
    assert s.allowance(3.0, busy=2) is None


def test_a_late_failure_of_an_old_probe_does_not_end_the_new_one() -> None:
    s = state()
    old = s.take(0.0, 0, 0)
    s.failed(old)
    new = s.take(0.1, 1, 0)
    s.failed(old)
    assert s.probe == new.serial
    assert s.allowance(0.1, busy=2) == 0


def test_a_slot_that_ends_without_an_answer_or_an_error_counts_as_answered() -> None:
    s = state()
    probe = s.take(0.0, 0, 0)
    s.ended(probe, 0.2)
    assert s.allowance(0.2, busy=1) is None


def test_own_requests_are_never_taken_for_another_consumer() -> None:
    s = state()
    s.answered(s.take(0.0, 0, 0), 0.1, limit=20, remaining=19, reset_in=1.9)
    tickets = [s.take(0.1, 1 + i, i) for i in range(19)]
    # Answers in any order, each after the server counted every one of them.
    for ticket in reversed(tickets):
        s.answered(ticket, 0.2, limit=20, remaining=0, reset_in=1.8)
    assert s.cap_until == -INF


def test_answers_while_requests_are_in_flight_cap_what_may_still_be_counted() -> None:
    s = state()
    s.answered(s.take(0.0, 0, 0), 0.1, limit=20, remaining=19, reset_in=1.9)
    first = s.take(0.1, 1, 0)
    others = [s.take(0.1, 2 + i, 1 + i) for i in range(3)]
    # The server counted 10 when it counted `first`: 8 are someone else's, and
    # the 3 sent after it may come on top of what it says is left.
    s.answered(first, 0.2, limit=20, remaining=10, reset_in=1.0)
    assert s.allowance(0.2, busy=5) == 10 - 3
    # A later answer, still within the cap, may only tighten it.
    s.answered(others[0], 0.2, limit=20, remaining=9, reset_in=1.0)
    assert s.allowance(0.2, busy=5) == 9 - (1 + 2)
    # The last one sent: the 3 sent before it were in flight, and the server
    # may have counted them after it (the network reorders).
    s.answered(others[2], 0.2, limit=20, remaining=8, reset_in=1.0)
    assert s.allowance(0.2, busy=5) == 8 - 3


# -- The rules against a simulated server, on plain numbers --------------------------


class FixedWindow:
    """lemlist's window (rate-limiter-flexible): opened by the first request after the last."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self.start, self.hits = -INF, 0

    def hit(self, now: float, count: int = 1) -> tuple[bool, int, float]:
        if now - self.start >= self.window - 1e-9:
            self.start, self.hits = now, 0
        self.hits += count
        reset = self.start + self.window - now
        return self.hits <= self.limit, max(0, self.limit - self.hits), reset


@attrs.frozen
class Sent:
    ticket: Ticket
    sent: float
    trip: float  # Round trip, seconds.
    where: float  # Where in it the server counts the request, 0..1.


def simulate(
    flights: list[tuple[float, float]], spent: int, *, limit: int = 20, window: float = 2.0
) -> tuple[int, int]:
    """Send one call per flight, as the limiter would, into a key ``spent`` just before.

    A call refused 429 pauses the key for its Retry-After and is sent again (with
    the same flight). Returns the 429s and how many times a cap was set.
    """
    server = FixedWindow(limit, window)
    if spent:
        server.hit(0.0, spent)
    s = ShareState(window + 0.005, TIMEOUT)
    pending = deque(flights)
    heap: list[tuple[float, int, str, Sent, int, float]] = []
    seq = itertools.count()
    releases: list[float] = []
    in_flight = 0
    paused_until = -INF
    refused = caps = 0
    now = 0.0
    while pending or heap:
        while pending and now >= paused_until:
            busy = in_flight + sum(1 for r in releases if r > now)
            if busy >= limit or s.allowance(now, busy) == 0:
                break
            trip, where = pending.popleft()
            sent = Sent(s.take(now, busy, in_flight), now, trip, where)
            in_flight += 1
            heapq.heappush(heap, (now + trip * where, next(seq), "count", sent, 0, 0.0))
        wakes = [heap[0][0]] if heap else []
        if pending:
            wakes += [t for t in (*releases, paused_until, s.next_change(now)) if t > now]
        assert wakes, "calls left, yet nothing would ever admit them"
        now = max(now, min(wakes))
        while heap and heap[0][0] <= now:
            at, _, kind, sent, left, reset = heapq.heappop(heap)
            if kind == "count":
                ok, left, reset = server.hit(at)
                answer = (sent.sent + sent.trip, next(seq), "ok" if ok else "429")
                heapq.heappush(heap, (*answer, sent, left, reset))
                continue
            was = s.cap_until
            if kind == "429":
                refused += 1
                s.answered(sent.ticket, at, limit=limit, remaining=0, reset_in=reset, refused=True)
                paused_until = max(paused_until, at + reset)
                pending.appendleft((sent.trip, sent.where))
            else:
                # The reset header is coarse: lemlist's client adds up to 2 s.
                s.answered(sent.ticket, at, limit=limit, remaining=left, reset_in=reset + 1.0)
            caps += s.cap_until != was
            s.ended(sent.ticket, at)
            in_flight -= 1
            releases.append(at + window + 0.005)
    return refused, caps


flights = st.lists(
    st.tuples(
        st.integers(10, 400).map(lambda ms: ms / 1000),
        st.integers(0, 4).map(lambda q: q / 4),
    ),
    min_size=1,
    max_size=70,
)


@settings(max_examples=80, deadline=None)
@given(flights=flights)
def test_alone_on_the_key_the_state_never_caps(flights: list[tuple[float, float]]) -> None:
    refused, caps = simulate(flights, spent=0)
    assert refused == 0
    assert caps == 0


@settings(max_examples=80, deadline=None)
@given(flights=flights, spent=st.integers(1, 20))
def test_a_key_spent_just_before_costs_at_most_the_probe(
    flights: list[tuple[float, float]], spent: int
) -> None:
    refused, _ = simulate(flights, spent=spent)
    assert refused <= 1
