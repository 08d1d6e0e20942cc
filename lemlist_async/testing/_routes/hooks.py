"""``GET /api/hooks``: Get Many Webhooks.

https://developer.lemlist.com/api-reference/endpoints/webhooks/get-many-webhooks
"""

from __future__ import annotations

from aiohttp import web

from lemlist_async.testing._store import STORE
from lemlist_async.testing._wire import json_response

routes = web.RouteTableDef()


@routes.get("/api/hooks")
async def get_hooks(request: web.Request) -> web.Response:
    """The team's webhooks, oldest first: a plain array, no paging, no parameter.

    Each is the spec's Webhook: ``_id``, ``targetUrl``, ``zapId`` (Zapier
    targets only), ``createdAt``, then ``type``, ``campaignId`` and ``isFirst``
    when set (a hook without ``type`` receives every event).
    """
    return json_response(request.app[STORE].account.hooks())
