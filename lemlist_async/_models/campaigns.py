"""Campaigns: the campaign, its status, its statistics and its report.

https://developer.lemlist.com/api-reference/endpoints/campaigns
lemlist's spec marks almost no field required: every field but the id is None
when absent, and members the SDK does not declare go to ``extra``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

from lemlist_async._errors import LemlistError

from ._base import OpenStrEnum, extra_field, optional, wire

__all__ = [
    "Campaign",
    "CampaignCreator",
    "CampaignReport",
    "CampaignSender",
    "CampaignState",
    "CampaignStats",
    "CampaignStatsBatch",
    "CampaignStatus",
    "StepStats",
]


class CampaignStatus(OpenStrEnum):
    """A campaign's status: an open set. A campaign may be paused *and* have errors."""

    RUNNING = "running"
    PAUSED = "paused"
    DRAFT = "draft"
    ENDED = "ended"
    ARCHIVED = "archived"
    ERRORS = "errors"


@attrs.frozen
class CampaignCreator:
    """Who created a campaign."""

    user_id: str | None = optional("userId")
    user_email: str | None = optional("userEmail")
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen
class CampaignSender:
    """A sender of a campaign: a user and the mailbox it sends from."""

    id: str | None = None
    email: str | None = None
    send_user_mailbox_id: str | None = optional("sendUserMailboxId")
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen
class Campaign:
    """A campaign, as Get Campaign and Get Many Campaigns return it.

    https://developer.lemlist.com/api-reference/endpoints/campaigns/get-campaign

    Attributes:
        id: The campaign's id (``_id``), for example ``cam_A1B2C3D4E5F6G7H8I9``.
        name, emoji, labels: How it is shown.
        created_at: When it was created, an aware datetime.
        created_by: The id of the user who created it.
        status: Its status.
        sequence_id, schedule_ids, timezone, team_id: What it runs on.
        has_error, errors: Whether it has errors, and their messages.
        creator, senders: Who created it, and who sends from it.
        extra: Every other member of the payload.
    """

    id: str = attrs.field(metadata=wire("_id"))
    name: str | None = None
    emoji: str | None = None
    labels: tuple[str, ...] | None = None
    created_at: dt.datetime | None = optional("createdAt")
    created_by: str | None = optional("createdBy")
    status: CampaignStatus | None = None
    sequence_id: str | None = optional("sequenceId")
    schedule_ids: tuple[str, ...] | None = optional("scheduleIds")
    timezone: str | None = None
    team_id: str | None = optional("teamId")
    has_error: bool | None = optional("hasError")
    errors: tuple[str, ...] | None = None
    creator: CampaignCreator | None = None
    senders: tuple[CampaignSender, ...] | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen
class CampaignState:
    """What Start and Pause Campaign answer: the campaign and the state it is now in.

    https://developer.lemlist.com/api-reference/endpoints/campaigns/start-campaign

    Attributes:
        id: The campaign's id (``_id``).
        state: ``running`` after a start, ``paused`` after a pause.
    """

    id: str = attrs.field(metadata=wire("_id"))
    state: CampaignStatus | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen
class StepStats:
    """The figures of one step of a campaign's sequence."""

    index: int | None = None
    sequence_id: str | None = optional("sequenceId")
    sequence_step: int | None = optional("sequenceStep")
    ab_test: str | None = optional("abTest")
    task_type: str | None = optional("taskType")
    condition_label: str | None = optional("conditionLabel")
    invited: int | None = None
    sent: int | None = None
    delivered: int | None = None
    opened: int | None = None
    clicked: int | None = None
    replied: int | None = None
    not_delivered: int | None = optional("notDelivered")
    bounced: int | None = None
    unsubscribed: int | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen
class CampaignStats:
    """A campaign's figures over a period, as Get Campaign Stats returns them.

    https://developer.lemlist.com/api-reference/endpoints/campaigns/get-campaign-stats
    """

    nb_leads: int | None = optional("nbLeads")
    nb_leads_launched: int | None = optional("nbLeadsLaunched")
    nb_leads_reached: int | None = optional("nbLeadsReached")
    nb_leads_opened: int | None = optional("nbLeadsOpened")
    nb_leads_interacted: int | None = optional("nbLeadsInteracted")
    nb_leads_answered: int | None = optional("nbLeadsAnswered")
    nb_leads_interested: int | None = optional("nbLeadsInterested")
    nb_leads_not_interested: int | None = optional("nbLeadsNotInterested")
    nb_leads_unsubscribed: int | None = optional("nbLeadsUnsubscribed")
    nb_leads_interrupted: int | None = optional("nbLeadsInterrupted")
    messages_sent: int | None = optional("messagesSent")
    messages_not_sent: int | None = optional("messagesNotSent")
    messages_bounced: int | None = optional("messagesBounced")
    delivered: int | None = None
    opened: int | None = None
    clicked: int | None = None
    replied: int | None = None
    invitation_accepted: int | None = optional("invitationAccepted")
    meeting_booked: int | None = optional("meetingBooked")
    steps: tuple[StepStats, ...] | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen
class CampaignStatsBatch:
    """What Get Batch Campaign Stats answered, per campaign: nothing lost.

    lemlist answers a batch with 200 even when some campaigns failed, listing
    them apart; both halves are kept, by campaign id.

    Attributes:
        results: The figures of every campaign that succeeded.
        errors: Why every other campaign failed: a ``LemlistError`` with lemlist's
            words for a campaign it could not count, or the error of a request
            that failed as a whole.
    """

    results: Mapping[str, CampaignStats] = attrs.field(factory=dict)
    errors: Mapping[str, LemlistError] = attrs.field(factory=dict)


@attrs.frozen
class CampaignReport:
    """A campaign's report, as Get Campaign Reports returns it.

    https://developer.lemlist.com/api-reference/endpoints/campaigns/get-campaign-reports

    Note lemlist's own shapes: ``creator`` is ``"userId|email"``, ``created_by``
    a user's *name*, and ``labels``, ``sender_names`` and ``senders_users``
    comma-separated strings.
    """

    id: str = attrs.field(metadata=wire("_id"))
    name: str | None = None
    creator: str | None = None
    created_at: dt.datetime | None = optional("createdAt")
    created_by: str | None = optional("createdBy")
    labels: str | None = None
    total_count: int | None = optional("totalCount")
    reviewed_count: int | None = optional("reviewedCount")
    in_sequence_lead_count: int | None = optional("inSequenceLeadCount")
    state: str | None = None
    status: str | None = None
    sender_names: str | None = optional("senderNames")
    senders_users: str | None = optional("sendersUsers")
    reviewed: int | None = None
    emails_sent: int | None = optional("emailsSent")
    emails_opened: int | None = optional("emailsOpened")
    emails_clicked: int | None = optional("emailsClicked")
    emails_replied: int | None = optional("emailsReplied")
    emails_unsubscribed: int | None = optional("emailsUnsubscribed")
    emails_interested: int | None = optional("emailsInterested")
    linkedin_sent: int | None = optional("linkedinSent")
    linkedin_opened: int | None = optional("linkedinOpened")
    linkedin_replied: int | None = optional("linkedinReplied")
    interested: int | None = None
    not_interested: int | None = optional("notInterested")
    extra: Mapping[str, Any] = extra_field()
