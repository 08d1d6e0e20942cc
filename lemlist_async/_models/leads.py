"""Leads: a lead's state, and the lead as Get Campaign Leads and the export return it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

from ._base import OpenStrEnum, extra_field, optional, wire

__all__ = [
    "EmailStatus",
    "ExportedLead",
    "Lead",
    "LeadCampaign",
    "LeadDetails",
    "LeadEnrichment",
    "LeadInCampaign",
    "LeadState",
]


class LeadState(OpenStrEnum):
    """A lead's state in a campaign: an *open* set.

    Every state lemlist documents is a member. A state it adds later is still
    accepted: ``LeadState("somethingNew")`` returns a value that is an instance of
    this class, equals the string ``"somethingNew"`` and keeps it, instead of
    raising. See the list at
    https://developer.lemlist.com/api-reference/endpoints/campaigns/export-campaign-leads
    """

    # Global states.
    IMPORTED = "imported"
    SCANNED = "scanned"
    SKIPPED = "skipped"
    REVIEWED = "reviewed"
    CONTACTED = "contacted"
    HOOKED = "hooked"
    ATTRACTED = "attracted"
    WARMED = "warmed"
    INTERESTED = "interested"
    NOT_INTERESTED = "notInterested"
    EMAILS_BOUNCED = "emailsBounced"
    EMAILS_UNSUBSCRIBED = "emailsUnsubscribed"
    FAILED = "failed"  # Deprecated by lemlist, still seen.
    MEETING_BOOKED = "meetingBooked"
    PAUSED = "paused"
    # Detailed states.
    EMAILS_SENT = "emailsSent"
    EMAILS_OPENED = "emailsOpened"
    EMAILS_CLICKED = "emailsClicked"
    EMAILS_REPLIED = "emailsReplied"
    EMAILS_INTERESTED = "emailsInterested"
    EMAILS_NOT_INTERESTED = "emailsNotInterested"
    EMAILS_FAILED = "emailsFailed"
    OPPORTUNITIES_DONE = "opportunitiesDone"
    AIRCALL_DONE = "aircallDone"
    AIRCALL_INTERESTED = "aircallInterested"
    AIRCALL_NOT_INTERESTED = "aircallNotInterested"
    API_DONE = "apiDone"
    API_INTERESTED = "apiInterested"
    API_NOT_INTERESTED = "apiNotInterested"
    LINKEDIN_VISIT_DONE = "linkedinVisitDone"
    LINKEDIN_VISIT_FAILED = "linkedinVisitFailed"
    LINKEDIN_INVITE_DONE = "linkedinInviteDone"
    LINKEDIN_INVITE_ACCEPTED = "linkedinInviteAccepted"
    LINKEDIN_INVITE_FAILED = "linkedinInviteFailed"
    LINKEDIN_SENT = "linkedinSent"
    LINKEDIN_OPENED = "linkedinOpened"
    LINKEDIN_REPLIED = "linkedinReplied"
    LINKEDIN_INTERESTED = "linkedinInterested"
    LINKEDIN_NOT_INTERESTED = "linkedinNotInterested"
    LINKEDIN_SEND_FAILED = "linkedinSendFailed"
    MANUAL_INTERESTED = "manualInterested"
    MANUAL_NOT_INTERESTED = "manualNotInterested"


@attrs.frozen
class Lead:
    """A lead of a campaign, as Get Campaign Leads returns it.

    Attributes:
        id: The lead's id (``_id`` on the wire), for example ``lea_A1B2C3D4E5F6G7H8I9``.
        contact_id: The contact's id (``contactId``); ``con_`` and ``ctc_`` both occur.
        state: The lead's current state.
        extra: Every other member of the payload, untouched, so that a field lemlist
            adds tomorrow is neither an error nor lost.
    """

    id: str = attrs.field(metadata=wire("_id"))
    contact_id: str = attrs.field(metadata=wire("contactId"))
    state: LeadState
    extra: Mapping[str, Any] = extra_field()


class EmailStatus(OpenStrEnum):
    """Whether a lead's email address was found deliverable."""

    DELIVERABLE = "deliverable"
    RISKY = "risky"
    UNDELIVERABLE = "undeliverable"


@attrs.frozen
class ExportedLead:
    """A lead as Export Campaign Leads returns it: every lead of a campaign, with its data.

    https://developer.lemlist.com/api-reference/endpoints/campaigns/export-campaign-leads

    lemlist marks no field required; every field but ``id`` is None when absent.

    Attributes:
        id: The lead's id (``_id``).
        email, first_name, last_name, picture, phone, linkedin_url, timezone,
        company_name, company_domain, icebreaker, job_title: The lead's data.
        email_status: Whether the address was found deliverable.
        last_state: The lead's latest state in the campaign (``lastState``).
        status: The lead's status in the campaign.
        extra: The campaign's custom variables (lemlist sends them as top-level
            members named by the campaign), and any member lemlist adds later.
    """

    id: str = attrs.field(metadata=wire("_id"))
    email: str | None = None
    first_name: str | None = optional("firstName")
    last_name: str | None = optional("lastName")
    picture: str | None = None
    phone: str | None = None
    linkedin_url: str | None = optional("linkedinUrl")
    timezone: str | None = None
    company_name: str | None = optional("companyName")
    company_domain: str | None = optional("companyDomain")
    icebreaker: str | None = None
    job_title: str | None = optional("jobTitle")
    email_status: EmailStatus | None = optional("emailStatus")
    last_state: LeadState | None = optional("lastState")
    status: str | None = None
    extra: Mapping[str, Any] = extra_field()

    @property
    def variables(self) -> Mapping[str, Any]:
        """The campaign's custom variables (every member not declared above)."""
        return self.extra


@attrs.frozen
class LeadCampaign:
    """The campaign of one of a lead's entries."""

    id: str | None = None
    name: str | None = None
    status: str | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen
class LeadEnrichment:
    """What enrichment found of a lead."""

    email_status: str | None = optional("emailStatus")
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen
class LeadInCampaign:
    """A lead in one campaign, as Get Lead by Email returns one per campaign.

    https://developer.lemlist.com/api-reference/endpoints/leads/get-lead-by-email

    Attributes:
        id: The lead's id in that campaign (``_id``).
        campaign: The campaign.
        state, status: Where the lead is in the campaign.
        is_paused: Whether the lead is paused there.
        updated_at: When it last changed.
        variables: Its custom variables.
        contact_id, source, personalized, enrichment, sending_user: The rest.
    """

    id: str = attrs.field(metadata=wire("_id"))
    campaign: LeadCampaign | None = None
    state: LeadState | None = None
    status: str | None = None
    is_paused: bool | None = optional("isPaused")
    updated_at: dt.datetime | None = optional("updatedAt")
    personalized: bool | None = None
    source: str | None = None
    variables: Mapping[str, Any] | None = None
    contact_id: str | None = optional("contactId")
    enrichment: LeadEnrichment | None = None
    sending_user: Mapping[str, Any] | None = optional("sendingUser")
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen
class LeadDetails:
    """One lead, as Get Lead by Email or ID returns it.

    https://developer.lemlist.com/api-reference/endpoints/leads/get-lead
    """

    id: str = attrs.field(metadata=wire("_id"))
    email: str | None = None
    first_name: str | None = optional("firstName")
    last_name: str | None = optional("lastName")
    company_name: str | None = optional("companyName")
    job_title: str | None = optional("jobTitle")
    company_domain: str | None = optional("companyDomain")
    is_paused: bool | None = optional("isPaused")
    campaign_id: str | None = optional("campaignId")
    contact_id: str | None = optional("contactId")
    email_status: str | None = optional("emailStatus")
    extra: Mapping[str, Any] = extra_field()
