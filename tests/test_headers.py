"""Tests of lemlist_async._headers: rate-limit header parsing and the delays derived from it."""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Callable

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import CIMultiDict

from lemlist_async._constants import MAX_HEADER_DELAY, RESET_HEADER_MARGIN
from lemlist_async._headers import (
    RateLimitInfo,
    parse_count,
    parse_rate_limit_headers,
    parse_reset,
    parse_retry_after,
    pause_delay,
    remaining_pause,
    reset_delay,
    server_time,
)

UTC = dt.UTC
#: The "now" of every test: 162 s before the reset of lemlist's documented example.
NOW = dt.datetime(2021, 2, 16, 8, 0, 0, tzinfo=UTC)
#: lemlist's documented example, and the instant it denotes.
LEMLIST_RESET = "Tue Feb 16 2021 09:02:42 GMT+0100 (Central European Standard Time)"
LEMLIST_RESET_UTC = dt.datetime(2021, 2, 16, 8, 2, 42, tzinfo=UTC)

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def at(seconds: float) -> dt.datetime:
    """``NOW`` shifted by ``seconds``."""
    return NOW + dt.timedelta(seconds=seconds)


def js_date_string(when: dt.datetime, offset_minutes: int, zone_name: str | None) -> str:
    """Format ``when`` like JavaScript's ``Date.prototype.toString()`` in a given zone.

    Written out by hand rather than with ``strftime`` so the test does not depend
    on the locale, just as ``Date.toString()`` does not.
    """
    local = when.astimezone(dt.timezone(dt.timedelta(minutes=offset_minutes)))
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    text = (
        f"{_WEEKDAYS[local.weekday()]} {_MONTHS[local.month - 1]} {local.day:02d} "
        f"{local.year:04d} {local:%H:%M:%S} GMT{sign}{hours:02d}{minutes:02d}"
    )
    return text if zone_name is None else f"{text} ({zone_name})"


# -- parse_retry_after ----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("1.5", 1.5, id="fractional"),
        pytest.param("2", 2.0, id="integer"),
        pytest.param(" 0.25 ", 0.25, id="whitespace"),
        pytest.param("0", 0.0, id="zero"),
        pytest.param(".5", 0.5, id="no-integer-part"),
        pytest.param("5.", 5.0, id="no-fraction-digits"),
        pytest.param("1e2", 100.0, id="exponent"),
        pytest.param("86400", MAX_HEADER_DELAY, id="max-delay-inclusive"),
        pytest.param("Tue, 16 Feb 2021 08:00:30 GMT", 30.0, id="imf-fixdate"),
        pytest.param("Tue, 16 Feb 2021 09:00:30 +0100", 30.0, id="numeric-zone"),
        pytest.param("Tuesday, 16-Feb-21 08:00:30 GMT", 30.0, id="rfc850-date"),
        pytest.param("Tue Feb 16 08:00:30 2021", 30.0, id="asctime-date"),
        pytest.param("Wed, 21 Oct 2015 07:28:00 GMT", 0.0, id="past-date"),
        pytest.param("Tue Feb  6 08:00:30 2021", 0.0, id="past-asctime-date"),
        pytest.param("Wed, 17 Feb 2021 08:00:00 GMT", MAX_HEADER_DELAY, id="max-date-inclusive"),
    ],
)
def test_parse_retry_after(value: str, expected: float) -> None:
    assert parse_retry_after(value, now=NOW) == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(None, id="absent"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("soon", id="word"),
        pytest.param("nan", id="nan"),
        pytest.param("NaN", id="NaN"),
        pytest.param("inf", id="inf"),
        pytest.param("-inf", id="minus-inf"),
        pytest.param("Infinity", id="Infinity"),
        pytest.param("1e400", id="overflows-to-inf"),
        pytest.param("-1", id="negative"),
        pytest.param("-0.5", id="negative-fraction"),
        pytest.param("+1", id="plus-sign"),
        pytest.param("1_000", id="underscore"),
        pytest.param("\u0661\u0662", id="non-ascii-digits"),
        pytest.param("0x10", id="hex"),
        pytest.param("1,5", id="decimal-comma"),
        pytest.param("1.5s", id="unit"),
        pytest.param("1 2", id="two-numbers"),
        pytest.param("86400.5", id="over-max-delay"),
        pytest.param("1" + "0" * 400, id="huge"),
        pytest.param("Wed, 17 Feb 2021 08:00:01 GMT", id="date-over-max-delay"),
        pytest.param("Tue, 16 Feb 2021 08:00:30", id="date-without-zone"),
        pytest.param("Tue, 30 Feb 2021 08:00:30 GMT", id="impossible-date"),
        pytest.param("Tue Feb 16 2021 09:00:30 GMT+0100 (CET)", id="javascript-date"),
    ],
)
def test_parse_retry_after_rejects(value: str | None) -> None:
    assert parse_retry_after(value, now=NOW) is None


def test_parse_retry_after_date_is_relative_to_now_in_any_zone() -> None:
    now = NOW.astimezone(dt.timezone(dt.timedelta(hours=-7)))
    assert parse_retry_after("Tue, 16 Feb 2021 08:00:30 GMT", now=now) == 30.0


@given(st.text())
def test_parse_retry_after_never_raises(value: str) -> None:
    result = parse_retry_after(value, now=NOW)
    assert result is None or 0.0 <= result <= MAX_HEADER_DELAY


@given(st.floats(min_value=0.0, max_value=MAX_HEADER_DELAY))
def test_parse_retry_after_reads_any_float_back(seconds: float) -> None:
    assert parse_retry_after(f" {seconds!r} ", now=NOW) == seconds


@given(
    st.datetimes(
        min_value=dt.datetime(2000, 1, 1),
        max_value=(NOW + dt.timedelta(seconds=MAX_HEADER_DELAY)).replace(tzinfo=None),
        timezones=st.just(UTC),
    )
)
def test_parse_retry_after_reads_any_http_date_back(when: dt.datetime) -> None:
    header = email.utils.format_datetime(when, usegmt=True)
    expected = max(0.0, (when.replace(microsecond=0) - NOW).total_seconds())
    assert parse_retry_after(header, now=NOW) == expected


# -- parse_reset ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # JavaScript Date.toString(), what lemlist sends.
        pytest.param(LEMLIST_RESET, LEMLIST_RESET_UTC, id="lemlist-example"),
        pytest.param("Tue Feb 16 2021 09:02:42 GMT+0100", LEMLIST_RESET_UTC, id="no-zone-name"),
        pytest.param(f"  {LEMLIST_RESET}  ", LEMLIST_RESET_UTC, id="whitespace"),
        pytest.param(
            "Tue Feb 16 2021 09:02:42 GMT+0100 (Mitteleuropäische Normalzeit)",
            LEMLIST_RESET_UTC,
            id="localized-zone-name",
        ),
        pytest.param(
            "Tue Feb 16 2021 09:02:42 GMT+0100 (中欧标准时间)",
            LEMLIST_RESET_UTC,
            id="cjk-zone-name",
        ),
        pytest.param(
            "Tue Feb 16 2021 09:02:42 GMT+0100 (zone (with) parentheses)",
            LEMLIST_RESET_UTC,
            id="nested-parentheses",
        ),
        pytest.param("Tue Feb 16 2021 09:02:42 GMT+0100 ()", LEMLIST_RESET_UTC, id="empty-name"),
        pytest.param(
            "Tue Feb 16 2021 08:02:42 GMT+0000 (Coordinated Universal Time)",
            LEMLIST_RESET_UTC,
            id="utc",
        ),
        pytest.param(
            "Tue Feb 16 2021 03:02:42 GMT-0500 (Eastern Standard Time)",
            LEMLIST_RESET_UTC,
            id="negative-offset",
        ),
        pytest.param(
            "Tue Feb 16 2021 13:32:42 GMT+0530 (India Standard Time)",
            LEMLIST_RESET_UTC,
            id="half-hour-offset",
        ),
        pytest.param(
            "Tue Feb 16 2021 04:32:42 GMT-0330 (Newfoundland Standard Time)",
            LEMLIST_RESET_UTC,
            id="negative-half-hour-offset",
        ),
        pytest.param(
            "Tue Feb 16 2021 21:02:42 GMT+1300 (New Zealand Daylight Time)",
            LEMLIST_RESET_UTC,
            id="same-day-far-east",
        ),
        pytest.param(
            "Mon Feb 15 2021 22:02:42 GMT-1000 (Hawaii-Aleutian Standard Time)",
            LEMLIST_RESET_UTC,
            id="previous-day-far-west",
        ),
        pytest.param("Tue Feb 16 2021 09:02:42 GMT+01:00", LEMLIST_RESET_UTC, id="colon-offset"),
        pytest.param(
            "Mon Feb 15 2021 09:02:42 GMT+0100 (CET)",
            LEMLIST_RESET_UTC - dt.timedelta(days=1),
            id="past-kept",
        ),
        pytest.param(
            "Wed Feb 17 2021 09:00:00 GMT+0100 (CET)",
            at(MAX_HEADER_DELAY),
            id="max-delay-inclusive",
        ),
        # Epoch timestamps.
        pytest.param("1613462562", LEMLIST_RESET_UTC, id="epoch-seconds"),
        pytest.param(
            "1613462562.5",
            LEMLIST_RESET_UTC + dt.timedelta(milliseconds=500),
            id="epoch-seconds-fractional",
        ),
        pytest.param("1613462562000", LEMLIST_RESET_UTC, id="epoch-milliseconds"),
        pytest.param(
            "1613462562250",
            LEMLIST_RESET_UTC + dt.timedelta(milliseconds=250),
            id="epoch-milliseconds-fractional-second",
        ),
        pytest.param(
            "1000000000",
            dt.datetime(2001, 9, 9, 1, 46, 40, tzinfo=UTC),
            id="epoch-seconds-threshold",
        ),
        # Small numbers are deltas from now.
        pytest.param("0", NOW, id="delta-zero"),
        pytest.param("5", at(5), id="delta"),
        pytest.param(" 1.5 ", at(1.5), id="delta-fractional"),
        pytest.param("86400", at(MAX_HEADER_DELAY), id="delta-max-inclusive"),
        # ISO 8601 with an offset.
        pytest.param("2021-02-16T09:02:42+01:00", LEMLIST_RESET_UTC, id="iso-offset"),
        pytest.param("2021-02-16T08:02:42Z", LEMLIST_RESET_UTC, id="iso-z"),
        pytest.param("2021-02-16 08:02:42+00:00", LEMLIST_RESET_UTC, id="iso-space"),
        pytest.param(
            "2021-02-16T08:02:42.250+00:00",
            LEMLIST_RESET_UTC + dt.timedelta(milliseconds=250),
            id="iso-fraction",
        ),
        # HTTP dates.
        pytest.param("Tue, 16 Feb 2021 08:02:42 GMT", LEMLIST_RESET_UTC, id="imf-fixdate"),
        pytest.param("Tuesday, 16-Feb-21 08:02:42 GMT", LEMLIST_RESET_UTC, id="rfc850-date"),
        pytest.param("Tue Feb 16 08:02:42 2021", LEMLIST_RESET_UTC, id="asctime-date"),
        pytest.param(
            "Wed, 21 Oct 2015 07:28:00 GMT",
            dt.datetime(2015, 10, 21, 7, 28, tzinfo=UTC),
            id="past-http-date-kept",
        ),
    ],
)
def test_parse_reset(value: str, expected: dt.datetime) -> None:
    result = parse_reset(value, now=NOW)
    assert result == expected
    assert result is not None
    assert result.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(None, id="absent"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("tomorrow", id="word"),
        pytest.param("nan", id="nan"),
        pytest.param("NaN", id="NaN"),
        pytest.param("inf", id="inf"),
        pytest.param("Infinity", id="Infinity"),
        pytest.param("1e400", id="overflows-to-inf"),
        pytest.param("-1", id="negative"),
        pytest.param("-1613462562", id="negative-epoch"),
        pytest.param(
            "\u0661\u0666\u0661\u0663\u0664\u0666\u0662\u0665\u0666\u0662", id="non-ascii"
        ),
        pytest.param("86401", id="delta-over-max"),
        pytest.param("999999999", id="largest-delta"),
        pytest.param("99999999999999999999", id="epoch-past-year-9999"),
        pytest.param("1e300", id="epoch-far-past-year-9999"),
        pytest.param("Wed Feb 17 2021 09:00:01 GMT+0100 (CET)", id="one-second-over-max"),
        pytest.param("Tue Feb 16 2021 09:02:42", id="javascript-without-offset"),
        pytest.param("Tue Feb 30 2021 09:02:42 GMT+0100", id="february-30"),
        pytest.param("Tue Feb 16 2021 25:02:42 GMT+0100", id="hour-25"),
        pytest.param("Tue Feb 16 2021 09:60:42 GMT+0100", id="minute-60"),
        pytest.param("Tue Feb 16 2021 09:02:60 GMT+0100", id="leap-second"),
        pytest.param("Tue Foo 16 2021 09:02:42 GMT+0100", id="unknown-month"),
        pytest.param("Tue Feb 16 2021 09:02:42 GMT+2400", id="offset-24h"),
        pytest.param("Tue Feb 16 2021 09:02:42 GMT+0160", id="offset-minute-60"),
        pytest.param("Tue Feb 16 2021 09:02:42 GMT+0100 (CET", id="unclosed-parenthesis"),
        pytest.param("Tue Feb 16 2021 09:02:42 GMT+0100 CET", id="name-without-parentheses"),
        pytest.param("2021-02-16T08:02:42", id="iso-without-offset"),
        pytest.param("2021-02-16", id="iso-date-only"),
        pytest.param("0001-01-01T00:00:00+01:00", id="iso-before-year-1-in-utc"),
        pytest.param("9999-12-31T23:59:59-01:00", id="iso-after-year-9999-in-utc"),
        pytest.param("Tue, 16 Feb 2021 08:02:42", id="http-date-without-zone"),
    ],
)
def test_parse_reset_rejects(value: str | None) -> None:
    assert parse_reset(value, now=NOW) is None


def test_parse_reset_delta_is_relative_to_now_and_returned_in_utc() -> None:
    now = NOW.astimezone(dt.timezone(dt.timedelta(hours=9)))
    result = parse_reset("2", now=now)
    assert result == at(2)
    assert result is not None
    assert result.tzinfo is UTC


@given(st.text())
def test_parse_reset_never_raises(value: str) -> None:
    result = parse_reset(value, now=NOW)
    assert result is None or (
        result.tzinfo is UTC and (result - NOW).total_seconds() <= MAX_HEADER_DELAY
    )


@given(
    weekday=st.sampled_from(_WEEKDAYS),
    month=st.text(alphabet="FebJanXyz", min_size=3, max_size=3),
    fields=st.tuples(*[st.integers(min_value=0, max_value=99)] * 4),
    year=st.integers(min_value=0, max_value=9999),
    sign=st.sampled_from("+-"),
    offset=st.integers(min_value=0, max_value=9999),
    zone_name=st.none() | st.text(),
)
def test_parse_reset_never_raises_on_javascript_like_dates(
    weekday: str,
    month: str,
    fields: tuple[int, int, int, int],
    year: int,
    sign: str,
    offset: int,
    zone_name: str | None,
) -> None:
    day, hour, minute, second = fields
    value = (
        f"{weekday} {month} {day:02d} {year:04d} {hour:02d}:{minute:02d}:{second:02d} "
        f"GMT{sign}{offset:04d}"
    )
    if zone_name is not None:
        value += f" ({zone_name})"
    result = parse_reset(value, now=NOW)
    assert result is None or result.tzinfo is UTC


@given(
    when=st.datetimes(
        min_value=(NOW - dt.timedelta(days=400)).replace(tzinfo=None),
        max_value=(NOW + dt.timedelta(seconds=MAX_HEADER_DELAY)).replace(tzinfo=None),
        timezones=st.just(UTC),
    ),
    offset_minutes=st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59),
    zone_name=st.none() | st.text(),
)
def test_parse_reset_reads_any_javascript_date_back(
    when: dt.datetime, offset_minutes: int, zone_name: str | None
) -> None:
    header = js_date_string(when, offset_minutes, zone_name)
    assert parse_reset(header, now=NOW) == when.replace(microsecond=0)


@given(
    st.integers(
        min_value=int(NOW.timestamp()) - 10**8,
        max_value=int(NOW.timestamp() + MAX_HEADER_DELAY),
    )
)
def test_parse_reset_reads_any_epoch_back(seconds: int) -> None:
    expected = dt.datetime.fromtimestamp(seconds, UTC)
    assert parse_reset(str(seconds), now=NOW) == expected
    assert parse_reset(str(seconds * 1000), now=NOW) == expected


# -- parse_count ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("20", 20, id="limit"),
        pytest.param(" 7 ", 7, id="whitespace"),
        pytest.param("0", 0, id="zero"),
        pytest.param("007", 7, id="leading-zeros"),
        pytest.param("0" * 5000 + "5", 5, id="very-many-leading-zeros"),
        pytest.param("1000000000", 10**9, id="max-inclusive"),
        pytest.param("1000000001", None, id="over-max"),
        pytest.param("9" * 5000, None, id="huge"),
        pytest.param("-1", None, id="negative"),
        pytest.param("+5", None, id="plus-sign"),
        pytest.param("1.5", None, id="fraction"),
        pytest.param("20.0", None, id="float"),
        pytest.param("1e3", None, id="exponent"),
        pytest.param("1_000", None, id="underscore"),
        pytest.param("\u0662\u0660", None, id="non-ascii-digits"),
        pytest.param("twenty", None, id="word"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="absent"),
    ],
)
def test_parse_count(value: str | None, expected: int | None) -> None:
    assert parse_count(value) == expected


@given(st.text())
def test_parse_count_never_raises(value: str) -> None:
    result = parse_count(value)
    assert result is None or 0 <= result <= 10**9


@given(st.integers(min_value=0, max_value=10**9))
def test_parse_count_reads_any_count_back(count: int) -> None:
    assert parse_count(str(count)) == count


# -- parse_rate_limit_headers ---------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param(
            CIMultiDict(
                {
                    "Retry-After": "1.5",
                    "X-RateLimit-Limit": "20",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": LEMLIST_RESET,
                    "Content-Type": "text/plain",
                }
            ),
            RateLimitInfo(limit=20, remaining=0, reset=LEMLIST_RESET_UTC, retry_after=1.5),
            id="429",
        ),
        pytest.param(
            CIMultiDict(
                {
                    "retry-after": "2",
                    "x-ratelimit-limit": "20",
                    "x-ratelimit-remaining": "17",
                    "x-ratelimit-reset": LEMLIST_RESET,
                }
            ),
            RateLimitInfo(limit=20, remaining=17, reset=LEMLIST_RESET_UTC, retry_after=2.0),
            id="lowercase-names",
        ),
        pytest.param(
            CIMultiDict({"X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "19"}),
            RateLimitInfo(limit=20, remaining=19),
            id="no-reset-no-retry-after",
        ),
        pytest.param(
            CIMultiDict([("Retry-After", "2"), ("Retry-After", "5")]),
            RateLimitInfo(retry_after=2.0),
            id="repeated-header-first-wins",
        ),
        pytest.param(
            CIMultiDict(
                {
                    "Retry-After": "-1",
                    "X-RateLimit-Limit": "lots",
                    "X-RateLimit-Remaining": "-3",
                    "X-RateLimit-Reset": "whenever",
                }
            ),
            RateLimitInfo(),
            id="all-garbage",
        ),
        pytest.param(CIMultiDict[str](), RateLimitInfo(), id="none"),
    ],
)
def test_parse_rate_limit_headers(headers: CIMultiDict[str], expected: RateLimitInfo) -> None:
    assert parse_rate_limit_headers(headers, now=NOW) == expected


@given(
    st.dictionaries(
        st.sampled_from(
            ["Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"]
        ),
        st.text(),
    )
)
def test_parse_rate_limit_headers_never_raises(headers: dict[str, str]) -> None:
    info = parse_rate_limit_headers(CIMultiDict(headers), now=NOW)
    assert isinstance(info, RateLimitInfo)


def test_rate_limit_info_is_frozen() -> None:
    info = RateLimitInfo(limit=20)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        info.limit = 10  # type: ignore[misc]


# -- reset_delay and pause_delay --------------------------------------------------


@pytest.mark.parametrize(
    ("reset", "expected"),
    [
        pytest.param(None, None, id="unknown"),
        pytest.param(LEMLIST_RESET_UTC, 162.0 + RESET_HEADER_MARGIN, id="lemlist-example"),
        pytest.param(at(10), 11.0, id="future"),
        pytest.param(at(0.25), 1.25, id="sub-second"),
        pytest.param(NOW, RESET_HEADER_MARGIN, id="now"),
        pytest.param(at(-0.5), 0.5, id="just-past-within-margin"),
        pytest.param(at(-1), 0.0, id="past-by-margin"),
        pytest.param(at(-5), 0.0, id="past"),
    ],
)
def test_reset_delay(reset: dt.datetime | None, expected: float | None) -> None:
    assert reset_delay(RateLimitInfo(reset=reset), now=NOW) == expected


def test_reset_delay_does_not_depend_on_the_zone_of_now() -> None:
    now = NOW.astimezone(dt.timezone(dt.timedelta(hours=-3, minutes=-30)))
    assert reset_delay(RateLimitInfo(reset=at(10)), now=now) == 11.0


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        pytest.param(RateLimitInfo(), None, id="nothing-known"),
        pytest.param(RateLimitInfo(limit=20, remaining=0), None, id="counts-only"),
        pytest.param(RateLimitInfo(retry_after=1.5), 1.5, id="retry-after"),
        pytest.param(RateLimitInfo(reset=at(10)), 11.0, id="reset-with-margin"),
        pytest.param(
            RateLimitInfo(retry_after=1.5, reset=at(10)), 1.5, id="retry-after-wins-over-reset"
        ),
        pytest.param(
            RateLimitInfo(retry_after=0.0, reset=at(10)), 0.0, id="zero-retry-after-still-wins"
        ),
        pytest.param(RateLimitInfo(reset=at(-5)), 0.0, id="past-reset"),
    ],
)
def test_pause_delay(info: RateLimitInfo, expected: float | None) -> None:
    assert pause_delay(info, now=NOW) == expected


def test_pause_delay_from_a_real_429() -> None:
    headers = CIMultiDict({"X-RateLimit-Reset": LEMLIST_RESET, "X-RateLimit-Remaining": "0"})
    info = parse_rate_limit_headers(headers, now=NOW)
    assert pause_delay(info, now=NOW) == 162.0 + RESET_HEADER_MARGIN


# -- the caller's clock ------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda now: parse_retry_after("1", now=now), id="parse_retry_after"),
        pytest.param(lambda now: parse_reset("1", now=now), id="parse_reset"),
        pytest.param(
            lambda now: parse_rate_limit_headers(CIMultiDict[str](), now=now),
            id="parse_rate_limit_headers",
        ),
        pytest.param(lambda now: reset_delay(RateLimitInfo(), now=now), id="reset_delay"),
        pytest.param(lambda now: pause_delay(RateLimitInfo(), now=now), id="pause_delay"),
    ],
)
def test_naive_now_is_rejected(call: Callable[[dt.datetime], object]) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call(NOW.replace(tzinfo=None))


# -- The server's clock and the pause that Remaining: 0 may cause ---------------------------


def test_server_time_reads_the_date_header() -> None:
    assert server_time("Sun, 06 Dec 2026 04:30:00 GMT") == dt.datetime(
        2026, 12, 6, 4, 30, tzinfo=dt.UTC
    )
    assert server_time(None) is None
    assert server_time("yesterday") is None
    assert server_time("Sun Dec 06 2026 04:30:00 GMT+0000") is None  # Not an HTTP date.


SKEW_NOW = dt.datetime(2026, 12, 6, 4, 30, tzinfo=dt.UTC)


def _spent(reset_in: float | None) -> RateLimitInfo:
    reset = None if reset_in is None else SKEW_NOW + dt.timedelta(seconds=reset_in)
    return RateLimitInfo(limit=20, remaining=0, reset=reset)


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        (_spent(1.0), 1.0 + RESET_HEADER_MARGIN),
        (_spent(None), 2.0),  # No reset: one window.
        (_spent(-5.0), 0.0),  # Already past.
        (_spent(59.0 - RESET_HEADER_MARGIN), 59.0),
        (_spent(3600.0), None),  # A quota or a far-off clock: no pause at all.
        (_spent(60.5), None),
        (RateLimitInfo(limit=20, remaining=3, reset=SKEW_NOW), None),
        (RateLimitInfo(), None),
    ],
)
def test_remaining_pause_is_bounded_by_max_wait(
    info: RateLimitInfo, expected: float | None
) -> None:
    assert remaining_pause(info, now=SKEW_NOW, window=2.0, max_wait=60.0) == expected


@given(st.floats(min_value=-1e6, max_value=MAX_HEADER_DELAY), st.floats(0.001, 1e5))
def test_remaining_pause_never_exceeds_max_wait(reset_in: float, max_wait: float) -> None:
    pause = remaining_pause(_spent(reset_in), now=SKEW_NOW, window=2.0, max_wait=max_wait)
    assert pause is None or 0.0 <= pause <= max_wait
