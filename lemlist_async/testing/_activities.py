"""The team's activity feed: Get Many Activities' items, drawn from the leads' histories.

https://developer.lemlist.com/api-reference/endpoints/activities/get-many-activities :
the spec's Activity schema lists ``_id, type, leadId, campaignId, sequenceId,
stepId, sequenceStep, totalSequenceStep, createdAt``; its examples (and lemlist's
help centre) show much more, and two kinds of items. The fake serves both:

* lead activities: the activity, its campaign and sender, the lead's fields
  (``leadEmail``...) and the lead's custom variables as top-level keys;
* company activities (``annotated``): ``_id, teamId, companyId, type,
  createdAt, note, sendUserId, userId``, with no lead or campaign.

The feed is drawn on first read, round robin over the leads of the first
`ACTIVE_CAMPAIGNS` seeded campaigns, oldest lead first: each lead brings its
whole history (see ``_people``), a second round brings one more open per lead,
and so on; about one item in 40 is a company note. It is served newest first,
as the spec's examples are.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, TypeAlias

import attrs

from ._generate import TEAM_CREATED_AT, derived_rng, new_id
from ._people import LeadRecord, epoch_ms, iso_ms

if TYPE_CHECKING:
    from ._store import Campaign, Store

#: Activities come from the leads of the first seeded campaigns only: they were
#: created long ago (one a day from the team's creation), and generating the
#: feed never reads a big benchmark's other campaigns.
ACTIVE_CAMPAIGNS: Final = 20
#: One company note per this many activities.
_NOTE_EVERY: Final = 40
_NOTES: Final = (
    "could help our GTM team be more productive",
    "Call back after their budget review",
    "Met at the trade show",
)
#: Company notes of a feed without leads fall within a year of the team's creation.
_HOUR_MS: Final = 3_600_000
_YEAR_MS: Final = 365 * 24 * _HOUR_MS
_SENDER_KEYS: Final = ("sendUserId", "sendUserEmail", "sendUserMailboxId")
#: What `Activities.add` records for a lead: its next interaction.
_ADDED_TYPES: Final = ("emailsOpened", "emailsClicked", "emailsReplied", "linkedinVisitDone")
#: The activity fields that Get Many Activities' exact filters read, indexed.
_INDEXED: Final = ("type", "campaignId", "leadId")

#: (epoch ms, sequence, activity): the sequence, the order of recording, breaks ties.
Item: TypeAlias = tuple[int, int, dict[str, Any]]


@attrs.frozen
class Filters:
    """Get Many Activities' filters; ``None`` filters nothing. Dates are epoch microseconds."""

    type: str | None = None
    campaign_id: str | None = None
    lead_id: str | None = None
    is_first: bool | None = None
    min_us: int | None = None
    max_us: int | None = None

    def keep(self, millis: int, activity: dict[str, Any]) -> bool:
        """Whether an activity dated ``millis`` (epoch ms) passes every filter."""
        return (
            self.keep_fields(activity)
            and (self.min_us is None or millis * 1000 >= self.min_us)
            and (self.max_us is None or millis * 1000 <= self.max_us)
        )

    def keep_fields(self, activity: dict[str, Any]) -> bool:
        """Whether ``activity`` passes every filter but the dates."""
        return (
            (self.type is None or activity["type"] == self.type)
            and (self.campaign_id is None or activity.get("campaignId") == self.campaign_id)
            and (self.lead_id is None or activity.get("leadId") == self.lead_id)
            and (self.is_first is None or activity.get("isFirst", False) == self.is_first)
        )

    @property
    def dates_only(self) -> bool:
        """Whether the dates are the only filters set (if any)."""
        return (
            self.type is None
            and self.campaign_id is None
            and self.lead_id is None
            and self.is_first is None
        )

    def millis_range(self) -> tuple[int | None, int | None]:
        """(oldest, newest) date in epoch ms that `keep` lets through, both inclusive;
        ``None`` for no bound."""
        # The filters are in microseconds, dates in whole milliseconds:
        # ``millis * 1000 >= min_us`` is ``millis >= ceil(min_us / 1000)``.
        low = None if self.min_us is None else -(-self.min_us // 1000)
        high = None if self.max_us is None else self.max_us // 1000
        return low, high


class Activities:
    """The feed: drawn on first read, then grown by `add`."""

    def __init__(self, store: Store, seed: int, count: int) -> None:
        self._store = store
        self._seed = seed
        self._count = count
        self._rng = derived_rng(seed, "activities")
        # The feed, oldest first.
        self._items: list[Item] | None = None
        # (field of `_INDEXED`, text value) -> the items that have it, oldest first:
        # built by the first request that filters on one, then kept by `_insert`.
        self._by_value: dict[tuple[str, str], list[Item]] | None = None
        self._leads: list[LeadRecord] = []
        # (leadId or campaignId, type) already in the feed
        self._seen: set[tuple[str, str]] = set()

    def newest_first(self, filters: Filters | None = None) -> list[dict[str, Any]]:
        """The activities that pass ``filters``, newest first (ties: the last added first)."""
        if filters is None:
            return [activity for _, _, activity in reversed(self._all())]
        return list(self._matching(filters))

    def page(self, filters: Filters, offset: int, limit: int) -> list[dict[str, Any]]:
        """``newest_first(filters)[offset : offset + limit]``, without building the rest.

        The dates are found by binary search. With no other filter the page is
        a slice; else the activities within the dates are read from the newest
        until the page is full: only those of the ``type``, ``campaignId`` or
        ``leadId`` asked for (the rarest of them), all of them for ``isFirst``
        alone.
        """
        if filters.dates_only:
            items = self._all()
            start, stop = _span(items, filters)
            end = max(start, stop - offset)
            page = items[max(start, end - limit) : end]
            return [activity for _, _, activity in reversed(page)]
        return list(itertools.islice(self._matching(filters), offset, offset + limit))

    def add(self, count: int, at: datetime | None) -> list[dict[str, Any]]:
        """Record ``count`` activities at ``at`` (default: now), oldest first; return them."""
        items = self._all()
        if at is None:
            at = datetime.now(UTC)
        elif at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        millis = epoch_ms(at)
        added = []
        for _ in range(count):
            if self._leads:
                record = self._rng.choice(self._leads)
                activity = self._lead_activity(record, self._rng.choice(_ADDED_TYPES), millis)
            else:
                activity = self._company_activity(millis)
            added.append(activity)
        self._insert(
            [(millis, sequence, activity) for sequence, activity in enumerate(added, len(items))]
        )
        return added

    def record(
        self,
        kind: str,
        millis: int,
        *,
        lead: LeadRecord | None = None,
        campaign: Campaign | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Record one activity of type ``kind`` at ``millis`` (epoch ms) and return it.

        With ``lead``, a lead activity like the seeded ones (its campaign, sender
        and fields); else, with ``campaign``, a campaign activity (``_id, type,
        isFirst, createdAt, bot, teamId, campaignId, campaignName, sequenceId``);
        else a team activity (``_id, type, createdAt, teamId``). ``fields`` are
        added last and win.
        """
        items = self._all()
        activity: dict[str, Any]
        if lead is not None:
            activity = self._lead_activity(lead, kind, millis)
        else:
            activity = {"_id": new_id(self._rng, "act_"), "type": kind}
            if campaign is not None:
                key = (campaign.id, kind)
                activity["isFirst"] = key not in self._seen
                self._seen.add(key)
            activity.update({"createdAt": iso_ms(millis), "teamId": self._store.team.id})
            if campaign is not None:
                details = campaign.details
                activity.update(
                    {
                        "bot": False,
                        "campaignId": campaign.id,
                        "campaignName": details.name,
                        "sequenceId": details.sequence_id,
                    }
                )
        activity.update(fields or {})
        self._insert([(millis, len(items), activity)])
        return activity

    def latest_ms(self) -> int | None:
        """The date of the newest activity (epoch ms), ``None`` for an empty feed."""
        items = self._all()
        return items[-1][0] if items else None

    def _insert(self, new: list[Item]) -> None:
        """Put ``new`` in the feed and its indices: items of one date, whose
        sequences come after every other's."""
        if not new:
            return
        _insert_block(self._all(), new)
        if self._by_value is None:
            return
        blocks: dict[tuple[str, str], list[Item]] = {}
        for item in new:
            for key in _index_keys(item[2]):
                blocks.setdefault(key, []).append(item)
        for key, block in blocks.items():
            _insert_block(self._by_value.setdefault(key, []), block)

    def _candidates(self, filters: Filters) -> list[Item]:
        """The items that may pass ``filters``, oldest first: the shortest index of
        its ``type``, ``campaignId`` and ``leadId``, or the whole feed."""
        wanted = [
            (field, value)
            for field, value in zip(
                _INDEXED, (filters.type, filters.campaign_id, filters.lead_id), strict=True
            )
            if value is not None
        ]
        if not wanted:
            return self._all()
        if self._by_value is None:
            by_value: dict[tuple[str, str], list[Item]] = {}
            for item in self._all():
                for key in _index_keys(item[2]):
                    by_value.setdefault(key, []).append(item)
            self._by_value = by_value
        return min((self._by_value.get(key, []) for key in wanted), key=len)

    def _matching(self, filters: Filters) -> Iterator[dict[str, Any]]:
        """The activities that pass ``filters``, newest first, read lazily: the
        caller must not `add` or `record` before it is done."""
        items = self._candidates(filters)
        start, stop = _span(items, filters)
        keep = filters.keep_fields
        for index in range(stop - 1, start - 1, -1):
            activity = items[index][2]
            if keep(activity):
                yield activity

    def _all(self) -> list[Item]:
        if self._items is None:
            self._items = self._draw()
        return self._items

    def _draw(self) -> list[Item]:
        wanted = self._count - self._count // _NOTE_EVERY
        events: list[tuple[int, LeadRecord | None, str]] = []
        if wanted:
            for record, history in self._rounds():
                events.extend((millis, record, kind) for kind, millis in history)
                if len(events) >= wanted:
                    break
            del events[wanted:]
        times = [millis for millis, _, _ in events]
        start = min(times, default=epoch_ms(TEAM_CREATED_AT))
        end = max(times, default=start + _YEAR_MS)
        for _ in range(self._count - len(events)):
            events.append((self._rng.randint(start, end), None, "annotated"))
        items = []
        for sequence, (millis, lead, kind) in enumerate(events):
            if lead is None:
                activity = self._company_activity(millis)
            else:
                activity = self._lead_activity(lead, kind, millis)
            items.append((millis, sequence, activity))
        items.sort(key=lambda item: item[:2])
        return items

    def _rounds(self) -> Iterator[tuple[LeadRecord, list[tuple[str, int]]]]:
        """(lead, events) round robin over the campaigns: whole histories, then one
        more open per lead that opened, an hour later each round."""
        streams = [
            _records(self._store.campaigns[campaign_id])
            for campaign_id in self._store.seeded_ids[:ACTIVE_CAMPAIGNS]
            if campaign_id in self._store.campaigns
        ]
        openers: list[tuple[LeadRecord, int]] = []
        for records in itertools.zip_longest(*streams):
            for record in records:
                history = [] if record is None else record.history()
                if record is None or not history:
                    continue
                self._leads.append(record)
                if any(kind == "emailsOpened" for kind, _ in history):
                    openers.append((record, history[-1][1]))
                yield record, history
        if not openers:
            return
        for extra in itertools.count(1):
            for record, last in openers:
                yield record, [("emailsOpened", last + extra * _HOUR_MS)]

    def _lead_activity(self, record: LeadRecord, kind: str, millis: int) -> dict[str, Any]:
        campaign = record.campaign
        details = campaign.details
        row = record.row
        team_id = self._store.team.id
        lead_id = str(row["_id"])
        first = (lead_id, kind) not in self._seen
        self._seen.add((lead_id, kind))
        activity: dict[str, Any] = {
            "_id": new_id(self._rng, "act_"),
            "type": kind,
            "isFirst": first,
            "createdAt": iso_ms(millis),
            "bot": False,
            "teamId": team_id,
            "leadId": lead_id,
            "campaignId": campaign.id,
            "campaignName": details.name,
            "sequenceId": details.sequence_id,
            "sequenceStep": 0,
        }
        sender = record.sender()
        if sender is not None:
            activity.update(zip(_SENDER_KEYS, sender, strict=True))
        activity.update(
            {
                "leadFirstName": row["firstName"],
                "leadLastName": row["lastName"],
                "leadEmail": row["email"],
                "leadCompanyName": row["companyName"],
                "contactId": str(record.lead.get("contactId", "")),
                "metaData": {
                    "teamId": team_id,
                    "campaignId": campaign.id,
                    "leadId": lead_id,
                    "type": kind,
                },
            }
        )
        for name in campaign.variables:  # "Plus all custom variables from your lead"
            activity.setdefault(name, row.get(name, ""))
        return activity

    def _company_activity(self, millis: int) -> dict[str, Any]:
        user = self._rng.choice(self._store.team.users)
        return {
            "_id": new_id(self._rng, "act_"),
            "teamId": self._store.team.id,
            "companyId": new_id(self._rng, "cpn_"),
            "type": "annotated",
            "createdAt": iso_ms(millis),
            "note": self._rng.choice(_NOTES),
            "sendUserId": user.id,
            "userId": user.id,
        }


def _millis(item: Item) -> int:
    return item[0]


def _span(items: list[Item], filters: Filters) -> tuple[int, int]:
    """The indices ``start:stop`` of ``items`` (oldest first) within the filters' dates."""
    low, high = filters.millis_range()
    start = 0 if low is None else bisect.bisect_left(items, low, key=_millis)
    stop = len(items) if high is None else bisect.bisect_right(items, high, key=_millis)
    return start, max(start, stop)


def _insert_block(items: list[Item], block: list[Item]) -> None:
    """Insert ``block`` (one date, sequences after every item's) into ``items``.

    After every item of its millisecond, in one insertion rather than one
    `bisect.insort` (a move of the list's tail) per item.
    """
    where = bisect.bisect_right(items, block[0][0], key=_millis)
    items[where:where] = block


def _index_keys(activity: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """The (field, value) index keys of an activity: its `_INDEXED` fields of text
    value (another value never equals a filter, which is text)."""
    for field in _INDEXED:
        value = activity.get(field)
        if isinstance(value, str):
            yield field, value


def _records(campaign: Campaign) -> Iterator[LeadRecord]:
    for position, lead, row in campaign.rows(None):
        yield LeadRecord(campaign, position, lead, row)
