"""Every tunable default of the SDK, on one screen.

Values that come from lemlist's documentation link to it; the rest are the
SDK's own choices, explained where they are used.
"""

from __future__ import annotations

from typing import Final

# -- Connection ---------------------------------------------------------------
#: https://developer.lemlist.com/api-reference (servers)
DEFAULT_BASE_URL: Final = "https://api.lemlist.com/api"
#: Where the client looks for a key when none is passed.
API_KEY_ENV_VAR: Final = "LEMLIST_API_KEY"
#: Seconds for one attempt: connect, send, response headers and body.
DEFAULT_TIMEOUT: Final = 30.0
#: Seconds to get a connection, within the attempt's timeout. A connect that
#: fails has sent nothing, so even a write may be tried again after it.
CONNECT_TIMEOUT: Final = 10.0
#: Most bytes of one response body, decompressed, that the client reads. A page
#: of 500 leads is about 100 kB; this leaves room for pages a hundred times
#: fatter, and stops a runaway or compressed "bomb" body long before memory does.
MAX_RESPONSE_SIZE: Final = 32 * 1024 * 1024
#: Bytes read from a response body at a time.
BODY_CHUNK: Final = 64 * 1024

# -- Get Campaign Leads ---------------------------------------------------------
# https://developer.lemlist.com/api-reference/endpoints/leads/get-campaign-leads
LEADS_LIMIT_MIN: Final = 1
LEADS_LIMIT_MAX: Final = 500

#: Lead states lemlist does not document are kept as pseudo-members of
#: ``LeadState``; at most this many are cached, each at most this long, so memory
#: stays bounded whatever strings the server sends.
UNKNOWN_STATES_CACHED: Final = 256
UNKNOWN_STATE_CACHED_CHARS: Final = 64

# -- Campaigns ------------------------------------------------------------------
# https://developer.lemlist.com/api-reference/endpoints/campaigns/get-many-campaigns
CAMPAIGNS_PAGE_MAX: Final = 100
# https://developer.lemlist.com/api-reference/endpoints/campaigns/get-batch-campaign-stats
STATS_BATCH_MAX: Final = 100
#: Ids per Get Campaign Reports request. lemlist documents no bound, but the ids
#: travel in the URL, and proxies commonly refuse URLs past 8 KiB: 100 ids of
#: about 21 characters keep it near 2 KiB.
REPORTS_IDS_PER_REQUEST: Final = 100
#: An export is every lead of a campaign in one body: 100,000 leads with ten
#: custom variables come to about 60 MB, past the default per-response cap.
EXPORT_MAX_RESPONSE_SIZE: Final = 1024 * 1024 * 1024

# -- Other lists -----------------------------------------------------------------
# https://developer.lemlist.com/api-reference/endpoints/activities/get-many-activities
ACTIVITIES_PAGE_MAX: Final = 100
# https://developer.lemlist.com/api-reference/endpoints/unsubscribes/list-unsubscribed-variables
UNSUBSCRIBES_PAGE_MAX: Final = 100

# -- Writes ----------------------------------------------------------------------
# https://developer.lemlist.com/api-reference/endpoints/unsubscribes/bulk-unsubscribe-variables
UNSUBSCRIBES_BULK_MAX: Final = 10_000
#: Sends of one create at most when ``reconcile`` is on: the first, then one more
#: each time a look-up proves an ambiguous attempt left nothing behind.
RECONCILE_SENDS: Final = 3
#: Seconds to wait before looking up a create that got no answer (a timeout, a
#: dropped connection): lemlist may still be applying it, and a look-up made too
#: early would miss it and send a duplicate. After a 5xx the server has
#: finished with the request, so the look-up is made at once.
RECONCILE_SETTLE: Final = 2.0

# -- Rate limit -----------------------------------------------------------------
# https://developer.lemlist.com/api-reference#rate-limit : 20 requests per 2 s per key.
RATE_LIMIT: Final = 20
RATE_WINDOW: Final = 2.0
#: Seconds a slot stays taken past ``RATE_WINDOW`` after its response, to absorb
#: timer granularity between the client's clock and the server's.
RATE_MARGIN: Final = 0.005
#: Seconds the requests queued behind a probe (the one request sent alone when
#: the limiter knows nothing recent about a shared key's window) wait for its
#: answer before they go anyway: one window, far above a normal round trip, so
#: that a probe that hangs costs at most one window.
PROBE_TIMEOUT: Final = 2.0
#: ``X-RateLimit-Reset`` has a resolution of one second (JavaScript
#: ``Date.toString()``), so a reset read from it is pushed back by this much.
RESET_HEADER_MARGIN: Final = 1.0
#: A 429 or a pause that asks to wait longer than this raises ``RateLimitError``
#: at once rather than sleeping.
MAX_RATE_LIMIT_WAIT: Final = 60.0
#: Header values past this many seconds are treated as garbage, never slept on.
MAX_HEADER_DELAY: Final = 86_400.0

# -- Fan-out -------------------------------------------------------------------
#: Fetches in flight in ``stream_campaign_leads`` by default: the rate limit's 20
#: slots plus a few queued, so that a freed slot never waits for a task to start.
FANOUT_CONCURRENCY: Final = 24
#: Ids a fan-out reads from its source before it lets the event loop run: a
#: source of ids already seen starts no fetch, and must not starve the loop.
FANOUT_READ_BATCH: Final = 256

# -- Retries --------------------------------------------------------------------
#: Retries after the first attempt (so at most ``1 + MAX_RETRIES`` attempts).
MAX_RETRIES: Final = 4
#: Exponential backoff with full jitter: ``uniform(0, min(cap, base * 2**n))``.
BACKOFF_BASE: Final = 0.5
BACKOFF_CAP: Final = 8.0
#: Statuses worth another attempt for an idempotent request.
RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})

# -- Shared limiter in Redis (lemlist_async.redis) ----------------------------------
#: Seconds a slot in flight lives if its process never completes it (it crashed or
#: lost Redis). Longer than the client's default per-attempt timeout (30 s) plus a
#: window, so that a live request never outlives its slot and a dead worker's
#: in-flight requests keep their slots for as long as the server may count them.
REDIS_LEASE: Final = 60.0
#: Seconds one Redis call may take before the limiter gives up and fails closed.
REDIS_TIMEOUT: Final = 5.0
#: Shortest sleep before asking Redis again after a refusal (the key is paused).
#: The pause's end and the wake-up meet within timer resolution; this keeps a
#: wake-up a hair early from asking again at once.
REDIS_MIN_POLL: Final = 0.001
#: Seconds a waiter queued in Redis waits for the message that hands it a slot
#: before it asks again, plus ``window / limit`` for each waiter ahead of it (the
#: pace at which slots free at the limit). Pub/sub delivers at most once: a
#: message lost while the subscription reconnects, or capacity freed by a lease
#: running out (which no process announces), costs at most this long. Well above
#: a normal wait, so that a healthy queue never asks twice.
REDIS_WAKE_TIMEOUT: Final = 5.0
#: First part of every Redis key the limiter writes.
#: Seconds one read of a Redis Cluster subscription waits before it reads
#: again (redis-py's cluster pub/sub takes a number, not "wait forever").
REDIS_CLUSTER_READ: Final = 60.0
REDIS_KEY_PREFIX: Final = "lemlist-async"

# -- Error reporting --------------------------------------------------------------
#: Longest server message kept in an exception's ``str()``; the full body stays
#: available as ``.body``.
MAX_MESSAGE_CHARS: Final = 500

# -- Webhooks (lemlist_async.webhooks) ----------------------------------------------
#: Most bytes of one webhook delivery that a receiver reads. A delivery is one
#: activity record, a few kilobytes even with many custom variables; this leaves
#: a hundred times that, and refuses a runaway or hostile body long before memory.
WEBHOOK_MAX_BODY: Final = 1024 * 1024

# -- Account sync (lemlist_async.sync) ---------------------------------------------
#: Units of work (an activity window, a campaign's export) in flight at once.
#: At the limit of 10 requests a second, keeping the limiter, not latency, in
#: charge takes 10 x the round trip in seconds: 20 covers round trips of 2 s.
SYNC_CONCURRENCY: Final = 20
#: Width of the activity windows a run starts with, in seconds (30 days). A
#: window whose first page shows it holds many pages is split (below); an empty
#: one costs one request.
SYNC_WINDOW: Final = 30 * 86_400.0
#: A window whose first page predicts more pages than this is split...
SYNC_SPLIT_ABOVE_PAGES: Final = 4
#: ... into pieces of about this many pages (at most ``SYNC_SPLIT_MAX`` pieces),
#: so that no window's walk, one page after the other, outlasts the others'.
#: The prediction reads the first page's density, which is the newest part of
#: the window: feeds are often sparser there, so it errs low, and a piece whose
#: own first page predicts more is split again. Smaller pieces shorten the walk
#: of the last windows but each ends on a short page: on the benchmark's account
#: (50,000 activities) 4 and 4 gave 1.06x the fastest legal schedule for 753
#: requests; 8 and 8 gave 1.10x for 677; 2 and 2, 1.07x for 886.
SYNC_SPLIT_TARGET_PAGES: Final = 4
SYNC_SPLIT_MAX: Final = 16
#: Windows narrower than this many seconds are never split: their activities
#: share so few instants that only offsets can walk them.
SYNC_WINDOW_MIN: Final = 1.0
#: Seconds each run reads again before the last run's end (its watermark):
#: activities that lemlist records late, or with an earlier date, still arrive.
SYNC_OVERLAP: Final = 3600.0
#: Seconds before now where a run's last window ends: clocks differ, and
#: lemlist may not show an activity the instant it is dated.
SYNC_SAFETY_LAG: Final = 60.0
#: Leads of an export written per transaction.
SYNC_EXPORT_CHUNK: Final = 500
#: Where a first run starts reading activities when Get Team gives no creation
#: date: before lemlist existed (seconds since the epoch: 2015-01-01 UTC).
SYNC_EARLIEST: Final = 1_420_070_400.0
#: Characters of a failed run's error kept in ``_lemlist_sync_runs``.
SYNC_ERROR_CHARS: Final = 500
