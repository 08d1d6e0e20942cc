"""Every route table of the fake, one module per lemlist resource.

A handler sees only authenticated, admitted requests (the gate in
``_middleware`` answers the others) and reaches the seeded data through
``request.app[STORE]``. `ALL` lists the tables; `FALLBACK` answers every other
path and must be added last.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from lemlist_async.testing._lemlist import ROUTE_NOT_FOUND_BODY
from lemlist_async.testing._wire import text_response

from . import (
    activities,
    campaign_leads,
    campaigns,
    exports,
    hooks,
    leads,
    reports,
    stats,
    team,
    unsubscribes,
)

#: Reports before campaigns is not needed (aiohttp tries a plain path before a
#: dynamic one of the same prefix) but reads in the order a reader expects.
ALL: Final = (
    reports.routes,
    campaigns.routes,
    campaign_leads.routes,
    exports.routes,
    stats.routes,
    team.routes,
    leads.routes,
    activities.routes,
    hooks.routes,
    unsubscribes.routes,
)

FALLBACK = web.RouteTableDef()


@FALLBACK.route("*", "/{tail:.*}")
async def not_found(request: web.Request) -> web.Response:
    """Any path no table knows. It is still recorded and rate limited, like lemlist
    does on all routes (a client that drops a trailing slash shows up in
    ``requests`` with a 404)."""
    return text_response(404, ROUTE_NOT_FOUND_BODY)
