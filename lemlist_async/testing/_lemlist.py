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
