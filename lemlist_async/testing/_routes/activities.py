"""``GET /api/activities``: Get Many Activities.

https://developer.lemlist.com/api-reference/endpoints/activities/get-many-activities
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Final

from aiohttp import web

from lemlist_async.testing._activities import Filters
from lemlist_async.testing._lemlist import (
    ACTIVITIES_LIMIT_DEFAULT,
    ACTIVITIES_LIMIT_MAX,
    DATE_ORDER_BODY,
    bad_param,
    missing_param,
)
from lemlist_async.testing._store import STORE
from lemlist_async.testing._wire import json_response, query_bool, query_int, text_response

routes = web.RouteTableDef()

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
_UNIX_SECONDS: Final = re.compile(r"\d{1,12}(\.\d{1,6})?")


@routes.get("/api/activities")
async def get_activities(request: web.Request) -> web.Response:
    """One page of the team's activities, newest first, a plain array.

    ``version=v2`` is required ("v2 is mandatory"): without it 400 ``Bad params
    (missing version parameter)``, another value ``... invalid version ...``.
    ``offset`` (>= 0, default 0), ``limit`` (1..100, default 100). Filters:
    ``type``, ``campaignId``, ``leadId`` (exact), ``isFirst`` (``true`` or
    ``false``; an item without the field, a company note, counts as false),
    ``minDate`` (``createdAt >= minDate``) and ``maxDate`` (``createdAt <=
    maxDate``): Unix seconds or ISO 8601 (no offset: UTC), ``startDate`` and
    ``endDate`` their aliases, ``maxDate`` strictly after ``minDate``. A bad
    value gets 400 ``Bad params (invalid <name> parameter)``; maxDate not after
    minDate ``Bad params (maxDate must be greater than minDate)``.
    """
    query = request.query
    version = query.get("version")
    if version is None:
        return text_response(400, missing_param("version"))
    if version != "v2":
        return text_response(400, bad_param("version"))
    offset = query_int(query.get("offset"), default=0, low=0)
    if offset is None:
        return text_response(400, bad_param("offset"))
    limit = query_int(
        query.get("limit"), default=ACTIVITIES_LIMIT_DEFAULT, low=1, high=ACTIVITIES_LIMIT_MAX
    )
    if limit is None:
        return text_response(400, bad_param("limit"))
    is_first = None
    if "isFirst" in query:
        is_first = query_bool(query["isFirst"])
        if is_first is None:
            return text_response(400, bad_param("isFirst"))
    dates: dict[str, int | None] = {}
    for name, alias in (("minDate", "startDate"), ("maxDate", "endDate")):
        key = name if name in query else alias
        raw = query.get(key)
        dates[name] = None if raw is None else _epoch_us(raw)
        if raw is not None and dates[name] is None:
            return text_response(400, bad_param(key))
    low, high = dates["minDate"], dates["maxDate"]
    if low is not None and high is not None and high <= low:
        return text_response(400, DATE_ORDER_BODY)

    filters = Filters(
        type=query.get("type"),
        campaign_id=query.get("campaignId"),
        lead_id=query.get("leadId"),
        is_first=is_first,
        min_us=low,
        max_us=high,
    )
    return json_response(request.app[STORE].activities.page(filters, offset, limit))


def _epoch_us(raw: str) -> int | None:
    """A date parameter in epoch microseconds, or ``None`` when it is not a date."""
    if _UNIX_SECONDS.fullmatch(raw):
        whole, _, fraction = raw.partition(".")
        return int(whole) * 1_000_000 + int(fraction.ljust(6, "0"))
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICROSECOND
