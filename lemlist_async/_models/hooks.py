"""Webhooks: where lemlist posts the events of a team.

https://developer.lemlist.com/api-reference/endpoints/webhooks
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

from ._base import extra_field, optional, wire
from .activities import ActivityType

__all__ = ["Webhook"]


@attrs.frozen
class Webhook:
    """A webhook of the team: where lemlist posts an event type.

    https://developer.lemlist.com/api-reference/endpoints/webhooks/get-many-webhooks

    Attributes:
        id: The webhook's id (``_id``).
        target_url: Where events are posted (kept out of ``repr``: a target URL
            often carries a token of its own).
        type: The event type it listens to, or None for every type.
        campaign_id: The campaign it is limited to, if any.
        created_at: When it was created.
        zap_id: The Zapier integration's id, for a Zapier target.
    """

    id: str = attrs.field(metadata=wire("_id"))
    target_url: str | None = attrs.field(default=None, metadata=wire("targetUrl"), repr=False)
    type: ActivityType | None = None
    campaign_id: str | None = optional("campaignId")
    created_at: dt.datetime | None = optional("createdAt")
    zap_id: int | None = optional("zapId")
    extra: Mapping[str, Any] = extra_field()
