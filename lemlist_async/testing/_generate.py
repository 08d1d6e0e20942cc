"""How the fake draws its seeded data: team, users, campaign details, lead profiles.

Every draw here comes from a generator of its own, seeded from a string derived
from the server's seed (``random.Random`` hashes a ``str`` seed with SHA-512, so
it is stable across runs and Python versions). The draws that existed first
(key, campaign ids, Get Campaign Leads' leads) come from the older integer-seeded
generators in ``_store`` and are left untouched: adding a field here never
changes an id or a body that a test already depends on.
"""

from __future__ import annotations

import itertools
import random
import string
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import attrs

from ._wire import iso_z

#: The alphabet of the first seeded ids: changing it would change every id.
_ID_ALPHABET: Final = string.ascii_letters + string.digits
_ID_LENGTH: Final = 17

TEAM_CREATED_AT: Final = datetime(2023, 1, 9, 9, 30, tzinfo=UTC)
#: Campaign ``createdAt``: one per day after the team's, plus a seeded time of day,
#: so that seeding order is creation order.
_CAMPAIGN_SPACING: Final = timedelta(days=1)

_TEAM_NAMES: Final = ("Acme Outreach", "Northwind Sales", "Globex Growth", "Initech SDR")
_USER_NAMES: Final = (
    ("Alice", "Martin"),
    ("Bruno", "Lefebvre"),
    ("Chloé", "Dubois"),
    ("Dmitri", "Ivanov"),
    ("Eva", "Schmidt"),
    ("Farid", "Haddad"),
)
_FIRST_NAMES: Final = (
    "Jeremy", "Frankie", "Louiza", "Benjamin", "Roxanne", "Thomas", "Nadia", "Oscar",
    "Priya", "Quentin", "Sofia", "Tariq", "Uma", "Victor", "Wendy", "Yann",
)  # fmt: skip
_LAST_NAMES: Final = (
    "Smith", "Johnson", "Brown", "Williams", "Davis", "Miller", "Garcia", "Martinez",
    "Nguyen", "Kowalski", "Rossi", "Dupont", "Silva", "Okafor", "Tanaka", "Berg",
)  # fmt: skip
_COMPANIES: Final = (
    ("Example Corp", "example.com"),
    ("Example Labs", "example.org"),
    ("Sample Io", "example.io"),
    ("Demo Co", "example.co"),
    ("Test Networks", "example.net"),
    ("Placeholder SAS", "example.fr"),
)
_JOB_TITLES: Final = ("CEO", "Head of Sales", "CTO", "Marketing Manager", "SDR", "VP Growth")
_TIMEZONES: Final = ("Europe/Paris", "America/New_York", "Europe/London", "Asia/Tokyo", "")
_ICEBREAKERS: Final = ("", "", "Loved your talk at the summit.", "Congrats on the new round!")
#: (emailStatus, weight): the spec's enum for the export's ``emailStatus``.
_EMAIL_STATUSES: Final = (("deliverable", 80), ("risky", 15), ("undeliverable", 5))
_STATUS_NAMES: Final = [status for status, _ in _EMAIL_STATUSES]
#: Cumulative, as ``choices`` would sum them on every draw (the same draws).
_STATUS_CUM_WEIGHTS: Final = list(itertools.accumulate(weight for _, weight in _EMAIL_STATUSES))
_CAMPAIGN_TOPICS: Final = (
    "Product Launch", "Sales Outreach", "Customer Onboarding", "Event Follow-up",
    "Webinar Invite", "Partner Program", "Reactivation", "Demo Request",
)  # fmt: skip
_EMOJIS: Final = ("🚀", "📣", "🎯", "🤝")
_LABELS: Final = ("CRM", "Q3", "Inbound", "Partners", "EMEA", "Test")
#: (status, weight): the six statuses of the spec's Campaign schema, mixed.
_CAMPAIGN_STATUSES: Final = (
    ("running", 35),
    ("draft", 15),
    ("paused", 15),
    ("ended", 15),
    ("archived", 10),
    ("errors", 10),
)
#: Error messages of the spec's Get Many Campaigns example.
_CAMPAIGN_ERRORS: Final = (
    "Your campaign does not have sender.",
    "One of your sender has no email provider.",
    "Your campaign have an invalid sender mailbox",
)
#: (taskType, weight) of sequence steps: the spec's enum, email first.
_TASK_TYPES: Final = (
    ("email", 10),
    ("linkedinVisit", 2),
    ("linkedinInvite", 2),
    ("linkedinSend", 2),
    ("phone", 1),
    ("manual", 1),
    ("conditional", 1),
)
#: Custom variable names: the spec's CSV example first (spaces and all), then more.
_VARIABLE_NAMES: Final = (
    "Original event page",
    "url extension",
    "naissance",
    "industry",
    "city",
    "meetingLink",
    "painPoint",
    "referral",
    "seniority",
    "lastEvent",
)
#: Values a custom variable takes; some need CSV quoting on purpose.
_VARIABLE_VALUES: Final = (
    "https://www.example.com/event-registration",
    "?name=Jeremy&email=jeremy@example.com",
    'Paris, "Rive Gauche"',
    "SaaS",
    "1984-02-29",
    "",
    "multi\nline",
    "Zürich",
)
#: Values each variable draws from: a per-campaign pick of `_VARIABLE_VALUES`.
_VALUES_PER_VARIABLE: Final = 4


@attrs.frozen
class User:
    """A team member: ``usr_`` id, full name, email, role."""

    id: str
    name: str
    email: str
    role: str

    def as_team_user(self) -> dict[str, str]:
        """The item of Get Team's ``users`` (``version=v2``)."""
        return {"userId": self.id, "name": self.name, "email": self.email, "role": self.role}


@attrs.frozen
class Team:
    """The one team behind the fake's API key."""

    id: str
    name: str
    users: tuple[User, ...]

    def as_json(self, *, with_users: bool) -> dict[str, Any]:
        """Get Team's body (the spec's Team schema); ``users`` only with ``version=v2``."""
        body: dict[str, Any] = {
            "_id": self.id,
            "name": self.name,
            "userIds": [user.id for user in self.users],
            "createdBy": self.users[0].id,
            "createdAt": iso_z(TEAM_CREATED_AT),
            "hooks": [],
            "beta": [],
            "invitedUsers": [],
        }
        if with_users:
            body["users"] = [user.as_team_user() for user in self.users]
        return body


@attrs.frozen
class Step:
    """One step of a campaign's sequence."""

    index: int
    sequence_id: str
    task_type: str


@attrs.frozen
class CampaignDetails:
    """What a campaign is besides its leads: the spec's Campaign fields, and more."""

    name: str
    status: str
    has_error: bool
    errors: tuple[str, ...]
    created_at: str
    creator: User
    senders: tuple[tuple[User, str], ...]  # (user, sendUserMailboxId)
    labels: tuple[str, ...]
    emoji: str | None
    sequence_id: str
    schedule_id: str
    timezone: str
    variables: tuple[str, ...]
    value_pools: tuple[tuple[str, ...], ...]
    steps: tuple[Step, ...]


def derived_rng(*parts: object) -> random.Random:
    """A generator seeded from ``parts``: reproducible fake data, not secrecy."""
    return random.Random("/".join(map(str, parts)))  # noqa: S311


def new_id(rng: random.Random, prefix: str) -> str:
    """A lemlist-looking id: ``prefix`` and 17 letters or digits."""
    return prefix + "".join(rng.choices(_ID_ALPHABET, k=_ID_LENGTH))


def draw_team(seed: int) -> Team:
    """The team of server ``seed``, with 2 or 3 users; the first one created it."""
    rng = derived_rng(seed, "team")
    name = rng.choice(_TEAM_NAMES)
    domain = name.split()[0].lower() + ".example"
    users = []
    for position, (first, last) in enumerate(rng.sample(_USER_NAMES, rng.randint(2, 3))):
        email = f"{first.lower()}@{domain}".replace("é", "e")
        role = "admin" if position == 0 else "member"
        users.append(User(new_id(rng, "usr_"), f"{first} {last}", email, role))
    return Team(new_id(rng, "tea_"), name, tuple(users))


def draw_details(
    rng: random.Random, index: int, team: Team, variables: tuple[int, int]
) -> CampaignDetails:
    """A campaign's details; ``index`` orders ``createdAt`` (seeding order)."""
    status = _weighted(rng, _CAMPAIGN_STATUSES)
    # "a campaign can be in multiple statuses at one time (e.g., a paused
    # campaign with errors)": some campaigns of other statuses have errors too.
    has_error = status == "errors" or rng.random() < 0.1
    errors = tuple(rng.sample(_CAMPAIGN_ERRORS, rng.randint(1, 2))) if has_error else ()
    created = TEAM_CREATED_AT + _CAMPAIGN_SPACING * (index + 1)
    created += timedelta(milliseconds=rng.randrange(20 * 3600 * 1000))
    senders = tuple(
        (user, new_id(rng, "usm_"))
        for user in rng.sample(team.users, rng.randint(1, min(2, len(team.users))))
    )
    count = rng.randint(*variables)
    names = list(rng.sample(_VARIABLE_NAMES, min(count, len(_VARIABLE_NAMES))))
    names += [f"customVariable{n}" for n in range(len(names) + 1, count + 1)]
    sequence_id = new_id(rng, "seq_")
    return CampaignDetails(
        name=f"{rng.choice(_CAMPAIGN_TOPICS)} #{index + 1}",
        status=status,
        has_error=has_error,
        errors=errors,
        created_at=iso_z(created),
        creator=rng.choice(team.users),
        senders=senders,
        labels=tuple(rng.sample(_LABELS, rng.randint(0, 2))),
        emoji=rng.choice(_EMOJIS) if rng.random() < 0.3 else None,
        sequence_id=sequence_id,
        schedule_id=new_id(rng, "skd_"),
        timezone=rng.choice(_TIMEZONES[:-1]),
        variables=tuple(names),
        value_pools=tuple(
            tuple(rng.sample(_VARIABLE_VALUES, _VALUES_PER_VARIABLE)) for _ in names
        ),
        steps=tuple(
            Step(position, sequence_id, _weighted(rng, _TASK_TYPES))
            for position in range(1, rng.randint(1, 4) + 1)
        ),
    )


def profiles(
    rng: random.Random, value_pools: Sequence[Sequence[str]]
) -> Iterator[tuple[dict[str, str], list[str]]]:
    """Endless (profile, custom values) per lead, in lead creation order.

    The profile holds the export's standard fields; the email is unique within
    the campaign (it carries the lead's position).
    """
    position = 0
    while True:
        position += 1
        yield draw_profile(rng, str(position)), [rng.choice(pool) for pool in value_pools]


def draw_profile(rng: random.Random, suffix: str) -> dict[str, str]:
    """A person: the export's standard fields, ``suffix`` after the name in the email."""
    first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
    company, domain = rng.choice(_COMPANIES)
    handle = f"{first}{last}".lower()
    return {
        "emailStatus": rng.choices(_STATUS_NAMES, cum_weights=_STATUS_CUM_WEIGHTS)[0],
        "email": f"{first}.{last}{suffix}@{domain}".lower(),
        "firstName": first,
        "lastName": last,
        "picture": f"https://www.example.com/pictures/{handle}.png" if rng.random() < 0.3 else "",
        "phone": f"+33 6 {rng.randrange(10**8):08d}" if rng.random() < 0.4 else "",
        "linkedinUrl": f"https://www.linkedin.com/in/{handle}{suffix}",
        "timezone": rng.choice(_TIMEZONES),
        "companyName": company,
        "companyDomain": domain,
        "icebreaker": rng.choice(_ICEBREAKERS),
        "jobTitle": rng.choice(_JOB_TITLES),
    }


def lead_count_range(
    count: int | tuple[int, int], name: str = "leads_per_campaign"
) -> tuple[int, int]:
    """``count`` as an inclusive (low, high) range; ValueError naming ``name`` if invalid."""
    if isinstance(count, int):
        low = high = count
    else:
        low, high = count
    if not 0 <= low <= high:
        raise ValueError(
            f"{name} must be a count >= 0 or a range (low, high) with"
            f" 0 <= low <= high, got {count!r}"
        )
    return low, high


def _weighted(rng: random.Random, table: Sequence[tuple[str, int]]) -> str:
    return rng.choices([name for name, _ in table], [weight for _, weight in table])[0]
