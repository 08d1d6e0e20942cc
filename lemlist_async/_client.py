"""``LemlistClient``: configuration, lifecycle, and the typed endpoint coroutines."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Iterable
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, Self

import aiohttp
from yarl import URL

from ._config import auth_headers, key_fingerprint, resolve_api_key, validate_base_url
from ._constants import (
    DEFAULT_BASE_URL,
    DEFAULT_TIMEOUT,
    FANOUT_CONCURRENCY,
    LEADS_LIMIT_MAX,
    MAX_RATE_LIMIT_WAIT,
    MAX_RESPONSE_SIZE,
    MAX_RETRIES,
)
from ._constants import RATE_LIMIT as _RATE_LIMIT
from ._errors import ClientClosedError, LemlistError
from ._fanout import CampaignLeadsStream, FanOutError, ProgressHook
from ._headers import RateLimitInfo
from ._models import Lead, LeadState
from ._params import (
    check_concurrency,
    check_count,
    check_deadline,
    check_limit,
    check_retries,
    check_seconds,
    check_state,
    path_segment,
)
from ._pipeline import Pipeline
from ._ratelimit import KeyRateLimiter, WindowRateLimiter, adapt_limiter, shared_limiter
from ._retry import RetryPolicy

__all__ = ["LemlistClient"]

RateLimitSetting = int | WindowRateLimiter | KeyRateLimiter | AbstractAsyncContextManager[Any]


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
        self._base_url = validate_base_url(base_url)
        self._base = str(self._base_url)
        self._key_id = key_fingerprint(key)
        self._headers = auth_headers(key)
        self._timeout = check_seconds(timeout, "timeout")
        if session is not None:
            _check_session(session)
        self._injected_session = session
        self._own_session: aiohttp.ClientSession | None = None
        self._rate_limit = _check_rate_limit(rate_limit)
        self._retry = RetryPolicy(max_retries=max_retries, max_wait=max_rate_limit_wait)
        self._max_response_size = check_count(max_response_size, "max_response_size", minimum=1)
        self._pipeline: Pipeline | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<LemlistClient {self._base!r} {state}>"

    @property
    def base_url(self) -> str:
        """The API root every path is appended to."""
        return self._base

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._closed

    @property
    def rate_limit(self) -> RateLimitInfo | None:
        """The key's rate-limit state from the latest response, or None before any."""
        return None if self._pipeline is None else self._pipeline.limiter.info

    @property
    def limiter(self) -> KeyRateLimiter | None:
        """The rate limiter in use, or None before the first request."""
        return None if self._pipeline is None else self._pipeline.limiter

    async def __aenter__(self) -> Self:
        self._ensure_pipeline()
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
        self._closed = True
        session, self._own_session = self._own_session, None
        if session is not None:
            await session.close()

    def _session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ClientClosedError("this LemlistClient is closed; create a new one")
        if self._injected_session is not None:
            if self._injected_session.closed:
                raise ClientClosedError(
                    "the aiohttp session given to this LemlistClient is closed; "
                    "keep it open while the client is in use"
                )
            return self._injected_session
        if self._own_session is None:
            # Created here, inside the running loop, never in __init__.
            session = aiohttp.ClientSession()
            _no_silent_resend(session)
            self._own_session = session
        return self._own_session

    def _ensure_pipeline(self) -> Pipeline:
        if self._closed:
            raise ClientClosedError("this LemlistClient is closed; create a new one")
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif loop is not self._loop:
            # Its session and limiter belong to the first loop, which aiohttp would
            # report as a bare "Event loop is closed" at best.
            raise ClientClosedError(
                "this LemlistClient was first used in another event loop (an earlier "
                "asyncio.run() call, or another thread); create one client per event "
                "loop, inside the coroutine that asyncio.run() runs"
            )
        if self._pipeline is None:
            self._pipeline = Pipeline(
                session=self._session,
                headers=self._headers,
                timeout=self._timeout,
                limiter=self._resolve_limiter(),
                retry=self._retry,
                max_response_size=self._max_response_size,
            )
        return self._pipeline

    def _resolve_limiter(self) -> KeyRateLimiter:
        setting = self._rate_limit
        if isinstance(setting, int):
            # Shared per key and loop, so a client per web request cannot
            # multiply the rate.
            return shared_limiter(self._key_id, setting)
        return setting

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
        segment = path_segment(campaign_id, "campaign_id")
        params: dict[str, str] = {}
        if (state_value := check_state(state)) is not None:
            params["state"] = state_value
        if (limit_value := check_limit(limit)) is not None:
            params["limit"] = limit_value
        retries = check_retries(max_retries)
        call_deadline = check_deadline(deadline)
        pipeline = self._ensure_pipeline()
        url = URL(f"{self._base}/campaigns/{segment}/leads/", encoded=True)
        return await pipeline.get(
            url,
            list[Lead],
            params=params,
            max_retries=retries,
            deadline=call_deadline,
            max_items=LEADS_LIMIT_MAX if limit is None else limit,
        )

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
        self._ensure_pipeline()

        async def fetch(campaign_id: str) -> list[Lead]:
            return await self.get_campaign_leads(campaign_id, state=state, limit=limit)

        return CampaignLeadsStream(campaign_ids, fetch, concurrency=width, on_progress=on_progress)

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


def _check_session(session: object) -> None:
    if not isinstance(session, aiohttp.ClientSession):
        raise TypeError(f"session must be an aiohttp.ClientSession, not {type(session).__name__}")
    if session.auth is not None:
        # aiohttp refuses a request that has both, with a bare ValueError on
        # every call: better said once, here.
        raise ValueError(
            "the session has an auth= of its own, and lemlist-async sends the key in "
            "its own Authorization header; create the session without auth="
        )


def _no_silent_resend(session: aiohttp.ClientSession) -> None:
    """Stop aiohttp's silent resend of an idempotent request on a closed keep-alive connection.

    aiohttp sends such a request a second time, inside one call, when a pooled
    connection turns out to be closed; that second request would go out under
    the one rate-limit slot of the first, which the server may already have
    counted. The pipeline's own retry takes a slot for every attempt instead.
    aiohttp has no public switch for it (aio-libs/aiohttp#10790); its own test
    client turns it off through this attribute (aiohttp.test_utils.TestClient).
    """
    if hasattr(session, "_retry_connection"):
        session._retry_connection = False


def _check_rate_limit(setting: object) -> int | KeyRateLimiter:
    if setting is None:
        return _RATE_LIMIT
    if isinstance(setting, bool):
        raise TypeError("rate_limit must be an int, a limiter, or None; not a bool")
    if isinstance(setting, int):
        if not 1 <= setting <= _RATE_LIMIT:
            raise ValueError(
                f"rate_limit must be from 1 to {_RATE_LIMIT} requests per 2 s "
                f"(lemlist's limit), got {setting}"
            )
        return setting
    return adapt_limiter(setting)
