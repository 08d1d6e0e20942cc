"""An operation as a value, and the pure rule that decodes its 2xx body.

A resource method builds a ``Request`` (method, encoded path, query, JSON body,
how to decode the answer, how it may be retried) and hands it to the pipeline,
which sends any of them the same way: one limiter, one retry loop, one error
mapping. Nothing here does I/O, so every request a resource builds can be
checked without a server.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from typing import Any, Generic, TypeVar, get_origin

import attrs
import cattrs

from ._converter import structure, validation_errors
from ._errors import ResponseValidationError
from ._pagination import Page, PageRule
from ._retry import RetryClass

__all__ = ["Body", "Request", "decode"]

T = TypeVar("T")


class Body(enum.Enum):
    """How a 2xx body becomes the call's result."""

    #: JSON, structured into the request's ``into`` type by the converter.
    JSON = "json"
    #: Text, returned as a str (CSV exports).
    TEXT = "text"
    #: Nothing worth reading (202, 204): the result is None.
    EMPTY = "empty"
    #: A message: a bare JSON string (``"Variables unsubscribed"``), or plain text.
    MESSAGE = "message"


def _own_query(query: Mapping[str, str]) -> Mapping[str, str]:
    # A copy: the caller's mapping may change after the request is built.
    return dict(query)


@attrs.frozen(kw_only=True, hash=False)
class Request(Generic[T]):
    """One operation of lemlist's API, ready to send.

    Attributes:
        method: The HTTP method.
        path: The path below the base URL, starting with ``/``, each id already
            encoded as one segment (``path_segment``).
        into: For ``Body.JSON``, the type the body is structured into.
        query: Query parameters, as the strings to send.
        json: A JSON body, or None for none.
        body: How a 2xx body is decoded.
        retry: Whether every attempt may be repeated (reads) or only those that
            never reached lemlist (writes that may duplicate).
        never_retry: Statuses lemlist documents as permanent for this operation
            (a 500 "Lead in graveyard"): never retried, whatever the class.
        max_items: For a JSON array, the most items the server may send (the
            ``limit`` asked for); a longer one is refused before structuring.
        page_rule: For one page of a paginated list, the list's rule: the body's
            items are structured into ``into`` and returned as a ``Page``.
        max_response_size: The body cap of this operation, when it differs from
            the client's (an export is one large body by design).
        sensitive: The body may hold secrets (a team's API key, its Slack
            webhook URL): it is never copied into an error.
        template: The path as errors and logs show it, when the real one holds
            personal data (``/leads/{email}``).
        done_answers: ``(status, words)`` answers that, after an attempt that may
            have been applied, mean it was: the thing deleted is gone already
            (``words`` None: any body). The call then returns ``done_value``.
        done_value: What the call returns in that case.
    """

    method: str
    path: str
    into: Any = None
    query: Mapping[str, str] = attrs.field(factory=dict, converter=_own_query)
    json: Any = None
    body: Body = Body.JSON
    retry: RetryClass = RetryClass.SAFE
    never_retry: frozenset[int] = frozenset()
    max_items: int | None = None
    page_rule: PageRule | None = None
    max_response_size: int | None = None
    sensitive: bool = False
    template: str | None = None
    done_answers: tuple[tuple[int, str | None], ...] = ()
    done_value: Any = None


def decode(request: Request[T], *, status: int, body: bytes, url: str) -> T:
    """Turn the 2xx body of ``request`` into its result. Pure: no I/O.

    Args:
        request: The request that was answered.
        status: The response's status (2xx).
        body: The whole body, as read.
        url: The request's URL, for the error.

    Returns:
        The structured model, the text, or None, as ``request.body`` says.

    Raises:
        ResponseValidationError: The body is not JSON, does not fit ``into``, or
            holds more items than ``max_items``; ``errors`` has the bad paths.
    """
    kind = request.body
    if kind is Body.EMPTY:
        return None  # type: ignore[return-value]
    if kind is Body.TEXT:
        return body.decode("utf-8", errors="replace")  # type: ignore[return-value]

    def invalid(message: str, errors: list[str]) -> ResponseValidationError:
        shown = (
            "(withheld: this body may hold secrets)"
            if request.sensitive
            else body.decode("utf-8", errors="replace")
        )
        return ResponseValidationError(
            message, status=status, method=request.method, url=url, body=shown, errors=errors
        )

    if kind is Body.MESSAGE:
        text = body.decode("utf-8", errors="replace").strip()
        if text[:1] == '"':
            try:
                decoded = json.loads(text)
            except ValueError:
                decoded = None
            if isinstance(decoded, str):
                return decoded  # type: ignore[return-value]
        return text  # type: ignore[return-value]
    try:
        payload: Any = json.loads(body)
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting.
        raise invalid("the response body is not valid JSON", [str(exc)]) from exc
    rule = request.page_rule
    total: int | None = None
    if rule is not None:
        try:
            payload, total = rule.split(payload)
        except ValueError as exc:
            raise invalid(f"the response body is not a page of the list: {exc}", []) from exc
    into = request.into
    if get_origin(into) is list:
        if type(payload) is not list:
            # cattrs would iterate an object's keys as if they were the items.
            raise invalid(f"expected a JSON array, got {type(payload).__name__}", [])
        if request.max_items is not None and len(payload) > request.max_items:
            raise invalid(
                f"the server sent {len(payload):,} items where at most "
                f"{request.max_items:,} were asked for",
                [],
            )
    try:
        result = structure(payload, into)
    except (cattrs.BaseValidationError, TypeError, ValueError, RecursionError) as exc:
        raise invalid("the response body does not fit the model", validation_errors(exc)) from exc
    if rule is not None:
        return Page(result, rule.offset(request.query), total)  # type: ignore[return-value]
    return result  # type: ignore[no-any-return]
