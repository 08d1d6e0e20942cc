"""``GET /api/leads/{email}`` and ``GET /api/leads``: Get Lead by Email, and by Email or ID.

https://developer.lemlist.com/api-reference/endpoints/leads/get-lead-by-email :
an array, one entry per campaign the lead is in.
https://developer.lemlist.com/api-reference/endpoints/leads/get-lead-by-email-or-id :
one lead object. Both: ``version`` (only ``v2``), 404 ``Lead not found``.
"""

from __future__ import annotations

from aiohttp import web

from lemlist_async.testing._lemlist import (
    LEAD_EMAIL_AND_ID_BODY,
    LEAD_EMAIL_OR_ID_BODY,
    LEAD_NOT_FOUND_BODY,
    bad_param,
)
from lemlist_async.testing._store import STORE
from lemlist_async.testing._wire import json_response, text_response

routes = web.RouteTableDef()


@routes.get("/api/leads/{email}")
async def get_lead_by_email(request: web.Request) -> web.Response:
    """The lead in each campaign that has this email, oldest campaign first.

    The email is one percent-encoded path segment (``%2B`` for ``+``, ``%2F``
    for ``/``, UTF-8 for the rest), compared exactly once decoded. 400 ``Bad
    params (invalid version parameter)`` for a version other than v2; 404
    ``Lead not found``.
    """
    if request.query.get("version", "v2") != "v2":
        return text_response(400, bad_param("version"))
    records = request.app[STORE].directory.by_email(request.match_info["email"])
    if not records:
        return text_response(404, LEAD_NOT_FOUND_BODY)
    return json_response([record.entry() for record in records])


@routes.get("/api/leads")
async def get_lead(request: web.Request) -> web.Response:
    """One lead: by ``email`` (its oldest campaign's) or by ``id``, exactly one of them.

    An empty value counts as absent. 400 ``Bad params (missing email or id
    parameter)`` with neither, ``Bad params (email and id cannot be combined)``
    with both (the spec says "at least one", and not what both mean: the fake
    refuses the mix), ``... invalid version ...``; 404 ``Lead not found``.
    """
    query = request.query
    if query.get("version", "v2") != "v2":
        return text_response(400, bad_param("version"))
    email, lead_id = query.get("email"), query.get("id")
    if not email and not lead_id:
        return text_response(400, LEAD_EMAIL_OR_ID_BODY)
    if email and lead_id:
        return text_response(400, LEAD_EMAIL_AND_ID_BODY)
    record = request.app[STORE].directory.find(email=email, lead_id=lead_id or None)
    if record is None:
        return text_response(404, LEAD_NOT_FOUND_BODY)
    return json_response(record.summary())
