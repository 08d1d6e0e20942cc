"""The request pipeline: rate limit, send, decode, map errors, retry.

Every request of a client is a ``Request`` value that goes through
``Pipeline.send``, whatever its method and body. One *attempt* holds a
rate-limit slot from just before it is sent until its response headers arrive
(or it fails); the body is read after the slot is handed back to the limiter's
window accounting. Retries, backoff and the overall deadline wrap the attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import math
import random
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, TypeVar

import aiohttp
import attrs
from yarl import URL

from ._constants import BODY_CHUNK, CONNECT_TIMEOUT, MAX_RESPONSE_SIZE, RATE_WINDOW
from ._errors import (
    AmbiguousWriteError,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    LemlistError,
    RateLimitError,
    ResponseTooLargeError,
    error_for_response,
)
from ._headers import (
    RateLimitInfo,
    parse_rate_limit_headers,
    pause_delay,
    remaining_pause,
    reset_delay,
    server_time,
)
from ._ratelimit import AnswerObserver, KeyRateLimiter
from ._request import Request, decode
from ._retry import RetryClass, RetryPolicy, backoff_delay, may_retry

__all__ = ["Pipeline"]

T = TypeVar("T")

logger = logging.getLogger("lemlist_async")


@attrs.frozen
class _Answer:
    """One response, read in full."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    info: RateLimitInfo
    pause: float | None  # What a 429 (or a Retry-After on a 5xx) asks to wait.
    # A 2xx response whose body is left unread for the caller to stream.
    response: aiohttp.ClientResponse | None = None
    # The call's result when an answer proved an earlier attempt done.
    done: Any = None


class Pipeline:
    """Sends requests for one client.

    Args:
        base_url: The API root every request's path is appended to.
        session: Returns the aiohttp session to use (created lazily by the client).
        headers: Auth and the other headers every request carries.
        timeout: Seconds per attempt.
        limiter: The key's rate limiter.
        retry: The client's retry policy.
        max_response_size: The most bytes of a body, decompressed, read per response.
        rng: Random source for backoff jitter.
    """

    def __init__(
        self,
        *,
        base_url: str,
        session: Callable[[], aiohttp.ClientSession],
        headers: Mapping[str, str],
        timeout: float,
        limiter: KeyRateLimiter,
        retry: RetryPolicy,
        max_response_size: int = MAX_RESPONSE_SIZE,
        rng: random.Random | None = None,
    ) -> None:
        self._base = base_url
        self._session = session
        self._headers = dict(headers)
        # A connect bound of its own tells "never sent" from "sent, no answer".
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=min(timeout, CONNECT_TIMEOUT))
        self.limiter = limiter
        # Checked once: a limiter that learns from answers gets them while its slot is held.
        self._answers = limiter if isinstance(limiter, AnswerObserver) else None
        self.retry = retry
        self._max_response_size = max_response_size
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not secrets)

    def url(self, request: Request[Any]) -> URL:
        """The full URL of ``request`` (its path is already encoded)."""
        return URL(self._base + request.path, encoded=True)

    async def send(
        self,
        request: Request[T],
        *,
        max_retries: int | None = None,
        deadline: float | None = None,
    ) -> T:
        """Send ``request`` through the limiter, with retries, and decode its answer.

        Args:
            request: The operation.
            max_retries: Overrides the policy's retries for this call.
            deadline: Seconds for the whole call, retries and waits included.

        Returns:
            The 2xx body, decoded as ``request.body`` says.

        Raises:
            APIStatusError: An error status, after retries where they apply.
            APIConnectionError: No response, after retries where they apply.
            APITimeoutError: An attempt or the deadline ran out, after retries.
            ResponseValidationError: A 2xx body that does not fit the request.
            ResponseTooLargeError: A 2xx body past ``max_response_size``.
        """
        url = self.url(request)
        retries = self.retry.max_retries if max_retries is None else max_retries
        if deadline is None:
            answer = await self._with_retries(request, url, retries)
        else:
            try:
                async with asyncio.timeout(deadline):
                    answer = await self._with_retries(request, url, retries)
            except TimeoutError as exc:
                # Only the deadline's own expiry gets here: attempts map their
                # timeouts to APITimeoutError themselves.
                raise APITimeoutError(
                    f"the call did not finish within its deadline of {deadline} s",
                    method=request.method,
                    url=self.shown(request),
                ) from exc
        if answer.done is not None:
            return answer.done  # type: ignore[no-any-return]
        return decode(request, status=answer.status, body=answer.body, url=self.shown(request))

    def shown(self, request: Request[Any]) -> str:
        """The URL of ``request`` as errors and logs show it: its template when it has
        one, so that personal data in a path (an email) never leaves through them."""
        return self._base + (request.template or request.path)

    @contextlib.asynccontextmanager
    async def stream(
        self, request: Request[Any], *, max_retries: int | None = None
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """Send ``request`` like ``send``, and yield its 2xx response with the body unread.

        The rate-limit slot is handed back when the headers arrive, as for any
        request; the body is the caller's to read, at its own pace, and is
        released on the way out.

        Raises:
            The same as ``send``, for what comes before the body.
        """
        url = self.url(request)
        retries = self.retry.max_retries if max_retries is None else max_retries
        answer = await self._with_retries(request, url, retries, stream=True)
        assert answer.response is not None
        try:
            yield answer.response
        finally:
            answer.response.release()

    async def _with_retries(
        self, request: Request[Any], url: URL, retries: int, *, stream: bool = False
    ) -> _Answer:
        method = request.method
        shown = self.shown(request)
        path = URL(shown).raw_path if request.template is None else shown
        # Whether an earlier attempt may have been applied by lemlist (it went
        # out and got no answer, or a 5xx): what a "gone" answer then means.
        ambiguous = False
        attempt = 0
        while True:
            attempt += 1
            try:
                answer = await self._attempt(request, url, shown, attempt, stream=stream)
            except APIConnectionError as exc:
                if not may_retry(request.retry, status=None, sent=exc.request_sent):
                    raise AmbiguousWriteError.after(exc, method=method, url=shown) from exc
                if attempt > retries:
                    raise
                ambiguous = ambiguous or exc.request_sent
                delay = backoff_delay(attempt - 1, self.retry, rng=self._rng)
                logger.info(
                    "%s %s failed (%s); retry %d of %d in %.2f s",
                    method, path, type(exc).__name__, attempt, retries, delay,
                )  # fmt: skip
                await asyncio.sleep(delay)
                continue
            if answer.status < 300:
                return answer
            if ambiguous and _already_done(request, answer):
                # The earlier attempt was applied: what it aimed at is gone already.
                logger.info("%s %s answered %d after an attempt that may have been "
                            "applied: taken as done", method, path, answer.status)  # fmt: skip
                return attrs.evolve(answer, done=request.done_value)
            error = self._error(answer, method, shown)
            if answer.status == 429:
                # No wait, or one already over (clock skew), would retry in a burst.
                wait = answer.pause if answer.pause else RATE_WINDOW
                if wait > self.retry.max_wait:
                    # Likely a quota, not the rate: the caller decides, at once.
                    raise error
                # The pause is shared by every caller of the key, even when this
                # call gives up; its next attempt waits for it inside the limiter.
                self.limiter.pause(wait)
                if attempt > retries:
                    raise error
                logger.info(
                    "%s %s answered 429 (%s); key paused %.2f s, retry %d of %d",
                    method, path, error.message, wait, attempt, retries,
                )  # fmt: skip
                continue
            if answer.status >= 500 and request.retry is RetryClass.UNSAFE:
                raise AmbiguousWriteError.after(error, method=method, url=shown) from error
            retryable = may_retry(
                request.retry, status=answer.status, never_retry=request.never_retry
            )
            if not retryable or attempt > retries:
                raise error
            ambiguous = ambiguous or answer.status >= 500
            delay = backoff_delay(attempt - 1, self.retry, rng=self._rng, floor=answer.pause)
            if delay > self.retry.max_wait:
                raise error
            logger.info(
                "%s %s answered %d; retry %d of %d in %.2f s",
                method, path, answer.status, attempt, retries, delay,
            )  # fmt: skip
            await asyncio.sleep(delay)

    async def _attempt(
        self, request: Request[Any], url: URL, shown: str, attempt: int, *, stream: bool = False
    ) -> _Answer:
        method = request.method
        streamed = False
        session = self._session()
        loop = asyncio.get_running_loop()
        queued_at = loop.time()
        response: aiohttp.ClientResponse | None = None
        failure: LemlistError | None = None
        try:
            async with self.limiter:
                sent_at = loop.time()
                response = await session.request(
                    method,
                    url,
                    params=request.query or None,
                    json=request.json,
                    headers=self._headers,
                    timeout=self._timeout,
                    # Status handling is the pipeline's, whatever the session says,
                    # and a redirect must not carry the key to another host.
                    raise_for_status=False,
                    allow_redirects=False,
                )
                # Before the body: a Remaining: 0 must pause the key as early as
                # possible; and inside the slot, so that a probe's answer reaches
                # the limiter before the requests queued behind it may go.
                # Dates in the headers are on the server's clock: measured against
                # its own Date header, a skewed local clock does not change the delays.
                now = server_time(response.headers.get("Date")) or dt.datetime.now(dt.UTC)
                info = parse_rate_limit_headers(response.headers, now=now)
                if self._answers is not None:
                    self._report(self._answers, info, now, refused=response.status == 429)
            if self._answers is None:
                self.limiter.observe(info, self._remaining_pause(info, now))
            if stream and response.status < 300:
                streamed, body = True, b""
            else:
                cap = request.max_response_size or self._max_response_size
                body = await self._read_body(response, method, shown, cap)
        except aiohttp.ConnectionTimeoutError as exc:
            raise APITimeoutError(
                f"could not connect within {self._timeout.connect} s (attempt {attempt})",
                method=method,
                url=shown,
                request_sent=False,
            ) from exc
        except TimeoutError as exc:
            raise APITimeoutError(
                f"no complete response within {self._timeout.total} s (attempt {attempt})",
                method=method,
                url=shown,
            ) from exc
        except aiohttp.ClientResponseError as exc:
            # Its request_info holds the request's headers, the key among them: it
            # must not be reachable from the SDK's error, as cause or as context.
            failure = APIConnectionError(
                f"request failed: {type(exc).__name__}: {exc.message}",
                method=method,
                url=shown,
            )
        except aiohttp.ClientError as exc:
            # A connector error means no connection was made: nothing was sent.
            raise APIConnectionError(
                f"request failed: {type(exc).__name__}: {exc}",
                method=method,
                url=shown,
                request_sent=not isinstance(exc, aiohttp.ClientConnectorError),
            ) from exc
        finally:
            if response is not None and not streamed:
                response.release()
        if failure is not None:
            # Raised here, outside the handler, so that the transport's error is
            # neither its cause nor its context.
            raise failure
        assert response is not None
        logger.debug(
            "%s %s -> %d (attempt %d, waited %.3f s for a slot, %.3f s in flight)",
            method, url.raw_path, response.status, attempt, sent_at - queued_at,
            loop.time() - sent_at,
        )  # fmt: skip
        pause = pause_delay(info, now=now) if response.status == 429 else info.retry_after
        return _Answer(
            response.status, response.headers, body, info, pause, response if streamed else None
        )

    def _remaining_pause(self, info: RateLimitInfo, now: dt.datetime) -> float | None:
        return remaining_pause(info, now=now, window=RATE_WINDOW, max_wait=self.retry.max_wait)

    def _report(
        self, limiter: AnswerObserver, info: RateLimitInfo, now: dt.datetime, *, refused: bool
    ) -> None:
        """Hand an answer's rate-limit headers to a limiter that learns from them."""
        # A 429 says how long to wait (Retry-After first); another answer, when
        # its window resets. Further than the caller may wait, it is a quota's
        # reset, not the 2 s window's.
        reset_in = pause_delay(info, now=now) if refused else reset_delay(info, now=now)
        if reset_in is not None and reset_in > self.retry.max_wait:
            reset_in = math.inf
        limiter.answered(
            info, self._remaining_pause(info, now), reset_in=reset_in, refused=refused
        )

    async def _read_body(
        self, response: aiohttp.ClientResponse, method: str, url: str, cap: int
    ) -> bytes:
        """Read a body of at most ``cap`` bytes, decompressed.

        An error body past the cap is cut there (only its words are wanted); a
        2xx body past it raises, before more of it is read or inflated.
        """
        if response.status < 300 and (response.content_length or 0) > cap:
            raise self._too_large(response.status, method, url, cap)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(BODY_CHUNK):
            size += len(chunk)
            if size > cap:
                if response.status < 300:
                    raise self._too_large(response.status, method, url, cap)
                chunks.append(chunk[: len(chunk) - (size - cap)])
                break
            chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def _too_large(status: int, method: str, url: str, cap: int) -> ResponseTooLargeError:
        return ResponseTooLargeError(
            f"the response body is larger than max_response_size ({cap:,} bytes); "
            "the rest was not read",
            status=status,
            method=method,
            url=url,
            limit=cap,
        )

    def _error(self, answer: _Answer, method: str, url: str) -> APIStatusError:
        error = error_for_response(
            answer.status,
            method=method,
            url=url,
            body=answer.body.decode("utf-8", errors="replace"),
            headers=answer.headers,
            retry_after=answer.pause,
        )
        if isinstance(error, RateLimitError) and error.retry_after is None:
            error.retry_after = RATE_WINDOW
        return error


def _already_done(request: Request[Any], answer: _Answer) -> bool:
    """Whether ``answer``, after an ambiguous attempt, says the write is done already."""
    for status, words in request.done_answers:
        if answer.status == status and (
            words is None or answer.body.decode("utf-8", "replace").strip() == words
        ):
            return True
    return False
