"""Typed models of lemlist's payloads.

Field names are Pythonic; their wire names (``_id``, ``contactId``) live in each
field's metadata and are applied by the converter in ``_converter``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

import attrs

from ._constants import UNKNOWN_STATE_CACHED_CHARS, UNKNOWN_STATES_CACHED

__all__ = ["WIRE_NAME", "Extra", "Lead", "LeadState", "as_extra"]

#: Metadata key that holds a field's name on the wire, when it differs.
WIRE_NAME = "lemlist_wire_name"


class LeadState(enum.StrEnum):
    """A lead's state in a campaign: an *open* set.

    Every state lemlist documents is a member. A state it adds later is still
    accepted: ``LeadState("somethingNew")`` returns a value that is an instance of
    this class, equals the string ``"somethingNew"`` and keeps it, instead of
    raising. See the list at
    https://developer.lemlist.com/api-reference/endpoints/campaigns/export-campaign-leads
    """

    # Global states.
    IMPORTED = "imported"
    SCANNED = "scanned"
    SKIPPED = "skipped"
    REVIEWED = "reviewed"
    CONTACTED = "contacted"
    HOOKED = "hooked"
    ATTRACTED = "attracted"
    WARMED = "warmed"
    INTERESTED = "interested"
    NOT_INTERESTED = "notInterested"
    EMAILS_BOUNCED = "emailsBounced"
    EMAILS_UNSUBSCRIBED = "emailsUnsubscribed"
    FAILED = "failed"  # Deprecated by lemlist, still seen.
    MEETING_BOOKED = "meetingBooked"
    PAUSED = "paused"
    # Detailed states.
    EMAILS_SENT = "emailsSent"
    EMAILS_OPENED = "emailsOpened"
    EMAILS_CLICKED = "emailsClicked"
    EMAILS_REPLIED = "emailsReplied"
    EMAILS_INTERESTED = "emailsInterested"
    EMAILS_NOT_INTERESTED = "emailsNotInterested"
    EMAILS_FAILED = "emailsFailed"
    OPPORTUNITIES_DONE = "opportunitiesDone"
    AIRCALL_DONE = "aircallDone"
    AIRCALL_INTERESTED = "aircallInterested"
    AIRCALL_NOT_INTERESTED = "aircallNotInterested"
    API_DONE = "apiDone"
    API_INTERESTED = "apiInterested"
    API_NOT_INTERESTED = "apiNotInterested"
    LINKEDIN_VISIT_DONE = "linkedinVisitDone"
    LINKEDIN_VISIT_FAILED = "linkedinVisitFailed"
    LINKEDIN_INVITE_DONE = "linkedinInviteDone"
    LINKEDIN_INVITE_ACCEPTED = "linkedinInviteAccepted"
    LINKEDIN_INVITE_FAILED = "linkedinInviteFailed"
    LINKEDIN_SENT = "linkedinSent"
    LINKEDIN_OPENED = "linkedinOpened"
    LINKEDIN_REPLIED = "linkedinReplied"
    LINKEDIN_INTERESTED = "linkedinInterested"
    LINKEDIN_NOT_INTERESTED = "linkedinNotInterested"
    LINKEDIN_SEND_FAILED = "linkedinSendFailed"
    MANUAL_INTERESTED = "manualInterested"
    MANUAL_NOT_INTERESTED = "manualNotInterested"

    @classmethod
    def _missing_(cls, value: object) -> LeadState | None:
        # lemlist adds states over time; an unknown one becomes a pseudo-member
        # instead of an error. Enum's own map would keep every such value forever
        # (a server sending endless distinct strings would grow it without end),
        # so pseudo-members live in a small cache of their own, bounded in count
        # and length; past it, equal values are equal but not identical.
        if not isinstance(value, str):
            return None
        cached = _unknown_states.get(value)
        if cached is not None:
            return cached
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        if len(_unknown_states) < UNKNOWN_STATES_CACHED and len(value) <= (
            UNKNOWN_STATE_CACHED_CHARS
        ):
            _unknown_states[value] = member
        return member

    @property
    def is_known(self) -> bool:
        """Whether lemlist documents this state (False for one the SDK has not seen)."""
        return self._name_ in type(self).__members__


#: Pseudo-members for states lemlist did not document (see ``LeadState._missing_``).
_unknown_states: dict[str, LeadState] = {}


class Extra(Mapping[str, Any]):
    """The read-only mapping of a model's unknown payload members.

    Unlike ``types.MappingProxyType`` it pickles and deep-copies, so models can
    cross process boundaries; it compares equal to a ``dict`` with the same items.

    Args:
        members: The members, copied.
    """

    __slots__ = ("_members",)

    def __init__(self, members: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()) -> None:
        self._members: dict[str, Any] = dict(members)

    def __getitem__(self, key: str) -> Any:
        return self._members[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._members)

    def __len__(self) -> int:
        return len(self._members)

    def __repr__(self) -> str:
        return f"Extra({self._members!r})"

    def __reduce__(self) -> tuple[type[Extra], tuple[dict[str, Any]]]:
        return (Extra, (self._members,))


#: Shared by every model without extra members: no mapping per lead.
_NO_EXTRA: Final[Mapping[str, Any]] = Extra()


def as_extra(members: Mapping[str, Any]) -> Mapping[str, Any]:
    """An ``Extra`` of ``members`` (itself if it already is one): a model's ``extra`` converter."""
    return members if type(members) is Extra else Extra(members)


def _wire(name: str) -> dict[str, str]:
    return {WIRE_NAME: name}


@attrs.frozen
class Lead:
    """A lead of a campaign, as Get Campaign Leads returns it.

    Attributes:
        id: The lead's id (``_id`` on the wire), for example ``lea_A1B2C3D4E5F6G7H8I9``.
        contact_id: The contact's id (``contactId``); ``con_`` and ``ctc_`` both occur.
        state: The lead's current state.
        extra: Every other member of the payload, untouched, so that a field lemlist
            adds tomorrow is neither an error nor lost.
    """

    id: str = attrs.field(metadata=_wire("_id"))
    contact_id: str = attrs.field(metadata=_wire("contactId"))
    state: LeadState
    extra: Mapping[str, Any] = attrs.field(
        default=_NO_EXTRA, converter=as_extra, hash=False, repr=False
    )
