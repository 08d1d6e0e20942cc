"""Retry rules: which failures deserve another attempt, and how long to wait first.

Pure functions and a frozen policy, tested without I/O. lemlist's docs ask for
exponential backoff on 429; its own CLI retries 429 always and 5xx or network
errors for idempotent methods only, honouring ``Retry-After``
(https://developer.lemlist.com/api-reference#rate-limit,
https://developer.lemlist.com/cli/output). lemlist has no idempotency key, so a
write that may have reached the server is never sent again blindly.
"""

from __future__ import annotations

import enum
import random

import attrs

from ._constants import BACKOFF_BASE, BACKOFF_CAP, MAX_RATE_LIMIT_WAIT, MAX_RETRIES, RETRY_STATUSES
from ._params import check_count, check_seconds

__all__ = ["RetryClass", "RetryPolicy", "backoff_delay", "may_retry"]


class RetryClass(enum.Enum):
    """Whether an operation may be sent again after a failure."""

    #: Reads (and writes whose repetition changes nothing): every attempt may be
    #: repeated after a 429, a 5xx, a timeout or a dropped connection.
    SAFE = "safe"
    #: Writes that may duplicate: repeated only when lemlist surely did not act
    #: on the attempt (a 429, or a connection that never carried the request).
    UNSAFE = "unsafe"


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


def may_retry(
    retry: RetryClass,
    *,
    status: int | None,
    sent: bool = True,
    never_retry: frozenset[int] = frozenset(),
) -> bool:
    """Whether a failed attempt may be made again, by the operation's class and what happened.

    Args:
        retry: The operation's class.
        status: The response's status, or None when no response came.
        sent: With no response, whether the request may have reached lemlist:
            False only when the connection failed before anything was sent
            (DNS, refused, connect timeout).
        never_retry: Statuses the operation documents as permanent.

    Returns:
        True for a 429 (lemlist refused it before acting on it) and for a request
        that was never sent, whatever the class; for ``SAFE`` also for a 5xx in
        ``RETRY_STATUSES`` outside ``never_retry``, and for a response that never
        came; False otherwise.
    """
    if status == 429 or (status is None and not sent):
        return True
    if retry is RetryClass.UNSAFE:
        return False
    if status is None:
        return True
    return status in RETRY_STATUSES and status not in never_retry


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
