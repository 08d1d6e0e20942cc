"""lemlist-async: an asyncio SDK for the lemlist REST API.

It runs right at lemlist's rate limit of 20 requests per 2 s per key, and never
past it. Start with ``LemlistClient``.
"""

from __future__ import annotations

from ._client import LemlistClient
from ._converter import converter
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConflictError,
    InvalidCampaignIdError,
    LemlistError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    ResponseTooLargeError,
    ResponseValidationError,
    ServerError,
)
from ._fanout import (
    CampaignLeads,
    CampaignLeadsStream,
    FanOut,
    FanOutError,
    Outcome,
    ProgressHook,
    fan_out,
)
from ._headers import RateLimitInfo
from ._models import (
    Campaign,
    CampaignCreator,
    CampaignReport,
    CampaignSender,
    CampaignStats,
    CampaignStatsBatch,
    CampaignStatus,
    EmailStatus,
    ExportedLead,
    Lead,
    LeadState,
    OpenStrEnum,
    StepStats,
)
from ._pagination import Page, Pager
from ._ratelimit import KeyRateLimiter, WindowRateLimiter
from ._resources import Campaigns
from ._version import __version__

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "Campaign",
    "CampaignCreator",
    "CampaignLeads",
    "CampaignLeadsStream",
    "CampaignReport",
    "CampaignSender",
    "CampaignStats",
    "CampaignStatsBatch",
    "CampaignStatus",
    "Campaigns",
    "ClientClosedError",
    "ConflictError",
    "EmailStatus",
    "ExportedLead",
    "FanOut",
    "FanOutError",
    "InvalidCampaignIdError",
    "KeyRateLimiter",
    "Lead",
    "LeadState",
    "LemlistClient",
    "LemlistError",
    "NotFoundError",
    "OpenStrEnum",
    "Outcome",
    "Page",
    "Pager",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "ProgressHook",
    "RateLimitError",
    "RateLimitInfo",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "ServerError",
    "StepStats",
    "WindowRateLimiter",
    "__version__",
    "converter",
    "fan_out",
]
