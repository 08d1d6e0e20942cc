"""``GET /api/campaigns``, ``GET /api/campaigns/{campaignId}``, and its start and pause.

https://developer.lemlist.com/api-reference/endpoints/campaigns/get-many-campaigns
https://developer.lemlist.com/api-reference/endpoints/campaigns/get-campaign
https://developer.lemlist.com/api-reference/endpoints/campaigns/start-campaign
https://developer.lemlist.com/api-reference/endpoints/campaigns/pause-campaign
"""

from __future__ import annotations

import math
from typing import Any, Final

from aiohttp import web

from lemlist_async.testing._lemlist import (
    CAMPAIGN_NOT_FOUND_BODY,
    CAMPAIGN_PAUSED,
    CAMPAIGN_RUNNING,
    CAMPAIGN_STATUSES,
    CAMPAIGNS_LIMIT_DEFAULT,
    CAMPAIGNS_LIMIT_MAX,
    PAGE_AND_OFFSET_BODY,
    bad_param,
)
from lemlist_async.testing._middleware import mark_applied
from lemlist_async.testing._store import STORE, Campaign
from lemlist_async.testing._wire import json_response, query_int, text_response

routes = web.RouteTableDef()

#: The spec's ``sortBy``: "Currently, only 'createdAt' is supported."
_SORT_FIELDS: Final = frozenset({"createdAt"})


@routes.get("/api/campaigns")
async def get_many_campaigns(request: web.Request) -> web.Response:
    """One page of campaigns, oldest ``createdAt`` first unless ``sortOrder=desc``.

    Query: ``offset`` (>= 0, default 0) or ``page`` (>= 1; the page of ``limit``
    campaigns), never both (400: the spec documents both and not their
    combination, so a client must not send it); ``limit`` (1..100, default
    100); ``version`` (only ``v2``); ``status`` (``errors`` matches every
    campaign with ``hasError``, since "a campaign can be in multiple statuses");
    ``createdBy`` (a user id); ``sortBy`` (only ``createdAt``); ``sortOrder``
    (``desc``, anything else ascending, as the spec says). A bad value gets 400
    ``Bad params (invalid <name> parameter)``. The last page is short; a page
    past the end is empty. The body is the envelope or the plain array, as the
    server's ``campaigns_shape`` says.
    """
    query = request.query
    offset = query_int(query.get("offset"), default=0, low=0)
    page = query_int(query.get("page"), default=1, low=1)
    limit = query_int(
        query.get("limit"), default=CAMPAIGNS_LIMIT_DEFAULT, low=1, high=CAMPAIGNS_LIMIT_MAX
    )
    status = query.get("status")
    if offset is None or page is None or limit is None:
        name = "offset" if offset is None else "page" if page is None else "limit"
        return text_response(400, bad_param(name))
    for name, bad in (
        ("version", query.get("version", "v2") != "v2"),
        ("status", status is not None and status not in CAMPAIGN_STATUSES),
        ("sortBy", query.get("sortBy", "createdAt") not in _SORT_FIELDS),
    ):
        if bad:
            return text_response(400, bad_param(name))
    if "page" in query and "offset" in query:
        return text_response(400, PAGE_AND_OFFSET_BODY)
    if "page" in query:
        offset = (page - 1) * limit

    store = request.app[STORE]
    found = [
        campaign
        for campaign in store.in_creation_order()
        if _matches(campaign, status, query.get("createdBy"))
    ]
    if query.get("sortOrder") == "desc":
        found.reverse()
    items = [campaign.as_json() for campaign in found[offset : offset + limit]]
    if store.campaigns_shape == "array":
        return json_response(items)
    return json_response(
        {"campaigns": items, "pagination": _pagination(len(found), offset, limit)}
    )


@routes.get("/api/campaigns/{campaignId}")
async def get_campaign(request: web.Request) -> web.Response:
    """The spec's Campaign object; 404 ``Campaign not found``."""
    campaign = request.app[STORE].campaigns.get(request.match_info["campaignId"])
    if campaign is None:
        return text_response(404, CAMPAIGN_NOT_FOUND_BODY)
    return json_response(campaign.as_json())


@routes.post("/api/campaigns/{campaignId}/start")
async def start_campaign(request: web.Request) -> web.Response:
    """Set the campaign's status to ``running``: 200 ``{_id, state: "running"}``.

    Whatever its status was (the fake runs a draft, ended or archived
    campaign too; ``hasError`` is left as it is), and as often as asked. Get
    Campaign, Get Many Campaigns (and its ``status`` filter), senders and
    reports show the new status. 404 ``Campaign not found``.
    """
    return _set_status(request, CAMPAIGN_RUNNING)


@routes.post("/api/campaigns/{campaignId}/pause")
async def pause_campaign(request: web.Request) -> web.Response:
    """As `start_campaign`, with status ``paused``: 200 ``{_id, state: "paused"}``."""
    return _set_status(request, CAMPAIGN_PAUSED)


def _set_status(request: web.Request, status: str) -> web.Response:
    campaign = request.app[STORE].campaigns.get(request.match_info["campaignId"])
    if campaign is None:
        return text_response(404, CAMPAIGN_NOT_FOUND_BODY)
    campaign.status = status
    mark_applied(request)
    return json_response({"_id": campaign.id, "state": status})


def _matches(campaign: Campaign, status: str | None, created_by: str | None) -> bool:
    details = campaign.details
    if created_by is not None and details.creator.id != created_by:
        return False
    if status is None:
        return True
    return details.has_error if status == "errors" else campaign.status == status


def _pagination(total: int, offset: int, limit: int) -> dict[str, Any]:
    """The v2 envelope's ``pagination``: pages of ``limit``, 1-based, as seen in the wild.

    ``nextPage`` is ``null`` on the last page, as Get Many Schedules documents
    for the same envelope.
    """
    current = offset // limit + 1
    total_pages = math.ceil(total / limit)
    return {
        "totalRecords": total,
        "currentPage": current,
        "nextPage": current + 1 if offset + limit < total else None,
        "totalPage": total_pages,
    }
