"""Checks of endpoint arguments, done before anything is sent. Pure functions."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from urllib.parse import quote

from ._constants import LEADS_LIMIT_MAX, LEADS_LIMIT_MIN
from ._models import LeadState

__all__ = [
    "check_choice",
    "check_concurrency",
    "check_count",
    "check_datetime",
    "check_deadline",
    "check_flag",
    "check_ids",
    "check_limit",
    "check_range",
    "check_retries",
    "check_seconds",
    "check_state",
    "check_text",
    "path_segment",
]


def path_segment(value: object, name: str) -> str:
    """Percent-encode an id as exactly one path segment.

    Every reserved character is encoded, ``/`` included, and so is ``.``. An id
    made only of dots is refused: URL normalizers (yarl, WHATWG) read ``%2E%2E``
    as ``..`` again, so ``/campaigns/%2E%2E/leads/`` would reach ``/leads/``.

    Raises:
        TypeError: ``value`` is not a str.
        ValueError: ``value`` is empty, only whitespace, only dots, or not
            encodable as UTF-8 (it holds a lone surrogate, as a
            ``surrogateescape`` read of bytes that are not UTF-8 produces).
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name} must not be empty")
    if not value.strip("."):
        raise ValueError(f"{name} must not be only dots, got {value!r}")
    if not _is_utf8(value):
        raise ValueError(f"{name} is not valid text (it holds a lone surrogate): {value!r}")
    return quote(value, safe="").replace(".", "%2E")


def _is_utf8(text: str) -> bool:
    # Checked without try/except around the caller's error, so that no
    # UnicodeEncodeError (which holds the whole string) rides along as context.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_state(state: object) -> str | None:
    """Validate a lead-state filter; states are an open set, so any non-empty str passes."""
    if state is None:
        return None
    if not isinstance(state, str):
        raise TypeError(f"state must be a str or LeadState, not {type(state).__name__}")
    if not state.strip():
        raise ValueError("state must not be empty; pass None for every state")
    return str(state.value) if isinstance(state, LeadState) else state


def check_limit(limit: object) -> str | None:
    """Validate Get Campaign Leads' ``limit``: an int from 1 to 500, or None."""
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise TypeError(f"limit must be an int, not {type(limit).__name__}")
    if not LEADS_LIMIT_MIN <= limit <= LEADS_LIMIT_MAX:
        raise ValueError(f"limit must be from {LEADS_LIMIT_MIN} to {LEADS_LIMIT_MAX}, got {limit}")
    return str(limit)


def check_count(value: object, name: str, *, minimum: int) -> int:
    """Validate a whole number of at least ``minimum`` (a bool is not one).

    Raises:
        ValueError: Anything else.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def check_retries(max_retries: object) -> int | None:
    """Validate a per-call ``max_retries``: an int >= 0, or None for the client's."""
    return None if max_retries is None else check_count(max_retries, "max_retries", minimum=0)


def check_concurrency(concurrency: object) -> int:
    """Validate a fan-out's ``concurrency``: an int >= 1."""
    return check_count(concurrency, "concurrency", minimum=1)


def check_seconds(value: object, name: str, *, allow_zero: bool = False) -> float:
    """Validate a finite number of seconds, positive (or zero if ``allow_zero``).

    Raises:
        TypeError: Not a number (a bool is not one).
        ValueError: Not finite, negative, or zero where zero is not allowed.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be a finite, {kind} number of seconds, got {value!r}")
    return float(value)


def check_deadline(deadline: object) -> float | None:
    """Validate a per-call ``deadline``: positive seconds, or None for no deadline."""
    return None if deadline is None else check_seconds(deadline, "deadline")


def check_flag(value: object, name: str) -> bool:
    """Validate a bool (an int is not one: ``1`` for True hides a mistake).

    Raises:
        TypeError: Not a bool.
    """
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, not {type(value).__name__}")
    return value


def check_text(value: object, name: str) -> str:
    """Validate a non-empty str (an enum member is sent as its value).

    Raises:
        TypeError: Not a str.
        ValueError: Empty or only whitespace.
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name} must not be empty")
    return str(value)


def check_choice(value: object, name: str, choices: Iterable[str]) -> str:
    """Validate one of a closed set of strings.

    Raises:
        TypeError: Not a str.
        ValueError: Not one of ``choices``.
    """
    text = check_text(value, name)
    allowed = tuple(choices)
    if text not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {text!r}")
    return text


def check_range(value: object, name: str, low: int, high: int) -> int:
    """Validate an int from ``low`` to ``high``, both included (a bool is not one).

    Raises:
        TypeError: Not an int.
        ValueError: Out of range.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be from {low} to {high}, got {value}")
    return value


def check_datetime(value: object, name: str) -> str:
    """Validate an aware datetime and render it as lemlist reads dates: ISO 8601, UTC.

    Raises:
        TypeError: Not a datetime (a date alone is ambiguous about its zone).
        ValueError: A naive datetime: which zone it is in cannot be guessed.
    """
    if not isinstance(value, dt.datetime):
        raise TypeError(f"{name} must be a datetime.datetime, not {type(value).__name__}")
    if value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, e.g. datetime(..., tzinfo=datetime.UTC)")
    text = value.astimezone(dt.UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def check_ids(values: object, name: str) -> list[str]:
    """Validate an iterable of ids (not one str), each a non-empty str without a comma.

    Duplicates are dropped, order kept. A comma would split an id in two in
    lemlist's comma-separated lists.

    Raises:
        TypeError: Not an iterable of str, or one str.
        ValueError: An empty id, or one with a comma, or no id at all.
    """
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be an iterable of ids, not {type(values).__name__}")
    ids: dict[str, None] = {}
    for value in values:
        text = check_text(value, f"each of {name}")
        if "," in text:
            raise ValueError(f"each of {name} must not contain a comma, got {text!r}")
        ids[text] = None
    if not ids:
        raise ValueError(f"{name} must hold at least one id")
    return list(ids)
