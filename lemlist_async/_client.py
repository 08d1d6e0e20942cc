"""``LemlistClient``: configuration, lifecycle, and the typed endpoint coroutines."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, Self, TypeVar

import aiohttp
import attrs

from ._config import auth_headers, key_fingerprint, resolve_api_key, validate_base_url
from ._constants import (
    DEFAULT_BASE_URL,
    DEFAULT_TIMEOUT,
    FANOUT_CONCURRENCY,
    MAX_RATE_LIMIT_WAIT,
    MAX_RESPONSE_SIZE,
    MAX_RETRIES,
)
from ._constants import RATE_LIMIT as _RATE_LIMIT
from ._errors import LemlistError
from ._fanout import (
    CampaignLeadsStream,
    FanOutError,
    ProgressHook,
    campaign_leads_item,
    refuse_campaign_id,
)
from ._headers import RateLimitInfo
from ._models import Lead, LeadState
from ._params import (
    check_concurrency,
    check_count,
    check_deadline,
    check_flag,
    check_limit,
    check_retries,
    check_seconds,
    check_state,
)
from ._ratelimit import KeyRateLimiter, WindowRateLimiter
from ._request import Request
from ._resources import Activities, Campaigns, Hooks, Leads, TeamResource, Unsubscribes
from ._retry import RetryPolicy
from ._session import SharedSession, check_rate_limit, check_session

__all__ = ["LemlistClient"]

T = TypeVar("T")

RateLimitSetting = int | WindowRateLimiter | KeyRateLimiter | AbstractAsyncContextManager[Any]


@attrs.frozen
class _CallOptions:
    """Per-call options a client applies to every request (see ``with_options``)."""

    max_retries: int | None = None
    deadline: float | None = None
    reconcile: bool | None = None


class LemlistClient:
    """An asyncio session with the lemlist API.

    Use it as an async context manager, one per application rather than one per
    request::

        async with LemlistClient() as client:
            leads = await client.get_campaign_leads("cam_...", state="interested")

    Args:
        api_key: The lemlist API key. Defaults to ``$LEMLIST_API_KEY``.
        base_url: The API root. Plain ``http://`` is accepted only for loopback hosts.
        session: An ``aiohttp.ClientSession`` to use instead of the client's own. It
            is neither modified nor closed by the client.
        timeout: Seconds per attempt (connect, send, headers and body).
        rate_limit: ``None`` for lemlist's 20 requests per 2 s, shared by every client
            of the same key in the event loop; an int below 20 for headroom, which
            lowers that shared limiter (one key, one budget); a ``WindowRateLimiter``
            of your own; or any object used as ``async with limiter:``, such as an
            ``aiolimiter.AsyncLimiter``. A limiter you pass is used as is and is not
            shared with the key's other clients.
        max_retries: Retries after a 429, a 5xx, a connection error or a timeout.
        max_rate_limit_wait: A rate-limit wait longer than this many seconds raises
            ``RateLimitError`` at once instead of sleeping, and never pauses the key.
        max_response_size: The most bytes of one response body, decompressed,
            that the client reads; a longer 2xx body raises ``ResponseTooLargeError``.

    Raises:
        ValueError: No API key anywhere, a key that cannot be sent, an unsafe or
            malformed ``base_url``, a ``session`` with an ``auth=`` of its own, or
            an out-of-range option.
        TypeError: An option of the wrong type.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        session: aiohttp.ClientSession | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        rate_limit: RateLimitSetting | None = None,
        max_retries: int = MAX_RETRIES,
        max_rate_limit_wait: float = MAX_RATE_LIMIT_WAIT,
        max_response_size: int = MAX_RESPONSE_SIZE,
    ) -> None:
        key = resolve_api_key(api_key)
        base = str(validate_base_url(base_url))
        self._shared = SharedSession(
            base_url=base,
            headers=auth_headers(key),
            timeout=check_seconds(timeout, "timeout"),
            session=None if session is None else check_session(session),
            rate_limit=check_rate_limit(rate_limit, _RATE_LIMIT),
            key_id=key_fingerprint(key),
            retry=RetryPolicy(max_retries=max_retries, max_wait=max_rate_limit_wait),
            max_response_size=check_count(max_response_size, "max_response_size", minimum=1),
        )
        self._options = _CallOptions()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<LemlistClient {self.base_url!r} {state}>"

    @property
    def base_url(self) -> str:
        """The API root every path is appended to."""
        return self._shared.base_url

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called (on this client or one it shares a session with)."""
        return self._shared.closed

    @property
    def latest_rate_limit(self) -> RateLimitInfo | None:
        """The key's rate-limit headers in the latest response, or None before any."""
        pipeline = self._shared.pipeline
        return None if pipeline is None else pipeline.limiter.info

    @property
    def limiter(self) -> KeyRateLimiter | None:
        """The rate limiter in use, or None before the first request."""
        pipeline = self._shared.pipeline
        return None if pipeline is None else pipeline.limiter

    def with_options(
        self,
        *,
        max_retries: int | None = None,
        deadline: float | None = None,
        reconcile: bool | None = None,
    ) -> LemlistClient:
        """A client that applies these options to every call, sharing this one's session.

        ::

            patient = client.with_options(max_retries=8, deadline=120)
            campaign = await patient.campaigns.get("cam_...")

        The new client shares the session, the rate limiter and the lifecycle:
        closing either closes both. Options left None keep this client's.

        Args:
            max_retries: Retries after a failure that may be retried.
            deadline: Seconds for each whole call, waits and retries included.
            reconcile: Whether a create that may or may not have been applied
                is looked up, and sent again only when it is proven absent,
                instead of raising ``AmbiguousWriteError`` (``leads.add``,
                ``hooks.create``; see the writes page). ``add_many`` reconciles
                unless this is False.

        Returns:
            A new ``LemlistClient``.

        Raises:
            ValueError, TypeError: An out-of-range option.
        """
        options = _CallOptions(
            max_retries=self._options.max_retries
            if max_retries is None
            else check_retries(max_retries),
            deadline=self._options.deadline if deadline is None else check_deadline(deadline),
            reconcile=self._options.reconcile
            if reconcile is None
            else check_flag(reconcile, "reconcile"),
        )
        derived = object.__new__(LemlistClient)
        derived._shared = self._shared
        derived._options = options
        return derived

    @functools.cached_property
    def campaigns(self) -> Campaigns:
        """Campaigns: list, get, leads, export, statistics and reports."""
        return Campaigns(self)

    @functools.cached_property
    def leads(self) -> Leads:
        """Leads across campaigns (find by email, get by email or id)."""
        return Leads(self)

    @functools.cached_property
    def activities(self) -> Activities:
        """Activities: every event of the team's campaigns, page by page."""
        return Activities(self)

    @functools.cached_property
    def team(self) -> TeamResource:
        """The team of the API key (the team, its credits, its senders)."""
        return TeamResource(self)

    @functools.cached_property
    def hooks(self) -> Hooks:
        """The team's webhooks."""
        return Hooks(self)

    @functools.cached_property
    def unsubscribes(self) -> Unsubscribes:
        """Unsubscribed emails, domains, LinkedIn URLs and phone numbers."""
        return Unsubscribes(self)

    async def __aenter__(self) -> Self:
        self._shared.ensure_pipeline()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session the client created; an injected one is left open.

        Idempotent. Using the client afterwards raises ``ClientClosedError``.
        """
        await self._shared.close()

    def _reconcile(self, value: bool | None, default: bool) -> bool:
        """A call's ``reconcile=``: its own value, else the client's option, else ``default``."""
        if value is not None:
            return check_flag(value, "reconcile")
        return default if self._options.reconcile is None else self._options.reconcile

    async def _send(self, request: Request[T]) -> T:
        pipeline = self._shared.ensure_pipeline()
        return await pipeline.send(
            request, max_retries=self._options.max_retries, deadline=self._options.deadline
        )

    @contextlib.asynccontextmanager
    async def _stream(self, request: Request[Any]) -> AsyncIterator[aiohttp.ClientResponse]:
        pipeline = self._shared.ensure_pipeline()
        async with pipeline.stream(request, max_retries=self._options.max_retries) as response:
            yield response

    async def get_campaign_leads(
        self,
        campaign_id: str,
        *,
        state: str | LeadState | None = None,
        limit: int | None = None,
        max_retries: int | None = None,
        deadline: float | None = None,
    ) -> list[Lead]:
        """Get a campaign's leads, newest first.

        ``GET /campaigns/{campaignId}/leads/``
        https://developer.lemlist.com/api-reference/endpoints/leads/get-campaign-leads

        Args:
            campaign_id: The campaign's id, for example ``cam_A1B2C3D4E5F6G7H8I9``.
            state: Only leads in this state (``"interested"``, ``LeadState.SCANNED``…).
            limit: At most this many leads, from 1 to 500. lemlist's default is 100.
            max_retries: Overrides the client's ``max_retries`` for this call.
            deadline: Seconds for the whole call, waits and retries included.

        Returns:
            The leads, as lemlist ordered them.

        Raises:
            ValueError, TypeError: A bad argument; nothing was sent.
            NotFoundError: No such campaign ("Campaign not found").
            BadRequestError: Bad parameters, or a campaign of another team ("Bad team").
            AuthenticationError: The key is wrong or revoked.
            RateLimitError: Still limited after the retries, or asked to wait longer
                than ``max_rate_limit_wait``.
            APIStatusError: Any other error status.
            APIConnectionError: No response, after retries.
            APITimeoutError: Out of time, after retries or at the deadline.
            ResponseValidationError: The body is not a list of leads.
            ClientClosedError: The client was closed.
        """
        retries = check_retries(max_retries)
        call_deadline = check_deadline(deadline)
        client = self
        if retries is not None or call_deadline is not None:
            client = self.with_options(max_retries=retries, deadline=call_deadline)
        return await client.campaigns.leads(campaign_id, state=state, limit=limit)

    def stream_campaign_leads(
        self,
        campaign_ids: Iterable[str] | AsyncIterable[str],
        *,
        state: str | LeadState | None = None,
        limit: int | None = None,
        concurrency: int | None = None,
        on_progress: ProgressHook | None = None,
    ) -> CampaignLeadsStream:
        """Fetch the leads of many campaigns, yielding each as it completes.

        ::

            async for item in client.stream_campaign_leads(ids, state="interested"):
                if item.ok:
                    save(item.campaign_id, item.leads)
                else:
                    log(item.campaign_id, item.error)

        The ids are read lazily, duplicates are fetched once, and at most
        ``concurrency`` fetches are in flight; the rate limiter schedules them. A
        failed campaign is an item whose ``error`` is set, never the end of the
        stream. Items come in completion order. Cancelling the caller, or an
        exception in the loop, cancels the fetches in flight, and so does
        ``break`` out of a loop over the call itself (the stream is dropped
        there). A stream kept in a variable cannot know that you stopped reading:
        hold it in ``async with`` (or call ``aclose()``) so that ``break`` stops
        the fetches at once and waits for them to unwind.

        Args:
            campaign_ids: Any iterable or async iterable of campaign ids.
            state: Only leads in this state, for every campaign.
            limit: At most this many leads per campaign, from 1 to 500.
            concurrency: Fetches in flight at most; by default a little above what
                the rate limit can use.
            on_progress: Called as ``on_progress(done, total)`` after each campaign;
                ``total`` is None when ``campaign_ids`` has no length.

        Returns:
            An async iterator of ``CampaignLeads``.

        Raises:
            ValueError, TypeError: A bad ``state``, ``limit`` or ``concurrency``, or
                ``campaign_ids`` given as one str rather than an iterable of ids;
                raised here, before anything is sent. An invalid id is an item with
                an ``InvalidCampaignIdError``.
            ClientClosedError: The client was closed.
        """
        check_state(state)
        check_limit(limit)
        width = FANOUT_CONCURRENCY if concurrency is None else check_concurrency(concurrency)
        self._shared.ensure_pipeline()

        async def fetch(campaign_id: str) -> list[Lead]:
            return await self.campaigns.leads(campaign_id, state=state, limit=limit)

        return CampaignLeadsStream(
            campaign_ids,
            fetch,
            concurrency=width,
            on_progress=on_progress,
            item=campaign_leads_item,
            refuse=refuse_campaign_id,
        )

    async def get_leads_for_campaigns(
        self,
        campaign_ids: Iterable[str] | AsyncIterable[str],
        *,
        state: str | LeadState | None = None,
        limit: int | None = None,
        concurrency: int | None = None,
        on_progress: ProgressHook | None = None,
    ) -> dict[str, list[Lead]]:
        """Fetch the leads of many campaigns and return them by campaign id.

        The same fan-out as ``stream_campaign_leads``, collected.

        Returns:
            ``{campaign_id: leads}``, for every distinct id.

        Raises:
            FanOutError: Some campaigns failed. It is an ``ExceptionGroup`` of their
                errors, with ``errors_by_campaign``, and it carries the leads of the
                campaigns that succeeded as ``results``.
            ValueError, TypeError: A bad ``state``, ``limit`` or ``concurrency``.
            ClientClosedError: The client was closed.
        """
        results: dict[str, list[Lead]] = {}
        errors: dict[str, LemlistError] = {}
        stream = self.stream_campaign_leads(
            campaign_ids,
            state=state,
            limit=limit,
            concurrency=concurrency,
            on_progress=on_progress,
        )
        async with stream:
            async for item in stream:
                if item.leads is not None:
                    results[item.campaign_id] = item.leads
                elif item.error is not None:
                    errors[item.campaign_id] = item.error
        if errors:
            raise FanOutError(
                f"{len(errors)} of {len(errors) + len(results)} campaigns failed",
                errors,
                results,
            )
        return results
