"""The team: its users, credits, senders and webhooks, with its secrets kept out of sight.

https://developer.lemlist.com/api-reference/endpoints/team
A team's body can hold secrets (the Slack webhook's URL; an API key, as some
integrations have seen): they are never part of a ``repr``, and the SDK never
puts such a body in an exception or a log record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

from ._base import extra_field, optional, wire
from .hooks import Webhook

__all__ = [
    "CampaignOfSender",
    "CreditDetails",
    "InvitedUser",
    "RemainingCredits",
    "Sender",
    "SlackWebhook",
    "Team",
    "TeamCredits",
    "TeamUser",
]


@attrs.frozen
class SlackWebhook:
    """The team's Slack notifications. Its URL is a secret: never in a ``repr``."""

    url: str | None = attrs.field(default=None, repr=False)
    fail_counter: int | None = optional("failCounter")
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen
class InvitedUser:
    """A pending invitation to the team."""

    email: str | None = None
    role: str | None = None
    invited_by: str | None = optional("invitedBy")
    invited_at: dt.datetime | None = optional("invitedAt")
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen
class TeamUser:
    """A member of the team (listed with ``version=v2``)."""

    user_id: str | None = optional("userId")
    name: str | None = None
    email: str | None = None
    role: str | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen
class Team:
    """The team the API key belongs to.

    https://developer.lemlist.com/api-reference/endpoints/team/get-team

    ``extra`` (never shown in a ``repr``) keeps every member the SDK does not
    declare, secrets included when lemlist sends them: handle it with care.
    """

    id: str = attrs.field(metadata=wire("_id"))
    name: str | None = None
    user_ids: tuple[str, ...] | None = optional("userIds")
    created_by: str | None = optional("createdBy")
    created_at: dt.datetime | None = optional("createdAt")
    hooks: tuple[Webhook, ...] | None = None
    beta: tuple[str, ...] | None = None
    slack_webhook: SlackWebhook | None = attrs.field(
        default=None, metadata=wire("slackWebhook"), repr=False
    )
    invited_users: tuple[InvitedUser, ...] | None = optional("invitedUsers")
    agency: str | None = None
    picture_id: str | None = optional("pictureId")
    custom_domain: str | None = optional("customDomain")
    users: tuple[TeamUser, ...] | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen
class RemainingCredits:
    """Credits left, by kind."""

    total: int | None = None
    freemium: int | None = None
    subscription: int | None = None
    gifted: int | None = None
    paid: int | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen
class CreditDetails:
    """The detail of a team's credits."""

    remaining: RemainingCredits | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen
class TeamCredits:
    """The team's enrichment credits.

    https://developer.lemlist.com/api-reference/endpoints/team/get-team-credits
    """

    credits: int | None = None
    details: CreditDetails | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen
class CampaignOfSender:
    """A campaign a sender sends from."""

    id: str | None = attrs.field(default=None, metadata=wire("_id"))
    name: str | None = None
    status: str | None = None
    sending_channels: tuple[str, ...] | None = optional("sendingChannels")
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen
class Sender:
    """A user of the team, with the campaigns it sends from.

    https://developer.lemlist.com/api-reference/endpoints/team/get-team-senders
    """

    user_id: str | None = optional("userId")
    campaigns: tuple[CampaignOfSender, ...] | None = None
    extra: Mapping[str, Any] = extra_field()
