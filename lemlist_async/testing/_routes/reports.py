"""``GET /api/campaigns/reports``: Get Campaign Reports.

https://developer.lemlist.com/api-reference/endpoints/campaigns/get-campaign-reports
"""

from __future__ import annotations

from aiohttp import web

from lemlist_async.testing._lemlist import REPORTS_MISSING_IDS_BODY
from lemlist_async.testing._stats import campaign_report
from lemlist_async.testing._store import STORE
from lemlist_async.testing._wire import json_response, text_response

routes = web.RouteTableDef()


@routes.get("/api/campaigns/reports")
async def get_campaign_reports(request: web.Request) -> web.Response:
    """One report per known id of ``campaignIds`` (comma-separated, required).

    Reports come in the order asked, each id once. An unknown id is skipped
    (the spec documents no error for it, and no partial-failure shape: the
    caller compares the ``_id``s it got with those it asked). A missing or
    empty ``campaignIds`` gets 400 `REPORTS_MISSING_IDS_BODY`.
    """
    ids = [i for i in request.query.get("campaignIds", "").split(",") if i]
    if not ids:
        return text_response(400, REPORTS_MISSING_IDS_BODY)
    campaigns = request.app[STORE].campaigns
    found = [campaigns[i] for i in dict.fromkeys(ids) if i in campaigns]
    return json_response([campaign_report(campaign) for campaign in found])
