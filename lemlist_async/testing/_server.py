"""A fake lemlist API on loopback, for tests, benchmarks and demos.

`FakeLemlistServer` is a real aiohttp web application bound to a local socket,
so a client under test goes through its whole HTTP stack: connection pooling,
headers, status handling, body decoding. This module holds its lifecycle and
public API; the rest lives beside it:

* ``_middleware``: auth, rate limit and its headers, faults, recording,
  latency and dropped connections, once for every route;
* ``_routes``: one route table per lemlist resource;
* ``_store``: the seeded data and the writes on it; ``_limits``: the
  rate-limit windows; ``_wire``: formats; ``_lemlist``: the rules taken from
  lemlist's documentation;
* ``_deliveries``: the webhook calls, in background tasks, loopback only.

All times are the running loop's clock (``loop.time()``), so the fake works on
virtual time (e.g. ``@pytest.mark.looptime``); only ``X-RateLimit-Reset``, a
calendar date, also reads the wall clock. All randomness comes from
``random.Random`` instances seeded from ``seed``: the same seed gives the same
key, campaigns, leads and jitter.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Self

from aiohttp import hdrs, web

from . import _routes
from ._deliveries import Deliverer, Delivery
from ._generate import lead_count_range
from ._lemlist import MALFORMED_BODY, RATE_LIMIT, RATE_WINDOW
from ._limits import WindowMode, make_limiter, max_in_window
from ._middleware import DROPPED_STATUS, Fault, Gate, RecordedRequest
from ._stats import campaign_stats
from ._store import STORE, CampaignsShape, Store, seeded_rng
from ._wire import js_date_string

__all__ = ["DROPPED_STATUS", "Delivery", "FakeLemlistServer", "RecordedRequest", "WindowMode"]

#: Seconds `close` lets in-flight handlers finish. They only ever sleep injected
#: latency, so there is nothing worth waiting long for.
_SHUTDOWN_TIMEOUT: Final = 1.0
#: The fake's tests import it from here.
_js_date_string = js_date_string


class FakeLemlistServer:
    """A fake lemlist API on a local socket: a seeded team, campaigns and leads.

    It serves, consistently from one seeded store: Get Many Campaigns
    (``GET /api/campaigns``, envelope or array, see ``campaigns_shape``), Get
    Campaign, Get Campaign Leads, Export Campaign Leads (CSV or JSON,
    streamed), Get Campaign Stats, Get Batch Campaign Stats, Get Campaign
    Reports, Get Lead by Email (``GET /api/leads/{email}``, one entry per
    campaign), Get Lead by Email or ID (``GET /api/leads``), Get Many
    Activities (``GET /api/activities``, newest first), Get Team (with its
    webhooks and a fake ``slackWebhook`` secret), Get Team Credits, Get Team
    Senders, Get Many Webhooks (``GET /api/hooks``) and List Unsubscribed
    Variables (``GET /api/v2/unsubscribes/variables``). It takes lemlist's
    writes, and every read shows them: Create Lead in Campaign, Update Lead in
    a Campaign, Delete or Unsubscribe Lead, Pause Lead, Resume Paused Lead,
    Mark Lead as Interested or Not Interested (everywhere or in a campaign),
    Start and Pause Campaign, Add and Delete Webhook, Unsubscribe Variable (one
    or in bulk) and Re-subscribe Variable. New ids and dates come from the seed
    and the order of the writes, never from the clock: two fakes of one seed
    answer the same requests alike. ``docs/testing.md`` lists each route's
    parameters and errors; `team`, `campaign`, `campaigns`, `campaign_leads`,
    `custom_variables`, `exported_leads`, `campaign_stats`, `leads_by_email`,
    `lead`, `shared_lead_emails`, `activities`, `team_credits`,
    `team_senders`, `hooks` and `unsubscribes` return what the routes serve,
    for a test to compare with; `add_activities` records new activities while
    a client walks the feed; `bury_lead` makes a lead answer lemlist's
    permanent 500.

    Use it as an async context manager (or call `start` and `close`)::

        async with FakeLemlistServer(seed=1, campaigns=200) as fake:
            url = f"{fake.base_url}/campaigns/{fake.campaign_ids[0]}/leads/"
            headers = {"Authorization": aiohttp.encode_basic_auth("", fake.api_key)}

    Handling of one request, in order:

    1. The arrival is timed. A missing or wrong key gets 401 (not rate limited).
    2. The request counts against the key's rate limit, whatever happens next.
    3. A queued fault (`fail_next`, `malformed_next`, `drop_next`) answers it.
    4. Over the limit: 429 with ``Retry-After``.
    5. The route answers: 400 for parameters lemlist refuses (text/plain), 404
       ``"Campaign not found"`` for an unknown campaign (``"Lead not found"``
       for a lead, ``"Webhook not found"`` for a webhook), 405 where the spec
       documents it, else 200. A path no route knows: 404 ``"Not found"``.
    6. For a write (not GET, HEAD or OPTIONS), a fault of `fail_after_apply`
       or `fail_after_apply_every` replaces the route's answer: the write is
       applied, its answer lost.
    7. The request is recorded, then the answer (streamed ones included) waits
       ``latency`` plus a uniform random ``0..jitter`` seconds.

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

    Webhooks: when an activity is recorded (a lead paused, resumed, marked
    interested or not; `emit_activity`), the fake POSTs it, in the background,
    to the target of each matching webhook on a loopback host (see
    `emit_activity`).

    Attributes:
        requests: Every request that reached the server, in arrival order.
        deliveries: Every webhook delivery, as it ended (a refused one at
            once): a `Delivery` each, never with the secret.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        campaigns: int = 10,
        leads_per_campaign: int | tuple[int, int] = (0, 600),
        custom_variables: int | tuple[int, int] = (0, 10),
        campaigns_shape: CampaignsShape = "envelope",
        activities: int = 250,
        hooks: int | tuple[int, int] = (0, 3),
        unsubscribes: int = 250,
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
            custom_variables: Custom variables of each seeded campaign (names
                per campaign, values per lead): a count or a ``(low, high)``
                range. Their draws never change ids or Get Campaign Leads bodies.
            campaigns_shape: The body of Get Many Campaigns: ``"envelope"``,
                lemlist's observed v2 answer ``{"campaigns": [...],
                "pagination": {...}}``, or ``"array"``, the spec's plain array.
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
        low, high = lead_count_range(leads_per_campaign)
        variables = lead_count_range(custom_variables, "custom_variables")
        hook_range = lead_count_range(hooks, "hooks")
        for name, count in (("activities", activities), ("unsubscribes", unsubscribes)):
            if count < 0:
                raise ValueError(f"{name} must be >= 0, got {count}")
        if campaigns_shape not in ("envelope", "array"):
            raise ValueError(
                f"campaigns_shape must be 'envelope' or 'array', got {campaigns_shape!r}"
            )
        if rate_limit is not None and rate_limit < 1:
            raise ValueError(f"rate_limit must be >= 1 or None, got {rate_limit}")
        if not window > 0:
            raise ValueError(f"window must be > 0, got {window}")
        if window_mode not in ("fixed", "sliding"):
            raise ValueError(f"window_mode must be 'fixed' or 'sliding', got {window_mode!r}")
        if api_key == "":
            raise ValueError("api_key must not be empty")

        rng = seeded_rng(seed)
        # The key is drawn even when given, so that passing one never changes
        # the seeded campaigns.
        drawn_key = f"{rng.getrandbits(128):032x}"
        self._api_key = drawn_key if api_key is None else api_key
        jitter_seed = rng.getrandbits(64)

        self._store = Store(
            seed=seed,
            variables=variables,
            campaigns_shape=campaigns_shape,
            activities=activities,
            hooks=hook_range,
            unsubscribes=unsubscribes,
        )
        self._store.seed(rng, campaigns, (low, high))

        self._rate_limit = rate_limit
        self._window = float(window)
        self._window_mode: WindowMode = window_mode
        self._gate = Gate(
            api_key=self._api_key,
            limiter=None if rate_limit is None else make_limiter(window_mode, rate_limit, window),
            rate_limit=rate_limit,
            jitter_seed=jitter_seed,
            record=self._record,
        )
        self.latency = latency
        self.jitter = jitter

        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self.requests: list[RecordedRequest] = []
        self.deliveries: list[Delivery] = []
        self._deliverer = Deliverer(self._store.account, self._record_delivery)
        self._store.on_activity = self._deliverer.publish

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
        app[STORE] = self._store
        self._gate.install(app)
        for table in _routes.ALL:
            app.router.add_routes(table)
        # Last: every other path reaches a handler too, recorded and rate limited.
        app.router.add_routes(_routes.FALLBACK)
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
        self._deliverer.running = True

    async def close(self) -> None:
        """Stop serving and close every connection, then cancel the webhook
        deliveries still in flight (each recorded with its error) and close
        their session; a no-op when not running."""
        runner, self._runner = self._runner, None
        self._base_url = None
        if runner is not None:
            await runner.cleanup()
        await self._deliverer.close()

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
        return list(self._store.seeded_ids)

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
        return self._gate.latency

    @latency.setter
    def latency(self, value: float) -> None:
        if not value >= 0:
            raise ValueError(f"latency must be >= 0, got {value}")
        self._gate.latency = float(value)

    @property
    def jitter(self) -> float:
        """Upper bound of the extra uniform random delay; settable (>= 0)."""
        return self._gate.jitter

    @jitter.setter
    def jitter(self, value: float) -> None:
        if not value >= 0:
            raise ValueError(f"jitter must be >= 0, got {value}")
        self._gate.jitter = float(value)

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
        self._store.add(campaign_id, copies)

    def bury_lead(self, campaign_id: str, lead_id: str) -> None:
        """Put a lead in lemlist's graveyard: Update Lead in a Campaign then answers
        it 500 ``Lead in graveyard`` (lemlist's documented permanent 500). Every
        other route treats it as before.

        Raises:
            KeyError: If the campaign has no lead of that ``_id``.
        """
        campaign = self._store.campaigns[campaign_id]
        record = self._store.lead_in(campaign, lead_id)
        if record is None or record.id != lead_id:
            raise KeyError(lead_id)
        campaign.bury(record.position)

    def campaign_leads(self, campaign_id: str) -> list[dict[str, Any]]:
        """All leads of a campaign in creation order, oldest first (copies).

        The server answers them in the reverse order, newest first.

        Raises:
            KeyError: If there is no such campaign.
        """
        return [dict(lead) for lead in reversed(self._store.campaigns[campaign_id].newest_first())]

    @property
    def campaigns_shape(self) -> CampaignsShape:
        """``"envelope"`` or ``"array"``: the body of Get Many Campaigns."""
        return self._store.campaigns_shape

    def team(self) -> dict[str, Any]:
        """Get Team's body with ``version=v2``: the team, its ``hooks``, its
        ``slackWebhook`` (a fake secret URL) and its ``users``."""
        return self._store.account.team_body(with_users=True)

    def team_credits(self) -> dict[str, Any]:
        """Get Team Credits' body."""
        return self._store.account.credits()

    def team_senders(self, state: str | None = None) -> list[dict[str, Any]]:
        """Get Team Senders' body, for campaigns of ``state`` (``None``: all)."""
        return self._store.account.senders(state)

    def hooks(self) -> list[dict[str, Any]]:
        """Get Many Webhooks' body: the team's webhooks, oldest first."""
        return self._store.account.hooks()

    def unsubscribes(self) -> list[dict[str, Any]]:
        """Every unsubscribed variable, oldest first, as the pages list them."""
        return [dict(item) for item in self._store.account.unsubscribes()]

    def leads_by_email(self, email: str) -> list[dict[str, Any]]:
        """Get Lead by Email's body: one entry per campaign, oldest campaign first.

        Empty when no lead has ``email`` (the route answers 404 "Lead not
        found"). The first call reads every campaign's leads.
        """
        return [record.entry() for record in self._store.directory.by_email(email)]

    def lead(self, *, email: str | None = None, lead_id: str | None = None) -> dict[str, Any]:
        """Get Lead by Email or ID's body: by ``email`` (its oldest campaign's) or ``lead_id``.

        Raises:
            ValueError: Unless exactly one of ``email`` and ``lead_id`` is given.
            KeyError: If there is no such lead.
        """
        if (email is None) == (lead_id is None):
            raise ValueError("give exactly one of email and lead_id")
        record = self._store.directory.find(email=email, lead_id=lead_id)
        if record is None:
            raise KeyError(email if lead_id is None else lead_id)
        return record.summary()

    def shared_lead_emails(self) -> list[str]:
        """Emails of leads found in two campaigns or more (seeded ones: the shared people)."""
        return self._store.directory.shared_emails()

    def activities(self) -> list[dict[str, Any]]:
        """Every activity, newest first, as Get Many Activities pages them (the
        dicts themselves: do not modify them)."""
        return self._store.activities.newest_first()

    def add_activities(
        self, count: int = 1, *, at: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Record ``count`` new activities, dated ``at`` (default: now, UTC).

        Each is a lead activity (``emailsOpened``, ``emailsClicked``,
        ``emailsReplied`` or ``linkedinVisitDone``) of a lead that already has
        activities, or a company note when there is none. Dated now, they are
        the newest: they shift every offset of a walk by ``count``, unless the
        walk pins ``maxDate`` before they were added. Safe to call while the
        server runs, between two pages.

        Args:
            count: How many, >= 1.
            at: Their ``createdAt``; a naive datetime is read as UTC. In the
                past, they take their place in the feed's order.

        Returns:
            The new activities, in the order they were added.

        Raises:
            ValueError: If ``count`` < 1.
        """
        if count < 1:
            raise ValueError(f"count must be >= 1, got {count}")
        return self._store.activities.add(count, at)

    def emit_activity(
        self,
        type: str,
        *,
        campaign_id: str | None = None,
        lead_id: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Record an activity of ``type`` now, and deliver it to the matching webhooks.

        For a test of a webhook receiver: e.g. ``emit_activity("emailsOpened",
        lead_id=...)`` does what a lead opening an email does in lemlist. The
        activity is the newest of the feed (Get Many Activities), dated by the
        fake's clock of writes (after every date it serves), and has the shape
        of the feed's items: with ``lead_id``, a lead activity of that lead
        (its campaign, sender, fields and custom variables, ``isFirst``); with
        only ``campaign_id``, ``{_id, type, isFirst, createdAt, teamId, bot,
        campaignId, campaignName, sequenceId}``; with neither, ``{_id, type,
        createdAt, teamId}``. ``fields`` are added last, as given (they may
        replace any key; the feed's order stays the fake's date).

        Each webhook whose ``type`` is unset or ``type``, whose ``campaignId``
        is unset or the activity's (and, when its ``isFirst`` is true, for a
        first activity only) gets the activity POSTed as JSON to its
        ``targetUrl``, with ``"secret"`` added when it has one, in the
        background (see `deliveries` and `deliveries_settled`). Only loopback
        targets are contacted. Writes deliver the same way: a lead paused
        (``paused``), resumed (``resumed``), marked interested
        (``interested``) or not (``notInterested``); a lead created delivers
        nothing; `add_activities` delivers nothing.

        Args:
            type: The activity type, e.g. ``"emailsOpened"`` (any non-empty
                text: lemlist's set of types is open).
            campaign_id: The campaign; with ``lead_id``, the lead's campaign.
            lead_id: The lead's ``_id``.
            fields: More keys of the activity (JSON-serializable).

        Returns:
            The activity, as the feed and the deliveries have it (a copy).

        Raises:
            ValueError: If ``type`` is empty.
            KeyError: If there is no such campaign, or no such lead (in that
                campaign, when both are given).
            TypeError: If ``fields`` are not JSON-serializable.
        """
        if not type:
            raise ValueError("type must not be empty")
        json.dumps(fields)  # fail here, not in a delivery
        store = self._store
        campaign = None if campaign_id is None else store.campaigns[campaign_id]
        lead = None
        if lead_id is not None:
            if campaign is None:
                lead = store.directory.by_id(lead_id)
            else:
                lead = store.lead_in(campaign, lead_id)
            if lead is None or lead.id != lead_id:
                raise KeyError(lead_id)
        return dict(store.emit(type, lead=lead, campaign=campaign, fields=fields))

    async def deliveries_settled(self) -> None:
        """Wait until no webhook delivery is in flight; each is then in `deliveries`."""
        await self._deliverer.settled()

    def campaign(self, campaign_id: str) -> dict[str, Any]:
        """Get Campaign's body: the spec's Campaign object.

        Raises:
            KeyError: If there is no such campaign.
        """
        return self._store.campaigns[campaign_id].as_json()

    def campaigns(self) -> list[dict[str, Any]]:
        """Every campaign, seeded and added, as Get Many Campaigns lists them:
        oldest ``createdAt`` first."""
        return [campaign.as_json() for campaign in self._store.in_creation_order()]

    def custom_variables(self, campaign_id: str) -> list[str]:
        """The names of a campaign's custom variables, in export column order.

        Raises:
            KeyError: If there is no such campaign.
        """
        return list(self._store.campaigns[campaign_id].variables)

    def exported_leads(self, campaign_id: str) -> list[dict[str, Any]]:
        """Export Campaign Leads' JSON items for a campaign, in creation order.

        Raises:
            KeyError: If there is no such campaign.
        """
        return list(self._store.campaigns[campaign_id].export_rows(None))

    def campaign_stats(self, campaign_id: str) -> dict[str, Any]:
        """Get Campaign Stats' body for a campaign, all channels.

        Raises:
            KeyError: If there is no such campaign.
        """
        return campaign_stats(self._store.campaigns[campaign_id], None)

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
        self._queue(Fault.answer(status, body, content_type, headers or {}), count)

    def malformed_next(self, count: int = 1) -> None:
        """Answer the next ``count`` authenticated requests with a 200 that is not JSON.

        The body is a truncated JSON array labelled ``application/json``.

        Raises:
            ValueError: If ``count`` < 1.
        """
        fault = Fault(
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
        self._queue(Fault(status=DROPPED_STATUS, body=b"", headers=(), drop=True), count)

    def fail_after_apply(self, count: int = 1, *, status: int | None = None) -> None:
        """Apply the next ``count`` writes, then fail their answers.

        A write here is an authenticated request, admitted by the rate limit,
        whose method is not GET, HEAD or OPTIONS. Its route handles it
        normally, so a write the route accepts IS applied (a lead stored, a
        webhook added; `RecordedRequest.applied` says so), then, instead of the
        route's answer, the connection is closed unanswered (``status=None``,
        as `drop_next` does, recorded with `DROPPED_STATUS`) or answered
        ``status`` with its reason phrase as a text/plain body (e.g. 502). This
        is lemlist storing a lead and the answer getting lost: a client that
        retries blindly creates it twice. A request refused by the route (a
        404, a 400) takes its fault too. Reads pass through and leave the
        faults queued. Faults queued by `fail_next`, `malformed_next` and
        `drop_next` answer first, before the route (nothing is applied).

        aiohttp (3.14) itself sends an idempotent request (PUT, DELETE) once
        more after a dropped connection, and that second request is a write
        of its own; POST and PATCH are never sent again by aiohttp.

        Raises:
            ValueError: If ``count`` < 1 or ``status`` is not in 200..599.
        """
        fault = self._after_apply_fault(status)
        if count < 1:
            raise ValueError(f"count must be >= 1, got {count}")
        self._gate.after_apply.extend(itertools.repeat(fault, count))

    def fail_after_apply_every(self, n: int | None, *, status: int | None = None) -> None:
        """From now on, apply every ``n``-th write, then fail its answer (``None``: stop).

        The writes are those `fail_after_apply` counts, counted from this call:
        the ``n``-th, ``2n``-th... get the treatment, deterministically
        (``n=20``: 5% of the writes; ``n=1``: all of them). A write taken by a
        fault that `fail_after_apply` queued still counts. A new call replaces
        the previous one and restarts the count.

        Args:
            n: Every how many writes, >= 1; ``None`` turns it off.
            status: As in `fail_after_apply`: ``None`` drops the connection.

        Raises:
            ValueError: If ``n`` < 1 or ``status`` is not in 200..599.
        """
        fault = self._after_apply_fault(status)
        if n is not None and n < 1:
            raise ValueError(f"n must be >= 1 or None, got {n}")
        self._gate.fail_every(n, fault)

    @staticmethod
    def _after_apply_fault(status: int | None) -> Fault:
        if status is None:
            return Fault(status=DROPPED_STATUS, body=b"", headers=(), drop=True)
        if not 200 <= status <= 599:
            raise ValueError(f"status must be in 200..599 or None, got {status}")
        return Fault.answer(status, None, "text/plain", {})

    def spend(self, count: int = 1) -> int:
        """Spend ``count`` requests of the key's rate limit, as another tool on the key would.

        lemlist counts every request of a key, whoever sends it: a Zapier
        scenario or a colleague's script eats into the same 20 per 2 s. The
        requests count at the current loop time in the key's current window,
        or open one as a first request does (``"fixed"``), or join the last
        ``window`` seconds of arrivals (``"sliding"``); past the limit they
        count too, as refused requests do. They are not recorded in `requests`
        and `max_arrivals_in_window` does not see them.

        Args:
            count: How many requests, >= 1.

        Returns:
            ``X-RateLimit-Remaining`` after them: what the key has left.

        Raises:
            ValueError: If ``count`` < 1.
            RuntimeError: If rate limiting is disabled (``rate_limit=None``),
                or no event loop is running.
        """
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"count must be an int >= 1, got {count!r}")
        now = asyncio.get_running_loop().time()
        verdict = self._gate.spend(count, now)
        if verdict is None:
            raise RuntimeError("rate limiting is disabled (rate_limit=None): nothing to spend")
        return verdict.remaining

    @property
    def pending_faults(self) -> int:
        """How many queued faults are still waiting for a request (those of
        `fail_after_apply` included; not `fail_after_apply_every`)."""
        return len(self._gate.faults) + len(self._gate.after_apply)

    def _queue(self, fault: Fault, count: int) -> None:
        if count < 1:
            raise ValueError(f"count must be >= 1, got {count}")
        self._gate.faults.extend(itertools.repeat(fault, count))

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
        return max_in_window(
            (request.time for request in self.requests if request.authenticated), window
        )

    def count(self, status: int) -> int:
        """How many recorded requests were answered with ``status``."""
        return sum(1 for request in self.requests if request.status == status)

    def reset_records(self) -> None:
        """Forget the recorded requests (the rate limiter's state is kept)."""
        self.requests.clear()

    def _record(self, request: RecordedRequest) -> None:
        # Through the attribute, so that a test may replace the list.
        self.requests.append(request)

    def _record_delivery(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)
