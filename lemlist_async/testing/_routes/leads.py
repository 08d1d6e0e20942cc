"""Leads across campaigns: the two lookups, pause and resume, interested or not.

https://developer.lemlist.com/api-reference/endpoints/leads/get-lead-by-email :
an array, one entry per campaign the lead is in.
https://developer.lemlist.com/api-reference/endpoints/leads/get-lead-by-email-or-id :
one lead object. Both: ``version`` (only ``v2``), 404 ``Lead not found``.
``POST /api/leads/pause/{leadId}``, ``POST /api/leads/start/{leadId}`` (Pause
Lead, Resume Paused Lead), ``POST /api/leads/interested/{leadIdOrEmail}`` and
``.../notinterested/...`` (Mark Lead as (Not) Interested) act on a person in
every campaign: an array of lead objects, one per campaign.
"""

from __future__ import annotations

from aiohttp import web

from lemlist_async.testing._lemlist import (
    LEAD_EMAIL_AND_ID_BODY,
    LEAD_EMAIL_OR_ID_BODY,
    LEAD_NOT_FOUND_BODY,
    bad_param,
)
from lemlist_async.testing._middleware import mark_applied
from lemlist_async.testing._people import LeadRecord
from lemlist_async.testing._store import STORE, Store
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


@routes.post("/api/leads/pause/{leadId}")
async def pause_lead(request: web.Request) -> web.Response:
    """Pause a person's leads, or only the one of ``campaignId`` when given.

    ``leadId`` is a lead's ``_id`` (or an email, as integrations send): the
    person is that lead and every lead with its email (exact). A lead that
    was not paused becomes paused (its state is left as it is; reads show
    ``isPaused``) and a ``paused`` activity is recorded and delivered; one
    already paused is left alone. 404 ``Lead not found`` (also for a
    ``campaignId`` the person is not in). 200: their lead objects, oldest
    campaign first.
    """
    return _set_paused(request, paused=True, campaign_id=request.query.get("campaignId"))


@routes.post("/api/leads/start/{leadId}")
async def resume_lead(request: web.Request) -> web.Response:
    """Resume a person's paused leads, as `pause_lead` pauses them (a ``resumed``
    activity for each that was paused). The spec documents no ``campaignId``
    here: every campaign's lead is resumed."""
    return _set_paused(request, paused=False, campaign_id=None)


@routes.post("/api/leads/interested/{leadIdOrEmail}")
async def mark_interested(request: web.Request) -> web.Response:
    """Mark a person (a lead's ``_id`` or an exact email) as interested in every
    campaign: each lead's state becomes ``interested`` and an ``interested``
    activity is recorded and delivered, on every call. 404 ``Lead not found``.
    200: their lead objects, oldest campaign first."""
    return _mark(request, "interested")


@routes.post("/api/leads/notinterested/{leadIdOrEmail}")
async def mark_not_interested(request: web.Request) -> web.Response:
    """As `mark_interested`, with state and activity ``notInterested``."""
    return _mark(request, "notInterested")


def _set_paused(request: web.Request, *, paused: bool, campaign_id: str | None) -> web.Response:
    store = request.app[STORE]
    records = _person(store, request.match_info["leadId"], campaign_id)
    if not records:
        return text_response(404, LEAD_NOT_FOUND_BODY)
    answer = [store.set_paused(r, paused).lead_object() for r in records]
    mark_applied(request)
    return json_response(answer)


def _mark(request: web.Request, state: str) -> web.Response:
    store = request.app[STORE]
    records = _person(store, request.match_info["leadIdOrEmail"], None)
    if not records:
        return text_response(404, LEAD_NOT_FOUND_BODY)
    answer = [store.mark(r, state).lead_object() for r in records]
    mark_applied(request)
    return json_response(answer)


def _person(store: Store, key: str, campaign_id: str | None) -> list[LeadRecord]:
    records = store.person(key)
    if campaign_id is not None:
        records = [record for record in records if record.campaign.id == campaign_id]
    return records
