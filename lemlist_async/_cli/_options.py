"""Options that several commands share, their argparse types, and open-set warnings.

Every option is declared with ``allow_abbrev=False`` parsers (see ``_parser``),
so ``--key-f`` never silently becomes ``--key-file``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
from collections.abc import Callable, Collection, Sequence
from typing import Final

from lemlist_async._client import LemlistClient
from lemlist_async._config import validate_base_url
from lemlist_async._constants import API_KEY_ENV_VAR, DEFAULT_BASE_URL, RATE_LIMIT, RATE_WINDOW
from lemlist_async._models import CampaignStatus, LeadState

__all__ = [
    "KEY_HELP",
    "add_connection_options",
    "add_ids_file_option",
    "add_ids_options",
    "add_output_options",
    "base_url",
    "bounded_int",
    "campaign_status",
    "iso_datetime",
    "make_client",
    "open_set_warning",
    "state",
    "state_warning",
    "status_warning",
]

KEY_HELP: Final = f"""\
The API key is read from the {API_KEY_ENV_VAR} environment variable, or from
the first line of --key-file PATH. There is deliberately no option that takes
the key itself: a value on the command line shows in the process list and in
the shell history."""

#: The lead states lemlist documents: ``LeadState``'s members (iteration skips
#: the pseudo-members that unknown states become).
_KNOWN_STATES: Final = frozenset(state.value for state in LeadState)
# Listed by a warning about a state that is close to none of them.
_COMMON_STATES: Final = ("interested", "notInterested", "contacted", "hooked", "paused")
#: The campaign statuses lemlist documents, in ``CampaignStatus``'s order.
_KNOWN_STATUSES: Final = tuple(status.value for status in CampaignStatus)


def bounded_int(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse ``type`` for an int in ``low..high`` (no upper bound when None)."""
    bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer {bounds}, got {text!r}"
            ) from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected an integer {bounds}, got {value}")
        return value

    return parse


def state(text: str) -> str:
    """An argparse ``type`` for ``--state``: any non-empty name, stripped.

    lemlist's states are an open set (see ``LeadState``): the commands warn
    about one lemlist does not document (``state_warning``) and send it anyway.
    """
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty; leave --state out for every state")
    return text.strip()


def campaign_status(text: str) -> str:
    """An argparse ``type`` for ``--status``: any non-empty name, stripped.

    Campaign statuses are an open set (see ``CampaignStatus``): the commands
    warn about one lemlist does not document (``status_warning``) and send it.
    """
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "must not be empty; leave --status out for every campaign"
        )
    return text.strip()


def iso_datetime(text: str) -> dt.datetime:
    """An argparse ``type`` for a moment: an ISO 8601 date or date and time, made aware.

    ``2024-05-01`` is midnight UTC that day; ``2024-05-01T09:30`` (no offset)
    is UTC; ``2024-05-01T09:30:00+02:00`` and ``...Z`` keep their offset. Anything
    else (and a moment UTC cannot hold, such as year 1 with a positive offset)
    is an argparse error: exit 2, before any request.
    """
    example = "such as 2024-05-01 or 2024-05-01T09:30:00Z"
    try:
        value = dt.datetime.fromisoformat(text.strip())
        if value.utcoffset() is None:
            value = value.replace(tzinfo=dt.UTC)
        value.astimezone(dt.UTC)  # lemlist is sent UTC: it must exist there
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 date or date and time, {example}, got {text!r}"
        ) from None
    return value


def base_url(text: str) -> str:
    """An argparse ``type`` for ``--base-url``: ``validate_base_url``'s rules."""
    try:
        return str(validate_base_url(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def open_set_warning(
    value: str, known: Collection[str], common: Sequence[str], what: str
) -> str | None:
    """A warning for a ``value`` of an open set that lemlist does not document, else None.

    An unknown value is still sent (lemlist may have added it since), but a
    typo would match nothing without any error, hence the warning. It suggests
    the closest documented value, compared without case (``difflib``), or
    lists ``common`` ones when none is close.

    Args:
        value: What the user typed.
        known: The documented values (an enum's members' values: never build
            a pseudo-member to check, which would be cached per name typed).
        common: Listed when no documented value is close.
        what: The set's name in the message, with its article: ``a lead state``.
    """
    if value in known:
        return None
    by_folded = {entry.casefold(): entry for entry in known}
    close = difflib.get_close_matches(value.casefold(), by_folded, n=1)
    if close:
        hint = f"did you mean {by_folded[close[0]]!r}?"
    else:
        hint = "such as " + ", ".join(repr(entry) for entry in common)
    return f"warning: {value!r} is not {what} lemlist documents ({hint}); it is sent as given"


def state_warning(state: str) -> str | None:
    """A warning for a ``--state`` that lemlist does not document; None for one it does.

    See ``open_set_warning``. Only the documented states (the members of
    ``LeadState``) count; this never calls ``LeadState(state)``, which would
    cache a pseudo-member per name typed.
    """
    return open_set_warning(state, _KNOWN_STATES, _COMMON_STATES, "a lead state")


def status_warning(status: str) -> str | None:
    """A warning for a ``--status`` that lemlist does not document; None for one it does.

    Statuses are an open set: an unknown one is still sent. Only the members of
    ``CampaignStatus`` count; this never calls ``CampaignStatus(status)``, which
    would cache a pseudo-member per name typed. See ``open_set_warning``.
    """
    return open_set_warning(status, _KNOWN_STATUSES, _KNOWN_STATUSES, "a campaign status")


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """``--format jsonl|csv`` (``args.format``) and ``-o/--output FILE`` (``args.output``)."""
    parser.add_argument(
        "--format", choices=("jsonl", "csv"), default="jsonl", help="jsonl (default) or csv"
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write to FILE (atomically) instead of stdout"
    )


def add_ids_options(parser: argparse.ArgumentParser) -> None:
    """The ``CAMPAIGN_ID...`` arguments (``args.campaign_ids``); see ``add_ids_file_option``."""
    parser.add_argument(
        "campaign_ids",
        nargs="*",
        metavar="CAMPAIGN_ID",
        help="campaign ids; '-' reads more from stdin, one per line",
    )


def add_ids_file_option(parser: argparse.ArgumentParser) -> None:
    """``--ids-file FILE`` (``args.ids_file``), read by ``collect_ids``."""
    parser.add_argument(
        "--ids-file",
        metavar="FILE",
        help="read more ids from FILE, one per line; blank lines and # comments are skipped",
    )


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    """The options of a command that talks to lemlist; ``make_client`` reads them.

    ``--base-url URL`` (``args.base_url``), ``--key-file PATH`` (``args.key_file``)
    and ``--rate-limit N`` (``args.rate_limit``, 1 to 20, default 20).
    """
    parser.add_argument(
        "--base-url",
        type=base_url,
        default=DEFAULT_BASE_URL,
        metavar="URL",
        help=f"the API root (default: {DEFAULT_BASE_URL}); http:// only to localhost",
    )
    parser.add_argument(
        "--key-file",
        metavar="PATH",
        help=f"read the API key from the first line of PATH (instead of {API_KEY_ENV_VAR})",
    )
    parser.add_argument(
        "--rate-limit",
        type=bounded_int(1, RATE_LIMIT),
        default=RATE_LIMIT,
        metavar="N",
        help=f"send at most N requests per {RATE_WINDOW:g} s, 1 to {RATE_LIMIT} (default: "
        f"{RATE_LIMIT}, lemlist's limit per key); less leaves headroom for other tools "
        "on the same key",
    )


def make_client(args: argparse.Namespace, key: str) -> LemlistClient:
    """A client for ``key`` with the options of ``add_connection_options``.

    ``--rate-limit`` becomes ``LemlistClient(rate_limit=N)``: the key's limiter
    in this process lets at most N requests out per window (the window is
    lemlist's, 2 s). Not yet open: use it as ``async with``.
    """
    return LemlistClient(key, base_url=args.base_url, rate_limit=args.rate_limit)
