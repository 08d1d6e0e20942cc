"""``GET /api/v2/campaigns/{campaignId}/stats`` and ``POST /api/v2/campaigns/stats/batch``.

https://developer.lemlist.com/api-reference/endpoints/campaigns/get-campaign-stats
https://developer.lemlist.com/api-reference/endpoints/campaigns/get-batch-campaign-stats

Both check their parameters in the spec's order of examples and answer its 400
bodies word for word; both answer 405 ``Bad method`` to another method, as the
spec documents. The numbers come from ``_stats`` (the campaign's own leads).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aiohttp import web

from lemlist_async.testing._lemlist import (
    AB_SELECTED_BODY,
    BAD_METHOD_BODY,
    BATCH_CHANNELS_BODY,
    BATCH_EMPTY_BODY,
    BATCH_MAX_CAMPAIGNS,
    BATCH_TOO_MANY_BODY,
    CAMPAIGN_NOT_FOUND_BODY,
    CHANNELS_NOT_ARRAY_BODY,
    CHANNELS_VALUES_BODY,
    DATES_REQUIRED_BODY,
    SEND_USER_FORMAT_BODY,
    SEND_USER_MISMATCH_BODY,
)
from lemlist_async.testing._stats import CHANNELS, campaign_stats
from lemlist_async.testing._store import STORE, Store
from lemlist_async.testing._wire import json_response, text_response

routes = web.RouteTableDef()


@routes.get("/api/v2/campaigns/{campaignId}/stats")
async def get_campaign_stats(request: web.Request) -> web.Response:
    """The campaign's stats object, with its ``steps``.

    Query: ``startDate`` and ``endDate`` (required ISO 8601 date-times),
    ``sendUser`` (``usr_…|email`` of a team member), ``ABSelected`` (A or B),
    ``channels`` (a JSON array string of email, linkedin, others: only those
    steps count). 400 with the spec's bodies; 404 ``Campaign not found``.
    """
    query = request.query
    channels: Any = None
    if "channels" in query:
        try:
            channels = json.loads(query["channels"])
        except ValueError:
            return text_response(400, CHANNELS_NOT_ARRAY_BODY)
        if not isinstance(channels, list):
            return text_response(400, CHANNELS_NOT_ARRAY_BODY)
    error = _check(request.app[STORE], query, channels, CHANNELS_VALUES_BODY)
    if error is not None:
        return text_response(400, error)
    campaign = request.app[STORE].campaigns.get(request.match_info["campaignId"])
    if campaign is None:
        return text_response(404, CAMPAIGN_NOT_FOUND_BODY)
    return json_response(campaign_stats(campaign, channels))


@routes.post("/api/v2/campaigns/stats/batch")
async def get_batch_campaign_stats(request: web.Request) -> web.Response:
    """``{results: [{campaignId, ...stats}], errors: [{campaignId, error}]}``.

    The JSON body takes ``campaignIds`` (1..100 ids), ``startDate``,
    ``endDate``, and optionally ``sendUser``, ``ABSelected`` and ``channels``
    (here a real array). An unknown campaign goes into ``errors`` with
    ``Campaign not found``: a partial failure inside a 200. A body that is not
    a JSON object is read as an empty one (so: no ``campaignIds``).
    """
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    ids = body.get("campaignIds")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        return text_response(400, BATCH_EMPTY_BODY)
    if len(ids) > BATCH_MAX_CAMPAIGNS:
        return text_response(400, BATCH_TOO_MANY_BODY)
    channels = body.get("channels")
    if channels is not None and not isinstance(channels, list):
        return text_response(400, BATCH_CHANNELS_BODY)
    store = request.app[STORE]
    error = _check(store, body, channels, BATCH_CHANNELS_BODY)
    if error is not None:
        return text_response(400, error)
    results: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    for campaign_id in ids:
        campaign = store.campaigns.get(campaign_id)
        if campaign is None:
            errors.append({"campaignId": campaign_id, "error": CAMPAIGN_NOT_FOUND_BODY})
        else:
            results.append({"campaignId": campaign_id, **campaign_stats(campaign, channels)})
    return json_response({"results": results, "errors": errors})


@routes.route("*", "/api/v2/campaigns/{campaignId}/stats")
@routes.route("*", "/api/v2/campaigns/stats/batch")
async def bad_method(request: web.Request) -> web.Response:
    """The spec's 405 for these two paths (the other routes answer 404)."""
    return text_response(405, BAD_METHOD_BODY)


def _check(
    store: Store, params: Mapping[str, Any], channels: Any, channels_body: str
) -> str | None:
    """The 400 body for bad dates, channels, ABSelected or sendUser, else ``None``."""
    if not (_is_date(params.get("startDate")) and _is_date(params.get("endDate"))):
        return DATES_REQUIRED_BODY
    if channels is not None and not all(c in CHANNELS for c in channels):
        return channels_body
    if params.get("ABSelected", "A") not in ("A", "B"):
        return AB_SELECTED_BODY
    send_user = params.get("sendUser")
    if send_user is not None:
        user_id, bar, email = str(send_user).partition("|")
        if not (bar and user_id.startswith("usr_") and "@" in email):
            return SEND_USER_FORMAT_BODY
        if not any(u.id == user_id and u.email == email for u in store.team.users):
            return SEND_USER_MISMATCH_BODY
    return None


def _is_date(value: Any) -> bool:
    """Whether ``value`` is an ISO 8601 date-time string (``Z`` allowed)."""
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True
