"""The fake's seeded data: campaigns and their leads, built on first use."""

from __future__ import annotations

import itertools
import json
import random
import string
from collections.abc import Callable
from typing import Any, Final

import attrs
from aiohttp import web

_ID_ALPHABET: Final = string.ascii_letters + string.digits
_ID_LENGTH: Final = 17
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


class Campaign:
    """A campaign's leads, built on first use, and its cached JSON answers."""

    __slots__ = ("_bodies", "_factory", "_newest_first")

    def __init__(self, factory: Callable[[], list[dict[str, Any]]]) -> None:
        """Wrap ``factory``, which returns the leads in creation order, oldest first."""
        self._factory = factory
        self._newest_first: list[dict[str, Any]] | None = None
        self._bodies: dict[tuple[str | None, int], bytes] = {}

    def newest_first(self) -> list[dict[str, Any]]:
        if self._newest_first is None:
            self._newest_first = self._factory()[::-1]
        return self._newest_first

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


@attrs.frozen
class LeadFactory:
    """Generates a seeded campaign's leads, oldest first, always the same for a seed."""

    seed: int
    count: int

    def __call__(self) -> list[dict[str, Any]]:
        rng = seeded_rng(self.seed)
        states = rng.choices(_STATES, cum_weights=_STATE_CUM_WEIGHTS, k=self.count)
        leads: list[dict[str, Any]] = []
        for state in states:
            prefix = "con_" if rng.random() < _CONTACT_PREFIX_CON_SHARE else "ctc_"
            leads.append(
                {"_id": new_id(rng, "lea_"), "contactId": new_id(rng, prefix), "state": state}
            )
        return leads


class Store:
    """Every campaign the fake serves, by id."""

    def __init__(self) -> None:
        self.campaigns: dict[str, Campaign] = {}
        self.seeded_ids: list[str] = []

    def seed(self, rng: random.Random, count: int, leads: tuple[int, int]) -> None:
        """Seed ``count`` campaigns from ``rng``, each with ``leads`` (low, high) leads."""
        low, high = leads
        for _ in range(count):
            campaign_id = new_id(rng, "cam_")
            while campaign_id in self.campaigns:  # astronomically unlikely
                campaign_id = new_id(rng, "cam_")
            lead_count = rng.randint(low, high)
            # Leads are generated on first use, from their own seed, so that
            # 200 campaigns cost nothing until asked for and the result does
            # not depend on the order in which campaigns are read.
            self.campaigns[campaign_id] = Campaign(LeadFactory(rng.getrandbits(64), lead_count))
        self.seeded_ids = list(self.campaigns)


#: How a route reaches the store.
STORE: Final = web.AppKey("lemlist_fake_store", Store)


def seeded_rng(seed: int) -> random.Random:
    """A private generator: reproducible fake data is the point, not secrecy."""
    return random.Random(seed)  # noqa: S311


def new_id(rng: random.Random, prefix: str) -> str:
    """A lemlist-looking id: ``prefix`` and 17 letters or digits."""
    return prefix + "".join(rng.choices(_ID_ALPHABET, k=_ID_LENGTH))


def lead_count_range(leads_per_campaign: int | tuple[int, int]) -> tuple[int, int]:
    """``leads_per_campaign`` as an inclusive (low, high) range; ValueError if invalid."""
    if isinstance(leads_per_campaign, int):
        low = high = leads_per_campaign
    else:
        low, high = leads_per_campaign
    if not 0 <= low <= high:
        raise ValueError(
            "leads_per_campaign must be a count >= 0 or a range (low, high) with"
            f" 0 <= low <= high, got {leads_per_campaign!r}"
        )
    return low, high
