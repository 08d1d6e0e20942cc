"""Leads as people: the team's shared people, each lead's history, the lookup by email or id.

lemlist finds a lead by email across every campaign of the team
(https://developer.lemlist.com/api-reference/endpoints/leads/get-lead-by-email),
so the fake needs emails found in several campaigns. The seeded profiles carry
their position in their campaign, so they almost never meet; the team's *shared
people* do: a few persons, drawn once per server, each placed in some seeded
campaigns (a draw of the campaign's own generator, so reading order never
matters). Their emails carry a leading zero (``nadia.okafor07@example.io``),
which a position never has: they never collide with a drawn profile.

A lead's history (the activity types its state implies, and their dates) is
drawn from the campaign's seed and the lead's position; ``_activities`` builds
the activity feed from it, and a lead's ``updatedAt`` is its last event.
"""

from __future__ import annotations

import bisect
import functools
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

import attrs

from ._generate import derived_rng, draw_profile
from ._lemlist import PREFERRED_CONTACT_METHOD
from ._wire import iso_z

if TYPE_CHECKING:
    from ._store import Campaign, Store

#: How many shared people a server has, and the chance each is in a given campaign.
SHARED_PEOPLE: Final = 8
_SHARE: Final = 0.4

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MS: Final = timedelta(milliseconds=1)
_HOUR_MS: Final = 3_600_000
_DAY_MS: Final = 24 * _HOUR_MS
#: A lead's first event comes within this many hours of its campaign's creation.
_FIRST_EVENT_HOURS: Final = 30 * 24
#: (shortest, longest) gap between two events of one lead, in hours.
_GAP_HOURS: Final = (1, 4 * 24)

_NOT_LAUNCHED: Final = frozenset({"imported", "scanned", "skipped", "reviewed"})
_REPLIED: Final = ("emailsSent", "emailsOpened", "emailsReplied")
#: The activity types (webhook event names) that lead to a state, oldest first.
#: A state not listed gets ``emailsSent`` alone; a lead not launched has no history.
_HISTORIES: Final[dict[str, tuple[str, ...]]] = {
    "hooked": ("emailsSent", "emailsOpened"),
    "emailsOpened": ("emailsSent", "emailsOpened"),
    "attracted": ("emailsSent", "emailsOpened", "emailsClicked"),
    "emailsClicked": ("emailsSent", "emailsOpened", "emailsClicked"),
    "warmed": _REPLIED,
    "emailsReplied": _REPLIED,
    "interested": (*_REPLIED, "emailsInterested"),
    "emailsInterested": (*_REPLIED, "emailsInterested"),
    "meetingBooked": (*_REPLIED, "emailsInterested"),
    "notInterested": (*_REPLIED, "emailsNotInterested"),
    "emailsNotInterested": (*_REPLIED, "emailsNotInterested"),
    "emailsBounced": ("emailsSent", "emailsBounced"),
    "emailsUnsubscribed": ("emailsSent", "emailsOpened", "emailsUnsubscribed"),
    "failed": ("emailsFailed",),
    "emailsFailed": ("emailsFailed",),
    "paused": ("emailsSent", "paused"),
    "linkedinInviteDone": ("linkedinVisitDone", "linkedinInviteDone"),
    "linkedinInviteAccepted": (
        "linkedinVisitDone",
        "linkedinInviteDone",
        "linkedinInviteAccepted",
    ),
    "apiDone": ("apiDone",),
    "aircallDone": ("emailsSent", "aircallDone"),
    "manualInterested": ("emailsSent", "emailsOpened", "manualInterested"),
}
#: The export fields a lead's ``variables`` carry (when not empty), before custom ones.
_VARIABLE_FIELDS: Final = (
    "email", "firstName", "lastName", "companyName", "jobTitle", "companyDomain",
    "linkedinUrl", "phone", "picture", "timezone", "icebreaker",
)  # fmt: skip
_SOURCES: Final = ("api", "csv", "manually", "api")
#: The profile fields of the write routes' lead object, in the spec example's order.
_OBJECT_FIELDS: Final = (
    "firstName",
    "lastName",
    "companyName",
    "jobTitle",
    "companyDomain",
    "email",
)
#: The lead object's own keys: a custom variable of the same name never replaces one.
_OBJECT_KEYS: Final = frozenset(
    {
        *_OBJECT_FIELDS,
        PREFERRED_CONTACT_METHOD,
        "_id",
        "isPaused",
        "campaignId",
        "contactId",
        "emailStatus",
    }
)


def draw_people(seed: int) -> tuple[dict[str, str], ...]:
    """The team's shared people: export profiles with distinct emails."""
    rng = derived_rng(seed, "people")
    people: dict[str, dict[str, str]] = {}
    number = 0
    while len(people) < SHARED_PEOPLE:
        number += 1
        person = draw_profile(rng, f"0{number}")
        people.setdefault(person["email"], person)
    return tuple(people.values())


def place_people(
    details_seed: str, count: int, people: Sequence[dict[str, str]]
) -> dict[int, dict[str, str]]:
    """Which of ``people`` are leads of a campaign of ``count`` leads, by position."""
    placed: dict[int, dict[str, str]] = {}
    if count == 0:
        return placed
    rng = derived_rng(details_seed, "people")
    for person in people:
        if rng.random() < _SHARE:
            placed.setdefault(rng.randrange(count), person)
    return placed


def epoch_ms(moment: str | datetime) -> int:
    """Milliseconds since the epoch of an ISO 8601 string or an aware datetime."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return (moment - _EPOCH) // _MS


def iso_ms(millis: int) -> str:
    """``createdAt`` of an instant in epoch milliseconds: `iso_z` of it, the same text."""
    # Drawing a big activity feed formats hundreds of thousands of dates over a
    # few months: the date part is formatted once per day, the rest by arithmetic.
    day, millis = divmod(millis, _DAY_MS)
    seconds, millis = divmod(millis, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{_iso_day(day)}T{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}Z"


@functools.lru_cache(maxsize=4096)
def _iso_day(day: int) -> str:
    """``YYYY-MM-DD`` of a day counted from the epoch, as `iso_z` writes it."""
    return iso_z(_EPOCH + timedelta(days=day)).partition("T")[0]


@attrs.frozen
class LeadRecord:
    """One lead of one campaign: where it is, what Get Campaign Leads and the export say.

    ``row`` is the lead's export row when the record was made; a write makes a
    new record (see `LeadDirectory.replace`).
    """

    campaign: Campaign
    position: int
    lead: dict[str, Any]
    row: dict[str, Any]

    @property
    def state(self) -> str:
        return str(self.row["lastState"])

    @property
    def id(self) -> str:
        return str(self.row["_id"])

    @property
    def email(self) -> str:
        return str(self.row.get("email", ""))

    @property
    def is_paused(self) -> bool:
        return self.campaign.is_paused(self.position, self.state)

    @property
    def contact_id(self) -> str:
        return str(self.lead.get("contactId", ""))

    def history(self) -> list[tuple[str, int]]:
        """(activity type, epoch ms) of the lead's events, oldest first."""
        if self.state in _NOT_LAUNCHED:
            return []
        rng = derived_rng(self.campaign.details_seed, "history", self.position)
        moment = epoch_ms(self.campaign.details.created_at)
        moment += rng.randrange(_FIRST_EVENT_HOURS * _HOUR_MS)
        events = []
        for kind in _HISTORIES.get(self.state, ("emailsSent",)):
            events.append((kind, moment))
            if kind == "emailsOpened":  # a few opens more, as real feeds show
                for _ in range(rng.randint(0, 2)):
                    moment += _gap(rng)
                    events.append((kind, moment))
            moment += _gap(rng)
        return events

    def updated_at(self) -> str:
        """The lead's last write, else its last event, else its campaign's creation."""
        written = self.campaign.updated_at(self.position)
        if written is not None:
            return written
        events = self.history()
        return iso_ms(events[-1][1]) if events else self.campaign.details.created_at

    def sender(self) -> tuple[str, str, str] | None:
        """(user id, email, mailbox id) of the campaign's first sender, if any."""
        senders = self.campaign.details.senders
        if not senders:
            return None
        user, mailbox = senders[0]
        return user.id, user.email, mailbox

    def entry(self) -> dict[str, Any]:
        """An item of Get Lead by Email: the lead in this campaign."""
        row = self.row
        details = self.campaign.details
        variables = {name: row[name] for name in _VARIABLE_FIELDS if row.get(name)}
        variables.update((name, row.get(name, "")) for name in self.campaign.variables)
        sender = self.sender()
        sending_user: dict[str, str] = {}
        if sender is not None and self.state not in _NOT_LAUNCHED:
            sending_user = dict(zip(("id", "email", "sendUserMailboxId"), sender, strict=True))
        by_api = self.campaign.by_api(self.position)
        return {
            "_id": row["_id"],
            "updatedAt": self.updated_at(),
            "isPaused": self.is_paused,
            "state": self.state,
            "status": row["status"],
            "personalized": False,
            "source": "api" if by_api else _SOURCES[self.position % len(_SOURCES)],
            "variables": variables,
            "contactId": self.contact_id,
            "enrichment": {"emailStatus": row["emailStatus"]} if row["emailStatus"] else {},
            "campaign": {
                "id": self.campaign.id,
                "name": details.name,
                "status": self.campaign.status,
            },
            "sendingUser": sending_user,
        }

    def summary(self) -> dict[str, Any]:
        """Get Lead by Email or ID's object (an unknown email or status left out)."""
        row = self.row
        body = {name: row[name] for name in _VARIABLE_FIELDS[:6] if name != "email" or row[name]}
        body.update(
            {
                "_id": row["_id"],
                "isPaused": self.is_paused,
                "campaignId": self.campaign.id,
                "contactId": self.contact_id,
            }
        )
        if row["emailStatus"]:
            body["emailStatus"] = row["emailStatus"]
        return body

    def lead_object(self) -> dict[str, Any]:
        """The lead object the write routes answer (the spec's items of Pause Lead,
        Delete or Unsubscribe Lead...): the known profile fields, the preferred
        contact method, the non-empty custom variables (strings all), then ``_id``,
        ``isPaused``, ``campaignId``, ``contactId`` and ``emailStatus``."""
        row = self.row
        body: dict[str, Any] = {name: row[name] for name in _OBJECT_FIELDS if row.get(name)}
        method = self.campaign.written(self.position).get(PREFERRED_CONTACT_METHOD)
        if method:
            body[PREFERRED_CONTACT_METHOD] = method
        for name in self.campaign.variables:
            value = row.get(name)
            if value and name not in _OBJECT_KEYS:
                body[name] = str(value)
        body.update(
            {
                "_id": row["_id"],
                "isPaused": self.is_paused,
                "campaignId": self.campaign.id,
                "contactId": self.contact_id,
            }
        )
        if row["emailStatus"]:
            body["emailStatus"] = row["emailStatus"]
        return body


class LeadDirectory:
    """Every lead of every campaign by email and by ``_id``, built on first lookup.

    The first lookup reads every campaign's leads; `replace` follows a write on
    one lead; `campaign_replaced` forgets the index when a campaign is added or
    replaced, and the next lookup builds it again, in the first lookup's order,
    from the leads already read (which `replace` kept up to date) and the new
    campaign's.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._by_email: dict[str, list[LeadRecord]] | None = None
        self._by_id: dict[str, LeadRecord] = {}
        self._folded: dict[str, set[str]] = {}  # casefolded email -> the exact emails
        # Each read campaign's leads (removed ones left out) by position, ascending:
        # rebuilding the index from these takes a fraction of drawing every
        # campaign's leads again (2 s for 100,000 leads).
        self._records: dict[Campaign, dict[int, LeadRecord]] = {}

    def campaign_replaced(self, old: Campaign | None) -> None:
        """Follow a campaign added to the store, in place of ``old`` (``None``: a new one)."""
        if old is not None:
            self._records.pop(old, None)
        self._by_email = None
        self._by_id = {}
        self._folded = {}

    def by_email(self, email: str) -> list[LeadRecord]:
        """The lead in each campaign that has ``email`` (exact match), oldest campaign first."""
        return list(self._index().get(email, ()))

    def by_email_folded(self, email: str) -> list[LeadRecord]:
        """The leads whose email is ``email`` but for case, oldest campaign first."""
        index = self._index()
        found = [
            record for exact in self._folded.get(email.casefold(), ()) for record in index[exact]
        ]
        return sorted(found, key=_order)

    def by_id(self, lead_id: str) -> LeadRecord | None:
        self._index()
        return self._by_id.get(lead_id)

    def find(self, *, email: str | None, lead_id: str | None) -> LeadRecord | None:
        """Get Lead by Email or ID's lead: by id, else the email's oldest campaign's."""
        if lead_id is not None:
            return self.by_id(lead_id)
        return next(iter(self.by_email(email or "")), None)

    def shared_emails(self) -> list[str]:
        """Emails of leads in two campaigns or more, in order of first appearance."""
        return [email for email, records in self._index().items() if len(records) > 1]

    def replace(self, old: LeadRecord | None, new: LeadRecord | None) -> None:
        """Follow a write: ``old`` (``None``: a new lead) becomes ``new`` (``None``: removed).

        A new lead's position is after every other of its campaign.
        """
        if old is not None and (new is None or not _same(new, old)):
            self._records.get(old.campaign, {}).pop(old.position, None)
        if new is not None and new.campaign in self._records:
            # An existing position keeps its place; a new lead's is the last.
            self._records[new.campaign][new.position] = new
        if self._by_email is None:  # not built yet: it will be built from the new state
            return
        if old is not None:
            records = self._by_email.get(old.email, [])
            records[:] = [r for r in records if not _same(r, old)]
            if not records:
                self._by_email.pop(old.email, None)
                self._folded.get(old.email.casefold(), set()).discard(old.email)
            if _same(self._by_id.get(old.id), old):
                del self._by_id[old.id]
        if new is not None:
            if new.email:
                bisect.insort(self._by_email.setdefault(new.email, []), new, key=_order)
                self._folded.setdefault(new.email.casefold(), set()).add(new.email)
            if new.id:
                current = self._by_id.get(new.id)
                if current is None or _order(new) < _order(current):
                    self._by_id[new.id] = new

    def _index(self) -> dict[str, list[LeadRecord]]:
        if self._by_email is None:
            by_email: dict[str, list[LeadRecord]] = {}
            for campaign in self._store.in_creation_order():
                for record in self._read(campaign).values():
                    row = record.row
                    if row["email"]:
                        by_email.setdefault(row["email"], []).append(record)
                        self._folded.setdefault(row["email"].casefold(), set()).add(row["email"])
                    if row["_id"]:
                        self._by_id.setdefault(row["_id"], record)
            self._by_email = by_email
        return self._by_email

    def _read(self, campaign: Campaign) -> dict[int, LeadRecord]:
        """The campaign's leads by position, read from it once."""
        records = self._records.get(campaign)
        if records is None:
            records = {
                position: LeadRecord(campaign, position, lead, row)
                for position, lead, row in campaign.rows(None)
            }
            self._records[campaign] = records
        return records


def _order(record: LeadRecord) -> tuple[int, int]:
    return record.campaign.index, record.position


def _same(record: LeadRecord | None, other: LeadRecord) -> bool:
    """Whether two records are the same lead (of the same campaign object)."""
    return (
        record is not None
        and record.campaign is other.campaign
        and record.position == other.position
    )


def lead_status(state: str) -> str:
    """The export's ``status`` of a lead in ``state``.

    lemlist documents no list of values; the spec's CSV example pairs
    ``emailsInterested`` with ``interested``, ``emailsUnsubscribed`` with
    ``unsubscribed`` and sent, clicked or replied states with ``done``. The fake
    follows that: interested and not-interested states, unsubscribed, paused,
    and ``done`` for every other state.
    """
    if state == "interested" or (state.endswith("Interested") and "Not" not in state):
        return "interested"
    if state == "notInterested" or state.endswith("NotInterested"):
        return "notInterested"
    if state == "emailsUnsubscribed":
        return "unsubscribed"
    if state == "paused":
        return "paused"
    return "done"


def _gap(rng: random.Random) -> int:
    low, high = _GAP_HOURS
    return rng.randrange(low * _HOUR_MS, high * _HOUR_MS)
