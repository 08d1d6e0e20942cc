"""Models to rows: typed columns, the raw object without its secrets, and its digest.

Pure functions. ``raw`` is the model turned back into lemlist's JSON by the
SDK's converter (wire names, unknown members kept), so it holds what lemlist
sent, minus what must never be stored: the team's API key (some integrations
have seen one in Get Team's body), its Slack webhook's URL, and every member
``_secrets.secret_name`` calls secret (a webhook's secret, a token...),
wherever they appear in the team's objects (team, users, senders, webhooks).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

from lemlist_async._converter import make_converter
from lemlist_async._models import (
    Activity,
    Campaign,
    CampaignOfSender,
    ExportedLead,
    Team,
    TeamUser,
    Unsubscribe,
    Webhook,
)
from lemlist_async._secrets import secret_name

from ._ops import Row

__all__ = [
    "Row",
    "activity_row",
    "campaign_row",
    "hook_row",
    "lead_row",
    "scrub",
    "sender_row",
    "team_row",
    "unsubscribe_row",
    "user_row",
]


def lemlist_date(value: dt.datetime) -> str:
    """A date as lemlist writes it (JavaScript's ``toISOString``): milliseconds and ``Z``.

    A finer date (none comes from lemlist) keeps its microseconds.
    """
    spec = "milliseconds" if value.microsecond % 1000 == 0 else "microseconds"
    return value.astimezone(dt.UTC).isoformat(timespec=spec).replace("+00:00", "Z")


#: The SDK's converter, with dates written back as lemlist writes them, so that
#: ``raw`` holds lemlist's own text ("2024-05-01T10:00:00.123Z"), not Python's.
_WIRE = make_converter(detailed=False)
_WIRE.register_unstructure_hook(dt.datetime, lemlist_date)

#: Members whose object's ``url`` is a secret (a Slack incoming webhook).
SECRET_URL_HOLDERS: Final = frozenset({"slackWebhook"})


def scrub(value: Any) -> Any:
    """``value`` with every secret member removed, at any depth; the input is not changed."""
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if secret_name(str(key)):
                continue
            if key in SECRET_URL_HOLDERS and isinstance(item, Mapping):
                item = {k: v for k, v in item.items() if k != "url"}
            out[key] = scrub(item)
        return out
    if isinstance(value, list):
        return [scrub(item) for item in value]
    return value


def _raw(model: object, *, secrets: bool = False, **more: Any) -> tuple[str, str]:
    # Only the team's objects may hold secrets (``secrets``): the scrub's walk of
    # every member is not paid on the hundred thousands of leads and activities.
    wire = _WIRE.unstructure(model)
    if secrets:
        wire = scrub(wire)
    wire.update(more)
    text = json.dumps(wire, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text, hashlib.sha256(text.encode()).hexdigest()


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def team_row(team: Team) -> Row:
    return (team.id, team.name, team.created_by, team.created_at, *_raw(team, secrets=True))


def user_row(user: TeamUser) -> Row | None:
    """A user's row, or None for one without an id (nothing to key it by)."""
    if user.user_id is None:
        return None
    return (user.user_id, user.name, user.email, user.role, *_raw(user, secrets=True))


def campaign_row(campaign: Campaign) -> Row:
    return (
        campaign.id,
        campaign.name,
        _text(campaign.status),
        campaign.created_at,
        campaign.created_by,
        campaign.sequence_id,
        campaign.has_error,
        *_raw(campaign),
    )


def sender_row(user_id: str, campaign: CampaignOfSender) -> Row | None:
    """A (campaign, sender) row, or None for a campaign without an id."""
    if campaign.id is None:
        return None
    channels = None
    if campaign.sending_channels is not None:
        channels = json.dumps(list(campaign.sending_channels), separators=(",", ":"))
    return (
        campaign.id,
        user_id,
        _text(campaign.status),
        channels,
        *_raw(campaign, secrets=True, userId=user_id),
    )


def lead_row(campaign_id: str, lead: ExportedLead) -> Row:
    return (
        campaign_id,
        lead.id,
        lead.email,
        lead.first_name,
        lead.last_name,
        lead.company_name,
        lead.job_title,
        _text(lead.last_state),
        lead.status,
        _text(lead.email_status),
        *_raw(lead),
    )


def activity_row(activity: Activity) -> Row:
    is_first = activity.extra.get("isFirst")
    return (
        activity.id,
        _text(activity.type),
        activity.created_at,
        activity.campaign_id,
        activity.lead_id,
        activity.sequence_id,
        activity.sequence_step,
        is_first if isinstance(is_first, bool) else None,
        *_raw(activity),
    )


def unsubscribe_row(entry: Unsubscribe) -> Row:
    return (entry.id, entry.value, _text(entry.source), entry.created_at, *_raw(entry))


def hook_row(hook: Webhook) -> Row:
    return (
        hook.id,
        _text(hook.type),
        hook.campaign_id,
        hook.target_url,
        hook.created_at,
        *_raw(hook, secrets=True),
    )


def unique(rows: Iterable[Row | None], key_width: int) -> tuple[Row, ...]:
    """The rows without None, each key once (the last wins): PostgreSQL refuses
    a statement that would update one row twice."""
    by_key = {row[:key_width]: row for row in rows if row is not None}
    return tuple(by_key.values())
