"""What a client shares with the clients ``with_options`` derives from it.

One aiohttp session, one pipeline (limiter, retry policy), one event loop, one
closed flag: a derived client changes per-call options only, so it must not
open a second connection pool or draw on a second budget.
"""

from __future__ import annotations

import asyncio

import aiohttp

from ._errors import ClientClosedError
from ._pipeline import Pipeline
from ._ratelimit import KeyRateLimiter, adapt_limiter, shared_limiter
from ._retry import RetryPolicy

__all__ = ["SharedSession", "check_rate_limit", "check_session"]


class SharedSession:
    """The connection, limiter and lifecycle of one client and its derived clients.

    Args:
        base_url: The API root.
        headers: Auth and the other headers every request carries.
        timeout: Seconds per attempt.
        session: An injected aiohttp session, or None to create one on first use.
        rate_limit: An int for the key's shared limiter, or a limiter.
        key_id: The key's fingerprint, to find its shared limiter.
        retry: The retry policy.
        max_response_size: The most bytes of a body read per response.
    """

    def __init__(
        self,
        *,
        base_url: str,
        headers: dict[str, str],
        timeout: float,
        session: aiohttp.ClientSession | None,
        rate_limit: int | KeyRateLimiter,
        key_id: str,
        retry: RetryPolicy,
        max_response_size: int,
    ) -> None:
        self.base_url = base_url
        self._headers = headers
        self._timeout = timeout
        self._injected = session
        self.own_session: aiohttp.ClientSession | None = None
        self._rate_limit = rate_limit
        self._key_id = key_id
        self.retry = retry
        self._max_response_size = max_response_size
        self.pipeline: Pipeline | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.closed = False

    def ensure_pipeline(self) -> Pipeline:
        """The pipeline, created on first use inside the running loop.

        Raises:
            ClientClosedError: The client was closed, or is used in an event loop
                other than its first.
        """
        if self.closed:
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
        if self.pipeline is None:
            self.pipeline = Pipeline(
                base_url=self.base_url,
                session=self.session,
                headers=self._headers,
                timeout=self._timeout,
                limiter=self._resolve_limiter(),
                retry=self.retry,
                max_response_size=self._max_response_size,
            )
        return self.pipeline

    def session(self) -> aiohttp.ClientSession:
        """The aiohttp session: the injected one, or the client's own, created here."""
        if self.closed:
            raise ClientClosedError("this LemlistClient is closed; create a new one")
        if self._injected is not None:
            if self._injected.closed:
                raise ClientClosedError(
                    "the aiohttp session given to this LemlistClient is closed; "
                    "keep it open while the client is in use"
                )
            return self._injected
        if self.own_session is None:
            # Created here, inside the running loop, never in __init__.
            session = aiohttp.ClientSession()
            _no_silent_resend(session)
            self.own_session = session
        return self.own_session

    async def close(self) -> None:
        """Close the session created here (an injected one is left open). Idempotent."""
        self.closed = True
        session, self.own_session = self.own_session, None
        if session is not None:
            await session.close()

    def _resolve_limiter(self) -> KeyRateLimiter:
        setting = self._rate_limit
        if isinstance(setting, int):
            # Shared per key and loop, so a client per web request cannot
            # multiply the rate.
            return shared_limiter(self._key_id, setting)
        return setting


def check_session(session: object) -> aiohttp.ClientSession:
    """Accept an injected session, or say why not.

    Raises:
        TypeError: Not an ``aiohttp.ClientSession``.
        ValueError: It has an ``auth=`` of its own.
    """
    if not isinstance(session, aiohttp.ClientSession):
        raise TypeError(f"session must be an aiohttp.ClientSession, not {type(session).__name__}")
    if session.auth is not None:
        # aiohttp refuses a request that has both, with a bare ValueError on
        # every call: better said once, here.
        raise ValueError(
            "the session has an auth= of its own, and lemlist-async sends the key in "
            "its own Authorization header; create the session without auth="
        )
    return session


def check_rate_limit(setting: object, maximum: int) -> int | KeyRateLimiter:
    """Accept ``rate_limit=``: None, an int up to ``maximum``, or a limiter.

    Raises:
        TypeError: Not an int, a limiter, or None.
        ValueError: An int out of range.
    """
    if setting is None:
        return maximum
    if isinstance(setting, bool):
        raise TypeError("rate_limit must be an int, a limiter, or None; not a bool")
    if isinstance(setting, int):
        if not 1 <= setting <= maximum:
            raise ValueError(
                f"rate_limit must be from 1 to {maximum} requests per 2 s "
                f"(lemlist's limit), got {setting}"
            )
        return setting
    return adapt_limiter(setting)


def _no_silent_resend(session: aiohttp.ClientSession) -> None:
    """Stop aiohttp's silent resend of an idempotent request on a closed connection.

    aiohttp sends such a request a second time, inside one call, when the server
    closes the connection under it; that second request would go out under the
    one rate-limit slot of the first, which the server may already have counted.
    The pipeline's own retry takes a slot for every attempt instead. aiohttp has
    no public switch for it (aio-libs/aiohttp#10790); its own test client turns
    it off through this attribute (aiohttp.test_utils.TestClient).
    """
    if hasattr(session, "_retry_connection"):
        session._retry_connection = False
