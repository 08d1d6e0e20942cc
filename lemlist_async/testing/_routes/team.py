"""``GET /api/team``, ``GET /api/team/credits`` and ``GET /api/team/senders``.

https://developer.lemlist.com/api-reference/endpoints/team/get-team
https://developer.lemlist.com/api-reference/endpoints/team/get-team-credits
https://developer.lemlist.com/api-reference/endpoints/team/get-team-senders
"""

from __future__ import annotations

from aiohttp import web

from lemlist_async.testing._lemlist import METHOD_NOT_ALLOWED_BODY, SENDER_STATES, bad_param
from lemlist_async.testing._store import STORE
from lemlist_async.testing._wire import json_response, text_response

routes = web.RouteTableDef()


@routes.get("/api/team")
async def get_team(request: web.Request) -> web.Response:
    """The spec's Team object; ``version=v2`` adds ``users`` (userId, name, email, role).

    Any other ``version`` is read as none, the older shape. ``hooks`` are the
    team's webhooks (as ``GET /api/hooks``); ``slackWebhook`` holds a fake
    ``https://hooks.slack.com/services/TFAKE…`` URL, a secret in real life that
    a client must never show. There is no ``apiKey``.
    """
    with_users = request.query.get("version") == "v2"
    return json_response(request.app[STORE].account.team_body(with_users=with_users))


@routes.get("/api/team/credits")
async def get_team_credits(request: web.Request) -> web.Response:
    """``{credits, details: {remaining: {total, freemium, subscription, gifted, paid}}}``."""
    return json_response(request.app[STORE].account.credits())


@routes.get("/api/team/senders")
async def get_team_senders(request: web.Request) -> web.Response:
    """``[{userId, campaigns: [{_id, name, status, sendingChannels}]}]``.

    One item per team member who sends for at least one campaign (in team
    order), with those campaigns oldest first; ``sendingChannels`` are the
    campaign's step types but ``conditional``. ``state`` keeps the campaigns of
    that status (``errors``: those with errors, as Get Many Campaigns reads
    it); a user left with none is left out. 400 ``Bad params (invalid state
    parameter)`` for another state (the spec's body).
    """
    state = request.query.get("state")
    if state is not None and state not in SENDER_STATES:
        return text_response(400, bad_param("state"))
    return json_response(request.app[STORE].account.senders(state))


@routes.route("*", "/api/team/credits")
@routes.route("*", "/api/team/senders")
async def method_not_allowed(request: web.Request) -> web.Response:
    """The spec's 405 on these two paths (it documents no body: the fake says its name)."""
    return text_response(405, METHOD_NOT_ALLOWED_BODY)
