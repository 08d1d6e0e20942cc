"""Unsubscribes: emails, domains, LinkedIn URLs and phone numbers lemlist must not contact.

https://developer.lemlist.com/api-reference/endpoints/unsubscribes
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

from ._base import OpenStrEnum, extra_field, optional, wire

__all__ = ["Unsubscribe", "UnsubscribeSource"]


class UnsubscribeSource(OpenStrEnum):
    """Where an unsubscription came from: an open set."""

    API = "api"
    BOUNCED = "bounced"
    LEAD = "lead"
    USER = "user"
    ABUSE = "abuse"


@attrs.frozen
class Unsubscribe:
    """An unsubscribed email, domain, LinkedIn URL or phone number.

    https://developer.lemlist.com/api-reference/endpoints/unsubscribes/list-unsubscribed-variables
    """

    id: str = attrs.field(metadata=wire("_id"))
    value: str | None = None
    source: UnsubscribeSource | None = None
    created_at: dt.datetime | None = optional("createdAt")
    extra: Mapping[str, Any] = extra_field()
