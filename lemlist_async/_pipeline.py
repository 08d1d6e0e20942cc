"""The request pipeline: rate limit, send, decode, map errors, retry.

Every request of a client goes through ``Pipeline.request``. One *attempt* holds a
rate-limit slot from just before it is sent until its response headers arrive
(or it fails); the body is read after the slot is handed back to the limiter's
window accounting. Retries, backoff and the overall deadline wrap the attempts.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import random
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, get_origin

import aiohttp
import attrs
import cattrs
from yarl import URL

from ._constants import BODY_CHUNK, MAX_RESPONSE_SIZE, RATE_WINDOW
from ._converter import structure, validation_errors
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    LemlistError,
    RateLimitError,
    ResponseTooLargeError,
    ResponseValidationError,
    error_for_response,
)
from ._headers import (
    RateLimitInfo,
    parse_rate_limit_headers,
    pause_delay,
    remaining_pause,
    server_time,
)
from ._ratelimit import KeyRateLimiter
from ._retry import RetryPolicy, backoff_delay, is_retryable_status

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


class Pipeline:
    """Sends requests for one client.

    Args:
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
        session: Callable[[], aiohttp.ClientSession],
        headers: Mapping[str, str],
        timeout: float,
        limiter: KeyRateLimiter,
        retry: RetryPolicy,
        max_response_size: int = MAX_RESPONSE_SIZE,
        rng: random.Random | None = None,
    ) -> None:
        self._session = session
        self._headers = dict(headers)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self.limiter = limiter
        self.retry = retry
        self._max_response_size = max_response_size
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not secrets)

    async def get(
        self,
        url: URL,
        into: type[T],
        *,
        params: Mapping[str, str] | None = None,
        max_retries: int | None = None,
        deadline: float | None = None,
        max_items: int | None = None,
    ) -> T:
        """GET ``url`` and structure its JSON body into ``into``.

        Args:
            url: The full URL, path already encoded.
            into: The type to structure the body into (for example ``list[Lead]``).
            params: Query parameters.
            max_retries: Overrides the policy's retries for this call.
            deadline: Seconds for the whole call, retries and waits included.
            max_items: For a list, the most items the server may send (the
                ``limit`` asked for); a longer array is refused before it is
                structured.

        Raises:
            APIStatusError: An error status, after retries where they apply.
            APIConnectionError: No response, after retries.
            APITimeoutError: An attempt or the deadline ran out, after retries.
            ResponseValidationError: A 2xx body that is not JSON or does not fit ``into``.
            ResponseTooLargeError: A body past ``max_response_size``.
        """
        retries = self.retry.max_retries if max_retries is None else max_retries
        if deadline is None:
            answer = await self._with_retries("GET", url, params, retries)
        else:
            try:
                async with asyncio.timeout(deadline):
                    answer = await self._with_retries("GET", url, params, retries)
            except TimeoutError as exc:
                # Only the deadline's own expiry gets here: attempts map their
                # timeouts to APITimeoutError themselves.
                raise APITimeoutError(
                    f"the call did not finish within its deadline of {deadline} s",
                    method="GET",
                    url=str(url),
                ) from exc
        return self._decode(answer, into, "GET", url, max_items)

    async def _with_retries(
        self, method: str, url: URL, params: Mapping[str, str] | None, retries: int
    ) -> _Answer:
        attempt = 0
        while True:
            attempt += 1
            try:
                answer = await self._attempt(method, url, params, attempt)
            except APIConnectionError as exc:
                if attempt > retries:
                    raise
                delay = backoff_delay(attempt - 1, self.retry, rng=self._rng)
                logger.info(
                    "%s %s failed (%s); retry %d of %d in %.2f s",
                    method, url.raw_path, type(exc).__name__, attempt, retries, delay,
                )  # fmt: skip
                await asyncio.sleep(delay)
                continue
            if answer.status < 300:
                return answer
            error = self._error(answer, method, url)
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
                    method, url.raw_path, error.message, wait, attempt, retries,
                )  # fmt: skip
                continue
            if not is_retryable_status(answer.status) or attempt > retries:
                raise error
            delay = backoff_delay(attempt - 1, self.retry, rng=self._rng, floor=answer.pause)
            if delay > self.retry.max_wait:
                raise error
            logger.info(
                "%s %s answered %d; retry %d of %d in %.2f s",
                method, url.raw_path, answer.status, attempt, retries, delay,
            )  # fmt: skip
            await asyncio.sleep(delay)

    async def _attempt(
        self, method: str, url: URL, params: Mapping[str, str] | None, attempt: int
    ) -> _Answer:
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
                    params=params,
                    headers=self._headers,
                    timeout=self._timeout,
                    # Status handling is the pipeline's, whatever the session says,
                    # and a redirect must not carry the key to another host.
                    raise_for_status=False,
                    allow_redirects=False,
                )
            # Before the body: a Remaining: 0 must pause the key as early as possible.
            # Dates in the headers are on the server's clock: measured against its
            # own Date header, a skewed local clock does not change the delays.
            now = server_time(response.headers.get("Date")) or dt.datetime.now(dt.UTC)
            info = parse_rate_limit_headers(response.headers, now=now)
            self.limiter.observe(
                info,
                remaining_pause(info, now=now, window=RATE_WINDOW, max_wait=self.retry.max_wait),
            )
            body = await self._read_body(response, method, url)
        except TimeoutError as exc:
            raise APITimeoutError(
                f"no complete response within {self._timeout.total} s (attempt {attempt})",
                method=method,
                url=str(url),
            ) from exc
        except aiohttp.ClientResponseError as exc:
            # Its request_info holds the request's headers, the key among them: it
            # must not be reachable from the SDK's error, as cause or as context.
            failure = APIConnectionError(
                f"request failed: {type(exc).__name__}: {exc.message}",
                method=method,
                url=str(url),
            )
        except aiohttp.ClientError as exc:
            raise APIConnectionError(
                f"request failed: {type(exc).__name__}: {exc}", method=method, url=str(url)
            ) from exc
        finally:
            if response is not None:
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
        return _Answer(response.status, response.headers, body, info, pause)

    async def _read_body(self, response: aiohttp.ClientResponse, method: str, url: URL) -> bytes:
        """Read a body of at most ``max_response_size`` bytes, decompressed.

        An error body past the cap is cut there (only its words are wanted); a
        2xx body past it raises, before more of it is read or inflated.
        """
        cap = self._max_response_size
        if response.status < 300 and (response.content_length or 0) > cap:
            raise self._too_large(response.status, method, url)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(BODY_CHUNK):
            size += len(chunk)
            if size > cap:
                if response.status < 300:
                    raise self._too_large(response.status, method, url)
                chunks.append(chunk[: len(chunk) - (size - cap)])
                break
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, status: int, method: str, url: URL) -> ResponseTooLargeError:
        return ResponseTooLargeError(
            f"the response body is larger than max_response_size "
            f"({self._max_response_size:,} bytes); the rest was not read",
            status=status,
            method=method,
            url=str(url),
            limit=self._max_response_size,
        )

    def _error(self, answer: _Answer, method: str, url: URL) -> APIStatusError:
        error = error_for_response(
            answer.status,
            method=method,
            url=str(url),
            body=answer.body.decode("utf-8", errors="replace"),
            headers=answer.headers,
            retry_after=answer.pause,
        )
        if isinstance(error, RateLimitError) and error.retry_after is None:
            error.retry_after = RATE_WINDOW
        return error

    @staticmethod
    def _decode(answer: _Answer, into: type[T], method: str, url: URL, max_items: int | None) -> T:
        def invalid(message: str, errors: list[str]) -> ResponseValidationError:
            body = answer.body.decode("utf-8", errors="replace")
            return ResponseValidationError(
                message,
                status=answer.status,
                method=method,
                url=str(url),
                body=body,
                errors=errors,
            )

        try:
            payload: Any = json.loads(answer.body)
        except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting.
            raise invalid("the response body is not valid JSON", [str(exc)]) from exc
        if get_origin(into) is list and type(payload) is not list:
            # cattrs would iterate an object's keys as if they were the items.
            raise invalid(f"expected a JSON array, got {type(payload).__name__}", [])
        if max_items is not None and type(payload) is list and len(payload) > max_items:
            raise invalid(
                f"the server sent {len(payload):,} items where at most {max_items:,} "
                "were asked for",
                [],
            )
        try:
            return structure(payload, into)  # type: ignore[no-any-return]
        except (cattrs.BaseValidationError, TypeError, ValueError, RecursionError) as exc:
            raise invalid(
                "the response body does not fit the model", validation_errors(exc)
            ) from exc
