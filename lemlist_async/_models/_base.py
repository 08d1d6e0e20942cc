"""What every model shares: wire names, the ``extra`` mapping, open string enums.

Field names are Pythonic; their wire names (``_id``, ``contactId``) live in each
field's metadata and are applied by the converter (``_converter``). Members of a
payload that a model does not declare go to its ``extra`` mapping, so a field
lemlist adds tomorrow is neither an error nor lost. Enumerations are *open*:
lemlist adds values over time, and a value the SDK has not seen must not break
a client.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

import attrs

from lemlist_async._constants import UNKNOWN_STATE_CACHED_CHARS, UNKNOWN_STATES_CACHED

__all__ = [
    "EXTRA",
    "NO_EXTRA",
    "WIRE_NAME",
    "Extra",
    "OpenStrEnum",
    "as_extra",
    "extra_field",
    "optional",
    "wire",
]

#: Metadata key that holds a field's name on the wire, when it differs.
WIRE_NAME: Final = "lemlist_wire_name"
#: The attribute of a model that keeps unknown payload members.
EXTRA: Final = "extra"


def wire(name: str) -> dict[str, str]:
    """Field metadata naming the field's wire name: ``attrs.field(metadata=wire("_id"))``."""
    return {WIRE_NAME: name}


#: Pseudo-members of every open enum, by class (see ``OpenStrEnum._missing_``).
_unknown: dict[type, dict[str, Any]] = {}


class OpenStrEnum(enum.StrEnum):
    """A string enumeration that also accepts values it does not list.

    ``Status("somethingNew")`` returns a value that is an instance of the class,
    equals the string ``"somethingNew"`` and keeps it, instead of raising;
    ``.is_known`` tells the two apart.
    """

    @classmethod
    def _missing_(cls, value: object) -> Any:
        # Enum's own value map would keep every pseudo-member forever (a server
        # sending endless distinct strings would grow it without end), so they
        # live in a small cache of their own, bounded in count and length; past
        # it, equal values are equal but not identical.
        if not isinstance(value, str):
            return None
        cache = _unknown.setdefault(cls, {})
        cached = cache.get(value)
        if cached is not None:
            return cached
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        if len(cache) < UNKNOWN_STATES_CACHED and len(value) <= UNKNOWN_STATE_CACHED_CHARS:
            cache[value] = member
        return member

    @property
    def is_known(self) -> bool:
        """Whether lemlist documents this value (False for one the SDK has not seen)."""
        return self._name_ in type(self).__members__


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


#: Shared by every model without extra members: no mapping per item.
NO_EXTRA: Final[Mapping[str, Any]] = Extra()


def as_extra(members: Mapping[str, Any]) -> Mapping[str, Any]:
    """An ``Extra`` of ``members`` (itself if it already is one): a model's ``extra`` converter."""
    return members if type(members) is Extra else Extra(members)


def optional(wire_name: str | None = None) -> Any:
    """A field that is None when the payload lacks it, with its wire name if it differs."""
    return attrs.field(default=None, metadata=wire(wire_name) if wire_name else {})


def extra_field() -> Any:
    """The ``extra`` field every model ends with: unknown members, kept read-only."""
    return attrs.field(default=NO_EXTRA, converter=as_extra, hash=False, repr=False)
