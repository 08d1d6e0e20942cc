"""The exception hierarchy, and the pure rule that turns a response into one.

lemlist answers errors mostly as ``text/plain`` ("Campaign not found", "The
authentication you supplied is incorrect"), sometimes with an empty body and
sometimes as JSON with an ``error`` or ``message`` member. Every exception that
comes from a response carries the server's own words.
https://developer.lemlist.com/api-reference
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from http import HTTPStatus

from ._constants import MAX_MESSAGE_CHARS

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AmbiguousWriteError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConflictError",
    "InvalidCampaignIdError",
    "InvalidLeadError",
    "LemlistError",
    "NotFoundError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "ServerError",
    "error_for_response",
    "server_message",
    "server_words",
]


class LemlistError(Exception):
    """Root of every exception this SDK raises on purpose.

    Every one pickles with its attributes (status, body, retry_after…), so it can
    cross a process boundary, e.g. out of a ``multiprocessing`` worker.
    """

    def __reduce__(self) -> tuple[object, ...]:
        # Exception's default pickling replays only ``args``, which the subclasses'
        # keyword-only constructors cannot take back.
        return (_restore, (type(self), self.args, self.__dict__))

    def __eq__(self, other: object) -> bool:
        # By value, like the SDK's other public values: an error that crossed a
        # process boundary equals the one that was raised.
        if type(other) is not type(self):
            return NotImplemented
        return self.args == other.args and vars(self) == vars(other)

    def __hash__(self) -> int:
        return hash((type(self), repr(self.args[:1])))


def _restore(
    cls: type[LemlistError], args: tuple[object, ...], state: dict[str, object]
) -> LemlistError:
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class InvalidCampaignIdError(LemlistError, ValueError):
    """A campaign id in a fan-out is not a non-empty string; nothing was sent for it."""


class InvalidLeadError(LemlistError, ValueError):
    """A lead of an import is not a valid ``NewLead``; nothing was sent for it.

    The message names the problem, never the lead's personal data.
    """


class ClientClosedError(LemlistError, RuntimeError):
    """The client was used after ``close()``, or in an event loop other than its first.

    Create a new client (one per event loop).
    """


class APIStatusError(LemlistError):
    """lemlist answered with an error status.

    Attributes:
        status: The HTTP status code.
        method: The request's method.
        url: The request's URL (it never holds the API key: auth travels in a header).
        message: The server's own words, from the body, or the status phrase if the
            body said nothing.
        code: The error code of a JSON error body (``{"error": CODE, "message": ...}``
            or ``{"success": false, "error": {"code": ..., "message": ...}}``), or
            None: lemlist's errors are mostly plain text.
        body: The raw body text, untruncated.
        headers: The response headers.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        method: str,
        url: str,
        body: str = "",
        headers: Mapping[str, str] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.method = method
        self.url = url
        self.body = body
        self.headers: Mapping[str, str] = dict(headers or {})
        self.code = code

    def __str__(self) -> str:
        code = f" [{self.code}]" if self.code else ""
        return f"{self.status} {self.message}{code} ({self.method} {self.url})"


class BadRequestError(APIStatusError):
    """400: bad parameters, or a resource of another team ("Bad team")."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing, wrong or revoked."""


class PaymentRequiredError(APIStatusError):
    """402: the team's plan or credits do not cover the request."""


class PermissionDeniedError(APIStatusError):
    """403: the key's user may not do this (for example, the user is blocked)."""


class NotFoundError(APIStatusError):
    """404: no such campaign, lead or route."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the resource's state (it exists already)."""


class RateLimitError(APIStatusError):
    """429: too many requests, or a quota such as "Monitoring limit exceeded".

    Attributes:
        retry_after: Seconds the server (or the SDK's reading of its headers) asks
            to wait before trying again, or None when it did not say.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 429,
        method: str,
        url: str,
        body: str = "",
        headers: Mapping[str, str] | None = None,
        retry_after: float | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(
            message, status=status, method=method, url=url, body=body, headers=headers, code=code
        )
        self.retry_after = retry_after


class ServerError(APIStatusError):
    """5xx: lemlist failed to handle a valid request."""


class APIConnectionError(LemlistError):
    """The request did not get a response: DNS, connection, TLS or protocol failure.

    The transport's exception is chained as ``__cause__`` (except where it would
    hold the request's headers, and so the key).

    Attributes:
        method: The request's method.
        url: The request's URL.
        request_sent: False when the connection failed before anything was sent
            (DNS, refused, connect timeout): lemlist surely did not act on it.
            True when the request may have reached lemlist.
    """

    def __init__(self, message: str, *, method: str, url: str, request_sent: bool = True) -> None:
        super().__init__(message)
        self.method = method
        self.url = url
        self.request_sent = request_sent

    def __str__(self) -> str:
        return f"{self.args[0]} ({self.method} {self.url})"


class APITimeoutError(APIConnectionError):
    """An attempt, or the whole call with its retries, ran out of time."""


class AmbiguousWriteError(LemlistError):
    """A write may or may not have been applied, and was not sent again.

    lemlist has no idempotency key: after a write went out and no answer came
    (a timeout, a dropped connection) or a 5xx came back, sending it again could
    apply it twice (a lead added twice, a webhook created twice). The SDK does
    not; it raises this, with what it sent, for the caller (or the operation's
    reconciliation) to find out what happened. The failure is chained as
    ``__cause__``.

    Attributes:
        method: The request's method.
        url: The request's URL, personal data left out.
        status: The status answered (a 5xx), or None when no answer came.
    """

    def __init__(self, message: str, *, method: str, url: str, status: int | None) -> None:
        super().__init__(message)
        self.method = method
        self.url = url
        self.status = status

    @classmethod
    def after(cls, failure: LemlistError, *, method: str, url: str) -> AmbiguousWriteError:
        """The error for a write whose attempt ended in ``failure``."""
        status = getattr(failure, "status", None)
        what = f"answered {status}" if status is not None else type(failure).__name__
        return cls(
            f"the write may or may not have been applied ({what}); it was not sent again",
            method=method,
            url=url,
            status=status,
        )

    def __str__(self) -> str:
        return f"{self.args[0]} ({self.method} {self.url})"


class ResponseTooLargeError(LemlistError):
    """A response body grew past the client's ``max_response_size``; the rest was not read.

    A guard against a runaway or hostile body (a compressed "bomb" inflates a
    few kilobytes into gigabytes): the size counts decompressed bytes.

    Attributes:
        status: The HTTP status code.
        method: The request's method.
        url: The request's URL.
        limit: The cap in bytes that the body went past.
    """

    def __init__(self, message: str, *, status: int, method: str, url: str, limit: int) -> None:
        super().__init__(message)
        self.status = status
        self.method = method
        self.url = url
        self.limit = limit

    def __str__(self) -> str:
        return f"{self.args[0]} ({self.method} {self.url})"


class ResponseValidationError(LemlistError):
    """A 2xx response whose body is not JSON or does not fit the model.

    Attributes:
        status: The HTTP status code.
        method: The request's method.
        url: The request's URL.
        body: The raw body text.
        errors: One line per bad field, each naming its path in the payload
            (for example ``invalid value for type, expected str @ $[3]._id``).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        method: str,
        url: str,
        body: str,
        errors: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.method = method
        self.url = url
        self.body = body
        self.errors: list[str] = list(errors)

    def __str__(self) -> str:
        detail = "; ".join(self.errors[:5])
        more = f" (+{len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
        suffix = f": {detail}{more}" if detail else ""
        return f"{self.args[0]} ({self.method} {self.url}){suffix}"


_BY_STATUS: Mapping[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: PaymentRequiredError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def server_message(body: str, status: int) -> str:
    """Extract the server's own words from an error body.

    The body is read as text first and tried as JSON second, because lemlist's
    error bodies are mostly plain text.

    Args:
        body: The response body, decoded as text.
        status: The HTTP status, whose standard phrase stands in for an empty body.

    Returns:
        A one-line message of at most ``MAX_MESSAGE_CHARS`` characters.
    """
    return server_words(body, status)[0]


def server_words(body: str, status: int) -> tuple[str, str | None]:
    """Extract the server's message and, from a JSON body, its error code.

    Shapes seen (https://developer.lemlist.com/api-reference): plain text, the
    common case; ``{"error": CODE, "message": ...}``; ``{"success": false,
    "error": {"code": ..., "message": ...}}``; ``{"error": ..., "code": ...}``;
    ``{"ok": false, "message": ...}``; a bare JSON string.

    Args:
        body: The response body, decoded as text.
        status: The HTTP status, whose standard phrase stands in for an empty body.

    Returns:
        ``(message, code)``: the message on one line, at most ``MAX_MESSAGE_CHARS``
        characters; the code, or None when the body has none.
    """
    text = body.strip()
    message, code = text, None
    if text[:1] in ("{", '"'):
        try:
            decoded = json.loads(text)
        except (ValueError, RecursionError):
            decoded = None
        if isinstance(decoded, str):
            message = decoded.strip()
        elif isinstance(decoded, dict):
            found, code = _words_from_json(decoded)
            message = found or text
    if not message:
        try:
            message = HTTPStatus(status).phrase
        except ValueError:
            message = "(empty body)"
    message = " ".join(message.split())
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 1] + "…"
    return message, code


def _text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _words_from_json(decoded: Mapping[str, object]) -> tuple[str, str | None]:
    error = decoded.get("error")
    if isinstance(error, Mapping):  # {"success": false, "error": {"code", "message"}}
        return _text(error.get("message")) or "", _text(error.get("code"))
    error_text, message = _text(error), _text(decoded.get("message"))
    if error_text and message:  # {"error": CODE, "message": ...}
        return message, error_text
    # {"error": ..., "code": ...}, {"ok": false, "message": ...}
    return error_text or message or "", _text(decoded.get("code"))


def error_for_response(
    status: int,
    *,
    method: str,
    url: str,
    body: str,
    headers: Mapping[str, str],
    retry_after: float | None = None,
) -> APIStatusError:
    """Map an error response to its exception. Pure: no I/O.

    Args:
        status: The HTTP status, 300 or above (a redirect is not followed: the
            key must not travel to another host, and lemlist's API does not redirect).
        method: The request's method.
        url: The request's URL.
        body: The response body as text.
        headers: The response headers.
        retry_after: For a 429, the wait the headers asked for, if any.

    Returns:
        The most specific ``APIStatusError`` subclass for ``status``: a
        ``ServerError`` for any 5xx, the base class for statuses with no
        subclass of their own (405, 422…).
    """
    message, code = server_words(body, status)
    if status == 429:
        return RateLimitError(
            message,
            method=method,
            url=url,
            body=body,
            headers=headers,
            retry_after=retry_after,
            code=code,
        )
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else APIStatusError)
    return cls(
        message, status=status, method=method, url=url, body=body, headers=headers, code=code
    )
