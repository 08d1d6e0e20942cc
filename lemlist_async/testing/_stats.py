"""Campaign stats and reports, computed from a campaign's own leads and steps.

lemlist documents the fields, not how it counts them
(https://developer.lemlist.com/api-reference/endpoints/campaigns/get-campaign-stats,
https://developer.lemlist.com/api-reference/endpoints/campaigns/get-campaign-reports),
so the fake's rules are its own, chosen to be deterministic and consistent: a
lead counts by its state (``contacted`` < ``hooked`` (opened) < ``attracted``
(clicked) < ``warmed`` (replied) < ``interested``, and the detailed states in
their places). Every lead-level count is at most ``nbLeads``; every step's
``delivered`` is ``sent - bounced - notDelivered``. The dates of a request are
checked, not applied: the fake's leads carry no activity dates.
"""

from __future__ import annotations

import collections
from collections.abc import Collection
from typing import Any, Final

from ._generate import Step
from ._store import Campaign

_NOT_LAUNCHED: Final = frozenset({"imported", "scanned", "skipped", "reviewed"})
_FAILED: Final = frozenset(
    {"failed", "emailsFailed", "linkedinVisitFailed", "linkedinInviteFailed", "linkedinSendFailed"}
)
_BOUNCED: Final = frozenset({"emailsBounced"})
_INTERESTED: Final = frozenset(
    {
        "interested",
        "meetingBooked",
        "emailsInterested",
        "linkedinInterested",
        "aircallInterested",
        "apiInterested",
        "manualInterested",
    }
)
_NOT_INTERESTED: Final = frozenset(
    {
        "notInterested",
        "emailsNotInterested",
        "linkedinNotInterested",
        "aircallNotInterested",
        "apiNotInterested",
        "manualNotInterested",
    }
)
_ANSWERED: Final = (
    frozenset({"warmed", "emailsReplied", "linkedinReplied"}) | _INTERESTED | _NOT_INTERESTED
)
_CLICKED: Final = frozenset({"attracted", "emailsClicked"})
_OPENED: Final = frozenset({"hooked", "emailsOpened", "linkedinOpened"}) | _CLICKED | _ANSWERED
#: Which ``channels`` value each step's ``taskType`` belongs to; the rest are "others".
_CHANNEL_OF: Final = {
    "email": "email",
    "linkedinVisit": "linkedin",
    "linkedinInvite": "linkedin",
    "linkedinSend": "linkedin",
}
CHANNELS: Final = frozenset({"email", "linkedin", "others"})
_CONDITION_LABEL: Final = "Opened the previous email?"


def campaign_stats(campaign: Campaign, channels: Collection[str] | None) -> dict[str, Any]:
    """Get Campaign Stats' body; ``channels`` keeps only those steps (``None`` or empty: all)."""
    counts = campaign.state_counts()
    leads = sum(counts.values())
    launched = leads - _count(counts, _NOT_LAUNCHED)
    steps = [
        _step_stats(step, counts, launched, len(campaign.details.steps))
        for step in campaign.details.steps
        if not channels or _CHANNEL_OF.get(step.task_type, "others") in channels
    ]
    return {
        "nbLeads": leads,
        "nbLeadsLaunched": launched,
        "nbLeadsReached": launched - _count(counts, _FAILED | _BOUNCED),
        "nbLeadsOpened": _count(counts, _OPENED),
        "nbLeadsInteracted": _count(counts, _CLICKED | _ANSWERED),
        "nbLeadsAnswered": _count(counts, _ANSWERED),
        "nbLeadsInterested": _count(counts, _INTERESTED),
        "nbLeadsNotInterested": _count(counts, _NOT_INTERESTED),
        "nbLeadsUnsubscribed": counts["emailsUnsubscribed"],
        "nbLeadsInterrupted": counts["paused"],
        "messagesSent": sum(step["sent"] for step in steps),
        "messagesNotSent": sum(step["notDelivered"] for step in steps),
        "messagesBounced": sum(step["bounced"] for step in steps),
        "delivered": sum(step["delivered"] for step in steps),
        "opened": sum(step["opened"] for step in steps),
        "clicked": sum(step["clicked"] for step in steps),
        "replied": sum(step["replied"] for step in steps),
        "invitationAccepted": counts["linkedinInviteAccepted"],
        "meetingBooked": counts["meetingBooked"],
        "steps": steps,
    }


def campaign_report(campaign: Campaign) -> dict[str, Any]:
    """Get Campaign Reports' item for a campaign (the spec's fields, all of them)."""
    details = campaign.details
    counts = campaign.state_counts()
    stats = campaign_stats(campaign, None)
    first_is_email = bool(details.steps) and details.steps[0].task_type == "email"
    return {
        "_id": campaign.id,
        "name": details.name,
        "creator": f"{details.creator.id}|{details.creator.email}",
        "createdAt": details.created_at,
        # The spec: "Name of the user who created the campaign" (a name, not an id).
        "createdBy": details.creator.name,
        "labels": ",".join(details.labels),
        "totalCount": stats["nbLeads"],
        "reviewedCount": stats["nbLeadsLaunched"] + counts["reviewed"],
        "inSequenceLeadCount": stats["nbLeadsLaunched"],
        # The spec tells "state" (running, paused) from "status" (draft, ended):
        # the fake runs a campaign whose status is running, else pauses it.
        "state": "running" if campaign.status == "running" else "paused",
        "status": campaign.status,
        "senderNames": ",".join(user.email for user, _ in details.senders),
        "sendersUsers": ",".join(f"{user.name}:{user.email}" for user, _ in details.senders),
        "reviewed": counts["reviewed"],
        "emailsSent": _sent_on(stats, details.steps, {"email"}),
        "emailsOpened": stats["nbLeadsOpened"] if first_is_email else 0,
        "emailsClicked": _count(counts, _CLICKED) if first_is_email else 0,
        "emailsReplied": stats["nbLeadsAnswered"] if first_is_email else 0,
        "emailsUnsubscribed": stats["nbLeadsUnsubscribed"],
        "emailsInterested": counts["emailsInterested"],
        "linkedinSent": _sent_on(stats, details.steps, {"linkedinSend"}),
        "linkedinOpened": counts["linkedinOpened"],
        "linkedinReplied": counts["linkedinReplied"],
        "interested": stats["nbLeadsInterested"],
        "notInterested": stats["nbLeadsNotInterested"],
    }


def _step_stats(
    step: Step, counts: collections.Counter[str], launched: int, total: int
) -> dict[str, Any]:
    # Every launched lead gets step 1; later steps reach fewer and fewer of
    # them. Lead-level outcomes (opens, bounces...) are counted on step 1.
    sent = launched - (launched * (step.index - 1)) // total
    first = step.index == 1
    bounced = _count(counts, _BOUNCED) if first else 0
    not_delivered = _count(counts, _FAILED) if first else 0
    body: dict[str, Any] = {
        "index": step.index,
        "sequenceId": step.sequence_id,
        "sequenceStep": step.index - 1,
        "taskType": step.task_type,
        "invited": sent if step.task_type == "linkedinInvite" else 0,
        "sent": sent,
        "delivered": sent - bounced - not_delivered,
        "opened": _count(counts, _OPENED) if first else 0,
        "clicked": _count(counts, _CLICKED) if first else 0,
        "replied": _count(counts, _ANSWERED) if first else 0,
        "notDelivered": not_delivered,
        "bounced": bounced,
        "unsubscribed": counts["emailsUnsubscribed"] if first else 0,
    }
    if step.task_type == "conditional":
        body["conditionLabel"] = _CONDITION_LABEL
    return body


def _sent_on(stats: dict[str, Any], steps: tuple[Step, ...], task_types: set[str]) -> int:
    by_index = {step.index: step.task_type for step in steps}
    return sum(s["sent"] for s in stats["steps"] if by_index[s["index"]] in task_types)


def _count(counts: collections.Counter[str], states: frozenset[str]) -> int:
    return sum(counts[state] for state in states)
