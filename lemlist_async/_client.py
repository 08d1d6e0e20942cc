"""``LemlistClient``: configuration, lifecycle, and the typed endpoint coroutines."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, Self

import aiohttp
from yarl import URL

from ._config import auth_headers, key_fingerprint, resolve_api_key, validate_base_url
from ._constants import DEFAULT_BASE_URL, DEFAULT_TIMEOUT, MAX_RATE_LIMIT_WAIT, MAX_RETRIES
from ._constants import RATE_LIMIT as _RATE_LIMIT
from ._errors import ClientClosedError
from ._headers import RateLimitInfo
from ._models import Lead, LeadState
from ._params import (
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
            of the same key in the event loop; an int below 20 for headroom (also
            shared per key); a ``WindowRateLimiter`` of your own; or any object used as
            ``async with limiter:``, such as an ``aiolimiter.AsyncLimiter``.
        max_retries: Retries after a 429, a 5xx, a connection error or a timeout.
        max_rate_limit_wait: A rate-limit wait longer than this many seconds raises
            ``RateLimitError`` at once instead of sleeping.

    Raises:
        ValueError: No API key anywhere, an unsafe or malformed ``base_url``, or an
            out-of-range option.
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
    ) -> None:
        key = resolve_api_key(api_key)
        self._base_url = validate_base_url(base_url)
        self._base = str(self._base_url)
        self._key_id = key_fingerprint(key)
        self._headers = auth_headers(key)
        self._timeout = check_seconds(timeout, "timeout")
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise TypeError(f"session must be an aiohttp.ClientSession, not {type(session)}")
        self._injected_session = session
        self._own_session: aiohttp.ClientSession | None = None
        self._rate_limit = _check_rate_limit(rate_limit)
        self._retry = RetryPolicy(max_retries=max_retries, max_wait=max_rate_limit_wait)
        self._pipeline: Pipeline | None = None
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
            return self._injected_session
        if self._own_session is None:
            # Created here, inside the running loop, never in __init__.
            self._own_session = aiohttp.ClientSession()
        return self._own_session

    def _ensure_pipeline(self) -> Pipeline:
        if self._closed:
            raise ClientClosedError("this LemlistClient is closed; create a new one")
        if self._pipeline is None:
            self._pipeline = Pipeline(
                session=self._session,
                headers=self._headers,
                timeout=self._timeout,
                limiter=self._resolve_limiter(),
                retry=self._retry,
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
            url, list[Lead], params=params, max_retries=retries, deadline=call_deadline
        )


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
