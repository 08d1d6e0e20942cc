"""Checks of endpoint arguments, done before anything is sent. Pure functions."""

from __future__ import annotations

import math
from urllib.parse import quote

from ._constants import LEADS_LIMIT_MAX, LEADS_LIMIT_MIN
from ._models import LeadState

__all__ = [
    "check_concurrency",
    "check_deadline",
    "check_limit",
    "check_retries",
    "check_seconds",
    "check_state",
    "path_segment",
]


def path_segment(value: object, name: str) -> str:
    """Percent-encode an id as exactly one path segment.

    Every reserved character is encoded, ``/`` included, and so is ``.``: a
    segment of dots would otherwise be read as ``.``/``..`` and let an id such as
    ``x/../../team`` reach another route.

    Raises:
        TypeError: ``value`` is not a str.
        ValueError: ``value`` is empty or only whitespace.
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name} must not be empty")
    return quote(value, safe="").replace(".", "%2E")


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


def check_retries(max_retries: object) -> int | None:
    """Validate a per-call ``max_retries``: an int >= 0, or None for the client's."""
    if max_retries is None:
        return None
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ValueError(f"max_retries must be an int >= 0, got {max_retries!r}")
    return max_retries


def check_concurrency(concurrency: object) -> int:
    """Validate a fan-out's ``concurrency``: an int >= 1."""
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be an int >= 1, got {concurrency!r}")
    return concurrency


def check_seconds(value: object, name: str) -> float:
    """Validate a positive, finite number of seconds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive, finite number of seconds, got {value!r}")
    return float(value)


def check_deadline(deadline: object) -> float | None:
    """Validate a per-call ``deadline``: positive seconds, or None for no deadline."""
    return None if deadline is None else check_seconds(deadline, "deadline")
