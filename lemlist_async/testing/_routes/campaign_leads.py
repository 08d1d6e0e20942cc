"""``GET /api/campaigns/{campaignId}/leads/``: Get Campaign Leads.

https://developer.lemlist.com/api-reference/endpoints/leads/get-campaign-leads :
``state`` and ``limit`` (1..500, default 100), leads newest first, no paging.
"""

from __future__ import annotations

from aiohttp import web

from lemlist_async.testing._lemlist import (
    CAMPAIGN_NOT_FOUND_BODY,
    DOCUMENTED_STATES,
    LEADS_LIMIT_DEFAULT,
    LEADS_LIMIT_MAX,
    LEADS_LIMIT_MIN,
    bad_param,
)
from lemlist_async.testing._store import STORE
from lemlist_async.testing._wire import json_bytes_response, query_int, text_response

routes = web.RouteTableDef()


@routes.get("/api/campaigns/{campaignId}/leads/")
async def get_campaign_leads(request: web.Request) -> web.Response:
    """The campaign's leads, newest first, filtered by ``state``, at most ``limit``.

    400 for a bad ``limit`` or a ``state`` lemlist does not document (checked in
    that order, before the campaign); 404 ``"Campaign not found"``.
    """
    limit = query_int(
        request.query.get("limit"),
        default=LEADS_LIMIT_DEFAULT,
        low=LEADS_LIMIT_MIN,
        high=LEADS_LIMIT_MAX,
    )
    if limit is None:
        return text_response(400, bad_param("limit"))
    state = request.query.get("state")
    if state is not None and state not in DOCUMENTED_STATES:
        return text_response(400, bad_param("state"))
    campaign = request.app[STORE].campaigns.get(request.match_info["campaignId"])
    if campaign is None:
        return text_response(404, CAMPAIGN_NOT_FOUND_BODY)
    return json_bytes_response(campaign.body(state, limit))
