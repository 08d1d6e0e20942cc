"""``GET /api/team``: Get Team.

https://developer.lemlist.com/api-reference/endpoints/team/get-team
"""

from __future__ import annotations

from aiohttp import web

from lemlist_async.testing._store import STORE
from lemlist_async.testing._wire import json_response

routes = web.RouteTableDef()


@routes.get("/api/team")
async def get_team(request: web.Request) -> web.Response:
    """The spec's Team object; ``version=v2`` adds ``users`` (userId, name, email, role).

    Any other ``version`` is read as none, the older shape. The fake's team has
    no secrets: no ``apiKey`` and no ``slackWebhook``.
    """
    with_users = request.query.get("version") == "v2"
    return json_response(request.app[STORE].team.as_json(with_users=with_users))
