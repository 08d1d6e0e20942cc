"""The leads of one campaign: Get Campaign Leads, and the writes on them.

* ``GET /api/campaigns/{campaignId}/leads/``: Get Campaign Leads,
  https://developer.lemlist.com/api-reference/endpoints/leads/get-campaign-leads :
  ``state`` and ``limit`` (1..500, default 100), leads newest first, no paging;
* ``POST /api/campaigns/{campaignId}/leads/``: Create Lead in Campaign;
* ``PATCH /api/campaigns/{campaignId}/leads/{leadId}``: Update Lead in a Campaign;
* ``DELETE /api/campaigns/{campaignId}/leads/{leadId}``: Delete or Unsubscribe Lead;
* ``POST /api/campaigns/{campaignId}/leads/{leadIdOrEmail}/interested`` and
  ``.../notinterested``: Mark Lead as (Not) Interested in Campaign.

A write shows in every read that shows leads: Get Campaign Leads, the export,
Get Lead by Email, Get Lead by Email or ID, stats and reports.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import quote

from aiohttp import web

from lemlist_async.testing._lemlist import (
    BODY_NOT_OBJECT_BODY,
    CAMPAIGN_NOT_FOUND_BODY,
    CREATE_LEAD_FLAGS,
    DOCUMENTED_STATES,
    LEAD_IN_CAMPAIGN_BODY,
    LEAD_IN_GRAVEYARD_BODY,
    LEAD_IN_OTHER_CAMPAIGN_BODY,
    LEAD_NOT_FOUND_BODY,
    LEAD_URL_ROOT,
    LEADS_LIMIT_DEFAULT,
    LEADS_LIMIT_MAX,
    LEADS_LIMIT_MIN,
    PREFERRED_CONTACT_METHOD,
    REMOVE_ACTION,
    bad_param,
)
from lemlist_async.testing._middleware import mark_applied
from lemlist_async.testing._people import LeadRecord
from lemlist_async.testing._store import STORE, Store
from lemlist_async.testing._wire import (
    json_bytes_response,
    json_object,
    json_response,
    query_bool,
    query_int,
    text_response,
)

routes = web.RouteTableDef()

#: Keys a write body may not set: the lead's identity and what lemlist computes.
#: They are the fake's choice (lemlist documents no such list).
_RESERVED: Final = frozenset(
    {"_id", "contactId", "campaignId", "campaignName", "state", "isPaused", "emailStatus",
     "lastState", "status", "leadUrl"}
)  # fmt: skip
#: What the fake takes for an email: the spec's ``format: email``, loosely.
_EMAIL: Final = re.compile(r"[^@\s]+@[^@\s]+")
#: The profile fields of Create Lead in Campaign's answer, in the spec example's order.
_CREATED_FIELDS: Final = ("firstName", "lastName", "companyName", "jobTitle", "companyDomain")
#: The state Delete or Unsubscribe Lead leaves an unsubscribed lead in: the export's
#: documented state whose ``status`` is ``unsubscribed``.
_UNSUBSCRIBED_STATE: Final = "emailsUnsubscribed"


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


@routes.post("/api/campaigns/{campaignId}/leads/")
async def create_lead(request: web.Request) -> web.Response:
    """Add a lead to the campaign, in state ``scanned``, newest.

    Query: ``deduplicate``, ``linkedinEnrichment``, ``findEmail``,
    ``verifyEmail``, ``findPhone``, each ``true`` or ``false`` (default false).
    Only two change anything: ``verifyEmail=true`` makes the email
    ``deliverable`` (the fake's verification always succeeds; unverified, it
    has no ``emailStatus``), and ``deduplicate=true`` refuses an email found in
    any campaign of the team. The body is a JSON object of strings: the spec's
    fields (``email``, ``firstName``, ``lastName``, ``companyName``,
    ``jobTitle``, ``linkedinUrl``, ``picture``, ``phone``, ``companyDomain``,
    ``icebreaker``, ``timezone``, ``contactOwner``, a team member's id or
    email) and custom variables, which join the campaign's (its other leads
    have them empty). A field not given is empty, never drawn.

    Answers, in order: 400 ``Bad params (invalid <name> parameter)`` for a
    query flag that is not true or false; 404 ``Campaign not found``; 400
    ``Bad params (the body must be a JSON object)``; 400 ``Bad params (invalid
    <key> parameter)`` for a value that is not a string, an email that is not
    one, an unknown ``contactOwner``, or a key the fake reserves (``_id``,
    ``state``...). Then the email, compared but for case: already in this
    campaign, 400 ``Lead already in the campaign``; with ``deduplicate=true``
    and in another campaign, 400 ``Lead already exists in another campaign``.
    lemlist documents neither answer: both are the fake's. A person already in
    another campaign keeps their ``contactId``. 200: ``{campaignId,
    campaignName, firstName, lastName, companyName, jobTitle, companyDomain,
    email, _id, isPaused, contactId}``, the profile fields when not empty.
    """
    flags: dict[str, bool] = {}
    for name in CREATE_LEAD_FLAGS:
        raw = request.query.get(name)
        if raw is not None:
            value = query_bool(raw)
            if value is None:
                return text_response(400, bad_param(name))
            flags[name] = value
    store = request.app[STORE]
    campaign = store.campaigns.get(request.match_info["campaignId"])
    if campaign is None:
        return text_response(404, CAMPAIGN_NOT_FOUND_BODY)
    body = await json_object(request)
    if body is None:
        return text_response(400, BODY_NOT_OBJECT_BODY)
    error = _check_fields(store, body)
    if error is not None:
        return text_response(400, error)
    email = body.get("email", "")
    if email:
        known = store.directory.by_email_folded(email)
        if any(record.campaign is campaign for record in known):
            return text_response(400, LEAD_IN_CAMPAIGN_BODY)
        if known and flags.get("deduplicate", False):
            return text_response(400, LEAD_IN_OTHER_CAMPAIGN_BODY)
    email_status = "deliverable" if email and flags.get("verifyEmail", False) else ""
    record = store.create_lead(campaign, body, email_status)
    mark_applied(request)
    row = record.row
    answer: dict[str, Any] = {"campaignId": campaign.id, "campaignName": campaign.details.name}
    answer.update((name, row[name]) for name in (*_CREATED_FIELDS, "email") if row[name])
    answer.update({"_id": record.id, "isPaused": record.is_paused, "contactId": record.contact_id})
    return json_response(answer)


@routes.patch("/api/campaigns/{campaignId}/leads/{leadId}")
async def update_lead(request: web.Request) -> web.Response:
    """Set fields of a lead of the campaign (found by ``_id``).

    The body is a JSON object of strings: ``firstName``, ``lastName``,
    ``companyName``, ``jobTitle``, ``preferredContactMethod`` (the spec's), and
    any other profile field or custom variable (a new one joins the
    campaign's), checked as Create Lead in Campaign checks them; a new email
    may not be another lead's of the campaign. An empty object changes nothing.

    Answers, in order: 404 ``Lead not found`` (an unknown campaign too: the
    spec documents no other 404 here); 500 ``Lead in graveyard`` for a lead
    `FakeLemlistServer.bury_lead` buried (lemlist documents this permanent
    500); 400 ``Bad params (the body must be a JSON object)`` or ``Bad params
    (invalid <key> parameter)``; 400 ``Lead already in the campaign``. 200:
    ``{campaignId, campaignName, leadUrl, firstName, lastName, companyName,
    jobTitle, companyDomain, email, preferredContactMethod, _id, isPaused,
    contactId, emailStatus}``, the empty ones left out. ``leadUrl`` is
    lemlist's Get Lead by Email URL of the email
    (``https://api.lemlist.com/api/leads/<email>``), not the fake's address, so
    that the answer does not depend on the port.
    """
    store = request.app[STORE]
    record = _lead(store, request.match_info["campaignId"], request.match_info["leadId"])
    if record is None:
        return text_response(404, LEAD_NOT_FOUND_BODY)
    if record.campaign.is_buried(record.position):
        return text_response(500, LEAD_IN_GRAVEYARD_BODY)
    body = await json_object(request)
    if body is None:
        return text_response(400, BODY_NOT_OBJECT_BODY)
    error = _check_fields(store, body)
    if error is not None:
        return text_response(400, error)
    email = body.get("email", "")
    if email and any(
        other.campaign is record.campaign and other.position != record.position
        for other in store.directory.by_email_folded(email)
    ):
        return text_response(400, LEAD_IN_CAMPAIGN_BODY)
    if body:
        record = store.update_lead(record, body)
    mark_applied(request)
    row = record.row
    answer: dict[str, Any] = {
        "campaignId": record.campaign.id,
        "campaignName": record.campaign.details.name,
    }
    if row["email"]:
        answer["leadUrl"] = LEAD_URL_ROOT + quote(row["email"], safe="")
    answer.update((name, row[name]) for name in (*_CREATED_FIELDS, "email") if row[name])
    method = record.campaign.written(record.position).get(PREFERRED_CONTACT_METHOD)
    if method:
        answer[PREFERRED_CONTACT_METHOD] = method
    answer.update({"_id": record.id, "isPaused": record.is_paused, "contactId": record.contact_id})
    if row["emailStatus"]:
        answer["emailStatus"] = row["emailStatus"]
    return json_response(answer)


@routes.delete("/api/campaigns/{campaignId}/leads/{leadId}")
async def delete_lead(request: web.Request) -> web.Response:
    """Unsubscribe a lead from the campaign, or delete it with ``action=remove``.

    The lead is found by ``_id`` or, as the spec's other operation of this
    path (Unsubscribe Lead from Campaign) has it, by email. Unsubscribed, it
    stays listed, in state ``emailsUnsubscribed`` (export ``status``
    ``unsubscribed``), and a repeat answers 200 again. Removed, no read shows
    it any more, and a repeat answers 404. Any other ``action`` unsubscribes,
    as the spec says. 404 ``Lead not found`` (an unknown campaign too). 200:
    the lead object (see `LeadRecord.lead_object`), as it is after an
    unsubscribe or was before a removal.
    """
    store = request.app[STORE]
    record = _lead(store, request.match_info["campaignId"], request.match_info["leadId"])
    if record is None:
        return text_response(404, LEAD_NOT_FOUND_BODY)
    if request.query.get("action") == REMOVE_ACTION:
        answer = record.lead_object()
        store.remove_lead(record)
        mark_applied(request)
        return json_response(answer)
    if record.state != _UNSUBSCRIBED_STATE:
        record = store.set_state(record, _UNSUBSCRIBED_STATE)
    mark_applied(request)
    return json_response(record.lead_object())


@routes.post("/api/campaigns/{campaignId}/leads/{leadIdOrEmail}/interested")
async def mark_interested_in_campaign(request: web.Request) -> web.Response:
    """Mark a lead of the campaign (by ``_id`` or exact email) as interested.

    Its state becomes ``interested`` and an ``interested`` activity is
    recorded (and delivered to the matching webhooks), on every call. 404
    ``Campaign not found``, then ``Lead not found``. 200: the lead object.
    """
    return _mark_in_campaign(request, "interested")


@routes.post("/api/campaigns/{campaignId}/leads/{leadIdOrEmail}/notinterested")
async def mark_not_interested_in_campaign(request: web.Request) -> web.Response:
    """As `mark_interested_in_campaign`, with state and activity ``notInterested``."""
    return _mark_in_campaign(request, "notInterested")


def _mark_in_campaign(request: web.Request, state: str) -> web.Response:
    store = request.app[STORE]
    campaign = store.campaigns.get(request.match_info["campaignId"])
    if campaign is None:
        return text_response(404, CAMPAIGN_NOT_FOUND_BODY)
    record = store.lead_in(campaign, request.match_info["leadIdOrEmail"])
    if record is None:
        return text_response(404, LEAD_NOT_FOUND_BODY)
    answer = store.mark(record, state).lead_object()
    mark_applied(request)
    return json_response(answer)


def _lead(store: Store, campaign_id: str, key: str) -> LeadRecord | None:
    campaign = store.campaigns.get(campaign_id)
    return None if campaign is None else store.lead_in(campaign, key)


def _check_fields(store: Store, body: Mapping[str, Any]) -> str | None:
    """The 400 body for a write body's first bad key or value, else ``None``."""
    owners = {user.id for user in store.team.users} | {user.email for user in store.team.users}
    for key, value in body.items():
        if not key:
            return bad_param("variable name")
        if key in _RESERVED or not isinstance(value, str):
            return bad_param(key)
        if key == "email" and value and not _EMAIL.fullmatch(value):
            return bad_param(key)
        if key == "contactOwner" and value and value not in owners:
            return bad_param(key)
    return None
