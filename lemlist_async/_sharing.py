"""When another tool spends the same key: probe the server's window, cap what is left.

lemlist counts 20 requests per 2 s per API key, whoever sends them
(https://developer.lemlist.com/api-reference#rate-limit), and every response
says how many the key has left in the server's current window
(``X-RateLimit-Remaining``) and when that window resets (``X-RateLimit-Reset``,
``Retry-After`` on a 429). The slot rule of ``WindowRateLimiter`` keeps the
SDK's *own* requests within the limit; the rules here keep it from spending
what another consumer of the key (a Zapier scenario, a colleague's script)
already spent:

* **Probe.** When the limiter knows nothing about the server's window (no slot
  taken, that is nothing in flight and no answer for a window; or a cap just
  ended), one request goes alone and the rest wait for its answer. If it fails
  without one, the next request is the new probe; if it hangs, everyone goes
  after ``probe_timeout`` seconds.
* **Cap.** An answer that says the server counted more requests than the
  limiter can have sent into that window proves that someone else spends the
  key: no more than what is left (less what may still be on its way) goes until
  the window resets.
* A 429 closes the gate until the time it asks to wait.

This module is pure: no I/O, no asyncio, no clock. Every time is a loop time in
seconds, passed in as ``now``, so the rules test without a network and port as
they are to the Redis limiter, where each field of `ShareState` is one field of
the key's state and `Ticket` the data kept with each slot.

What "can have sent" means, with requests in flight and answers out of order:
the server counts a request at some instant between its send and its answer.
Take the answer to request *r*, which the server counted at instant *c* (after
*r* was sent, before its answer). Its window holds requests counted in
``(c - window, c]``. Every own request counted there was either sent after *r*,
or was still holding its slot when *r* was sent (its slot is held until a window
after its answer, which came after its count, after ``c - window``). So at most
``ticket.busy + 1 + sent_after`` own requests are in the server's count
(``own_max``), and at most ``ticket.in_flight + sent_after`` own requests can be
counted *after* *r* (``own_later``: those still in flight when *r* was sent, and
those sent since), which the server's ``remaining`` does not include yet.
"""

from __future__ import annotations

import math

import attrs

__all__ = ["ShareState", "Ticket"]


@attrs.frozen
class Ticket:
    """What a slot remembers from the instant it was taken.

    Attributes:
        serial: The slot's number, counting every slot taken by the limiter
            from 1 (`ShareState.serial` right after it was taken).
        busy: Slots that were taken just before it: in flight, or given back
            less than ``window + margin`` ago.
        in_flight: Of those, the ones still in flight.
        probe: Whether this slot is the probe that the others wait for.
    """

    serial: int
    busy: int
    in_flight: int
    probe: bool = False


@attrs.define
class ShareState:
    """The probe-and-cap state of one key; see the module docstring for the rules.

    Every time is a loop time in seconds; ``-inf`` means "never", ``inf``
    "until further notice".

    Attributes:
        hold: How long a slot stays taken after its answer (``window + margin``):
            the longest a cap lasts, since the server window that counted a
            request ends within one window of its answer.
        probe_timeout: Seconds the others wait for a probe that gets no answer.
        serial: Slots taken so far (the last `Ticket.serial` handed out).
        probe: The serial of the probe in flight; 0 when none.
        probe_until: While the probe is out, no other request starts before
            this time (its start plus ``probe_timeout``).
        cap_left: Requests that may still start before ``cap_until``.
        cap_until: When the cap ends (the server's window has reset); the
            cap binds only before it.
        known_until: When the limiter stops knowing the server's window: ``inf``
            once an answer came (idle then ends it: no slot taken), the cap's
            end while capped, ``-inf`` before any answer and while probing.
    """

    hold: float
    probe_timeout: float
    serial: int = 0
    probe: int = 0
    probe_until: float = -math.inf
    cap_left: int = 0
    cap_until: float = -math.inf
    known_until: float = -math.inf

    def allowance(self, now: float, busy: int) -> int | None:
        """How many requests may start at ``now``, on top of the slot rule.

        Args:
            now: The current loop time.
            busy: Slots taken now (in flight, or given back less than ``hold`` ago).

        Returns:
            0 while a probe is out (for up to ``probe_timeout``) or the cap is
            spent; what is left of the cap while it binds; 1 when the window is
            unknown (that request will be the probe); ``None`` when the slot
            rule alone decides.
        """
        if self.probe and now < self.probe_until:
            return 0
        if now < self.cap_until:
            return max(0, self.cap_left)
        if self._unknown(now, busy):
            return 1
        return None

    def next_change(self, now: float) -> float:
        """The next instant at which `allowance` grows by itself (``inf``: only events).

        That is the probe's deadline or the cap's end, whichever comes first
        after ``now``.
        """
        instants = [self.cap_until]
        if self.probe:
            instants.append(self.probe_until)
        return min((t for t in instants if t > now), default=math.inf)

    def take(self, now: float, busy: int, in_flight: int) -> Ticket:
        """Record a slot taken at ``now``; the caller checked `allowance` first.

        Args:
            now: The current loop time.
            busy: Slots taken just before this one.
            in_flight: Of those, the ones in flight.

        Returns:
            The slot's ticket, to hand back to `answered`, `ended` or `failed`.
        """
        self.serial += 1
        probe = False
        if now < self.cap_until:
            self.cap_left -= 1
        elif self._unknown(now, busy):
            probe = True
            self.probe = self.serial
            self.probe_until = now + self.probe_timeout
            # Nothing is known until the probe is answered: if it fails, the
            # next request probes again.
            self.known_until = -math.inf
        return Ticket(self.serial, busy, in_flight, probe)

    def answered(
        self,
        ticket: Ticket,
        now: float,
        *,
        limit: int | None,
        remaining: int | None,
        reset_in: float | None,
        refused: bool = False,
    ) -> None:
        """Take in what the server said in answer to ``ticket``'s request.

        Args:
            ticket: The slot the answer is for.
            now: The loop time the answer arrived.
            limit: ``X-RateLimit-Limit``, or ``None``.
            remaining: ``X-RateLimit-Remaining``, or ``None``.
            reset_in: Seconds until the server's window has surely reset (for a
                429, what it asks to wait); ``None`` when unknown (a window is
                assumed); ``inf`` when too far to be about the window (a quota):
                then the counts are ignored.
            refused: The answer is a 429: the server's window is full.
        """
        self._end_probe(ticket)
        # The server window that counted the request ends within a window of
        # its answer, whatever a coarse or far reset header says.
        span = self.hold if reset_in is None else min(max(0.0, reset_in), self.hold)
        if not (reset_in is not None and math.isinf(reset_in)) and (
            refused or remaining is not None
        ):
            sent_after = self.serial - ticket.serial
            if refused:
                left, spent_elsewhere = 0, True
            else:
                assert remaining is not None
                own_max = ticket.busy + 1 + sent_after
                left = remaining - (ticket.in_flight + sent_after)
                spent_elsewhere = limit is not None and limit - remaining > own_max
            if spent_elsewhere:
                if now < self.cap_until:
                    self.cap_left = min(self.cap_left, left)
                else:
                    self.cap_left = left
                self.cap_until = max(self.cap_until, now + span)
            elif now < self.cap_until:
                # No proof by itself, but while capped every answer tightens.
                self.cap_left = min(self.cap_left, left)
        self._learnt(now)

    def ended(self, ticket: Ticket, now: float) -> None:
        """``ticket``'s slot ended without an error (answered, or nothing was reported).

        A probe that ends so opens the gate: its user had an answer, whether or
        not it reported it.
        """
        self._end_probe(ticket)
        self._learnt(now)

    def failed(self, ticket: Ticket) -> None:
        """``ticket``'s request failed without an answer (error, timeout, cancelled).

        A failed probe reopens the gate, and the next request probes again,
        since nothing was learnt.
        """
        self._end_probe(ticket)

    def _unknown(self, now: float, busy: int) -> bool:
        return not self.probe and (busy == 0 or now >= self.known_until)

    def _end_probe(self, ticket: Ticket) -> None:
        if ticket.serial == self.probe:
            self.probe = 0
            self.probe_until = -math.inf

    def _learnt(self, now: float) -> None:
        # While capped, what is known ends with the cap: the window has then
        # reset and the other consumer may have started the next one.
        self.known_until = self.cap_until if now < self.cap_until else math.inf
