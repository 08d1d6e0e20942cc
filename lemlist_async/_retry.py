"""Retry rules: which failures deserve another attempt, and how long to wait first.

Pure functions and a frozen policy, tested without I/O. lemlist's docs ask for
exponential backoff on 429; its own CLI retries 429 always and 5xx or network
errors for idempotent methods, honouring ``Retry-After``.
https://developer.lemlist.com/api-reference#rate-limit
"""

from __future__ import annotations

import random

import attrs

from ._constants import BACKOFF_BASE, BACKOFF_CAP, MAX_RATE_LIMIT_WAIT, MAX_RETRIES, RETRY_STATUSES
from ._params import check_count, check_seconds

__all__ = ["RetryPolicy", "backoff_delay", "is_retryable_status"]


def _non_negative_int(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    check_count(value, attribute.name, minimum=0)


def _positive_seconds(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    check_seconds(value, attribute.name)


@attrs.frozen
class RetryPolicy:
    """How a client retries.

    Attributes:
        max_retries: Attempts after the first one (``0`` disables retries).
        backoff_base: Seconds of the first backoff ceiling; it doubles per retry.
        backoff_cap: The largest backoff ceiling, in seconds.
        max_wait: A rate-limit wait longer than this raises ``RateLimitError`` at
            once instead of sleeping.
    """

    max_retries: int = attrs.field(default=MAX_RETRIES, validator=_non_negative_int)
    backoff_base: float = attrs.field(default=BACKOFF_BASE, validator=_positive_seconds)
    backoff_cap: float = attrs.field(default=BACKOFF_CAP, validator=_positive_seconds)
    max_wait: float = attrs.field(default=MAX_RATE_LIMIT_WAIT, validator=_positive_seconds)


def is_retryable_status(status: int) -> bool:
    """Whether a response status is worth another attempt of an idempotent request."""
    return status in RETRY_STATUSES


def backoff_delay(
    retry: int,
    policy: RetryPolicy,
    *,
    rng: random.Random | None = None,
    floor: float | None = None,
) -> float:
    """Seconds to wait before retry number ``retry`` (0 for the first retry).

    Exponential backoff with full jitter: uniform in ``[0, min(cap, base * 2**retry)]``,
    so that many clients failing together do not retry together.

    Args:
        retry: How many retries came before this one.
        policy: The policy's base and cap.
        rng: The random source (tests pass a seeded one).
        floor: A wait the server asked for (``Retry-After``); the delay is never shorter.

    Returns:
        A finite, non-negative number of seconds.
    """
    ceiling = min(policy.backoff_cap, policy.backoff_base * 2.0 ** min(retry, 62))
    delay = (rng or random).uniform(0.0, ceiling)
    if floor is not None and floor > delay:
        delay = floor
    return delay
