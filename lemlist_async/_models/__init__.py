"""Typed models of lemlist's payloads, one module per domain; names re-exported here."""

from __future__ import annotations

from ._base import (
    EXTRA,
    NO_EXTRA,
    WIRE_NAME,
    Extra,
    OpenStrEnum,
    as_extra,
    extra_field,
    optional,
    wire,
)
from .activities import Activity, ActivityType
from .campaigns import (
    Campaign,
    CampaignCreator,
    CampaignReport,
    CampaignSender,
    CampaignState,
    CampaignStats,
    CampaignStatsBatch,
    CampaignStatus,
    StepStats,
)
from .hooks import Webhook
from .imports import ImportResult, ImportStatus, NewLead
from .leads import (
    EmailStatus,
    ExportedLead,
    Lead,
    LeadCampaign,
    LeadDetails,
    LeadEnrichment,
    LeadInCampaign,
    LeadState,
)
from .team import (
    CampaignOfSender,
    CreditDetails,
    InvitedUser,
    RemainingCredits,
    Sender,
    SlackWebhook,
    Team,
    TeamCredits,
    TeamUser,
)
from .unsubscribes import Unsubscribe, UnsubscribeSource

__all__ = [
    "EXTRA",
    "NO_EXTRA",
    "WIRE_NAME",
    "Activity",
    "ActivityType",
    "Campaign",
    "CampaignCreator",
    "CampaignOfSender",
    "CampaignReport",
    "CampaignSender",
    "CampaignState",
    "CampaignStats",
    "CampaignStatsBatch",
    "CampaignStatus",
    "CreditDetails",
    "EmailStatus",
    "ExportedLead",
    "Extra",
    "ImportResult",
    "ImportStatus",
    "InvitedUser",
    "Lead",
    "LeadCampaign",
    "LeadDetails",
    "LeadEnrichment",
    "LeadInCampaign",
    "LeadState",
    "NewLead",
    "OpenStrEnum",
    "RemainingCredits",
    "Sender",
    "SlackWebhook",
    "StepStats",
    "Team",
    "TeamCredits",
    "TeamUser",
    "Unsubscribe",
    "UnsubscribeSource",
    "Webhook",
    "as_extra",
    "extra_field",
    "optional",
    "wire",
]
