"""Get Many Activities' pages on the fake: found by binary search and indices, a plain scan's.

The fake finds ``minDate..maxDate`` by bisecting its feed (dates in milliseconds,
bounds in microseconds, both inclusive), reads the activities of a ``type``,
``campaignId`` or ``leadId`` from an index, and builds only the page it answers.
Here every page is compared, on the wire, with a scan of the whole feed.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeAlias

import aiohttp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lemlist_async.testing import FakeLemlistServer

from .test_fake_server import auth, fetch

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MS: Final = timedelta(milliseconds=1)
_US: Final = timedelta(microseconds=1)
#: An activity dated before 1970: negative dates round the other way.
_BEFORE_1970: Final = datetime(1969, 12, 31, 23, 59, 59, 998_000, tzinfo=UTC)


def millis_of(activity: dict[str, Any]) -> int:
    return (datetime.fromisoformat(activity["createdAt"]) - _EPOCH) // _MS


def moment(millis: int) -> datetime:
    return _EPOCH + millis * _MS


def as_query(micros: int, style: str) -> str:
    """A date parameter for epoch ``micros``: Unix seconds with 6 decimals, or ISO 8601."""
    if style == "seconds" and micros >= 0:
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"
    return (_EPOCH + micros * _US).isoformat()


def scanned(
    feed: list[dict[str, Any]], low: int | None, high: int | None, fields: dict[str, Any]
) -> list[dict[str, Any]]:
    """The reference: every activity of the feed (newest first) that passes, one by one.

    ``fields``: ``type``, ``campaignId``, ``leadId`` (exact) and ``isFirst`` (a
    missing one counts as false), when given.
    """
    return [
        activity
        for activity in feed
        if (low is None or millis_of(activity) * 1000 >= low)
        and (high is None or millis_of(activity) * 1000 <= high)
        and all(
            activity.get(name, False if name == "isFirst" else None) == value
            for name, value in fields.items()
        )
    ]


async def get_page(
    fake: FakeLemlistServer, session: aiohttp.ClientSession, params: dict[str, str]
) -> list[dict[str, Any]]:
    answer = await fetch(session, f"{fake.base_url}/activities", {"version": "v2", **params})
    assert answer.status == 200, answer.text
    body = answer.json()
    assert isinstance(body, list)
    return body


@st.composite
def bound(draw: st.DrawFn, dates: list[int]) -> int | None:
    """A date bound in epoch microseconds: none, on or about an activity's millisecond
    (exactly, one microsecond either side, the millisecond's last microsecond), or anywhere."""
    choice = draw(st.sampled_from(["none", "near", "anywhere"]))
    if choice == "none":
        return None
    if choice == "near":
        millis = draw(st.sampled_from(dates))
        return millis * 1000 + draw(st.sampled_from([0, -1, 1, 999, -999, 500]))
    return draw(st.integers(min(dates) * 1000 - 5_000_000, max(dates) * 1000 + 5_000_000))


#: (minDate, maxDate, date style, exact filters, offset, limit)
Query: TypeAlias = tuple[int | None, int | None, str, dict[str, Any], int, int]


@st.composite
def queries(draw: st.DrawFn, feed: list[dict[str, Any]]) -> list[Query]:
    """A few pages to ask for: date bounds near the feed's dates, and sometimes
    filters on values of the feed (or on none of them)."""
    dates = [millis_of(activity) for activity in feed]
    values = {}
    for name in ("type", "campaignId", "leadId"):
        found = {activity[name] for activity in feed if isinstance(activity.get(name), str)}
        values[name] = [*sorted(found), "nothingLikeThis"]
    drawn = []
    for _ in range(draw(st.integers(1, 6))):
        low, high = draw(bound(dates)), draw(bound(dates))
        if low is not None and high is not None:
            low, high = min(low, high), max(low, high)
            if low == high:  # the route wants maxDate after minDate
                high += 1
        fields: dict[str, Any] = {}
        for name, choices in values.items():
            if draw(st.integers(0, 3)) == 0:
                fields[name] = draw(st.sampled_from(choices))
        if draw(st.integers(0, 3)) == 0:
            fields["isFirst"] = draw(st.booleans())
        style = draw(st.sampled_from(["seconds", "iso"]))
        drawn.append(
            (
                low,
                high,
                style,
                fields,
                draw(st.integers(0, len(feed) + 5)),
                draw(st.integers(1, 100)),
            )
        )
    return drawn


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data(), seed=st.integers(0, 3))
def test_pages_are_those_of_a_plain_scan(data: st.DataObject, seed: int) -> None:
    """Pages before and after activities are added (in the past, at ties, and
    recorded by the fake, their fields overridden) are those of a scan."""
    fake = FakeLemlistServer(
        seed=seed, campaigns=3, leads_per_campaign=(0, 30), activities=120, rate_limit=None
    )
    seeded = [millis_of(activity) for activity in fake.activities()]
    # Activities added in the past take their place among the seeded ones; several
    # at one date, or at the date of a seeded one, are ties that the order must keep.
    additions = data.draw(
        st.lists(
            st.tuples(
                st.integers(1, 4),
                st.one_of(
                    st.sampled_from(seeded),
                    st.integers(min(seeded) - 10_000, max(seeded) + 10_000),
                    st.just((_BEFORE_1970 - _EPOCH) // _MS),
                ),
            ),
            max_size=6,
        ),
        label="additions",
    )

    async def check(session: aiohttp.ClientSession, drawn: list[Query]) -> None:
        feed = fake.activities()
        for low, high, style, fields, offset, limit in drawn:
            params = {"offset": str(offset), "limit": str(limit)}
            if low is not None:
                params["minDate"] = as_query(low, style)
            if high is not None:
                params["maxDate"] = as_query(high, style)
            params.update(
                (name, str(value).lower() if name == "isFirst" else value)
                for name, value in fields.items()
            )
            expected = scanned(feed, low, high, fields)[offset : offset + limit]
            assert await get_page(fake, session, params) == expected, params

    async def run() -> None:
        async with fake, aiohttp.ClientSession(headers=auth(fake.api_key)) as session:
            await check(session, data.draw(queries(fake.activities()), label="before"))
            for count, millis in additions:
                fake.add_activities(count, at=moment(millis))
            lead = next((a for a in fake.activities() if "leadId" in a), None)
            if lead is not None:
                fake.emit_activity("emailsOpened", lead_id=lead["leadId"])
                fake.emit_activity("custom", campaign_id=lead["campaignId"], leadId="lea_given")
            await check(session, data.draw(queries(fake.activities()), label="after"))

    asyncio.run(run())


async def test_a_window_keeps_every_tie_of_its_bounds_newest_added_first() -> None:
    async with FakeLemlistServer(seed=62, campaigns=3, activities=200) as fake:
        seeded = fake.activities()[100]
        millis = millis_of(seeded)
        ties = fake.add_activities(3, at=moment(millis))
        before = fake.add_activities(2, at=moment(millis - 1))
        after = fake.add_activities(2, at=moment(millis + 1))
        on_the_millisecond = [*ties[::-1], seeded]
        async with aiohttp.ClientSession(headers=auth(fake.api_key)) as session:

            async def window(low: int, high: int, **params: str) -> list[dict[str, Any]]:
                query = {"minDate": as_query(low, "seconds"), "maxDate": as_query(high, "iso")}
                return await get_page(fake, session, {**query, **params})

            us = millis * 1000
            assert await window(us, us + 999) == on_the_millisecond
            assert await window(us - 999, us) == on_the_millisecond
            assert await window(us + 1, us + 1000) == after[::-1]
            assert await window(us - 1000, us - 1) == before[::-1]
            around = [*after[::-1], *on_the_millisecond, *before[::-1]]
            assert await window(us - 1000, us + 1000) == around
            assert await window(us, us + 999, offset="1", limit="2") == on_the_millisecond[1:3]
            assert await window(us, us + 999, offset="4") == []
            assert await window(us + 1, us + 999) == []  # within one millisecond, none
            not_first = [activity for activity in around if not activity.get("isFirst", False)]
            later = await window(us - 1000, us + 1000, isFirst="false", offset="2")
            assert later == not_first[2:]
