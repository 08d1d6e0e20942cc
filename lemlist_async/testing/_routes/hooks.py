"""``GET /api/hooks``, ``POST /api/hooks`` and ``DELETE /api/hooks/{hookId}``.

https://developer.lemlist.com/api-reference/endpoints/webhooks/get-many-webhooks
https://developer.lemlist.com/api-reference/endpoints/webhooks/add-webhook
https://developer.lemlist.com/api-reference/endpoints/webhooks/delete-webhook
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from yarl import URL

from lemlist_async.testing._lemlist import (
    BODY_NOT_OBJECT_BODY,
    CAMPAIGN_NOT_FOUND_BODY,
    HOOK_NOT_FOUND_BODY,
    HOOK_TYPES,
    bad_param,
    missing_param,
)
from lemlist_async.testing._middleware import mark_applied
from lemlist_async.testing._store import STORE
from lemlist_async.testing._wire import json_object, json_response, query_bool, text_response

routes = web.RouteTableDef()


@routes.get("/api/hooks")
async def get_hooks(request: web.Request) -> web.Response:
    """The team's webhooks, oldest first: a plain array, no paging, no parameter.

    Each is the spec's Webhook: ``_id``, ``targetUrl``, ``zapId`` (Zapier
    targets only), ``createdAt``, then ``type``, ``campaignId`` and ``isFirst``
    when set (a hook without ``type`` receives every event). Never a secret.
    """
    return json_response(request.app[STORE].account.hooks())


@routes.post("/api/hooks")
async def add_hook(request: web.Request) -> web.Response:
    """Add a webhook, newest; the same request again adds another (as lemlist does).

    Query (not body): ``campaignId`` (only that campaign's events),
    ``isFirst`` (``true``: only the first activity of its type for a lead),
    ``zapId`` (digits). Body: ``targetUrl`` (required, an absolute http or
    https URL), ``type`` (one of the spec's 75 event types; omitted: every
    event) and ``secret`` (stored, sent in every delivery's body, never
    answered).

    Answers, in order: 400 ``Bad params (invalid isFirst parameter)`` or
    ``... zapId ...``; 404 ``Campaign not found`` for an unknown
    ``campaignId`` (lemlist's behaviour is undocumented: a hook that can never
    fire is refused); 400 ``Bad params (the body must be a JSON object)``,
    ``Bad params (missing targetUrl parameter)``, ``Bad params (invalid
    targetUrl parameter)``, ``... type ...``, ``... secret ...`` (a secret that
    is not a string). 200: the webhook as Get Many Webhooks lists it,
    ``{_id, targetUrl, zapId, createdAt, type, campaignId, isFirst}``, the
    unset ones left out.
    """
    store = request.app[STORE]
    query = request.query
    hook: dict[str, Any] = {}
    if "isFirst" in query:
        is_first = query_bool(query["isFirst"])
        if is_first is None:
            return text_response(400, bad_param("isFirst"))
        hook["isFirst"] = is_first
    if "zapId" in query:
        zap_id = query["zapId"]
        if not (zap_id.isascii() and zap_id.isdigit() and len(zap_id) <= 18):
            return text_response(400, bad_param("zapId"))
        hook["zapId"] = int(zap_id)
    if "campaignId" in query:
        if query["campaignId"] not in store.campaigns:
            return text_response(404, CAMPAIGN_NOT_FOUND_BODY)
        hook["campaignId"] = query["campaignId"]
    body = await json_object(request)
    if body is None:
        return text_response(400, BODY_NOT_OBJECT_BODY)
    target = body.get("targetUrl")
    if target is None:
        return text_response(400, missing_param("targetUrl"))
    if not _is_http_url(target):
        return text_response(400, bad_param("targetUrl"))
    hook["targetUrl"] = target
    kind = body.get("type")
    if kind is not None:
        if kind not in HOOK_TYPES:
            return text_response(400, bad_param("type"))
        hook["type"] = kind
    secret = body.get("secret")
    if secret is not None and not isinstance(secret, str):
        return text_response(400, bad_param("secret"))
    added = store.add_hook(hook, secret or None)
    mark_applied(request)
    return json_response(added)


@routes.delete("/api/hooks/{hookId}")
async def delete_hook(request: web.Request) -> web.Response:
    """Delete a webhook: 200 the webhook as it was listed; 404 ``Webhook not found``
    (a repeat after a success too)."""
    deleted = request.app[STORE].account.delete_hook(request.match_info["hookId"])
    if deleted is None:
        return text_response(404, HOOK_NOT_FOUND_BODY)
    mark_applied(request)
    return json_response(deleted)


def _is_http_url(value: object) -> bool:
    """Whether ``value`` is an absolute http or https URL with a host."""
    if not isinstance(value, str):
        return False
    try:
        url = URL(value)
    except ValueError:
        return False
    return url.absolute and url.scheme in ("http", "https") and bool(url.host)
