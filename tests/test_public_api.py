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
        "'asyncpg', 'sqlite3', 'lemlist_async.testing', 'lemlist_async.sync') "
        "if m in sys.modules]; print(bad)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_the_sync_s_names_are_pinned() -> None:
    import lemlist_async.sync

    assert sorted(lemlist_async.sync.__all__) == [
        "AccountMismatchError",
        "PostgresStore",
        "SQLiteStore",
        "STREAMS",
        "Store",
        "StreamProgress",
        "SyncError",
        "SyncReport",
        "open_store",
        "sync_account",
    ]
    for name in lemlist_async.sync.__all__:
        if name == "STREAMS":  # A tuple: it has no module of its own.
            continue
        obj = getattr(lemlist_async.sync, name)
        module = obj.__module__
        assert module.startswith("lemlist_async._sync."), (name, module)


def test_the_sync_imports_no_database_driver_until_a_store_opens() -> None:
    import subprocess
    import sys

    code = "import sys, lemlist_async.sync; print('asyncpg' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"
