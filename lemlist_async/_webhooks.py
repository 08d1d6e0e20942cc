"""Receiving lemlist's webhooks: check a delivery, turn it into an ``Activity``.

lemlist does not sign its webhook calls. The only proof that a call comes from
lemlist is the optional ``secret`` given when the hook was created: lemlist sends
it back, in clear, as a ``secret`` member of every delivery's JSON body. So a
receiver compares it in constant time, then removes it before anything else sees
the event: it never reaches ``extra``, a repr, an exception or a log record.

A delivery is an activity record, the shape of the items of Get Many Activities
(https://developer.lemlist.com/api-reference/endpoints/activities/get-many-activities),
and its ``type`` is an open set: a type lemlist adds tomorrow is kept, with
``is_known`` False. lemlist documents no retries, ordering or timeouts for
deliveries, so a receiver answers at once and dedupes by the activity's id.

Nothing here echoes a body: error messages name the rule that failed and, for a
payload that does not fit the model, the paths of the bad members, never their
values.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from ._constants import WEBHOOK_MAX_BODY
from ._converter import structure, validation_errors
from ._errors import LemlistError
from ._models import Activity, ActivityType

__all__ = [
    "WebhookBodyTooLargeError",
    "WebhookError",
    "WebhookHandler",
    "WebhookPayloadError",
    "WebhookSecretError",
    "parse_event",
    "webhook_handler",
]

logger = logging.getLogger("lemlist_async")

#: The member of a delivery that carries the hook's secret.
_SECRET = "secret"  # noqa: S105 - the name of a member, not a secret
#: Most bad paths kept in a ``WebhookPayloadError``.
_MAX_ERRORS = 20


class WebhookError(LemlistError):
    """A webhook delivery was refused. Its message never holds the body or the secret."""


class WebhookSecretError(WebhookError):
    """The delivery's ``secret`` is missing or is not the hook's secret.

    A receiver answers it with 401: the call may not come from lemlist.
    """


class WebhookPayloadError(WebhookError, ValueError):
    """The delivery's body is not a JSON object that fits an activity record.

    A receiver answers it with 400.

    Attributes:
        errors: One line per bad member, naming its path in the body (for example
            ``invalid value for type, expected str @ $._id``), never its value.
    """

    def __init__(self, message: str, *, errors: list[str] | None = None) -> None:
        super().__init__(message)
        self.errors: list[str] = list(errors or [])

    def __str__(self) -> str:
        detail = "; ".join(self.errors[:5])
        more = f" (+{len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
        return f"{self.args[0]}: {detail}{more}" if detail else str(self.args[0])


class WebhookBodyTooLargeError(WebhookPayloadError):
    """The delivery's body is longer than the receiver's cap; the rest was not read.

    A receiver answers it with 413.

    Attributes:
        limit: The cap in bytes that the body went past.
    """

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


def _check_secret(secret: str | None) -> None:
    if secret is not None and (type(secret) is not str or not secret):
        raise ValueError("secret must be a non-empty string, or None to accept any delivery")


def _check_max_body(max_body: int) -> None:
    if type(max_body) is not int or max_body < 1:
        raise ValueError(f"max_body must be a positive int, got {max_body!r}")


def _too_large(limit: int) -> WebhookBodyTooLargeError:
    return WebhookBodyTooLargeError(f"webhook body over {limit} bytes", limit=limit)


def parse_event(
    body: bytes | str, *, secret: str | None = None, max_body: int = WEBHOOK_MAX_BODY
) -> Activity:
    """Check one webhook delivery and return its event. Pure: no I/O, no logging.

    Steps: refuse a body over ``max_body`` bytes; decode it as JSON, which must be
    an object; take its ``secret`` member out and, if ``secret`` is configured,
    compare the two in constant time; structure the rest into an
    `~lemlist_async.Activity`.

    The ``secret`` member is removed whether or not a secret is configured, so it
    never reaches the event's ``extra``. With ``secret=None`` every delivery is
    accepted, with or without a ``secret`` member: nothing is verified.

    An enrichment callback, ``{"type": "enrichmentDone", "data": [{"id": ...}]}``,
    is an `~lemlist_async.Activity` too: its ``data`` is in ``extra``. When it has
    no ``_id``, its ``id`` is the empty string (dedupe such events by
    ``extra["data"]``).

    Args:
        body: The request body, as bytes (any JSON encoding) or text.
        secret: The secret the hook was created with, or None not to check one.
        max_body: Most bytes of body accepted.

    Returns:
        The event, an activity record; its ``type`` may be one
        `~lemlist_async.ActivityType` does
        not list (``type.is_known`` is then False).

    Raises:
        WebhookBodyTooLargeError: The body is longer than ``max_body`` bytes.
        WebhookSecretError: A secret is configured and the body's is missing or
            wrong (the body must still be a JSON object, or the error is a
            ``WebhookPayloadError``).
        WebhookPayloadError: The body is not a JSON object, or does not fit an
            activity record (``errors`` names the bad paths).
        ValueError: ``secret`` is the empty string, or ``max_body`` is not positive.
    """
    _check_secret(secret)
    _check_max_body(max_body)
    size = len(body) if isinstance(body, bytes) else len(body.encode("utf-8", "surrogatepass"))
    if size > max_body:
        raise _too_large(max_body)
    payload = _decode(body)
    if not isinstance(payload, dict):
        raise WebhookPayloadError(
            f"webhook body is not a JSON object (it is a JSON {_json_kind(payload)})"
        )
    given = payload.pop(_SECRET, None)
    if secret is not None and not _secret_matches(given, secret):
        reason = "missing" if given is None else "wrong"
        raise WebhookSecretError(f"webhook secret {reason}: the call may not come from lemlist")
    return _event(payload)


def _decode(body: bytes | str) -> Any:
    # The decoder's exception holds the whole document (``JSONDecodeError.doc``):
    # it is neither chained nor kept, only its position is reported.
    where: str | None = None
    try:
        return json.loads(body)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno} column {error.colno}"
    except (ValueError, RecursionError):  # bad UTF-8, or nesting too deep to decode
        where = None
    detail = f" ({where})" if where else ""
    raise WebhookPayloadError(f"webhook body is not JSON{detail}")


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "number"


def _secret_matches(given: object, secret: str) -> bool:
    if type(given) is not str:
        return False
    try:
        given_bytes = given.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: not a secret anyone issued
        return False
    return hmac.compare_digest(given_bytes, secret.encode("utf-8"))


def _is_enrichment_callback(payload: Mapping[str, Any]) -> bool:
    return (
        "_id" not in payload
        and payload.get("type") == ActivityType.ENRICHMENT_DONE
        and isinstance(payload.get("data"), list)
    )


def _event(payload: dict[str, Any]) -> Activity:
    errors: list[str] | None = None
    try:
        event: Activity = structure(payload, Activity)
    except Exception as error:  # noqa: BLE001 - reported below, by path only, unchained
        errors = validation_errors(error)[:_MAX_ERRORS]
    if errors is None:
        return event
    if errors == ["required field missing @ $._id"] and _is_enrichment_callback(payload):
        # The enrichment callback has no activity id of its own.
        return _event({**payload, "_id": ""})
    raise WebhookPayloadError("webhook body does not fit an activity record", errors=errors)


#: What a receiver does with each event: a coroutine function.
EventCallback = Callable[[Activity], Awaitable[object]]


class WebhookHandler:
    """An aiohttp request handler for lemlist's webhook deliveries; see `webhook_handler`.

    Route requests to its `handle` method, and add its `drain` to the application's
    cleanup::

        app.router.add_post("/lemlist", handler.handle)
        app.on_cleanup.append(handler.drain)

    (The handler is not itself callable: aiohttp takes only coroutine functions as
    handlers, and ``handle`` is one.)
    """

    def __init__(
        self,
        on_event: EventCallback,
        *,
        secret: str | None = None,
        max_body: int = WEBHOOK_MAX_BODY,
    ) -> None:
        _check_secret(secret)
        _check_max_body(max_body)
        self._on_event = on_event
        self._secret = secret
        self._max_body = max_body
        self._tasks: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        verified = "with a secret" if self._secret is not None else "without a secret"
        return f"<WebhookHandler {verified}, max_body={self._max_body}, pending={self.pending}>"

    @property
    def pending(self) -> int:
        """How many ``on_event`` calls are still running."""
        return len(self._tasks)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Answer one delivery: 200 at once, 401, 400 or 413; ``on_event`` runs after."""
        try:
            body = await self._read(request)
            event = parse_event(body, secret=self._secret, max_body=self._max_body)
        except WebhookError as error:
            status = _status_for(error)
            logger.warning("Webhook delivery refused with %d: %s", status, error)
            return web.Response(status=status, text=f"{error}\n")
        task = asyncio.create_task(self._run(event), name=f"lemlist webhook {event.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.Response(status=200, text="ok\n")

    async def _read(self, request: web.Request) -> bytes:
        limit = self._max_body
        if request.content_length is not None and request.content_length > limit:
            raise _too_large(limit)
        chunks: list[bytes] = []
        size = 0
        while chunk := await request.content.read(limit + 1 - size):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
        return b"".join(chunks)

    async def _run(self, event: Activity) -> None:
        try:
            await self._on_event(event)
        except Exception:
            # The event's id and type only: its members are the lead's data.
            logger.exception(
                "Webhook on_event failed for activity %r of type %s", event.id, event.type
            )

    async def drain(self, app: web.Application | None = None) -> None:
        """Wait until every ``on_event`` call started so far has finished.

        Takes (and ignores) an application, so that it can be an ``on_cleanup``
        hook as it is: ``app.on_cleanup.append(handler.drain)``. It cancels
        nothing; to bound the wait, wrap it in ``asyncio.timeout``. Failures were
        already logged, and are not raised here.
        """
        while self._tasks:
            await asyncio.wait(set(self._tasks))


def _status_for(error: WebhookError) -> int:
    if isinstance(error, WebhookBodyTooLargeError):
        return 413
    if isinstance(error, WebhookSecretError):
        return 401
    return 400


def webhook_handler(
    on_event: EventCallback,
    *,
    secret: str | None = None,
    max_body: int = WEBHOOK_MAX_BODY,
) -> WebhookHandler:
    """An aiohttp handler that checks each delivery and hands its event to ``on_event``.

    For each request it reads at most ``max_body`` bytes and answers:

    - 413 if the body is longer;
    - 400 if it is not a JSON object that fits an activity record;
    - 401 if ``secret`` is set and the body's ``secret`` is missing or wrong;
    - 200 otherwise, at once: ``on_event(event)`` then runs in a task of its own,
      so a slow callback does not hold lemlist's delivery.

    A refused delivery is logged at WARNING, and an ``on_event`` that raises at
    ERROR (with the event's id and type), on the ``lemlist_async`` logger; no log
    record holds a body or the secret. The handler keeps a reference to every
    task it starts: await `WebhookHandler.drain` on shutdown so none is lost.

    Args:
        on_event: A coroutine function called with each accepted event.
        secret: The secret the hook was created with, or None not to check one
            (any delivery is then accepted).
        max_body: Most bytes of body read.

    Returns:
        The handler: route requests to its `WebhookHandler.handle` method.

    Raises:
        ValueError: ``secret`` is the empty string, or ``max_body`` is not positive.
    """
    return WebhookHandler(on_event, secret=secret, max_body=max_body)
