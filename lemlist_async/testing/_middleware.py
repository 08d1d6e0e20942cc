"""What every route of the fake shares, written once as an aiohttp middleware.

For each request, in order: the arrival is timed; a missing or wrong key gets 401
(not rate limited); the request counts against the key's rate limit; a queued
fault answers it; past the limit it gets 429; otherwise the route's handler
answers, and for a write a fault "after apply" may then replace that answer
(the write stays applied). The request is then recorded. Right before the answer's headers go out
(aiohttp's ``on_response_prepare`` signal, so streamed answers get it too), the
rate-limit headers are added, the injected latency is slept, and a dropped
connection is closed.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import hmac
import json
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

import attrs
from aiohttp import hdrs, web

from ._lemlist import AUTH_FAILED_BODY, TOO_MANY_REQUESTS_BODY
from ._limits import Limiter, Verdict
from ._wire import format_seconds, js_date_string, reason, text_response

__all__ = ["DROPPED_STATUS", "Fault", "Gate", "RecordedRequest", "mark_applied"]

#: `RecordedRequest.status` of a request whose connection was dropped unanswered.
DROPPED_STATUS: Final = 0
#: Methods that never write: a fault "after apply" waits for another request.
_READ_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@attrs.frozen(kw_only=True)
class RecordedRequest:
    """One request that reached the fake.

    Attributes:
        time: Loop time (``loop.time()``) at which the fake saw the request,
            taken before any injected latency.
        method: The HTTP method, e.g. ``"GET"``.
        path: The percent-decoded path, e.g. ``"/api/campaigns/cam_1/leads/"``.
        raw_path: The path as sent, still percent-encoded, without the query.
        query: The decoded query parameters (the first value of a repeated one).
        status: The status answered, or `DROPPED_STATUS` (0) when the
            connection was closed without an answer.
        campaign_id: The decoded ``{campaignId}`` path segment of a route that
            has one, else ``None`` (e.g. a path no route knows).
        authenticated: Whether the request carried the right API key. Only
            authenticated requests count against the rate limit.
        json: The request body decoded as JSON, or ``None`` when there is no
            body or it is not JSON.
        applied: Whether a write route carried the request out (its change, if
            any, is in the fake's data), whether or not its answer was then
            replaced by a fault (`FakeLemlistServer.fail_after_apply`). False
            for reads and for refused writes.
    """

    time: float
    method: str
    path: str
    raw_path: str
    query: dict[str, str]
    status: int
    campaign_id: str | None
    authenticated: bool
    json: Any = None
    applied: bool = False


@attrs.frozen
class Fault:
    """A queued answer that replaces the next authenticated request's answer."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...]
    drop: bool = False

    @classmethod
    def answer(
        cls, status: int, body: str | None, content_type: str, headers: Mapping[str, str]
    ) -> Fault:
        """A fault answering ``status`` with ``body`` (default: the reason phrase).

        ``text/*`` types get ``charset=utf-8`` unless they name a charset.
        """
        if body is None:
            body = reason(status)
        if content_type.startswith("text/") and "charset=" not in content_type.lower():
            content_type += "; charset=utf-8"
        return cls(
            status=status,
            body=body.encode("utf-8"),
            headers=((hdrs.CONTENT_TYPE, content_type), *headers.items()),
        )

    def response(self) -> web.Response:
        if self.drop:
            # Never written: the connection is closed before the headers go out.
            return web.Response(status=200)
        response = web.Response(status=self.status, body=self.body)
        # Set here, they win over the rate-limit headers added at prepare time.
        response.headers.update(self.headers)
        return response


@attrs.define
class _Plan:
    """How to send one request's answer, decided on arrival."""

    headers: dict[str, str]
    delay: float
    drop: bool = False


_PLAN: Final = web.RequestKey("lemlist_fake_plan", _Plan)
_APPLIED: Final = web.RequestKey("lemlist_fake_applied", bool)


def mark_applied(request: web.Request) -> None:
    """Say that a write route carried ``request`` out (see `RecordedRequest.applied`)."""
    request[_APPLIED] = True


class Gate:
    """Auth, rate limit, faults, recording, latency and drops, for every route.

    Attributes:
        faults: Queued faults, consumed one per authenticated request.
        after_apply: Queued faults that replace the answer of a write once its
            handler ran, consumed one per admitted request whose method is not
            GET, HEAD or OPTIONS.
        latency: Seconds added to every answer (the server validates it).
        jitter: Upper bound of an extra uniform random delay per answer.
    """

    def __init__(
        self,
        *,
        api_key: str,
        limiter: Limiter | None,
        rate_limit: int | None,
        jitter_seed: int,
        record: Callable[[RecordedRequest], None],
    ) -> None:
        self._api_key = api_key
        self._expected_authorization = "Basic " + base64.b64encode(f":{api_key}".encode()).decode(
            "ascii"
        )
        self._limiter = limiter
        self._rate_limit = rate_limit
        self._jitter_rng = random.Random(jitter_seed)  # noqa: S311 (reproducible, not secret)
        self._record = record
        self.faults: collections.deque[Fault] = collections.deque()
        self.after_apply: collections.deque[Fault] = collections.deque()
        self._every: tuple[int, Fault] | None = None
        self._writes = 0
        self.latency = 0.0
        self.jitter = 0.0

    def fail_every(self, every: int | None, fault: Fault) -> None:
        """Replace the answer of every ``every``-th write from now on (``None``: stop)."""
        self._every = None if every is None else (every, fault)
        self._writes = 0

    def install(self, app: web.Application) -> None:
        """Put the gate in front of every route of ``app``."""

        @web.middleware
        async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
            return await self._pass(request, handler)

        app.middlewares.append(middleware)
        app.on_response_prepare.append(self._on_response_prepare)

    async def _pass(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        # Everything up to the first await happens at arrival, in arrival order:
        # the jitter draws and the queued faults must follow that order.
        arrival = asyncio.get_running_loop().time()
        authenticated = self._authenticate(request.headers.get(hdrs.AUTHORIZATION))
        delay = self.latency
        if self.jitter > 0:
            delay += self._jitter_rng.uniform(0.0, self.jitter)
        plan = _Plan(headers={}, delay=delay)
        request[_PLAN] = plan
        response: web.StreamResponse
        if not authenticated:
            response = text_response(401, AUTH_FAILED_BODY)
        else:
            verdict = self._verdict(arrival)
            if verdict is not None:
                plan.headers = self._rate_headers(verdict)
            if self.faults:
                fault = self.faults.popleft()
                plan.drop = fault.drop
                response = fault.response()
            elif verdict is not None and not verdict.admitted:
                retry_after = {"Retry-After": format_seconds(verdict.reset_in)}
                response = text_response(429, TOO_MANY_REQUESTS_BODY, retry_after)
            else:
                response = await _call(handler, request)
                lost = self._after_apply(request.method)
                if lost is not None and not response.prepared:
                    plan.drop = lost.drop
                    response = lost.response()
        self._record(
            RecordedRequest(
                time=arrival,
                method=request.method,
                path=request.path,
                raw_path=request.rel_url.raw_path,
                query=dict(request.query),
                status=DROPPED_STATUS if plan.drop else response.status,
                campaign_id=request.match_info.get("campaignId"),
                authenticated=authenticated,
                json=await _json_body(request),
                applied=request.get(_APPLIED, False),
            )
        )
        return response

    def _after_apply(self, method: str) -> Fault | None:
        """The fault that replaces a handled request's answer, if any.

        Only requests that may write count: each one takes the next queued
        fault, else every ``every``-th one (counted from `fail_every`) gets
        that fault.
        """
        if method in _READ_METHODS:
            return None
        self._writes += 1
        if self.after_apply:
            return self.after_apply.popleft()
        if self._every is not None and self._writes % self._every[0] == 0:
            return self._every[1]
        return None

    async def _on_response_prepare(
        self, request: web.Request, response: web.StreamResponse
    ) -> None:
        plan = request.get(_PLAN)
        if plan is None:  # not through the gate; nothing to add
            return
        for name, value in plan.headers.items():
            response.headers.setdefault(name, value)
        if plan.delay > 0:
            await asyncio.sleep(plan.delay)
        if plan.drop:
            # Closing the transport is aiohttp's clean "no answer": writing the
            # headers then fails with a ConnectionError, which the server treats
            # as a premature client disconnect (no log, no warning), and the
            # client sees ServerDisconnectedError.
            transport = request.transport
            if transport is not None:
                transport.close()

    def spend(self, count: int, now: float) -> Verdict | None:
        """Count ``count`` requests of another tool at ``now``; ``None``: no rate limit."""
        if self._limiter is None:
            return None
        return self._limiter.spend(self._api_key, now, count)

    def _verdict(self, arrival: float) -> Verdict | None:
        if self._limiter is None:
            return None
        return self._limiter.hit(self._api_key, arrival)

    def _rate_headers(self, verdict: Verdict) -> dict[str, str]:
        # https://developer.lemlist.com/api-reference#rate-limit : the reset is a
        # JavaScript Date.toString(), hence the wall clock here.
        return {
            "X-RateLimit-Limit": str(self._rate_limit),
            "X-RateLimit-Remaining": str(verdict.remaining),
            "X-RateLimit-Reset": js_date_string(time.time() + verdict.reset_in),
        }

    def _authenticate(self, authorization: str | None) -> bool:
        if authorization is None:
            return False
        if authorization == self._expected_authorization:  # the common case, cheaply
            return True
        scheme, _, credentials = authorization.strip().partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        login, colon, password = decoded.partition(":")
        # An empty login is part of lemlist's contract: a client that sends the
        # key as the login is wrong, even if the real API happened to accept it.
        return (
            colon == ":"
            and login == ""
            and hmac.compare_digest(password.encode("utf-8"), self._api_key.encode("utf-8"))
        )


async def _call(handler: Handler, request: web.Request) -> web.StreamResponse:
    """The handler's answer; an aiohttp HTTP exception becomes a plain text answer."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        return text_response(exc.status, exc.text or exc.reason, _headers_of(exc.headers))


def _headers_of(headers: Mapping[str, str]) -> dict[str, str]:
    # The exception's Content-Type would contradict the text/plain answer.
    return {str(name): value for name, value in headers.items() if name.lower() != "content-type"}


async def _json_body(request: web.Request) -> Any:
    """The body decoded as JSON, or ``None`` (no body, too big, or not JSON)."""
    if not request.body_exists:
        return None
    try:
        return json.loads(await request.read())
    except (ValueError, web.HTTPException):
        return None
