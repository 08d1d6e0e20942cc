"""Activities: what happened in a campaign, and when. Also the type of webhook events.

https://developer.lemlist.com/api-reference/endpoints/activities/get-many-activities
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

from ._base import OpenStrEnum, extra_field, optional, wire

__all__ = ["Activity", "ActivityType"]


class ActivityType(OpenStrEnum):
    """An activity's type, which is also a webhook's event type: an open set.

    The members are the event types lemlist documents for webhooks; lemlist adds
    types over time, and one it adds is accepted (with ``is_known`` False).
    """

    CONTACTED = "contacted"
    HOOKED = "hooked"
    ATTRACTED = "attracted"
    WARMED = "warmed"
    INTERESTED = "interested"
    NOT_INTERESTED = "notInterested"
    EMAILS_SENT = "emailsSent"
    EMAILS_OPENED = "emailsOpened"
    EMAILS_CLICKED = "emailsClicked"
    EMAILS_REPLIED = "emailsReplied"
    EMAILS_BOUNCED = "emailsBounced"
    EMAILS_FAILED = "emailsFailed"
    EMAILS_INTERESTED = "emailsInterested"
    EMAILS_NOT_INTERESTED = "emailsNotInterested"
    EMAILS_UNSUBSCRIBED = "emailsUnsubscribed"
    LINKEDIN_SENT = "linkedinSent"
    LINKEDIN_OPENED = "linkedinOpened"
    LINKEDIN_REPLIED = "linkedinReplied"
    LINKEDIN_INTERESTED = "linkedinInterested"
    LINKEDIN_NOT_INTERESTED = "linkedinNotInterested"
    LINKEDIN_SEND_FAILED = "linkedinSendFailed"
    LINKEDIN_VISIT_DONE = "linkedinVisitDone"
    LINKEDIN_VISIT_FAILED = "linkedinVisitFailed"
    LINKEDIN_FOLLOW_DONE = "linkedinFollowDone"
    LINKEDIN_FOLLOW_FAILED = "linkedinFollowFailed"
    LINKEDIN_FOLLOW_SKIPPED = "linkedinFollowSkipped"
    LINKEDIN_INVITE_DONE = "linkedinInviteDone"
    LINKEDIN_INVITE_FAILED = "linkedinInviteFailed"
    LINKEDIN_INVITE_ACCEPTED = "linkedinInviteAccepted"
    LINKEDIN_ENDORSE_DONE = "linkedinEndorseDone"
    LINKEDIN_ENDORSE_FAILED = "linkedinEndorseFailed"
    LINKEDIN_ENDORSE_SKIPPED = "linkedinEndorseSkipped"
    LINKEDIN_VOICE_NOTE_DONE = "linkedinVoiceNoteDone"
    LINKEDIN_VOICE_NOTE_FAILED = "linkedinVoiceNoteFailed"
    LINKEDIN_LIKE_LAST_POST_DONE = "linkedinLikeLastPostDone"
    LINKEDIN_LIKE_LAST_POST_NO_POST = "linkedinLikeLastPostNoPost"
    LINKEDIN_LIKE_LAST_POST_FAILED = "linkedinLikeLastPostFailed"
    LINKEDIN_WITHDRAW_INVITATION_DONE = "linkedinWithdrawInvitationDone"
    LINKEDIN_WITHDRAW_INVITATION_FAILED = "linkedinWithdrawInvitationFailed"
    WHATSAPP_MESSAGE_SENT = "whatsappMessageSent"
    WHATSAPP_MESSAGE_DELIVERED = "whatsappMessageDelivered"
    WHATSAPP_MESSAGE_OPENED = "whatsappMessageOpened"
    WHATSAPP_REPLIED = "whatsappReplied"
    WHATSAPP_MESSAGE_FAILED = "whatsappMessageFailed"
    SMS_SENT = "smsSent"
    SMS_DELIVERED = "smsDelivered"
    SMS_REPLIED = "smsReplied"
    SMS_FAILED = "smsFailed"
    AIRCALL_CREATED = "aircallCreated"
    AIRCALL_ENDED = "aircallEnded"
    AIRCALL_DONE = "aircallDone"
    AIRCALL_INTERESTED = "aircallInterested"
    AIRCALL_NOT_INTERESTED = "aircallNotInterested"
    API_DONE = "apiDone"
    API_INTERESTED = "apiInterested"
    API_NOT_INTERESTED = "apiNotInterested"
    API_FAILED = "apiFailed"
    MANUAL_INTERESTED = "manualInterested"
    MANUAL_NOT_INTERESTED = "manualNotInterested"
    PAUSED = "paused"
    RESUMED = "resumed"
    STOPPED = "stopped"
    CAMPAIGN_COMPLETE = "campaignComplete"
    CUSTOM_DOMAIN_ERRORS = "customDomainErrors"
    CONNECTION_ISSUE = "connectionIssue"
    SEND_LIMIT_REACHED = "sendLimitReached"
    LEMWARM_PAUSED = "lemwarmPaused"
    ANNOTATED = "annotated"
    ENRICHMENT_DONE = "enrichmentDone"
    ENRICHMENT_ERROR = "enrichmentError"
    CALL_RECORDING_DONE = "callRecordingDone"
    CALL_TRANSCRIPT_DONE = "callTranscriptDone"
    INBOX_LABEL_UPDATED = "inboxLabelUpdated"
    SIGNAL_REGISTERED = "signalRegistered"
    DELIVERABILITY_ALERT_TRIGGERED = "deliverabilityAlertTriggered"
    # Seen in activities and in other integrations, missing from the spec's list.
    SKIPPED = "skipped"
    OPPORTUNITIES_DONE = "opportunitiesDone"
    EMAILS_SEND_FAILED = "emailsSendFailed"


@attrs.frozen
class Activity:
    """One activity, as Get Many Activities returns it.

    Real activities are wider than lemlist's schema: a lead's activity carries
    the lead's fields and the campaign's custom variables at its top level.
    Those are in ``extra``.

    Attributes:
        id: The activity's id (``_id``).
        type: What happened.
        lead_id, campaign_id, sequence_id, step_id: What it happened to.
        sequence_step: The step's 0-based position in the sequence.
        total_sequence_step: How many steps the lead had been sent by then.
        created_at: When it happened, an aware datetime.
        extra: Every other member (the lead's fields, custom variables...).
    """

    id: str = attrs.field(metadata=wire("_id"))
    type: ActivityType | None = None
    lead_id: str | None = optional("leadId")
    campaign_id: str | None = optional("campaignId")
    sequence_id: str | None = optional("sequenceId")
    step_id: str | None = optional("stepId")
    sequence_step: int | None = optional("sequenceStep")
    total_sequence_step: int | None = optional("totalSequenceStep")
    created_at: dt.datetime | None = optional("createdAt")
    extra: Mapping[str, Any] = extra_field()
