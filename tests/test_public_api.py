"""The public surface is pinned: a change to it is a deliberate change to this test."""

from __future__ import annotations

import lemlist_async


def test_all_is_pinned() -> None:
    assert sorted(lemlist_async.__all__) == [
        "APIConnectionError",
        "APIStatusError",
        "APITimeoutError",
        "Activities",
        "Activity",
        "ActivityType",
        "AmbiguousWriteError",
        "AuthenticationError",
        "BadRequestError",
        "Campaign",
        "CampaignCreator",
        "CampaignLeads",
        "CampaignLeadsStream",
        "CampaignOfSender",
        "CampaignReport",
        "CampaignSender",
        "CampaignState",
        "CampaignStats",
        "CampaignStatsBatch",
        "CampaignStatus",
        "Campaigns",
        "ClientClosedError",
        "ConflictError",
        "CreditDetails",
        "EmailStatus",
        "ExportedLead",
        "FanOut",
        "FanOutError",
        "Hooks",
        "ImportResult",
        "ImportStatus",
        "InvalidCampaignIdError",
        "InvalidLeadError",
        "InvitedUser",
        "KeyRateLimiter",
        "Lead",
        "LeadCampaign",
        "LeadDetails",
        "LeadEnrichment",
        "LeadImport",
        "LeadInCampaign",
        "LeadState",
        "Leads",
        "LemlistClient",
        "LemlistError",
        "NewLead",
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
        "RemainingCredits",
        "ResponseTooLargeError",
        "ResponseValidationError",
        "Sender",
        "ServerError",
        "SlackWebhook",
        "StepStats",
        "Team",
        "TeamCredits",
        "TeamResource",
        "TeamUser",
        "Unsubscribe",
        "UnsubscribeSource",
        "Unsubscribes",
        "Webhook",
        "WindowRateLimiter",
        "__version__",
        "converter",
        "fan_out",
    ]


def test_every_public_name_resolves_and_lives_in_a_private_module() -> None:
    for name in lemlist_async.__all__:
        obj = getattr(lemlist_async, name)
        module = getattr(obj, "__module__", "lemlist_async._version")
        if name not in {"__version__", "converter", "ProgressHook"}:
            assert module.startswith("lemlist_async._"), (name, module)


def test_importing_the_sdk_pulls_in_no_optional_or_test_modules() -> None:
    import subprocess
    import sys

    code = (
        "import sys, lemlist_async; "
        "bad = [m for m in ('aioresponses', 'aiolimiter', 'pytest', 'orjson', 'redis', "
        "'lemlist_async.testing') if m in sys.modules]; print(bad)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
