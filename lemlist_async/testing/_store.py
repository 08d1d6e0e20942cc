"""The fake's seeded data: a team, its users, campaigns and their leads.

Everything is built on first use and cached, except the export's rows, which
are streamed from their seeds on every read so that a campaign of 100,000 leads
never sits in memory as 100,000 profiles. See ``_generate`` for how the newer
fields are drawn without changing the older draws.
"""

from __future__ import annotations

import collections
import itertools
import json
import random
from collections.abc import Iterable, Iterator
from typing import Any, Final, Literal, TypeAlias

import attrs
from aiohttp import web

from ._account import Account
from ._activities import Activities
from ._generate import (
    CampaignDetails,
    Team,
    derived_rng,
    draw_details,
    draw_team,
    new_id,
    profiles,
)
from ._people import LeadDirectory, draw_people, lead_status, place_people

#: (state, weight): the common global states dominate, a few detailed ones
#: (see lemlist-api.md) appear so that clients meet them too.
_STATE_WEIGHTS: Final[tuple[tuple[str, int], ...]] = (
    ("contacted", 30),
    ("scanned", 18),
    ("hooked", 6),
    ("interested", 6),
    ("imported", 5),
    ("notInterested", 5),
    ("attracted", 4),
    ("emailsBounced", 4),
    ("reviewed", 3),
    ("skipped", 3),
    ("warmed", 3),
    ("paused", 3),
    ("emailsUnsubscribed", 2),
    ("meetingBooked", 2),
    ("failed", 1),
    ("emailsSent", 2),
    ("emailsOpened", 2),
    ("emailsClicked", 1),
    ("emailsReplied", 1),
    ("linkedinInviteDone", 1),
    ("linkedinInviteAccepted", 1),
    ("apiDone", 1),
    ("aircallDone", 1),
    ("manualInterested", 1),
)
_STATES: Final = tuple(state for state, _ in _STATE_WEIGHTS)
_STATE_CUM_WEIGHTS: Final = tuple(itertools.accumulate(weight for _, weight in _STATE_WEIGHTS))
#: Both contact id prefixes occur in lemlist's answers; most are ``ctc_``.
_CONTACT_PREFIX_CON_SHARE: Final = 0.2


#: The body of Get Many Campaigns: lemlist's observed v2 envelope, or the spec's array.
CampaignsShape: TypeAlias = Literal["envelope", "array"]

#: Export fields in the spec's CSV header order, before the custom variables;
#: https://developer.lemlist.com/api-reference/endpoints/campaigns/export-campaign-leads
EXPORT_FIELDS: Final = (
    "emailStatus",
    "email",
    "firstName",
    "lastName",
    "picture",
    "phone",
    "linkedinUrl",
    "timezone",
    "companyName",
    "companyDomain",
    "icebreaker",
)
#: In the spec's JSON export item, not in its CSV example (see `Campaign.export_rows`).
JSON_ONLY_FIELDS: Final = ("jobTitle",)
EXPORT_TAIL: Final = ("lastState", "status", "_id")


class Campaign:
    """One campaign: its details, its leads, and its cached JSON answers.

    Leads come either from a seeded `LeadFactory` (streamable, built on first
    use) or from a list given to `FakeLemlistServer.add_campaign`.
    """

    def __init__(
        self,
        campaign_id: str,
        index: int,
        details_seed: str,
        leads: LeadFactory | list[dict[str, Any]],
        store: Store,
        variable_range: tuple[int, int] = (0, 0),
    ) -> None:
        self.id = campaign_id
        self.index = index
        self.details_seed = details_seed
        self.variable_range = variable_range
        self._details: CampaignDetails | None = None
        self._leads = leads
        self._store = store
        self._newest_first: list[dict[str, Any]] | None = None
        self._bodies: dict[tuple[str | None, int], bytes] = {}
        self._state_counts: collections.Counter[str] | None = None
        self._shared: dict[int, dict[str, str]] | None = None

    @property
    def details(self) -> CampaignDetails:
        if self._details is None:
            rng = derived_rng(self.details_seed, "details")
            self._details = draw_details(rng, self.index, self._store.team, self.variable_range)
        return self._details

    @property
    def variables(self) -> tuple[str, ...]:
        """The custom variables' names; leads given by a test carry none."""
        return self.details.variables if isinstance(self._leads, LeadFactory) else ()

    def newest_first(self) -> list[dict[str, Any]]:
        """Get Campaign Leads' items, newest first (built once, then cached)."""
        if self._newest_first is None:
            leads = self._leads() if isinstance(self._leads, LeadFactory) else self._leads
            self._newest_first = leads[::-1]
        return self._newest_first

    def oldest_first(self) -> Iterable[dict[str, Any]]:
        """The leads in creation order, streamed from the seed unless already built."""
        if self._newest_first is not None:
            return self._newest_first[::-1]
        if isinstance(self._leads, LeadFactory):
            return self._leads.stream()
        return self._leads

    def body(self, state: str | None, limit: int) -> bytes:
        """The JSON answer for a ``state`` filter (``None``: all) and ``limit``."""
        key = (state, limit)
        body = self._bodies.get(key)
        if body is None:
            leads = self.newest_first()
            if state is not None:
                leads = [lead for lead in leads if lead.get("state") == state]
            body = json.dumps(leads[:limit], separators=(",", ":")).encode("utf-8")
            # Serializing 500 leads costs far more than the rest of a request;
            # benchmarks ask the same pages over and over.
            self._bodies[key] = body
        return body

    def state_counts(self) -> collections.Counter[str]:
        """How many leads are in each state (cached); stats and reports read it."""
        if self._state_counts is None:
            self._state_counts = collections.Counter(
                str(lead.get("state")) for lead in self.oldest_first()
            )
        return self._state_counts

    def export_rows(self, states: frozenset[str] | None) -> Iterator[dict[str, Any]]:
        """Export Campaign Leads' items, oldest first, streamed.

        Each is the lead's profile (`EXPORT_FIELDS`, then ``jobTitle``), the
        campaign's custom variables, then ``lastState`` (the lead's state),
        ``status`` and ``_id``. A given lead's own keys win over the drawn
        profile. ``states`` keeps only leads in those states (``None``: all).
        """
        return (row for _, _, row in self.rows(states))

    def rows(
        self, states: frozenset[str] | None
    ) -> Iterator[tuple[int, dict[str, Any], dict[str, Any]]]:
        """(position, lead, export row) of each lead, oldest first (position 0 first).

        A few seeded leads are the team's shared people (``_people``): the
        same person in several campaigns. They take the place of the drawn
        profile, whose draw still happens, so that no other lead changes.
        """
        details = self.details
        drawn = profiles(derived_rng(self.details_seed, "profiles"), details.value_pools)
        shared = self.shared_people()
        pairs = zip(self.oldest_first(), drawn, strict=False)
        for position, (lead, (profile, values)) in enumerate(pairs):
            state = str(lead.get("state", ""))
            if states is not None and state not in states:
                continue
            profile = shared.get(position, profile)
            row: dict[str, Any] = {
                name: lead.get(name, profile[name]) for name in EXPORT_FIELDS + JSON_ONLY_FIELDS
            }
            row.update(zip(self.variables, values, strict=False))
            row["lastState"] = state
            row["status"] = lead_status(state)
            row["_id"] = lead.get("_id", "")
            yield position, lead, row

    def shared_people(self) -> dict[int, dict[str, str]]:
        """The team's shared people among this campaign's leads, by position."""
        if self._shared is None:
            count = self._leads.count if isinstance(self._leads, LeadFactory) else 0
            self._shared = place_people(self.details_seed, count, self._store.people)
        return self._shared

    def as_json(self) -> dict[str, Any]:
        """The spec's Campaign object."""
        details = self.details
        team = self._store.team
        body: dict[str, Any] = {"_id": self.id, "name": details.name}
        if details.emoji is not None:
            body["emoji"] = details.emoji
        body.update(
            {
                "labels": list(details.labels),
                "createdAt": details.created_at,
                "createdBy": details.creator.id,
                "status": details.status,
                "sequenceId": details.sequence_id,
                "scheduleIds": [details.schedule_id],
                "timezone": details.timezone,
                "teamId": team.id,
                "hasError": details.has_error,
            }
        )
        if details.has_error:
            body["errors"] = list(details.errors)
        body["creator"] = {"userId": details.creator.id, "userEmail": details.creator.email}
        body["senders"] = [
            {"id": user.id, "email": user.email, "sendUserMailboxId": mailbox}
            for user, mailbox in details.senders
        ]
        return body


@attrs.frozen
class LeadFactory:
    """Generates a seeded campaign's leads, oldest first, always the same for a seed."""

    seed: int
    count: int

    def __call__(self) -> list[dict[str, Any]]:
        return list(self.stream())

    def stream(self) -> Iterator[dict[str, Any]]:
        """The same leads as a call, one at a time (the states are drawn first)."""
        rng = seeded_rng(self.seed)
        states = rng.choices(_STATES, cum_weights=_STATE_CUM_WEIGHTS, k=self.count)
        for state in states:
            prefix = "con_" if rng.random() < _CONTACT_PREFIX_CON_SHARE else "ctc_"
            yield {"_id": new_id(rng, "lea_"), "contactId": new_id(rng, prefix), "state": state}


class Store:
    """The team and every campaign the fake serves.

    Attributes:
        team: The team behind the API key, with its users.
        campaigns: Every campaign by id, in creation order (seeded, then added).
        seeded_ids: The seeded campaigns' ids, in seeding order.
        variables: The (low, high) count of custom variables per seeded campaign.
        campaigns_shape: The body of Get Many Campaigns, envelope or array.
        people: The team's shared people (``_people``).
        directory: Every lead by email and id.
        activities: The activity feed.
        account: Credits, senders, webhooks, unsubscribed variables.
    """

    def __init__(
        self,
        *,
        seed: int,
        variables: tuple[int, int],
        campaigns_shape: CampaignsShape,
        activities: int = 0,
        hooks: tuple[int, int] = (0, 0),
        unsubscribes: int = 0,
    ) -> None:
        self.team: Team = draw_team(seed)
        self.campaigns: dict[str, Campaign] = {}
        self.seeded_ids: list[str] = []
        self.variables = variables
        self.campaigns_shape: CampaignsShape = campaigns_shape
        self.people = draw_people(seed)
        self.directory = LeadDirectory(self)
        self.activities = Activities(self, seed, activities)
        self.account = Account(self, seed, hooks, unsubscribes)

    def seed(self, rng: random.Random, count: int, leads: tuple[int, int]) -> None:
        """Seed ``count`` campaigns from ``rng``, each with ``leads`` (low, high) leads."""
        low, high = leads
        for index in range(count):
            campaign_id = new_id(rng, "cam_")
            while campaign_id in self.campaigns:  # astronomically unlikely
                campaign_id = new_id(rng, "cam_")
            lead_count = rng.randint(low, high)
            # Leads are generated on first use, from their own seed, so that
            # 2,000 campaigns cost nothing until asked for and the result does
            # not depend on the order in which campaigns are read.
            lead_seed = rng.getrandbits(64)
            self.campaigns[campaign_id] = Campaign(
                campaign_id,
                index,
                f"seeded/{lead_seed}",
                LeadFactory(lead_seed, lead_count),
                self,
                self.variables,
            )
        self.seeded_ids = list(self.campaigns)

    def add(self, campaign_id: str, leads: list[dict[str, Any]]) -> None:
        """Serve ``leads`` (oldest first) under ``campaign_id``.

        A seeded campaign that is replaced keeps its details and place; a new
        one is created after every other.
        """
        old = self.campaigns.get(campaign_id)
        if old is None:
            campaign = Campaign(
                campaign_id, len(self.campaigns), f"added/{campaign_id}", leads, self
            )
        else:
            # Same seed and range: the same details are drawn again.
            campaign = Campaign(
                campaign_id, old.index, old.details_seed, leads, self, old.variable_range
            )
        self.campaigns[campaign_id] = campaign
        self.directory.clear()

    def in_creation_order(self) -> list[Campaign]:
        """Every campaign, oldest ``createdAt`` first."""
        return sorted(self.campaigns.values(), key=lambda campaign: campaign.index)


#: How a route reaches the store.
STORE: Final = web.AppKey("lemlist_fake_store", Store)


def seeded_rng(seed: int) -> random.Random:
    """A private generator: reproducible fake data is the point, not secrecy."""
    return random.Random(seed)  # noqa: S311
