"""What a lead import sends and what it reports: ``NewLead`` in, ``ImportResult`` out.

``NewLead`` is the typed body of Create Lead in Campaign: its fields are the
ones lemlist documents, and every custom variable goes through ``variables``.
It is checked when it is built, so a bad lead is refused before anything is
sent, and no error message repeats its personal data.
https://developer.lemlist.com/api-reference/endpoints/leads/create-lead-in-campaign
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Final

import attrs

from lemlist_async._errors import LemlistError

from ._base import Extra
from .leads import LeadDetails

__all__ = ["ImportResult", "ImportStatus", "NewLead"]

#: The documented body members, by the Python name of their ``NewLead`` field.
_WIRE_NAMES: Final = {
    "email": "email",
    "first_name": "firstName",
    "last_name": "lastName",
    "company_name": "companyName",
    "job_title": "jobTitle",
    "linkedin_url": "linkedinUrl",
    "picture": "picture",
    "phone": "phone",
    "company_domain": "companyDomain",
    "icebreaker": "icebreaker",
    "timezone": "timezone",
    "contact_owner": "contactOwner",
}
#: Either name of a documented member, to the Python one (for ``from_mapping``).
_FIELD_OF: Final = {**{w: p for p, w in _WIRE_NAMES.items()}, **{p: p for p in _WIRE_NAMES}}
#: What a custom variable's value may be: lemlist stores them as text.
_VARIABLE_TYPES: Final = (str, int, float, bool)


def _text(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    # The value itself is personal data: never part of the message.
    if value is None and attribute.name != "email":
        return
    if not isinstance(value, str):
        raise TypeError(f"{attribute.name} must be a str, not {type(value).__name__}")
    if attribute.name == "email" and not value.strip():
        raise ValueError("email must not be empty")
    _check_unicode(value, attribute.name)


def _check_unicode(value: str, name: str) -> None:
    # A lone surrogate (a bad byte read with surrogateescape, a JSON "\udcff")
    # cannot be sent as UTF-8: json.dumps would escape it, and lemlist would
    # store the escape. No UnicodeEncodeError rides along: it holds the value.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        failed = True
    else:
        failed = False
    if failed:
        raise ValueError(f"{name} is not valid text (it holds a lone surrogate)")


def _variables(
    instance: object, attribute: attrs.Attribute[Any], value: Mapping[str, Any]
) -> None:
    for name, item in value.items():
        if not isinstance(name, str) or not name.strip():
            raise ValueError("each variable name must be a non-empty str")
        if name in _FIELD_OF:
            raise ValueError(
                f"variable {name!r} is a documented field: pass it as "
                f"{_FIELD_OF[name]}=, not in variables"
            )
        if not isinstance(item, _VARIABLE_TYPES):
            raise TypeError(
                f"variable {name!r} must be a str, int, float or bool, not {type(item).__name__}"
            )
        _check_unicode(name, "a variable name")
        if isinstance(item, str):
            _check_unicode(item, f"variable {name!r}")


def _own_variables(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if value is None:
        return Extra()
    if not isinstance(value, Mapping):
        raise TypeError(f"variables must be a mapping, not {type(value).__name__}")
    return Extra(value)


def _as_text(value: str | float | bool) -> str:
    # lemlist keeps custom variables as text: a number or a flag is sent as the
    # text a template would show, JSON's spelling for the flags.
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else repr(value)


def _field() -> Any:
    return attrs.field(default=None, validator=_text, repr=False)


@attrs.frozen(kw_only=True)
class NewLead:
    """A lead to create in a campaign: the body of Create Lead in Campaign.

    Personal data stays out of ``repr`` and of every error message.

    Attributes:
        email: The lead's email (required: it is how an import finds the lead
            again after a failure).
        first_name, last_name, company_name, job_title, linkedin_url, picture,
            phone, company_domain, icebreaker, timezone, contact_owner: The
            fields lemlist documents; None ones are not sent.
        variables: Custom variables, by name (``{"companySize": "50"}``); values
            are str, int, float or bool, sent as text (``50`` as ``"50"``, True
            as ``"true"``), as lemlist keeps them.

    Raises:
        TypeError, ValueError: A field of the wrong type, an empty email, or a
            variable that names a documented field.
    """

    email: str = attrs.field(validator=_text, repr=False)
    first_name: str | None = _field()
    last_name: str | None = _field()
    company_name: str | None = _field()
    job_title: str | None = _field()
    linkedin_url: str | None = _field()
    picture: str | None = _field()
    phone: str | None = _field()
    company_domain: str | None = _field()
    icebreaker: str | None = _field()
    timezone: str | None = _field()
    contact_owner: str | None = _field()
    variables: Mapping[str, Any] = attrs.field(
        factory=Extra, converter=_own_variables, validator=_variables, repr=False
    )

    @classmethod
    def from_mapping(cls, row: Mapping[str, Any]) -> NewLead:
        """A lead from a flat mapping, such as a CSV row or a JSON object.

        Keys may be a field's Python name (``first_name``) or its wire name
        (``firstName``); every other key is a custom variable. Empty values
        (``""``, None) are left out, as a CSV writes a missing value.

        Raises:
            TypeError, ValueError: As the constructor.
        """
        if not isinstance(row, Mapping):
            raise TypeError(f"a lead must be a mapping, not {type(row).__name__}")
        fields: dict[str, Any] = {}
        variables: dict[str, Any] = {}
        for key, value in row.items():
            if value is None or value == "":
                continue
            name = _FIELD_OF.get(key) if isinstance(key, str) else None
            if name is None:
                variables[key] = value
            else:
                fields[name] = value
        if "email" not in fields:
            raise ValueError("a lead needs an email")
        return cls(**fields, variables=variables)

    def to_json(self) -> dict[str, Any]:
        """The JSON body lemlist takes: wire names, custom variables at the top level, as text."""
        body = {
            wire: value
            for name, wire in _WIRE_NAMES.items()
            if (value := getattr(self, name)) is not None
        }
        body.update((name, _as_text(value)) for name, value in self.variables.items())
        return body


class ImportStatus(enum.Enum):
    """What became of one lead of an import."""

    #: The lead was created in the campaign by this import.
    CREATED = "created"
    #: The campaign already had a lead with this email; nothing was sent for it.
    PRESENT = "present"
    #: An earlier lead of the same input has this email; nothing was sent for it.
    DUPLICATE = "duplicate"
    #: lemlist refused it, or it was invalid; ``error`` says why. Nothing was created.
    FAILED = "failed"
    #: It may or may not have been created (``AmbiguousWriteError``), and
    #: reconciliation was off or could not tell: look it up before sending again.
    AMBIGUOUS = "ambiguous"


@attrs.frozen(kw_only=True)
class ImportResult:
    """The outcome of one lead of ``client.leads.add_many``.

    Attributes:
        index: The lead's position in the input, from 0.
        email: Its email (None when the input had none).
        status: What became of it.
        lead: The lead in the campaign, for ``CREATED``; None otherwise.
        error: Why, for ``FAILED`` and ``AMBIGUOUS``; None otherwise.
        reconciled: True when the create may have failed and a look-up found
            the lead in the campaign (it was created once, by this import).
    """

    index: int
    email: str | None = attrs.field(repr=False)
    status: ImportStatus
    lead: LeadDetails | None = attrs.field(default=None, repr=False)
    error: LemlistError | None = None
    reconciled: bool = False

    @property
    def ok(self) -> bool:
        """Whether the lead is in the campaign (created now, or present already)."""
        return self.status in (ImportStatus.CREATED, ImportStatus.PRESENT)
