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
from .campaigns import (
    Campaign,
    CampaignCreator,
    CampaignReport,
    CampaignSender,
    CampaignStats,
    CampaignStatsBatch,
    CampaignStatus,
    StepStats,
)
from .leads import EmailStatus, ExportedLead, Lead, LeadState

__all__ = [
    "EXTRA",
    "NO_EXTRA",
    "WIRE_NAME",
    "Campaign",
    "CampaignCreator",
    "CampaignReport",
    "CampaignSender",
    "CampaignStats",
    "CampaignStatsBatch",
    "CampaignStatus",
    "EmailStatus",
    "ExportedLead",
    "Extra",
    "Lead",
    "LeadState",
    "OpenStrEnum",
    "StepStats",
    "as_extra",
    "extra_field",
    "optional",
    "wire",
]
