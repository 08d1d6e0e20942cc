"""Parse lemlist's rate-limit response headers into delays a client can sleep on.

lemlist allows 20 requests per 2 seconds per API key and describes its state in
``Retry-After``, ``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and
``X-RateLimit-Reset`` (https://developer.lemlist.com/api-reference#rate-limit).
``X-RateLimit-Reset`` is a JavaScript ``Date.toString()`` string rather than a
number, which is why it gets a parser of its own.

Everything here is pure: no I/O, no asyncio and no clock reads. The current
wall-clock time is always passed in as an aware ``now``, so callers decide which
clock to trust and tests need no mocking. Headers come from a remote server, so
every parser maps a malformed or implausible value to ``None`` instead of raising.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import re
from collections.abc import Mapping
from typing import Final

import attrs

from lemlist_async._constants import MAX_HEADER_DELAY, RESET_HEADER_MARGIN

__all__ = [
    "RateLimitInfo",
    "parse_count",
    "parse_rate_limit_headers",
    "parse_reset",
    "parse_retry_after",
    "pause_delay",
    "remaining_pause",
    "reset_delay",
    "server_time",
]


@attrs.frozen
class RateLimitInfo:
    """What the server last said about a key's rate limit.

    Every field is ``None`` when its header was missing or unusable.

    Attributes:
        limit: ``X-RateLimit-Limit``, requests allowed per window.
        remaining: ``X-RateLimit-Remaining``, requests left in the current window.
        reset: ``X-RateLimit-Reset`` as an aware UTC datetime, exactly as parsed;
            no safety margin is added here (see `reset_delay`).
        retry_after: ``Retry-After`` in seconds from the ``now`` the headers were
            parsed at, ``>= 0``.
    """

    limit: int | None = None
    remaining: int | None = None
    reset: dt.datetime | None = None
    retry_after: float | None = None


# Unsigned ASCII decimals (an exponent allowed, as JavaScript may print one).
# ``float()`` alone would also take "nan", "inf", "-1", "1_000" and non-ASCII
# digits, none of which a sane server sends.
_NUMBER: Final = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_COUNT: Final = re.compile(r"\d+", re.ASCII)
_MAX_COUNT: Final = 10**9
# Longer digit strings are certainly over `_MAX_COUNT`; rejecting them by length
# keeps ``int()`` away from its digit limit on hostile input.
_MAX_COUNT_DIGITS: Final = len(str(_MAX_COUNT))

# JavaScript ``Date.prototype.toString()``, e.g.
# "Tue Feb 16 2021 09:02:42 GMT+0100 (Central European Standard Time)". The
# parenthesised zone name is implementation-defined free text (localized on some
# hosts), so it is optional and ignored; the numeric offset is authoritative.
_JS_DATE: Final = re.compile(
    r"(?:[A-Za-z]{3},?\s+)?"  # weekday, redundant with the date
    r"(?P<month>[A-Za-z]{3})\s+(?P<day>\d{1,2})\s+(?P<year>\d{4})\s+"
    r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})\s+"
    r"(?:GMT|UTC)(?P<sign>[+-])(?P<off_h>\d{2}):?(?P<off_m>\d{2})"
    r"(?:\s*\(.*\))?",
    re.ASCII | re.DOTALL,
)
# ``Date.toString()`` always uses English month names, whatever the locale.
_MONTHS: Final = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
# RFC 9110's obsolete asctime() HTTP-date, the one format without a zone: it is
# GMT by definition, and recipients must accept it.
_ASCTIME: Final = re.compile(r"[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}", re.ASCII)
# Bare numbers at or above these are absolute epoch timestamps; smaller ones are
# deltas. Both thresholds are September 2001 in their unit, and a seconds value
# would only reach 1e12 in the year 33658, so for any reset time after 2001 the
# three readings cannot be confused.
_EPOCH_SECONDS_MIN: Final = 1e9
_EPOCH_MILLIS_MIN: Final = 1e12
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# Everything the standard library's date and number parsers raise on bad input.
_PARSE_ERRORS: Final = (ValueError, OverflowError, TypeError, IndexError)


def parse_retry_after(value: str | None, *, now: dt.datetime) -> float | None:
    """Parse a ``Retry-After`` header into seconds to wait from ``now``.

    Accepts delay-seconds, which lemlist may send fractional ("1.5"), and an
    HTTP date (RFC 9110 IMF-fixdate, e.g. "Wed, 21 Oct 2015 07:28:00 GMT", or
    one of its two obsolete formats, which recipients must also accept).
    Surrounding whitespace is ignored.

    Args:
        value: The raw header value, or ``None`` when the header is absent.
        now: The current wall-clock time, timezone-aware.

    Returns:
        Seconds to wait, ``>= 0`` (a date in the past gives ``0.0``); ``None``
        when the header is absent, malformed, negative, not finite, or longer than
        ``MAX_HEADER_DELAY``. Never raises for any string.

    Raises:
        ValueError: If ``now`` is naive (a programming error, not bad input).
    """
    _require_aware(now)
    if value is None:
        return None
    text = value.strip()
    if _NUMBER.fullmatch(text):
        seconds = float(text)
        if not math.isfinite(seconds):
            return None
    else:
        when = _parse_http_date(text)
        if when is None:
            return None
        seconds = max(0.0, (when - now).total_seconds())
    return seconds if seconds <= MAX_HEADER_DELAY else None


def parse_reset(value: str | None, *, now: dt.datetime) -> dt.datetime | None:
    """Parse an ``X-RateLimit-Reset`` header into the moment the window resets.

    Accepted forms, tried in this order:

    * A bare non-negative number. At or above 1e12 it is epoch milliseconds, at
      or above 1e9 epoch seconds (fractions allowed). Below 1e9 it cannot be a
      current epoch time, so it is read as a delta in seconds from ``now``, as
      some servers send "seconds until reset" under this name.
    * JavaScript ``Date.toString()``, which lemlist sends:
      "Tue Feb 16 2021 09:02:42 GMT+0100 (Central European Standard Time)". The
      parenthesised zone name is optional and ignored.
    * ISO 8601 with an offset, e.g. "2021-02-16T09:02:42+01:00".
    * An HTTP date in any RFC 9110 format, e.g. "Tue, 16 Feb 2021 08:02:42 GMT".

    Args:
        value: The raw header value, or ``None`` when the header is absent.
        now: The current wall-clock time, timezone-aware.

    Returns:
        The reset time as an aware datetime in UTC, without any safety margin; a
        time in the past is returned as is. ``None`` when the header is absent,
        malformed, negative, not finite, without a zone, or more than
        ``MAX_HEADER_DELAY`` seconds after ``now``. Never raises for any string.

    Raises:
        ValueError: If ``now`` is naive (a programming error, not bad input).
    """
    _require_aware(now)
    if value is None:
        return None
    text = value.strip()
    when = (
        _parse_number_reset(text, now=now)
        if _NUMBER.fullmatch(text)
        else _parse_js_date(text) or _parse_iso_date(text) or _parse_http_date(text)
    )
    if when is None:
        return None
    try:
        when = when.astimezone(dt.UTC)
    except _PARSE_ERRORS:  # shifting a date at the edge of the calendar overflows
        return None
    if (when - now).total_seconds() > MAX_HEADER_DELAY:
        return None
    return when


def parse_count(value: str | None) -> int | None:
    """Parse ``X-RateLimit-Limit`` or ``X-RateLimit-Remaining``.

    Args:
        value: The raw header value, or ``None`` when the header is absent.

    Returns:
        The count, a non-negative integer up to 10**9, surrounding whitespace
        ignored; ``None`` for anything else (absent, negative, fractional,
        garbage, implausibly large). Never raises for any string.
    """
    if value is None:
        return None
    text = value.strip()
    if not _COUNT.fullmatch(text):
        return None
    digits = text.lstrip("0") or "0"
    if len(digits) > _MAX_COUNT_DIGITS:
        return None
    count = int(digits)
    return count if count <= _MAX_COUNT else None


def parse_rate_limit_headers(headers: Mapping[str, str], *, now: dt.datetime) -> RateLimitInfo:
    """Collect the rate-limit headers of one response.

    Args:
        headers: Response headers; a case-insensitive mapping such as aiohttp's
            ``CIMultiDictProxy``, since keys are looked up in their canonical
            spelling. For repeated headers the first value is used.
        now: The current wall-clock time, timezone-aware, ideally taken when the
            response arrived, since ``Retry-After`` is relative to it.

    Returns:
        The parsed headers; each field is ``None`` when its header is absent or
        unusable. Never raises for any header values.

    Raises:
        ValueError: If ``now`` is naive (a programming error, not bad input).
    """
    return RateLimitInfo(
        limit=parse_count(headers.get("X-RateLimit-Limit")),
        remaining=parse_count(headers.get("X-RateLimit-Remaining")),
        reset=parse_reset(headers.get("X-RateLimit-Reset"), now=now),
        retry_after=parse_retry_after(headers.get("Retry-After"), now=now),
    )


def reset_delay(info: RateLimitInfo, *, now: dt.datetime) -> float | None:
    """Seconds from ``now`` until the window of ``info.reset`` has surely reset.

    ``X-RateLimit-Reset`` has one-second resolution with the sub-second part
    truncated, so the real reset can be up to a second later than the header
    says; ``RESET_HEADER_MARGIN`` is added to cover that.

    Args:
        info: Parsed headers.
        now: The current wall-clock time, timezone-aware.

    Returns:
        ``info.reset - now + RESET_HEADER_MARGIN`` in seconds, clamped at ``0.0``;
        ``None`` when ``info.reset`` is unknown.

    Raises:
        ValueError: If ``now`` is naive (a programming error, not bad input).
    """
    _require_aware(now)
    if info.reset is None:
        return None
    return max(0.0, (info.reset - now).total_seconds() + RESET_HEADER_MARGIN)


def pause_delay(info: RateLimitInfo, *, now: dt.datetime) -> float | None:
    """How long a 429 response asks every request of the key to wait.

    ``Retry-After`` is the server's explicit answer, so it wins over the reset
    time, which is only a hint about the window.

    Args:
        info: Parsed headers of the 429 response.
        now: The current wall-clock time, timezone-aware.

    Returns:
        ``info.retry_after`` if known, else `reset_delay`, else ``None``, in which
        case the caller should wait one full rate window.

    Raises:
        ValueError: If ``now`` is naive (a programming error, not bad input).
    """
    _require_aware(now)
    if info.retry_after is not None:
        return info.retry_after
    return reset_delay(info, now=now)


def server_time(value: str | None) -> dt.datetime | None:
    """Parse a response's ``Date`` header: the server's clock when it answered.

    ``X-RateLimit-Reset`` is a date on lemlist's clock. Measured against the
    server's own ``Date`` rather than the local clock, it gives the same delay
    whatever the skew between the two: a client whose clock is an hour behind
    must not read a reset two seconds away as an hour away.

    Args:
        value: The raw header value, or ``None`` when the header is absent.

    Returns:
        The time as an aware datetime, or ``None`` when absent or not an HTTP date.
        Never raises for any string.
    """
    if value is None:
        return None
    return _parse_http_date(value.strip())


def remaining_pause(
    info: RateLimitInfo, *, now: dt.datetime, window: float, max_wait: float
) -> float | None:
    """How long ``X-RateLimit-Remaining: 0`` may pause the key, if another consumer spends it.

    Args:
        info: Parsed headers of a response.
        now: The server's time of the response (see `server_time`), else the
            local wall-clock time; timezone-aware.
        window: The rate window, waited when the reset time is unknown.
        max_wait: The longest pause allowed. A reset further away is not the
            2 s window (a quota, or a clock far off): it pauses nothing, and a
            request that is then refused raises ``RateLimitError`` for its caller.

    Returns:
        Seconds to pause, or ``None`` when nothing should pause: ``Remaining`` is
        not 0, or the reset is further away than ``max_wait``.

    Raises:
        ValueError: If ``now`` is naive (a programming error, not bad input).
    """
    if info.remaining != 0:
        return None
    delay = reset_delay(info, now=now)
    if delay is None:
        return window
    return delay if delay <= max_wait else None


def _require_aware(now: dt.datetime) -> None:
    # Mixing naive and aware datetimes would raise TypeError only on some code
    # paths and silently misread epoch values on others; fail the same way always.
    if now.utcoffset() is None:
        raise ValueError(f"now must be a timezone-aware datetime, got {now!r}")


def _parse_number_reset(text: str, *, now: dt.datetime) -> dt.datetime | None:
    number = float(text)
    if not math.isfinite(number):
        return None
    try:
        if number >= _EPOCH_MILLIS_MIN:
            return _EPOCH + dt.timedelta(milliseconds=number)
        if number >= _EPOCH_SECONDS_MIN:
            return _EPOCH + dt.timedelta(seconds=number)
        return now + dt.timedelta(seconds=number)
    except OverflowError:  # past the year 9999, too far ahead to honour anyway
        return None


def _parse_js_date(text: str) -> dt.datetime | None:
    match = _JS_DATE.fullmatch(text)
    if match is None:
        return None
    month = _MONTHS.get(match["month"].lower())
    if month is None:
        return None
    if int(match["off_m"]) >= 60:  # timedelta would quietly read "+0160" as +02:00
        return None
    sign = 1 if match["sign"] == "+" else -1
    offset = dt.timedelta(hours=int(match["off_h"]), minutes=int(match["off_m"]))
    try:
        return dt.datetime(
            int(match["year"]),
            month,
            int(match["day"]),
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"]),
            tzinfo=dt.timezone(sign * offset),
        )
    except _PARSE_ERRORS:  # day 31 of February, hour 25, offset of 24 h or more...
        return None


def _parse_iso_date(text: str) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(text)
    except _PARSE_ERRORS:
        return None
    # A naive ISO time could be in any zone; guessing would misplace it by hours.
    return when if when.utcoffset() is not None else None


def _parse_http_date(text: str) -> dt.datetime | None:
    try:
        when = email.utils.parsedate_to_datetime(text)
    except _PARSE_ERRORS:
        return None
    if when.utcoffset() is not None:
        return when
    if _ASCTIME.fullmatch(text):
        return when.replace(tzinfo=dt.UTC)
    # Any other zoneless result was not an HTTP date at all: parsedate also
    # half-reads JavaScript dates, dropping their offset.
    return None
