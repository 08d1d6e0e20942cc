"""A fake lemlist API on loopback, for tests, benchmarks and demos.

`FakeLemlistServer` is a real aiohttp web application bound to a local socket,
so a client under test goes through its whole HTTP stack: connection pooling,
headers, status handling, body decoding. It serves the one endpoint the SDK was
started for, ``GET /api/campaigns/{campaignId}/leads/``, and copies the parts of
lemlist's behaviour that a client can get wrong:

* HTTP Basic auth with an empty login and the API key as password;
* the ``state`` filter, the ``limit`` parameter (1..500, default 100) and the
  newest-first order;
* lemlist's text/plain error bodies (401, 404, 400, 429);
* the rate limit of 20 requests per 2 seconds per key, with lemlist's headers
  (``X-RateLimit-*`` on every answer past auth, ``Retry-After`` on a 429,
  ``X-RateLimit-Reset`` in JavaScript ``Date.toString()`` format);
* faults on demand: any status, a body that is not JSON, a dropped connection,
  latency and jitter.

Every request is recorded (`RecordedRequest`) so that a test can check what the
client actually sent and when, e.g. that it never put more than 20 requests in
any 2-second window (`FakeLemlistServer.max_arrivals_in_window`).

All times are the running loop's clock (``loop.time()``), so the fake works on
virtual time (e.g. ``@pytest.mark.looptime``); only ``X-RateLimit-Reset``, a
calendar date, also reads the wall clock. All randomness comes from
``random.Random`` instances seeded from ``seed``: the same seed gives the same
key, campaigns, leads and jitter.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import hmac
import itertools
import json
import math
import random
import string
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, Final, Literal, Protocol, Self, TypeAlias

import attrs
from aiohttp import hdrs, web

from lemlist_async._constants import LEADS_LIMIT_MAX, LEADS_LIMIT_MIN, RATE_LIMIT, RATE_WINDOW

__all__ = ["DROPPED_STATUS", "FakeLemlistServer", "RecordedRequest", "WindowMode"]

#: How the rate limiter counts; see `FakeLemlistServer`.
WindowMode: TypeAlias = Literal["fixed", "sliding"]

#: `RecordedRequest.status` of a request whose connection was dropped unanswered.
DROPPED_STATUS: Final = 0

# -- What lemlist answers ---------------------------------------------------------------
LEADS_ROUTE: Final = "/api/campaigns/{campaignId}/leads/"
DEFAULT_LIMIT: Final = 100
AUTH_FAILED_BODY: Final = "The authentication you supplied is incorrect"
CAMPAIGN_NOT_FOUND_BODY: Final = "Campaign not found"
BAD_LIMIT_BODY: Final = "Bad params (invalid limit parameter)"
BAD_STATE_BODY: Final = "Bad params (invalid state parameter)"
#: The lead states lemlist documents (see lemlist-api.md), kept here rather than
#: taken from the SDK's ``LeadState``, so that an SDK mistake cannot agree with
#: itself. A state lemlist does not know gets 400 ``BAD_STATE_BODY``.
DOCUMENTED_STATES: Final = frozenset(
    {
        "imported",
        "scanned",
        "skipped",
        "reviewed",
        "contacted",
        "hooked",
        "attracted",
        "warmed",
        "interested",
        "notInterested",
        "emailsBounced",
        "emailsUnsubscribed",
        "failed",
        "meetingBooked",
        "paused",
        "emailsSent",
        "emailsOpened",
        "emailsClicked",
        "emailsReplied",
        "emailsInterested",
        "emailsNotInterested",
        "emailsFailed",
        "opportunitiesDone",
        "aircallDone",
        "aircallInterested",
        "aircallNotInterested",
        "apiDone",
        "apiInterested",
        "apiNotInterested",
        "linkedinVisitDone",
        "linkedinVisitFailed",
        "linkedinInviteDone",
        "linkedinInviteAccepted",
        "linkedinInviteFailed",
        "linkedinSent",
        "linkedinOpened",
        "linkedinReplied",
        "linkedinInterested",
        "linkedinNotInterested",
        "linkedinSendFailed",
        "manualInterested",
        "manualNotInterested",
    }
)
TOO_MANY_REQUESTS_BODY: Final = "Too many requests, please try again later."
#: Any other path; lemlist (express) answers an HTML page, plain text is enough here.
ROUTE_NOT_FOUND_BODY: Final = "Not found"
#: A truncated JSON array, as a connection cut mid-body would leave it.
MALFORMED_BODY: Final = b'[{"_id":"lea_'

# -- Seeded data ------------------------------------------------------------------------
_ID_ALPHABET: Final = string.ascii_letters + string.digits
_ID_LENGTH: Final = 17
#: (state, weight): the common global states dominate, a few detailed ones
#: (see lemlist-api.md) appear so that clients meet them too.
_STATE_WEIGHTS: Final[tuple[tuple[str, int], ...]] = (
    ("contacted", 30),
    ("scanned", 18),
    ("hooked", 6),
    ("interested", 6),
    ("imported", 5),
    ("notInterested", 5),
    ("attracted", 4),
    ("emailsBounced", 4),
    ("reviewed", 3),
    ("skipped", 3),
    ("warmed", 3),
    ("paused", 3),
    ("emailsUnsubscribed", 2),
    ("meetingBooked", 2),
    ("failed", 1),
    ("emailsSent", 2),
    ("emailsOpened", 2),
    ("emailsClicked", 1),
    ("emailsReplied", 1),
    ("linkedinInviteDone", 1),
    ("linkedinInviteAccepted", 1),
    ("apiDone", 1),
    ("aircallDone", 1),
    ("manualInterested", 1),
)
_STATES: Final = tuple(state for state, _ in _STATE_WEIGHTS)
_STATE_CUM_WEIGHTS: Final = tuple(itertools.accumulate(weight for _, weight in _STATE_WEIGHTS))
#: Both contact id prefixes occur in lemlist's answers; most are ``ctc_``.
_CONTACT_PREFIX_CON_SHARE: Final = 0.2

# -- Timing -----------------------------------------------------------------------------
#: Loop times are floats: ``(t0 + 2.0) - t0`` can come out one ulp short of 2.0.
#: An arrival exactly one window after another must still fall outside it.
_EPSILON: Final = 1e-9
#: Seconds `close` lets in-flight handlers finish. They only ever sleep injected
#: latency, so there is nothing worth waiting long for.
_SHUTDOWN_TIMEOUT: Final = 1.0

_WEEKDAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS: Final = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)


@attrs.frozen(kw_only=True)
class RecordedRequest:
    """One request that reached the fake's handler.

    Attributes:
        time: Loop time (``loop.time()``) at which the handler saw the request,
            taken before any injected latency.
        method: The HTTP method, e.g. ``"GET"``.
        path: The percent-decoded path, e.g. ``"/api/campaigns/cam_1/leads/"``.
        raw_path: The path as sent, still percent-encoded, without the query.
        query: The decoded query parameters (the first value of a repeated one).
        status: The status answered, or `DROPPED_STATUS` (0) when the
            connection was closed without an answer.
        campaign_id: The decoded ``{campaignId}`` path segment, or ``None`` when
            the path is not the Get Campaign Leads route.
        authenticated: Whether the request carried the right API key. Only
            authenticated requests count against the rate limit.
    """

    time: float
    method: str
    path: str
    raw_path: str
    query: dict[str, str]
    status: int
    campaign_id: str | None
    authenticated: bool


class FakeLemlistServer:
    """A fake lemlist API serving Get Campaign Leads on a local socket.

    Use it as an async context manager (or call `start` and `close`)::

        async with FakeLemlistServer(seed=1, campaigns=200) as fake:
            url = f"{fake.base_url}/campaigns/{fake.campaign_ids[0]}/leads/"
            headers = {"Authorization": aiohttp.encode_basic_auth("", fake.api_key)}

    Handling of one request, in order:

    1. The arrival is timed. A missing or wrong key gets 401 (not rate limited).
    2. The request counts against the key's rate limit, whatever happens next.
    3. A queued fault (`fail_next`, `malformed_next`, `drop_next`) answers it.
    4. Over the limit: 429 with ``Retry-After``.
    5. A path other than the leads route: 404 ``"Not found"``; a bad ``limit``,
       or a ``state`` lemlist does not document: 400; an unknown campaign: 404
       ``"Campaign not found"``; else 200 with the campaign's leads, newest
       first, filtered by ``state``.
    6. The request is recorded, then the answer waits ``latency`` plus a
       uniform random ``0..jitter`` seconds.

    Answers past step 1 carry ``X-RateLimit-Limit``, ``X-RateLimit-Remaining``
    and ``X-RateLimit-Reset`` unless rate limiting is disabled.

    Window modes (both count rejected requests too):

    * ``"fixed"``: lemlist's own scheme (rate-limiter-flexible). A key's first
      request opens a window of ``window`` seconds; at most ``rate_limit``
      requests of the window are admitted; the first request after the window
      opens the next one. The reset is the end of the current window.
    * ``"sliding"``: a request is admitted when at most ``rate_limit`` requests,
      itself included, arrived in the last ``window`` seconds. The reset is the
      instant at which the next request would be admitted (the oldest arrival
      leaving the window, or more of them after rejections).

    Attributes:
        requests: Every request that reached the handler, in arrival order.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        campaigns: int = 10,
        leads_per_campaign: int | tuple[int, int] = (0, 600),
        api_key: str | None = None,
        rate_limit: int | None = RATE_LIMIT,
        window: float = RATE_WINDOW,
        window_mode: WindowMode = "fixed",
        latency: float = 0.0,
        jitter: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """Seed the data; nothing is bound until `start`.

        Args:
            seed: Seeds every random choice: key, campaigns, leads, jitter.
            campaigns: How many campaigns to seed.
            leads_per_campaign: Leads in each seeded campaign: an exact count,
                or an inclusive ``(low, high)`` range drawn per campaign.
            api_key: The key to accept; by default 32 hex digits drawn from
                ``seed``.
            rate_limit: Requests admitted per window and key; ``None`` disables
                rate limiting and its headers.
            window: The rate-limit window, in seconds.
            window_mode: ``"fixed"`` (like lemlist) or ``"sliding"``.
            latency: Seconds added to every answer.
            jitter: Upper bound of an extra uniform random delay per answer.
            host: The address to bind.
            port: The port to bind; 0 picks a free one.

        Raises:
            ValueError: If a count, range, duration or mode is out of range, or
                ``api_key`` is empty.
        """
        if campaigns < 0:
            raise ValueError(f"campaigns must be >= 0, got {campaigns}")
        low, high = _lead_count_range(leads_per_campaign)
        if rate_limit is not None and rate_limit < 1:
            raise ValueError(f"rate_limit must be >= 1 or None, got {rate_limit}")
        if not window > 0:
            raise ValueError(f"window must be > 0, got {window}")
        if window_mode not in ("fixed", "sliding"):
            raise ValueError(f"window_mode must be 'fixed' or 'sliding', got {window_mode!r}")
        if api_key == "":
            raise ValueError("api_key must not be empty")

        rng = _seeded_rng(seed)
        # The key is drawn even when given, so that passing one never changes
        # the seeded campaigns.
        drawn_key = f"{rng.getrandbits(128):032x}"
        self._api_key = drawn_key if api_key is None else api_key
        self._expected_authorization = "Basic " + base64.b64encode(
            f":{self._api_key}".encode()
        ).decode("ascii")
        self._jitter_rng = _seeded_rng(rng.getrandbits(64))

        self._campaigns: dict[str, _Campaign] = {}
        for _ in range(campaigns):
            campaign_id = _new_id(rng, "cam_")
            while campaign_id in self._campaigns:  # astronomically unlikely
                campaign_id = _new_id(rng, "cam_")
            count = rng.randint(low, high)
            # Leads are generated on first use, from their own seed, so that
            # 200 campaigns cost nothing until asked for and the result does
            # not depend on the order in which campaigns are read.
            self._campaigns[campaign_id] = _Campaign(_LeadFactory(rng.getrandbits(64), count))
        self._seeded_ids = list(self._campaigns)

        self._rate_limit = rate_limit
        self._window = float(window)
        self._window_mode: WindowMode = window_mode
        self._limiter: _Limiter | None = None
        if rate_limit is not None:
            self._limiter = (
                _FixedWindow(rate_limit, self._window)
                if window_mode == "fixed"
                else _SlidingWindow(rate_limit, self._window)
            )

        self._latency = 0.0
        self._jitter = 0.0
        self.latency = latency
        self.jitter = jitter

        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._faults: collections.deque[_Fault] = collections.deque()
        self.requests: list[RecordedRequest] = []

    # -- Lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Bind the socket and start serving.

        Raises:
            RuntimeError: If the server is already running.
            OSError: If the address cannot be bound.
        """
        if self._runner is not None:
            raise RuntimeError("FakeLemlistServer is already running")
        app = web.Application()
        app.router.add_route(hdrs.METH_GET, LEADS_ROUTE, self._handle)
        # Every other request reaches a handler too, so that it is recorded and
        # rate limited like lemlist does on all routes (a client that drops the
        # trailing slash shows up in `requests` with a 404).
        app.router.add_route(hdrs.METH_ANY, "/{tail:.*}", self._handle)
        # No access log: benchmarks push thousands of requests through here.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT)
        await runner.setup()
        started = False
        try:
            site = web.TCPSite(runner, self._host, self._port)
            await site.start()
            started = True
        finally:
            if not started:
                await runner.cleanup()
        # The bound address, not `host`: a name may resolve to several.
        address = runner.addresses[0]
        host = f"[{address[0]}]" if ":" in address[0] else address[0]  # IPv6 literal
        self._base_url = f"http://{host}:{address[1]}/api"
        self._runner = runner

    async def close(self) -> None:
        """Stop serving and close every connection; a no-op when not running."""
        runner, self._runner = self._runner, None
        self._base_url = None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- What a client needs ------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The API root to give a client, e.g. ``"http://127.0.0.1:40123/api"``.

        Raises:
            RuntimeError: If the server is not running.
        """
        if self._base_url is None:
            raise RuntimeError("FakeLemlistServer is not running; use `async with` or start()")
        return self._base_url

    @property
    def api_key(self) -> str:
        """The only API key the server accepts."""
        return self._api_key

    @property
    def campaign_ids(self) -> list[str]:
        """The seeded campaigns' ids, in seeding order (a copy; added ones excluded)."""
        return list(self._seeded_ids)

    @property
    def rate_limit(self) -> int | None:
        """Requests admitted per window and key, or ``None`` when not enforced."""
        return self._rate_limit

    @property
    def window(self) -> float:
        """The rate-limit window in seconds."""
        return self._window

    @property
    def window_mode(self) -> WindowMode:
        """``"fixed"`` or ``"sliding"``; see the class docstring."""
        return self._window_mode

    @property
    def latency(self) -> float:
        """Seconds every answer waits; settable at any time (>= 0)."""
        return self._latency

    @latency.setter
    def latency(self, value: float) -> None:
        if not value >= 0:
            raise ValueError(f"latency must be >= 0, got {value}")
        self._latency = float(value)

    @property
    def jitter(self) -> float:
        """Upper bound of the extra uniform random delay; settable (>= 0)."""
        return self._jitter

    @jitter.setter
    def jitter(self, value: float) -> None:
        if not value >= 0:
            raise ValueError(f"jitter must be >= 0, got {value}")
        self._jitter = float(value)

    # -- Data ---------------------------------------------------------------------------

    def add_campaign(self, campaign_id: str, leads: Sequence[Mapping[str, Any]]) -> None:
        """Serve ``leads`` under ``campaign_id``, replacing any campaign of that id.

        Args:
            campaign_id: Any non-empty string; ids with ``/`` or ``..`` are
                reachable through a percent-encoded path segment.
            leads: The campaign's leads in creation order, oldest first; they
                are answered newest first, like lemlist does. Each is copied
                (shallowly) and sent as given, so it may carry any fields; the
                ``state`` filter compares its ``"state"`` key.

        Raises:
            ValueError: If ``campaign_id`` is empty.
            TypeError: If a lead is not JSON-serializable.
        """
        if not campaign_id:
            raise ValueError("campaign_id must not be empty")
        copies = [dict(lead) for lead in leads]
        # Fail here, in the test that adds the data, not later as a 500.
        json.dumps(copies)
        self._campaigns[campaign_id] = _Campaign(lambda: copies)

    def campaign_leads(self, campaign_id: str) -> list[dict[str, Any]]:
        """All leads of a campaign in creation order, oldest first (copies).

        The server answers them in the reverse order, newest first.

        Raises:
            KeyError: If there is no such campaign.
        """
        return [dict(lead) for lead in reversed(self._campaigns[campaign_id].newest_first())]

    # -- Fault injection ----------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        *,
        count: int = 1,
        body: str | None = None,
        content_type: str = "text/plain",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next ``count`` authenticated requests with ``status``.

        Faults are queued and consumed in order, one per request that passes
        auth, before anything else is looked at (they still count against the
        rate limit). The answer carries the rate-limit headers; ``headers``
        override them.

        Args:
            status: The status to answer, 200..599.
            count: How many requests get this answer.
            body: The body; by default the status's reason phrase.
            content_type: The ``Content-Type``; ``text/*`` types get
                ``charset=utf-8`` unless they name a charset.
            headers: Extra headers, e.g. ``{"Retry-After": "3"}``.

        Raises:
            ValueError: If ``status`` or ``count`` is out of range.
        """
        if not 200 <= status <= 599:
            raise ValueError(f"status must be in 200..599, got {status}")
        if body is None:
            body = _reason(status)
        if content_type.startswith("text/") and "charset=" not in content_type.lower():
            content_type += "; charset=utf-8"
        fault = _Fault(
            status=status,
            body=body.encode("utf-8"),
            headers=((hdrs.CONTENT_TYPE, content_type), *(headers or {}).items()),
        )
        self._queue(fault, count)

    def malformed_next(self, count: int = 1) -> None:
        """Answer the next ``count`` authenticated requests with a 200 that is not JSON.

        The body is a truncated JSON array labelled ``application/json``.

        Raises:
            ValueError: If ``count`` < 1.
        """
        fault = _Fault(
            status=200,
            body=MALFORMED_BODY,
            headers=((hdrs.CONTENT_TYPE, "application/json"),),
        )
        self._queue(fault, count)

    def drop_next(self, count: int = 1) -> None:
        """Close the connection of the next ``count`` authenticated requests unanswered.

        The client sees the server disconnect: aiohttp raises
        ``ServerDisconnectedError``. Note that aiohttp (3.14) itself sends an
        idempotent request once more when that happens, so it takes
        ``drop_next(2)`` for one GET of an aiohttp client to fail. Each dropped
        request is recorded with status `DROPPED_STATUS`.

        Raises:
            ValueError: If ``count`` < 1.
        """
        self._queue(_Fault(status=DROPPED_STATUS, body=b"", headers=(), drop=True), count)

    @property
    def pending_faults(self) -> int:
        """How many queued faults are still waiting for a request."""
        return len(self._faults)

    def _queue(self, fault: _Fault, count: int) -> None:
        if count < 1:
            raise ValueError(f"count must be >= 1, got {count}")
        self._faults.extend(itertools.repeat(fault, count))

    # -- Records ------------------------------------------------------------------------

    def arrival_times(self) -> list[float]:
        """Loop times of every recorded request (authenticated or not), in arrival order."""
        return [request.time for request in self.requests]

    def max_arrivals_in_window(self, window: float | None = None) -> int:
        """The most authenticated arrivals within any half-open interval ``[t, t + window)``.

        Rejected requests count, since the server saw them. Two arrivals exactly
        ``window`` apart are never in the same interval.

        Args:
            window: The interval length in seconds; by default the server's window.

        Returns:
            The count; 0 when nothing authenticated arrived.

        Raises:
            ValueError: If ``window`` is not positive.
        """
        window = self._window if window is None else window
        if not window > 0:
            raise ValueError(f"window must be > 0, got {window}")
        times = sorted(request.time for request in self.requests if request.authenticated)
        best = 0
        first = 0
        for last, arrival in enumerate(times):
            while arrival - times[first] >= window - _EPSILON:
                first += 1
            best = max(best, last - first + 1)
        return best

    def count(self, status: int) -> int:
        """How many recorded requests were answered with ``status``."""
        return sum(1 for request in self.requests if request.status == status)

    def reset_records(self) -> None:
        """Forget the recorded requests (the rate limiter's state is kept)."""
        self.requests.clear()

    # -- Request handling ---------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        arrival = asyncio.get_running_loop().time()
        campaign_id = request.match_info.get("campaignId")
        authenticated = self._authenticate(request.headers.get(hdrs.AUTHORIZATION))
        drop = False
        if authenticated:
            response, drop = self._answer(request, campaign_id, arrival)
        else:
            response = _text_response(401, AUTH_FAILED_BODY, {})
        self.requests.append(
            RecordedRequest(
                time=arrival,
                method=request.method,
                path=request.path,
                raw_path=request.rel_url.raw_path,
                query=dict(request.query),
                status=DROPPED_STATUS if drop else response.status,
                campaign_id=campaign_id,
                authenticated=authenticated,
            )
        )
        delay = self._latency
        if self._jitter > 0:
            delay += self._jitter_rng.uniform(0.0, self._jitter)
        if delay > 0:
            await asyncio.sleep(delay)
        if drop:
            # Closing the transport is aiohttp's clean "no answer": writing the
            # returned response then fails with a ConnectionError, which the
            # server treats as a premature client disconnect (no log, no
            # warning), and the client sees ServerDisconnectedError.
            transport = request.transport
            if transport is not None:
                transport.close()
        return response

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

    def _answer(
        self, request: web.Request, campaign_id: str | None, arrival: float
    ) -> tuple[web.Response, bool]:
        """Answer an authenticated request: (response, whether to drop the connection)."""
        headers: dict[str, str] = {}
        verdict: _Verdict | None = None
        if self._limiter is not None and self._rate_limit is not None:
            verdict = self._limiter.hit(self._api_key, arrival)
            headers = {
                "X-RateLimit-Limit": str(self._rate_limit),
                "X-RateLimit-Remaining": str(verdict.remaining),
                "X-RateLimit-Reset": _js_date_string(time.time() + verdict.reset_in),
            }
        if self._faults:
            fault = self._faults.popleft()
            return fault.response(headers), fault.drop
        if verdict is not None and not verdict.admitted:
            headers[hdrs.RETRY_AFTER] = _format_seconds(verdict.reset_in)
            return _text_response(429, TOO_MANY_REQUESTS_BODY, headers), False
        if campaign_id is None:
            return _text_response(404, ROUTE_NOT_FOUND_BODY, headers), False
        limit = _parse_limit(request.query.get("limit"))
        if limit is None:
            return _text_response(400, BAD_LIMIT_BODY, headers), False
        state = request.query.get("state")
        if state is not None and state not in DOCUMENTED_STATES:
            return _text_response(400, BAD_STATE_BODY, headers), False
        campaign = self._campaigns.get(campaign_id)
        if campaign is None:
            return _text_response(404, CAMPAIGN_NOT_FOUND_BODY, headers), False
        body = campaign.body(state, limit)
        return web.Response(body=body, content_type="application/json", headers=headers), False


# -- Campaign data ----------------------------------------------------------------------


class _Campaign:
    """A campaign's leads, built on first use, and its cached JSON answers."""

    __slots__ = ("_bodies", "_factory", "_newest_first")

    def __init__(self, factory: Callable[[], list[dict[str, Any]]]) -> None:
        """Wrap ``factory``, which returns the leads in creation order, oldest first."""
        self._factory = factory
        self._newest_first: list[dict[str, Any]] | None = None
        self._bodies: dict[tuple[str | None, int], bytes] = {}

    def newest_first(self) -> list[dict[str, Any]]:
        if self._newest_first is None:
            self._newest_first = self._factory()[::-1]
        return self._newest_first

    def body(self, state: str | None, limit: int) -> bytes:
        """The JSON answer for a ``state`` filter (``None``: all) and ``limit``."""
        key = (state, limit)
        body = self._bodies.get(key)
        if body is None:
            leads = self.newest_first()
            if state is not None:
                leads = [lead for lead in leads if lead.get("state") == state]
            body = json.dumps(leads[:limit], separators=(",", ":")).encode("utf-8")
            # Serializing 500 leads costs far more than the rest of a request;
            # benchmarks ask the same pages over and over.
            self._bodies[key] = body
        return body


@attrs.frozen
class _LeadFactory:
    """Generates a seeded campaign's leads, oldest first, always the same for a seed."""

    seed: int
    count: int

    def __call__(self) -> list[dict[str, Any]]:
        rng = _seeded_rng(self.seed)
        states = rng.choices(_STATES, cum_weights=_STATE_CUM_WEIGHTS, k=self.count)
        leads: list[dict[str, Any]] = []
        for state in states:
            prefix = "con_" if rng.random() < _CONTACT_PREFIX_CON_SHARE else "ctc_"
            leads.append(
                {"_id": _new_id(rng, "lea_"), "contactId": _new_id(rng, prefix), "state": state}
            )
        return leads


def _seeded_rng(seed: int) -> random.Random:
    """A private generator: reproducible fake data is the point, not secrecy."""
    return random.Random(seed)  # noqa: S311


def _new_id(rng: random.Random, prefix: str) -> str:
    """A lemlist-looking id: ``prefix`` and 17 letters or digits."""
    return prefix + "".join(rng.choices(_ID_ALPHABET, k=_ID_LENGTH))


def _lead_count_range(leads_per_campaign: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(leads_per_campaign, int):
        low = high = leads_per_campaign
    else:
        low, high = leads_per_campaign
    if not 0 <= low <= high:
        raise ValueError(
            "leads_per_campaign must be a count >= 0 or a range (low, high) with"
            f" 0 <= low <= high, got {leads_per_campaign!r}"
        )
    return low, high


def _parse_limit(raw: str | None) -> int | None:
    """The ``limit`` query value as an int in range, or ``None`` if invalid."""
    if raw is None:
        return DEFAULT_LIMIT
    # isascii(): str.isdigit() also accepts other scripts' digits, which int()
    # would take; the length cap keeps int() away from huge digit strings.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10):
        return None
    limit = int(raw)
    return limit if LEADS_LIMIT_MIN <= limit <= LEADS_LIMIT_MAX else None


# -- Faults -----------------------------------------------------------------------------


@attrs.frozen
class _Fault:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...]
    drop: bool = False

    def response(self, rate_headers: Mapping[str, str]) -> web.Response:
        if self.drop:
            # Never written: the handler closes the connection instead.
            return web.Response(status=200)
        response = web.Response(status=self.status, body=self.body, headers=rate_headers)
        # A case-insensitive update: the caller's headers replace the rate-limit ones.
        response.headers.update(self.headers)
        return response


def _text_response(status: int, text: str, headers: Mapping[str, str]) -> web.Response:
    return web.Response(status=status, text=text, content_type="text/plain", headers=headers)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:  # a status without a registered name, e.g. 599
        return f"Status {status}"


# -- Rate limiting ----------------------------------------------------------------------


@attrs.frozen
class _Verdict:
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


class _Limiter(Protocol):
    def hit(self, key: str, now: float) -> _Verdict:
        """Count an arrival of ``key`` at loop time ``now`` and judge it."""
        ...


class _FixedWindow:
    """rate-limiter-flexible's fixed window, opened by a key's first request."""

    def __init__(self, limit: int, window: float) -> None:
        self._limit = limit
        self._window = window
        self._windows: dict[str, tuple[float, int]] = {}  # key -> (start, hits)

    def hit(self, key: str, now: float) -> _Verdict:
        start, hits = self._windows.get(key, (-math.inf, 0))
        if now - start >= self._window - _EPSILON:
            start, hits = now, 0
        hits += 1
        self._windows[key] = (start, hits)
        return _Verdict(
            admitted=hits <= self._limit,
            remaining=max(0, self._limit - hits),
            reset_in=max(0.0, start + self._window - now),
        )


class _SlidingWindow:
    """At most ``limit`` arrivals, rejected ones included, in any ``window`` seconds."""

    def __init__(self, limit: int, window: float) -> None:
        self._limit = limit
        self._window = window
        self._arrivals: dict[str, collections.deque[float]] = {}

    def hit(self, key: str, now: float) -> _Verdict:
        arrivals = self._arrivals.setdefault(key, collections.deque())
        while arrivals and now - arrivals[0] >= self._window - _EPSILON:
            arrivals.popleft()
        arrivals.append(now)
        hits = len(arrivals)
        # A request at t is admitted once at most limit - 1 of these arrivals
        # are still within (t - window, t]: the oldest max(1, hits - limit + 1)
        # of them must have left.
        frees_at = arrivals[max(0, hits - self._limit)] + self._window
        return _Verdict(
            admitted=hits <= self._limit,
            remaining=max(0, self._limit - hits),
            reset_in=max(0.0, frees_at - now),
        )


# -- Header formats ---------------------------------------------------------------------


def _format_seconds(seconds: float) -> str:
    """``Retry-After`` as a decimal string, rounded up to the millisecond.

    Rounding up means a client that waits exactly this long is admitted.
    """
    millis = math.ceil(max(0.0, seconds) * 1000 - _EPSILON)
    return f"{max(0, millis) / 1000:.3f}"


def _js_date_string(epoch_seconds: float) -> str:
    """JavaScript ``Date.prototype.toString()`` of an instant, in UTC.

    E.g. ``"Tue Feb 16 2021 09:02:42 GMT+0000 (Coordinated Universal Time)"``.
    JavaScript drops the milliseconds, hence the truncation. Names are spelled
    out rather than taken from ``strftime``, whose ``%a``/``%b`` follow the locale.
    """
    moment = datetime.fromtimestamp(math.floor(epoch_seconds), tz=UTC)
    return (
        f"{_WEEKDAYS[moment.weekday()]} {_MONTHS[moment.month - 1]} {moment.day:02d}"
        f" {moment.year:04d} {moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
        " GMT+0000 (Coordinated Universal Time)"
    )
