"""``GET /api/v2/unsubscribes/variables``: List Unsubscribed Variables.

https://developer.lemlist.com/api-reference/endpoints/unsubscribes/list-unsubscribed-variables
"""

from __future__ import annotations

from aiohttp import web

from lemlist_async.testing._lemlist import (
    UNSUBSCRIBES_LIMIT_DEFAULT,
    UNSUBSCRIBES_LIMIT_MAX,
    bad_param,
)
from lemlist_async.testing._store import STORE
from lemlist_async.testing._wire import json_response, query_int, text_response

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
