"""What lemlist documents, as the fake's own constants.

Every bound and body the fake enforces is written here from lemlist's
documentation, with a link to it, and never imported from the SDK: a client
tested against the fake must not be able to agree with its own mistake.
"""

from __future__ import annotations

from typing import Final

# -- Rate limit ---------------------------------------------------------------------------
# https://developer.lemlist.com/api-reference#rate-limit : "20 requests per 2 seconds",
# "applied on all routes and per api key".
RATE_LIMIT: Final = 20
RATE_WINDOW: Final = 2.0
TOO_MANY_REQUESTS_BODY: Final = "Too many requests, please try again later."

# -- Authentication -----------------------------------------------------------------------
# https://developer.lemlist.com/api-reference#authentication : Basic, empty login, key
# as password. The body is the text/plain example of the spec's 401s.
AUTH_FAILED_BODY: Final = "The authentication you supplied is incorrect"

# -- Bodies shared by several routes ------------------------------------------------------
CAMPAIGN_NOT_FOUND_BODY: Final = "Campaign not found"
#: Any other path; lemlist (express) answers an HTML page, plain text is enough here.
ROUTE_NOT_FOUND_BODY: Final = "Not found"
#: The spec's 405 example on the stats routes.
BAD_METHOD_BODY: Final = "Bad method"
#: A truncated JSON array, as a connection cut mid-body would leave it.
MALFORMED_BODY: Final = b'[{"_id":"lea_'


def bad_param(name: str) -> str:
    """lemlist's text for a query parameter it refuses, e.g. ``invalid limit parameter``."""
    return f"Bad params (invalid {name} parameter)"


# -- Get Campaign Leads -------------------------------------------------------------------
# https://developer.lemlist.com/api-reference/endpoints/leads/get-campaign-leads :
# "limit: Maximum number of leads to return. Default: 100, Max: 500" (minimum 1).
LEADS_LIMIT_MIN: Final = 1
LEADS_LIMIT_MAX: Final = 500
LEADS_LIMIT_DEFAULT: Final = 100

#: The lead states lemlist documents: the ``state`` enum of Export Campaign Leads,
#: https://developer.lemlist.com/api-reference/endpoints/campaigns/export-campaign-leads
#: ("Global states" and "Detailed states"). A state outside it gets 400.
DOCUMENTED_STATES: Final = frozenset(
    {
        "imported",
        "scanned",
        "skipped",
        "reviewed",
        "contacted",
        "hooked",
        "attracted",
        "warmed",
        "interested",
        "notInterested",
        "emailsBounced",
        "emailsUnsubscribed",
        "failed",
        "meetingBooked",
        "paused",
        "emailsSent",
        "emailsOpened",
        "emailsClicked",
        "emailsReplied",
        "emailsInterested",
        "emailsNotInterested",
        "emailsFailed",
        "opportunitiesDone",
        "aircallDone",
        "aircallInterested",
        "aircallNotInterested",
        "apiDone",
        "apiInterested",
        "apiNotInterested",
        "linkedinVisitDone",
        "linkedinVisitFailed",
        "linkedinInviteDone",
        "linkedinInviteAccepted",
        "linkedinInviteFailed",
        "linkedinSent",
        "linkedinOpened",
        "linkedinReplied",
        "linkedinInterested",
        "linkedinNotInterested",
        "linkedinSendFailed",
        "manualInterested",
        "manualNotInterested",
    }
)

# -- Get Many Campaigns -------------------------------------------------------------------
# https://developer.lemlist.com/api-reference/endpoints/campaigns/get-many-campaigns :
# "limit: Number of campaigns to retrieve. Default: 100. Maximum: 100."
CAMPAIGNS_LIMIT_DEFAULT: Final = 100
CAMPAIGNS_LIMIT_MAX: Final = 100
#: The ``status`` enum: "running, draft, archived, ended, paused, errors".
CAMPAIGN_STATUSES: Final = frozenset({"running", "draft", "archived", "ended", "paused", "errors"})
#: The fake's own answer: the spec documents ``page`` and ``offset``, not both at once.
PAGE_AND_OFFSET_BODY: Final = "Bad params (page and offset cannot be combined)"

# -- Export Campaign Leads ----------------------------------------------------------------
# https://developer.lemlist.com/api-reference/endpoints/campaigns/export-campaign-leads :
# "state ... Use 'all' to export all states. Can be a comma-separated list of states";
# "format: 'json' or 'csv'. Default is CSV."
EXPORT_ALL_STATES: Final = "all"
EXPORT_FORMATS: Final = frozenset({"json", "csv"})
EXPORT_DEFAULT_FORMAT: Final = "csv"

# -- Campaign stats -----------------------------------------------------------------------
# https://developer.lemlist.com/api-reference/endpoints/campaigns/get-campaign-stats
# https://developer.lemlist.com/api-reference/endpoints/campaigns/get-batch-campaign-stats
# The bodies are the spec's 400 examples, word for word.
BATCH_MAX_CAMPAIGNS: Final = 100
DATES_REQUIRED_BODY: Final = "Bad params: startDate and endDate are required"
AB_SELECTED_BODY: Final = "Bad params: ABSelected must be A or B"
CHANNELS_NOT_ARRAY_BODY: Final = "Bad params: channels must be a valid array"
CHANNELS_VALUES_BODY: Final = (
    'Bad params: channels must be empty or contain "others", "email" or "linkedin"'
)
BATCH_CHANNELS_BODY: Final = (
    'Bad params: channels must be an array of "others", "email" or "linkedin"'
)
SEND_USER_FORMAT_BODY: Final = (
    "Bad param format: sendUser must be formatted as follow: <sendUserId>|<sendUserEmail>"
)
SEND_USER_MISMATCH_BODY: Final = (
    "Bad params: the send user email is not related to the send user id"
)
BATCH_EMPTY_BODY: Final = "Bad params: campaignIds must be a non-empty array"
BATCH_TOO_MANY_BODY: Final = "Bad params: campaignIds must contain at most 100 items"

# -- Get Campaign Reports -----------------------------------------------------------------
# https://developer.lemlist.com/api-reference/endpoints/campaigns/get-campaign-reports :
# ``campaignIds`` is required; the spec gives no body for its absence, so this is the
# fake's, in lemlist's "Bad params" style.
REPORTS_MISSING_IDS_BODY: Final = "Bad params (missing campaignIds parameter)"


def missing_param(name: str) -> str:
    """The fake's text for a required query parameter that is absent, in lemlist's style."""
    return f"Bad params (missing {name} parameter)"


#: The text of the 405 that the spec documents, without a body, on the team routes.
METHOD_NOT_ALLOWED_BODY: Final = "Method not allowed"

# -- Leads --------------------------------------------------------------------------------
# https://developer.lemlist.com/api-reference/endpoints/leads/get-lead-by-email and
# .../get-lead-by-email-or-id: 404 "Lead not found" (text/plain, the spec's example);
# "You should use at least one of 'email' or 'id'". The two 400 bodies are the fake's.
LEAD_NOT_FOUND_BODY: Final = "Lead not found"
LEAD_EMAIL_OR_ID_BODY: Final = "Bad params (missing email or id parameter)"
LEAD_EMAIL_AND_ID_BODY: Final = "Bad params (email and id cannot be combined)"

# -- Get Many Activities ------------------------------------------------------------------
# https://developer.lemlist.com/api-reference/endpoints/activities/get-many-activities :
# "version ... v2 is mandatory"; "limit: ... Default: 100. Maximum: 100"; minDate and
# maxDate ("Unix timestamp in seconds ... or an ISO 8601 datetime"), maxDate "Must be
# strictly greater than minDate"; startDate and endDate are their aliases.
ACTIVITIES_LIMIT_DEFAULT: Final = 100
ACTIVITIES_LIMIT_MAX: Final = 100
#: The fake's own words: the spec states the rule, not its error body.
DATE_ORDER_BODY: Final = "Bad params (maxDate must be greater than minDate)"

# -- Team senders -------------------------------------------------------------------------
# https://developer.lemlist.com/api-reference/endpoints/team/get-team-senders : ``state``,
# "Filter by campaign's state (running, paused, draft, ended, archived, errors)", and
# 400 "Bad params (invalid state parameter)" (`bad_param`).
SENDER_STATES: Final = CAMPAIGN_STATUSES

# -- Unsubscribes -------------------------------------------------------------------------
# https://developer.lemlist.com/api-reference/endpoints/unsubscribes/list-unsubscribed-variables :
# "offset" (default 0), "limit" ("max 100", default 100); UnsubscribedVariable.source enum.
UNSUBSCRIBES_LIMIT_DEFAULT: Final = 100
UNSUBSCRIBES_LIMIT_MAX: Final = 100
UNSUBSCRIBE_SOURCES: Final = ("api", "bounced", "lead", "user", "abuse")

# -- Writes on leads ----------------------------------------------------------------------
# https://developer.lemlist.com/api-reference/endpoints/leads/create-lead-in-campaign ,
# .../update-lead-in-a-campaign , .../delete-or-unsubscribe-lead , .../pause-lead ,
# .../resume-paused-lead , .../mark-lead-as-interested (and the campaign variants).
#: The documented permanent 500 of Update Lead in a Campaign.
LEAD_IN_GRAVEYARD_BODY: Final = "Lead in graveyard"
#: lemlist does not document what a second lead with the same email answers: the fake's words.
LEAD_IN_CAMPAIGN_BODY: Final = "Lead already in the campaign"
#: ``deduplicate=true`` "Will not insert the lead if email address already exists": the
#: fake's words for that refusal.
LEAD_IN_OTHER_CAMPAIGN_BODY: Final = "Lead already exists in another campaign"
#: The fake's words for a write body that is not a JSON object.
BODY_NOT_OBJECT_BODY: Final = "Bad params (the body must be a JSON object)"
#: Delete or Unsubscribe Lead: "Use 'remove' to force delete. Otherwise it will just
#: unsubscribe the lead from the campaign."
REMOVE_ACTION: Final = "remove"
#: Create Lead in Campaign's query booleans, all "Default: false".
CREATE_LEAD_FLAGS: Final = (
    "deduplicate",
    "linkedinEnrichment",
    "findEmail",
    "verifyEmail",
    "findPhone",
)
#: Create Lead in Campaign's documented body fields; any other key is a custom variable.
LEAD_FIELDS: Final = (
    "email", "firstName", "lastName", "companyName", "jobTitle", "linkedinUrl", "picture",
    "phone", "companyDomain", "icebreaker", "timezone", "contactOwner",
)  # fmt: skip
#: Update Lead in a Campaign's field that is not a profile field.
PREFERRED_CONTACT_METHOD: Final = "preferredContactMethod"
#: Update Lead in a Campaign's ``leadUrl``, as the spec's example writes it:
#: ``https://api.lemlist.com/api/leads/alex.doe%40example.com``.
LEAD_URL_ROOT: Final = "https://api.lemlist.com/api/leads/"

# -- Campaign start and pause -------------------------------------------------------------
# https://developer.lemlist.com/api-reference/endpoints/campaigns/start-campaign and
# .../pause-campaign : 200 ``{_id, state}``, "running" or "paused".
CAMPAIGN_RUNNING: Final = "running"
CAMPAIGN_PAUSED: Final = "paused"

# -- Webhooks -----------------------------------------------------------------------------
# https://developer.lemlist.com/api-reference/endpoints/webhooks/add-webhook and
# .../delete-webhook : 404 "Webhook not found"; ``targetUrl`` required, ``type`` one of
# the Webhook schema's enum (omitted: every event), ``secret`` "never returned by GET".
HOOK_NOT_FOUND_BODY: Final = "Webhook not found"
HOOK_TYPES: Final = frozenset(
    {
        "contacted", "hooked", "attracted", "warmed", "interested", "notInterested",
        "emailsSent", "emailsOpened", "emailsClicked", "emailsReplied", "emailsBounced",
        "emailsFailed", "emailsInterested", "emailsNotInterested", "emailsUnsubscribed",
        "linkedinSent", "linkedinOpened", "linkedinReplied", "linkedinInterested",
        "linkedinNotInterested", "linkedinSendFailed", "linkedinVisitDone",
        "linkedinVisitFailed", "linkedinFollowDone", "linkedinFollowFailed",
        "linkedinFollowSkipped", "linkedinInviteDone", "linkedinInviteFailed",
        "linkedinInviteAccepted", "linkedinEndorseDone", "linkedinEndorseFailed",
        "linkedinEndorseSkipped", "linkedinVoiceNoteDone", "linkedinVoiceNoteFailed",
        "linkedinLikeLastPostDone", "linkedinLikeLastPostNoPost", "linkedinLikeLastPostFailed",
        "linkedinWithdrawInvitationDone", "linkedinWithdrawInvitationFailed",
        "whatsappMessageSent", "whatsappMessageDelivered", "whatsappMessageOpened",
        "whatsappReplied", "whatsappMessageFailed", "smsSent", "smsDelivered", "smsReplied",
        "smsFailed", "aircallCreated", "aircallEnded", "aircallDone", "aircallInterested",
        "aircallNotInterested", "apiDone", "apiInterested", "apiNotInterested", "apiFailed",
        "manualInterested", "manualNotInterested", "paused", "resumed", "stopped",
        "campaignComplete", "customDomainErrors", "connectionIssue", "sendLimitReached",
        "lemwarmPaused", "annotated", "enrichmentDone", "enrichmentError",
        "callRecordingDone", "callTranscriptDone", "inboxLabelUpdated", "signalRegistered",
        "deliverabilityAlertTriggered",
    }
)  # fmt: skip

# -- Unsubscribes (writes) ----------------------------------------------------------------
# https://developer.lemlist.com/api-reference/endpoints/unsubscribes/unsubscribe-variable ,
# .../bulk-unsubscribe-variables , .../re-subscribe-variable : the bodies are the spec's
# examples; the two 200 bodies are JSON strings.
NO_VALUE_BODY: Final = "No value"
UNSUBSCRIBE_BULK_MAX: Final = 10_000
UNSUBSCRIBE_BULK_TOO_MANY_BODY: Final = "Maximum 10000 values allowed"
VARIABLES_UNSUBSCRIBED: Final = "Variables unsubscribed"
VARIABLE_SUBSCRIBED: Final = "Variable subscribed"
VARIABLE_NOT_FOUND_BODY: Final = "Variable not found in unsubscribe list"
VARIABLE_PROTECTED_BODY: Final = "Variable is protected and cannot be re-subscribed"
#: "Variables with a protected source (LEAD or ABUSE) cannot be re-subscribed."
PROTECTED_SOURCES: Final = frozenset({"lead", "abuse"})
#: The source of a variable unsubscribed through the API.
API_SOURCE: Final = "api"
