"""The fake's seeded data: a team, its users, campaigns and their leads.

Everything is built on first use and cached, except the export's rows, which
are streamed from their seeds on every read so that a campaign of 100,000 leads
never sits in memory as 100,000 profiles. See ``_generate`` for how the newer
fields are drawn without changing the older draws.

The write routes change the data through `Store` and `Campaign`: what a write
sets is kept beside the seeded draws (by lead position, which never changes)
and wins over them, every cached answer it touches is forgotten, and the
lookup by email or id (``_people.LeadDirectory``) follows each change.
"""

from __future__ import annotations

import collections
import itertools
import json
import random
from collections.abc import Callable, Iterable, Iterator, Mapping
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
from ._lemlist import LEAD_FIELDS, PREFERRED_CONTACT_METHOD
from ._people import (
    LeadDirectory,
    LeadRecord,
    draw_people,
    epoch_ms,
    iso_ms,
    lead_status,
    place_people,
)

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
#: The state of a lead created through the API: lemlist scans a new lead before it
#: launches it (a state of the export's enum, in the fake's "not launched" set).
CREATED_STATE: Final = "scanned"
#: A write is dated this many milliseconds after the newest date the fake knows.
WRITE_STEP_MS: Final = 1000
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
#: The profile fields of an export item, in order.
_PROFILE_FIELDS: Final = EXPORT_FIELDS + JSON_ONLY_FIELDS
#: Export fields the spec constrains (an email, an enum): left out of a JSON item when unknown.
_OMITTED_WHEN_EMPTY: Final = frozenset({"email", "emailStatus"})
#: Keys of a write body that are not custom variables: profile fields and lead attributes.
_NOT_VARIABLES: Final = frozenset(
    {*EXPORT_FIELDS, *JSON_ONLY_FIELDS, *LEAD_FIELDS, PREFERRED_CONTACT_METHOD}
)


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
        # Every lead ever, oldest first, removed ones included: a lead's position
        # never changes, so that removing one never changes another's drawn profile.
        self._all: list[dict[str, Any]] | None = None
        self._newest_first: list[dict[str, Any]] | None = None
        self._bodies: dict[tuple[str | None, int], bytes] = {}
        self._state_counts: collections.Counter[str] | None = None
        self._shared: dict[int, dict[str, str]] | None = None
        # What the write routes changed, by position.
        self._removed: set[int] = set()
        self._written: dict[int, dict[str, str]] = {}
        self._paused: dict[int, bool] = {}
        self._by_api: set[int] = set()
        self._updated: dict[int, str] = {}
        self._graveyard: set[int] = set()
        self._new_variables: list[str] = []
        self._status: str | None = None

    @property
    def details(self) -> CampaignDetails:
        if self._details is None:
            rng = derived_rng(self.details_seed, "details")
            self._details = draw_details(rng, self.index, self._store.team, self.variable_range)
        return self._details

    @property
    def status(self) -> str:
        """The campaign's status: drawn, or set by Start Campaign or Pause Campaign."""
        return self.details.status if self._status is None else self._status

    @status.setter
    def status(self, value: str) -> None:
        self._status = value

    @property
    def variables(self) -> tuple[str, ...]:
        """The custom variables' names: the drawn ones (leads given by a test carry
        none), then those that leads created or updated through the API brought."""
        return self._drawn_variables() + tuple(self._new_variables)

    def _drawn_variables(self) -> tuple[str, ...]:
        return self.details.variables if isinstance(self._leads, LeadFactory) else ()

    def newest_first(self) -> list[dict[str, Any]]:
        """Get Campaign Leads' items, newest first (built once, then cached)."""
        if self._newest_first is None:
            removed = self._removed
            every = self._every_lead()
            self._newest_first = [
                lead for position, lead in enumerate(every) if position not in removed
            ][::-1]
        return self._newest_first

    def oldest_first(self) -> Iterable[dict[str, Any]]:
        """The leads in creation order, streamed from the seed unless already built."""
        if not self._removed:
            return self._lazy_leads()
        return (
            lead
            for position, lead in enumerate(self._lazy_leads())
            if position not in self._removed
        )

    def _lazy_leads(self) -> Iterable[dict[str, Any]]:
        """Every lead, removed ones included, without building the list for a seed."""
        if self._all is not None:
            return self._all
        if isinstance(self._leads, LeadFactory):
            return self._leads.stream()
        return self._leads

    def _every_lead(self) -> list[dict[str, Any]]:
        """Every lead, removed ones included, as the list that writes change."""
        if self._all is None:
            self._all = self._leads() if isinstance(self._leads, LeadFactory) else self._leads
        return self._all

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
        profile, and what the write routes set wins over both. ``states`` keeps
        only leads in those states (``None``: all). An unknown ``email`` or
        ``emailStatus`` (a lead created without them) is left out: the spec
        types them as an email and an enum (a CSV cell stays empty).
        """
        for _, _, row in self.rows(states):
            if row["email"] and row["emailStatus"]:
                yield row
            else:
                yield {
                    key: value
                    for key, value in row.items()
                    if value or key not in _OMITTED_WHEN_EMPTY
                }

    def rows(
        self, states: frozenset[str] | None
    ) -> Iterator[tuple[int, dict[str, Any], dict[str, Any]]]:
        """(position, lead, export row) of each lead, oldest first (position 0 first).

        A few seeded leads are the team's shared people (``_people``): the
        same person in several campaigns. They take the place of the drawn
        profile, whose draw still happens, so that no other lead changes. A
        removed lead keeps its position (and its draw), and is skipped.
        """
        details = self.details
        drawn = profiles(derived_rng(self.details_seed, "profiles"), details.value_pools)
        shared = self.shared_people()
        drawn_variables = self._drawn_variables()
        written_names = frozenset((*_PROFILE_FIELDS, *self.variables))
        new_variables = dict.fromkeys(self._new_variables, "")
        pairs = zip(self._lazy_leads(), drawn, strict=False)
        for position, (lead, (profile, values)) in enumerate(pairs):
            if position in self._removed:
                continue
            state = str(lead.get("state", ""))
            if states is not None and state not in states:
                continue
            profile = shared.get(position, profile)
            row: dict[str, Any] = {name: lead.get(name, profile[name]) for name in _PROFILE_FIELDS}
            row.update(zip(drawn_variables, values, strict=False))
            row.update(new_variables)
            written = self._written.get(position)
            if written:
                row.update((k, v) for k, v in written.items() if k in written_names)
            row["lastState"] = state
            row["status"] = lead_status(state)
            row["_id"] = lead.get("_id", "")
            yield position, lead, row

    # -- What the write routes change -----------------------------------------------------

    def append(
        self, lead: dict[str, Any], fields: Mapping[str, str], at: str
    ) -> tuple[int, dict[str, Any]]:
        """Add a lead created through the API, newest; return its position and row.

        ``fields`` are its profile and custom variables (any other key is kept
        for `written`); every profile field and custom variable it does not
        give is empty, never drawn.
        """
        leads = self._every_lead()
        position = len(leads)
        leads.append(lead)
        written = dict.fromkeys((*EXPORT_FIELDS, *JSON_ONLY_FIELDS, *self.variables), "")
        self._written[position] = written
        self._by_api.add(position)
        self._write(position, fields, at)
        return position, self.refreshed(position, {})

    def update(self, position: int, fields: Mapping[str, str], at: str) -> None:
        """Set profile fields, custom variables (new names join `variables`) or
        other attributes of the lead at ``position``."""
        self._write(position, fields, at)

    def set_state(self, position: int, state: str, at: str) -> None:
        """Set the state of the lead at ``position``."""
        self._every_lead()[position]["state"] = state
        self._write(position, {}, at)

    def set_paused(self, position: int, paused: bool, at: str) -> None:
        """Pause or resume the lead at ``position`` (its state is left as it is)."""
        self._paused[position] = paused
        self._write(position, {}, at)

    def remove(self, position: int) -> None:
        """Delete the lead at ``position``: no read shows it any more."""
        self._removed.add(position)
        self._changed()

    def bury(self, position: int) -> None:
        """Put the lead at ``position`` in lemlist's graveyard."""
        self._graveyard.add(position)

    def is_paused(self, position: int, state: str) -> bool:
        """Whether the lead is paused: as set by a write, else whether its state is ``paused``."""
        return self._paused.get(position, state == "paused")

    def is_buried(self, position: int) -> bool:
        return position in self._graveyard

    def by_api(self, position: int) -> bool:
        """Whether the lead was created through Create Lead in Campaign."""
        return position in self._by_api

    def updated_at(self, position: int) -> str | None:
        """When a write last changed the lead, if one did."""
        return self._updated.get(position)

    def written(self, position: int) -> Mapping[str, str]:
        """What the write routes set on the lead at ``position``, by field."""
        return self._written.get(position, {})

    def refreshed(self, position: int, row: Mapping[str, Any]) -> dict[str, Any]:
        """The row of the lead at ``position`` as `rows` now yields it, from its
        row before a write (``{}`` for a lead created through the API)."""
        lead = self._every_lead()[position]
        fresh = dict(row)
        for name in self.variables:
            fresh.setdefault(name, "")
        written_names = frozenset((*EXPORT_FIELDS, *JSON_ONLY_FIELDS, *self.variables))
        fresh.update((k, v) for k, v in self.written(position).items() if k in written_names)
        state = str(lead.get("state", ""))
        fresh["lastState"] = state
        fresh["status"] = lead_status(state)
        fresh["_id"] = lead.get("_id", "")
        return fresh

    def _write(self, position: int, fields: Mapping[str, str], at: str) -> None:
        written = self._written.setdefault(position, {})
        written.update(fields)
        known = set(self.variables)
        for name in fields:
            if name not in _NOT_VARIABLES and name not in known:
                self._new_variables.append(name)
                known.add(name)
        self._updated[position] = at
        self._changed()

    def _changed(self) -> None:
        """Forget every answer built from the leads."""
        self._newest_first = None
        self._bodies.clear()
        self._state_counts = None

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
                "status": self.status,
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
        #: Called with each activity that `emit` records (the webhook deliveries).
        self.on_activity: Callable[[dict[str, Any]], None] | None = None
        # The ids and dates of writes: the same seed and requests give the same answers.
        self._writes = derived_rng(seed, "writes")
        self._clock_ms = 0

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
        self.directory.campaign_replaced(old)

    def in_creation_order(self) -> list[Campaign]:
        """Every campaign, oldest ``createdAt`` first."""
        return sorted(self.campaigns.values(), key=lambda campaign: campaign.index)

    # -- Writes ---------------------------------------------------------------------------

    def tick(self) -> int:
        """The date of a write, in epoch ms: `WRITE_STEP_MS` after the newest date the
        fake serves (activities, webhooks, unsubscribed variables) or wrote.

        A clock of its own rather than the wall clock's, so that two fakes of the
        same seed answer the same requests with the same bodies. Reading it draws
        the activity feed first, so the feed never depends on later writes.
        """
        if self._clock_ms == 0:
            # Webhooks and unsubscribed variables only change through writes,
            # which this clock dates: their seeded dates are read once.
            latest = self.account.latest()
            self._clock_ms = 0 if latest is None else epoch_ms(latest)
        # Activities may be added at any date (add_activities): read each time.
        floor = max(self._clock_ms, self.activities.latest_ms() or 0)
        self._clock_ms = floor + WRITE_STEP_MS
        return self._clock_ms

    def new_id(self, prefix: str) -> str:
        """A new id for a write, drawn from the seed's own generator of writes."""
        return new_id(self._writes, prefix)

    def lead_in(self, campaign: Campaign, key: str) -> LeadRecord | None:
        """The lead of ``campaign`` whose ``_id`` or (exact) email is ``key``."""
        record = self.directory.by_id(key)
        if record is not None and record.campaign is campaign:
            return record
        return next((r for r in self.directory.by_email(key) if r.campaign is campaign), None)

    def person(self, key: str) -> list[LeadRecord]:
        """The leads of a person in every campaign, oldest campaign first: the lead
        whose ``_id`` is ``key`` and every lead that has its email, or every lead
        whose email is ``key`` (exact)."""
        record = self.directory.by_id(key)
        if record is None:
            return self.directory.by_email(key)
        return self.directory.by_email(record.email) if record.email else [record]

    def create_lead(
        self, campaign: Campaign, fields: Mapping[str, str], email_status: str
    ) -> LeadRecord:
        """Add a lead to ``campaign`` in `CREATED_STATE`; the caller validated ``fields``.

        A person already in another campaign (same email but for case) keeps
        their ``contactId``.
        """
        at = self.tick()
        lead_id = self.new_id("lea_")
        while self.directory.by_id(lead_id) is not None:  # astronomically unlikely
            lead_id = self.new_id("lea_")
        email = fields.get("email", "")
        known = self.directory.by_email_folded(email) if email else []
        contact_id = known[0].contact_id if known else self.new_id("ctc_")
        lead = {"_id": lead_id, "contactId": contact_id, "state": CREATED_STATE}
        position, row = campaign.append(lead, {**fields, "emailStatus": email_status}, iso_ms(at))
        record = LeadRecord(campaign, position, lead, row)
        self.directory.replace(None, record)
        return record

    def update_lead(self, record: LeadRecord, fields: Mapping[str, str]) -> LeadRecord:
        """Set fields of a lead; return its new record."""
        record.campaign.update(record.position, fields, iso_ms(self.tick()))
        return self._refreshed(record)

    def set_state(self, record: LeadRecord, state: str) -> LeadRecord:
        """Set a lead's state; return its new record."""
        record.campaign.set_state(record.position, state, iso_ms(self.tick()))
        return self._refreshed(record)

    def set_paused(self, record: LeadRecord, paused: bool) -> LeadRecord:
        """Pause or resume a lead; when that changes it, emit ``paused`` or ``resumed``."""
        if record.is_paused == paused:
            return record
        record.campaign.set_paused(record.position, paused, iso_ms(self.tick()))
        record = self._refreshed(record)
        self.emit("paused" if paused else "resumed", lead=record)
        return record

    def mark(self, record: LeadRecord, state: str) -> LeadRecord:
        """Mark a lead ``interested`` or ``notInterested``: set its state and emit an
        activity of that type, every time (marking is an action, not a target state)."""
        record = self.set_state(record, state)
        self.emit(state, lead=record)
        return record

    def remove_lead(self, record: LeadRecord) -> None:
        """Delete a lead from its campaign."""
        record.campaign.remove(record.position)
        self.directory.replace(record, None)

    def add_hook(self, hook: Mapping[str, Any], secret: str | None) -> dict[str, Any]:
        """Add a webhook of ``hook``'s fields (``targetUrl``, ``zapId``, ``type``,
        ``campaignId``, ``isFirst``), dated now; return it without its secret."""
        hook_id = self.new_id("hoo_")
        created_at = iso_ms(self.tick())
        stored = {"targetUrl": hook["targetUrl"]}
        if "zapId" in hook:
            stored["zapId"] = hook["zapId"]
        stored["createdAt"] = created_at
        stored.update((key, hook[key]) for key in ("type", "campaignId", "isFirst") if key in hook)
        return self.account.add_hook(hook_id, stored, secret)

    def unsubscribe(self, values: Iterable[str]) -> list[dict[str, Any]]:
        """The record of each value, in order: the existing one, or a new one
        (source ``api``; all dated by one tick)."""
        records = []
        created_at: str | None = None
        for value in values:
            record = self.account.unsubscribed(value)
            if record is None:
                if created_at is None:
                    created_at = iso_ms(self.tick())
                record = self.account.unsubscribe(self.new_id("uns_"), value, created_at)
            records.append(record)
        return records

    def emit(
        self,
        kind: str,
        *,
        lead: LeadRecord | None = None,
        campaign: Campaign | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Record an activity (see `Activities.record`) dated now by `tick`, hand it
        to `on_activity`, and return it."""
        activity = self.activities.record(
            kind, self.tick(), lead=lead, campaign=campaign, fields=fields
        )
        if self.on_activity is not None:
            self.on_activity(activity)
        return activity

    def _refreshed(self, record: LeadRecord) -> LeadRecord:
        campaign = record.campaign
        row = campaign.refreshed(record.position, record.row)
        new = LeadRecord(campaign, record.position, record.lead, row)
        self.directory.replace(record, new)
        return new


#: How a route reaches the store.
STORE: Final = web.AppKey("lemlist_fake_store", Store)


def seeded_rng(seed: int) -> random.Random:
    """A private generator: reproducible fake data is the point, not secrecy."""
    return random.Random(seed)  # noqa: S311
