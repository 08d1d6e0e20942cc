"""The team's account: credits, senders, webhooks, its Slack webhook, unsubscribed variables.

Each is drawn on first use from a generator of its own (``_generate.derived_rng``),
so none of them changes an older draw:

* credits: https://developer.lemlist.com/api-reference/endpoints/team/get-team-credits
* senders: https://developer.lemlist.com/api-reference/endpoints/team/get-team-senders
* webhooks: https://developer.lemlist.com/api-reference/endpoints/webhooks/get-many-webhooks
  (also Get Team's ``hooks``), and Get Team's ``slackWebhook``, a secret
* unsubscribed variables:
  https://developer.lemlist.com/api-reference/endpoints/unsubscribes/list-unsubscribed-variables
"""

from __future__ import annotations

import string
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

from ._generate import _COMPANIES, _FIRST_NAMES, _LAST_NAMES, TEAM_CREATED_AT, derived_rng, new_id
from ._lemlist import API_SOURCE, UNSUBSCRIBE_SOURCES
from ._wire import iso_z

if TYPE_CHECKING:
    from ._store import Campaign, Store

#: Webhook event types the seeded hooks listen to: a few of the spec's Webhook ``type`` enum.
_HOOK_TYPES: Final = (
    "emailsReplied", "emailsOpened", "emailsClicked", "emailsBounced", "emailsUnsubscribed",
    "interested", "linkedinInviteAccepted", "contacted", "paused",
)  # fmt: skip
#: Step task types that are not a sending channel.
_NOT_CHANNELS: Final = frozenset({"conditional"})
#: (kind, weight) of unsubscribed values: emails, ``@domain``s, LinkedIn URLs, phones.
_KINDS: Final = (("email", 70), ("domain", 15), ("linkedin", 10), ("phone", 5))
_SOURCE_WEIGHTS: Final = (10, 25, 40, 20, 5)  # api, bounced, lead, user, abuse


class Account:
    """What the team has besides campaigns; each part is drawn once, on first use."""

    def __init__(self, store: Store, seed: int, hooks: tuple[int, int], unsubscribes: int) -> None:
        self._store = store
        self._seed = seed
        self._hook_range = hooks
        self._unsubscribe_count = unsubscribes
        self._hooks: list[dict[str, Any]] | None = None
        self._secrets: dict[str, str] = {}  # hook id -> secret, never answered
        self._unsubscribes: list[dict[str, Any]] | None = None
        self._unsubscribed: dict[str, dict[str, Any]] = {}  # value -> its record

    def credits(self) -> dict[str, Any]:
        """Get Team Credits' body: the remaining credits, in total and by kind."""
        rng = derived_rng(self._seed, "credits")
        remaining = {
            "freemium": rng.choice((0, 0, 50)),
            "subscription": rng.randrange(0, 5000, 10),
            "gifted": rng.choice((0, 10, 100)),
            "paid": rng.randrange(0, 2000, 50),
        }
        total = sum(remaining.values())
        return {"credits": total, "details": {"remaining": {"total": total, **remaining}}}

    def slack_webhook(self) -> dict[str, Any]:
        """Get Team's ``slackWebhook``: a URL that is a secret in real life."""
        rng = derived_rng(self._seed, "slack")
        token = "".join(rng.choices(string.ascii_letters + string.digits, k=24))
        return {
            "url": f"https://hooks.slack.com/services/TFAKE{rng.randrange(10**6):06d}/"
            f"BFAKE{rng.randrange(10**6):06d}/FAKE{token}",
            "failCounter": 0,
        }

    def hooks(self) -> list[dict[str, Any]]:
        """The team's webhooks, oldest first (a copy of each, never with its secret)."""
        return [dict(hook) for hook in self._all_hooks()]

    def add_hook(self, hook_id: str, hook: dict[str, Any], secret: str | None) -> dict[str, Any]:
        """Add a webhook (``hook`` without ``_id``), newest; return a copy of it."""
        stored = {"_id": hook_id, **hook}
        self._all_hooks().append(stored)
        if secret:
            self._secrets[hook_id] = secret
        return dict(stored)

    def delete_hook(self, hook_id: str) -> dict[str, Any] | None:
        """Delete a webhook and return it, or ``None`` if there is none of that id."""
        hooks = self._all_hooks()
        for index, hook in enumerate(hooks):
            if hook["_id"] == hook_id:
                del hooks[index]
                self._secrets.pop(hook_id, None)
                return hook
        return None

    def hook_targets(self) -> list[tuple[dict[str, Any], str | None]]:
        """Every webhook, oldest first, with its secret: what a delivery needs."""
        return [(dict(hook), self._secrets.get(hook["_id"])) for hook in self._all_hooks()]

    def _all_hooks(self) -> list[dict[str, Any]]:
        if self._hooks is None:
            self._hooks = self._draw_hooks()
        return self._hooks

    def senders(self, state: str | None) -> list[dict[str, Any]]:
        """Get Team Senders' body: each user who sends for a campaign (of ``state``)."""
        by_user: dict[str, list[dict[str, Any]]] = {}
        for campaign in self._store.in_creation_order():
            if state is not None and not in_state(campaign, state):
                continue
            for user, _ in campaign.details.senders:
                by_user.setdefault(user.id, []).append(_sending(campaign))
        return [
            {"userId": user.id, "campaigns": by_user[user.id]}
            for user in self._store.team.users
            if user.id in by_user
        ]

    def unsubscribes(self) -> list[dict[str, Any]]:
        """The unsubscribed variables, oldest first (built once)."""
        if self._unsubscribes is None:
            self._unsubscribes = self._draw_unsubscribes()
            self._unsubscribed = {item["value"]: item for item in self._unsubscribes}
        return self._unsubscribes

    def unsubscribed(self, value: str) -> dict[str, Any] | None:
        """The record of an unsubscribed ``value`` (exact match), if any."""
        self.unsubscribes()
        return self._unsubscribed.get(value)

    def unsubscribe(self, unsubscribe_id: str, value: str, created_at: str) -> dict[str, Any]:
        """Add ``value``, newest, with source ``api``, and return its record.

        The caller checks first that it is not unsubscribed already.
        """
        items = self.unsubscribes()
        item = {
            "_id": unsubscribe_id,
            "value": value,
            "source": API_SOURCE,
            "createdAt": created_at,
        }
        items.append(item)
        self._unsubscribed[value] = item
        return item

    def resubscribe(self, value: str) -> None:
        """Remove ``value`` from the list (the caller checks that it is there)."""
        item = self._unsubscribed.pop(value)
        self.unsubscribes().remove(item)

    def latest(self) -> str | None:
        """The newest ``createdAt`` of the webhooks and unsubscribed variables."""
        dates = [hook["createdAt"] for hook in self._all_hooks()]
        dates += [item["createdAt"] for item in self.unsubscribes()]
        return max(dates, default=None)

    def team_body(self, *, with_users: bool) -> dict[str, Any]:
        """Get Team's body: the team, its hooks and Slack webhook (and users with v2)."""
        body: dict[str, Any] = {}
        for key, value in self._store.team.as_json(with_users=with_users).items():
            body[key] = value
            if key == "hooks":
                body["hooks"] = self.hooks()
                body["slackWebhook"] = self.slack_webhook()
        return body

    def _draw_hooks(self) -> list[dict[str, Any]]:
        rng = derived_rng(self._seed, "hooks")
        campaign_ids = self._store.seeded_ids
        created = TEAM_CREATED_AT
        hooks = []
        for _ in range(rng.randint(*self._hook_range)):
            created += timedelta(days=rng.randint(1, 90), seconds=rng.randrange(86_400))
            hook: dict[str, Any] = {"_id": new_id(rng, "hoo_")}
            if rng.random() < 0.5:
                zap_id = rng.randrange(10**7, 10**8)
                hook["targetUrl"] = (
                    f"https://hooks.zapier.com/hooks/standard/{rng.randrange(10**6)}/{zap_id}/"
                )
                hook["zapId"] = zap_id
            else:
                hook["targetUrl"] = f"https://example.com/webhooks/{rng.getrandbits(32):08x}"
            hook["createdAt"] = iso_z(created)
            if rng.random() < 0.8:  # without a type, a hook receives every event
                hook["type"] = rng.choice(_HOOK_TYPES)
            if campaign_ids and rng.random() < 0.7:
                hook["campaignId"] = rng.choice(campaign_ids)
            if rng.random() < 0.3:
                hook["isFirst"] = True
            hooks.append(hook)
        return hooks

    def _draw_unsubscribes(self) -> list[dict[str, Any]]:
        rng = derived_rng(self._seed, "unsubscribes")
        kinds = [kind for kind, _ in _KINDS]
        weights = [weight for _, weight in _KINDS]
        created = TEAM_CREATED_AT
        seen: set[str] = set()
        items: list[dict[str, Any]] = []
        while len(items) < self._unsubscribe_count:
            value = _value(rng.choices(kinds, weights)[0], rng.randrange(10**6))
            if value in seen:
                continue
            seen.add(value)
            created += timedelta(milliseconds=rng.randrange(1, 6 * 3_600_000))
            items.append(
                {
                    "_id": new_id(rng, "uns_"),
                    "value": value,
                    "source": rng.choices(UNSUBSCRIBE_SOURCES, _SOURCE_WEIGHTS)[0],
                    "createdAt": iso_z(created),
                }
            )
        return items


def in_state(campaign: Campaign, state: str) -> bool:
    """Whether a campaign is in a ``status`` filter's state (``errors``: it has errors)."""
    details = campaign.details
    return details.has_error if state == "errors" else campaign.status == state


def _sending(campaign: Campaign) -> dict[str, Any]:
    details = campaign.details
    channels = dict.fromkeys(
        step.task_type for step in details.steps if step.task_type not in _NOT_CHANNELS
    )
    return {
        "_id": campaign.id,
        "name": details.name,
        "status": campaign.status,
        "sendingChannels": list(channels),
    }


def _value(kind: str, number: int) -> str:
    first = _FIRST_NAMES[number % len(_FIRST_NAMES)].lower()
    last = _LAST_NAMES[number // len(_FIRST_NAMES) % len(_LAST_NAMES)].lower()
    domain = _COMPANIES[number % len(_COMPANIES)][1]
    if kind == "email":
        return f"{first}.{last}.{number}@{domain}"
    if kind == "domain":
        return f"@{last}-{number}.{domain}"
    if kind == "linkedin":
        return f"https://www.linkedin.com/in/{first}-{last}-{number}"
    return f"+1555{number:07d}"
