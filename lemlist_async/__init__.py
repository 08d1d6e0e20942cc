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
from ._fanout import CampaignLeads, CampaignLeadsStream, FanOutError, ProgressHook
from ._headers import RateLimitInfo
from ._models import Lead, LeadState
from ._ratelimit import KeyRateLimiter, WindowRateLimiter
from ._version import __version__

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "CampaignLeads",
    "CampaignLeadsStream",
    "ClientClosedError",
    "FanOutError",
    "InvalidCampaignIdError",
    "KeyRateLimiter",
    "Lead",
    "LeadState",
    "LemlistClient",
    "LemlistError",
    "NotFoundError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "ProgressHook",
    "RateLimitError",
    "RateLimitInfo",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "ServerError",
    "WindowRateLimiter",
    "__version__",
    "converter",
]
