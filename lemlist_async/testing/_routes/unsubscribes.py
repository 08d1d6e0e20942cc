"""The unsubscribed variables: list, unsubscribe (one or many), re-subscribe.

https://developer.lemlist.com/api-reference/endpoints/unsubscribes/list-unsubscribed-variables
https://developer.lemlist.com/api-reference/endpoints/unsubscribes/unsubscribe-variable
https://developer.lemlist.com/api-reference/endpoints/unsubscribes/bulk-unsubscribe-variables
https://developer.lemlist.com/api-reference/endpoints/unsubscribes/re-subscribe-variable

A value is compared exactly (no case folding), as the list shows it. The
``{value}`` path segment is percent-decoded (``%2B`` and ``+`` are both ``+``,
``%40`` is ``@``).
"""

from __future__ import annotations

from aiohttp import web

from lemlist_async.testing._lemlist import (
    BODY_NOT_OBJECT_BODY,
    NO_VALUE_BODY,
    PROTECTED_SOURCES,
    UNSUBSCRIBE_BULK_MAX,
    UNSUBSCRIBE_BULK_TOO_MANY_BODY,
    UNSUBSCRIBES_LIMIT_DEFAULT,
    UNSUBSCRIBES_LIMIT_MAX,
    VARIABLE_NOT_FOUND_BODY,
    VARIABLE_PROTECTED_BODY,
    VARIABLE_SUBSCRIBED,
    VARIABLES_UNSUBSCRIBED,
    bad_param,
    missing_param,
)
from lemlist_async.testing._middleware import mark_applied
from lemlist_async.testing._store import STORE
from lemlist_async.testing._wire import json_object, json_response, query_int, text_response

routes = web.RouteTableDef()


@routes.get("/api/v2/unsubscribes/variables")
async def list_unsubscribed_variables(request: web.Request) -> web.Response:
    """One page of ``{_id, value, source, createdAt}``, oldest first, a plain array.

    ``offset`` (>= 0, default 0) and ``limit`` (1..100, default 100); the last
    page is short, a page past the end empty. 400 ``Bad params (invalid offset
    parameter)`` or ``... limit ...`` (the spec documents only "Bad team").
    """
    offset = query_int(request.query.get("offset"), default=0, low=0)
    if offset is None:
        return text_response(400, bad_param("offset"))
    limit = query_int(
        request.query.get("limit"),
        default=UNSUBSCRIBES_LIMIT_DEFAULT,
        low=1,
        high=UNSUBSCRIBES_LIMIT_MAX,
    )
    if limit is None:
        return text_response(400, bad_param("limit"))
    items = request.app[STORE].account.unsubscribes()
    return json_response(items[offset : offset + limit])


@routes.post("/api/v2/unsubscribes/variables/{value}")
async def unsubscribe_variable(request: web.Request) -> web.Response:
    """Unsubscribe one value: 200 ``{_id, value, variable, source, createdAt}``.

    Idempotent, as documented: a value already in the list answers its
    existing record (whatever its source); a new one gets source ``api`` and
    is listed last. 400 ``No value`` for a blank value.
    """
    value = request.match_info["value"]
    if not value.strip():
        return text_response(400, NO_VALUE_BODY)
    (record,) = request.app[STORE].unsubscribe([value])
    mark_applied(request)
    return json_response(
        {
            "_id": record["_id"],
            "value": record["value"],
            "variable": record["value"],
            "source": record["source"],
            "createdAt": record["createdAt"],
        }
    )


@routes.post("/api/v2/unsubscribes/variables")
async def bulk_unsubscribe_variables(request: web.Request) -> web.Response:
    """Unsubscribe up to 10,000 values: 200, the JSON string ``"Variables unsubscribed"``.

    The body is ``{"values": [...]}`` of non-blank strings; those already in
    the list are left as they are, the others are added in order (source
    ``api``, duplicates once). 400 ``Bad params (the body must be a JSON
    object)``, ``Bad params (missing values parameter)``, ``Maximum 10000
    values allowed`` (the spec's), ``Bad params (invalid values parameter)``
    for a ``values`` that is not an array of non-blank strings. Nothing is
    applied unless the whole body is valid.
    """
    body = await json_object(request)
    if body is None:
        return text_response(400, BODY_NOT_OBJECT_BODY)
    if "values" not in body:
        return text_response(400, missing_param("values"))
    values = body["values"]
    if not isinstance(values, list):
        return text_response(400, bad_param("values"))
    if len(values) > UNSUBSCRIBE_BULK_MAX:
        return text_response(400, UNSUBSCRIBE_BULK_TOO_MANY_BODY)
    if not all(isinstance(value, str) and value.strip() for value in values):
        return text_response(400, bad_param("values"))
    request.app[STORE].unsubscribe(dict.fromkeys(values))
    mark_applied(request)
    return json_response(VARIABLES_UNSUBSCRIBED)


@routes.delete("/api/v2/unsubscribes/variables/{value}")
async def resubscribe_variable(request: web.Request) -> web.Response:
    """Re-subscribe a value: 200, the JSON string ``"Variable subscribed"``.

    400 ``Variable not found in unsubscribe list`` when it is not listed (a
    repeat after a success too); 409 ``Variable is protected and cannot be
    re-subscribed`` when its source is ``lead`` or ``abuse``.
    """
    account = request.app[STORE].account
    value = request.match_info["value"]
    record = account.unsubscribed(value)
    if record is None:
        return text_response(400, VARIABLE_NOT_FOUND_BODY)
    if record["source"] in PROTECTED_SOURCES:
        return text_response(409, VARIABLE_PROTECTED_BODY)
    account.resubscribe(value)
    mark_applied(request)
    return json_response(VARIABLE_SUBSCRIBED)
