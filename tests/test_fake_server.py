"""Tests of `lemlist_async.testing.FakeLemlistServer`, through real HTTP on loopback.

The client is a plain ``aiohttp.ClientSession``, not the SDK's, so that these
tests say what the fake does on the wire, independently of the SDK. Timing tests
run on virtual time (``@pytest.mark.looptime``): sleeping moves the loop clock
instantly, and loopback I/O takes no loop time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import CIMultiDictProxy
from yarl import URL

from lemlist_async import LeadState
from lemlist_async._constants import LEADS_LIMIT_MAX, RATE_LIMIT, RATE_WINDOW
from lemlist_async.testing import DROPPED_STATUS, FakeLemlistServer, RecordedRequest, WindowMode
from lemlist_async.testing._server import _js_date_string

STATES = frozenset(state.value for state in LeadState)
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
JS_DATE_SUFFIX = " (Coordinated Universal Time)"


class Answer:
    """What the client got: status, headers and body, read in full."""

    def __init__(self, status: int, headers: CIMultiDictProxy[str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": aiohttp.encode_basic_auth("", key)}


def leads_url(fake: FakeLemlistServer, campaign_id: str) -> str:
    return f"{fake.base_url}/campaigns/{campaign_id}/leads/"


async def fetch(
    session: aiohttp.ClientSession,
    url: str | URL,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Answer:
    async with session.get(url, params=params, headers=headers) as response:
        return Answer(response.status, response.headers, await response.read())


async def fetch_many(
    session: aiohttp.ClientSession, url: str, count: int, **params: str
) -> list[Answer]:
    return await asyncio.gather(*(fetch(session, url, params) for _ in range(count)))


def at(moment: float) -> Any:
    """A loop time, compared to the microsecond (looptime's resolution)."""
    return pytest.approx(moment, abs=1e-6)


def now() -> float:
    return asyncio.get_running_loop().time()


async def sleep_until(moment: float) -> None:
    await asyncio.sleep(moment - now())


def parse_js_date(value: str) -> float:
    """Epoch seconds of a ``Date.toString()`` string in UTC, as the fake sends it."""
    assert value.endswith(JS_DATE_SUFFIX), value
    moment = datetime.strptime(value.removesuffix(JS_DATE_SUFFIX), "%a %b %d %Y %H:%M:%S GMT%z")
    return moment.timestamp()


@pytest.fixture
async def fake() -> AsyncIterator[FakeLemlistServer]:
    async with FakeLemlistServer(seed=7, campaigns=5, leads_per_campaign=(550, 600)) as server:
        yield server


@pytest.fixture
async def session(fake: FakeLemlistServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers=auth(fake.api_key)) as client_session:
        yield client_session


# -- Seeded data ---------------------------------------------------------------------


async def test_same_seed_serves_the_same_data() -> None:
    async with (
        FakeLemlistServer(seed=3, campaigns=4) as first,
        FakeLemlistServer(seed=3, campaigns=4) as second,
        aiohttp.ClientSession() as session,
    ):
        assert first.api_key == second.api_key
        assert first.campaign_ids == second.campaign_ids
        # Read in opposite orders: lazily built leads must not depend on it.
        bodies_first = [
            (await fetch(session, leads_url(first, cid), {"limit": "500"}, auth(first.api_key)))
            for cid in first.campaign_ids
        ]
        bodies_second = [
            (await fetch(session, leads_url(second, cid), {"limit": "500"}, auth(second.api_key)))
            for cid in reversed(second.campaign_ids)
        ]
    assert [answer.body for answer in bodies_first] == [
        answer.body for answer in reversed(bodies_second)
    ]
    assert all(answer.status == 200 for answer in bodies_first + bodies_second)


def test_other_seed_other_data() -> None:
    first, second = FakeLemlistServer(seed=1), FakeLemlistServer(seed=2)
    assert first.api_key != second.api_key
    assert set(first.campaign_ids).isdisjoint(second.campaign_ids)
    assert first.campaign_leads(first.campaign_ids[0]) != second.campaign_leads(
        second.campaign_ids[0]
    )


def test_a_given_key_does_not_change_the_campaigns() -> None:
    drawn = FakeLemlistServer(seed=5)
    given_key = FakeLemlistServer(seed=5, api_key="my-key")
    assert given_key.api_key == "my-key"
    assert re.fullmatch(r"[0-9a-f]{32}", drawn.api_key)
    assert given_key.campaign_ids == drawn.campaign_ids


def test_seeded_data_looks_like_lemlist() -> None:
    fake = FakeLemlistServer(seed=11, campaigns=30, leads_per_campaign=(10, 20))
    assert len(fake.campaign_ids) == 30
    assert all(re.fullmatch(r"cam_[A-Za-z0-9]{17}", cid) for cid in fake.campaign_ids)
    leads = [lead for cid in fake.campaign_ids for lead in fake.campaign_leads(cid)]
    counts = [len(fake.campaign_leads(cid)) for cid in fake.campaign_ids]
    assert all(10 <= count <= 20 for count in counts)
    assert len(set(counts)) > 1  # drawn per campaign, not once
    assert all(set(lead) == {"_id", "contactId", "state"} for lead in leads)
    assert all(re.fullmatch(r"lea_[A-Za-z0-9]{17}", lead["_id"]) for lead in leads)
    assert all(re.fullmatch(r"(ctc|con)_[A-Za-z0-9]{17}", lead["contactId"]) for lead in leads)
    assert {lead["contactId"][:4] for lead in leads} == {"ctc_", "con_"}
    states = [lead["state"] for lead in leads]
    assert set(states) <= STATES
    # The common states dominate, and some detailed ones show up.
    assert states.count("contacted") > states.count("meetingBooked")
    assert any(state.startswith(("emails", "linkedin", "api", "aircall")) for state in states)
    assert len({lead["_id"] for lead in leads}) == len(leads)


def test_exact_lead_count() -> None:
    fake = FakeLemlistServer(seed=0, campaigns=3, leads_per_campaign=7)
    assert [len(fake.campaign_leads(cid)) for cid in fake.campaign_ids] == [7, 7, 7]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"campaigns": -1},
        {"leads_per_campaign": -1},
        {"leads_per_campaign": (5, 4)},
        {"leads_per_campaign": (-1, 4)},
        {"rate_limit": 0},
        {"window": 0.0},
        {"window_mode": "leaky"},
        {"latency": -0.1},
        {"jitter": -0.1},
        {"api_key": ""},
    ],
)
def test_bad_options_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        FakeLemlistServer(**kwargs)


# -- The endpoint --------------------------------------------------------------------


async def test_leads_come_newest_first_with_a_default_limit_of_100(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    campaign_id = fake.campaign_ids[0]
    newest_first = fake.campaign_leads(campaign_id)[::-1]
    answer = await fetch(session, leads_url(fake, campaign_id))
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json() == newest_first[:100]


@pytest.mark.parametrize("limit", [1, 99, LEADS_LIMIT_MAX])
async def test_limit_caps_the_page(
    fake: FakeLemlistServer, session: aiohttp.ClientSession, limit: int
) -> None:
    campaign_id = fake.campaign_ids[1]
    answer = await fetch(session, leads_url(fake, campaign_id), {"limit": str(limit)})
    assert answer.status == 200
    assert answer.json() == fake.campaign_leads(campaign_id)[::-1][:limit]


async def test_limit_above_the_lead_count_returns_them_all(
    session: aiohttp.ClientSession, fake: FakeLemlistServer
) -> None:
    leads = [{"_id": f"lea_{n}", "contactId": f"ctc_{n}", "state": "scanned"} for n in range(3)]
    fake.add_campaign("cam_small", leads)
    answer = await fetch(session, leads_url(fake, "cam_small"), {"limit": "500"})
    assert answer.json() == leads[::-1]


@pytest.mark.parametrize(
    "limit", ["0", "501", "-1", "1.5", "1e2", "", "abc", " 5", "\u0665", "9" * 5000]
)
async def test_bad_limit_is_a_400(
    fake: FakeLemlistServer, session: aiohttp.ClientSession, limit: str
) -> None:
    answer = await fetch(session, leads_url(fake, fake.campaign_ids[0]), {"limit": limit})
    assert answer.status == 400
    assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert answer.text == "Bad params (invalid limit parameter)"
    assert all(name in answer.headers for name in RATE_HEADERS)


async def test_state_filters_by_exact_match(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    campaign_id = fake.campaign_ids[2]
    newest_first = fake.campaign_leads(campaign_id)[::-1]
    for state in ("contacted", "scanned", "interested"):
        expected = [lead for lead in newest_first if lead["state"] == state]
        assert expected, f"seed 7 should give some {state} leads"
        answer = await fetch(session, leads_url(fake, campaign_id), {"state": state})
        assert answer.json() == expected[:100]
    for state in ("Contacted", "contact", "noSuchState"):
        # lemlist validates the state: one it does not document is a 400.
        answer = await fetch(session, leads_url(fake, campaign_id), {"state": state})
        assert (answer.status, answer.text) == (400, "Bad params (invalid state parameter)")
    # A documented state that no lead is in gives an empty page.
    answer = await fetch(session, leads_url(fake, campaign_id), {"state": "linkedinSendFailed"})
    assert (answer.status, answer.json()) == (200, [])


async def test_state_and_limit_combine(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    campaign_id = fake.campaign_ids[0]
    contacted = [
        lead for lead in fake.campaign_leads(campaign_id)[::-1] if lead["state"] == "contacted"
    ]
    answer = await fetch(
        session, leads_url(fake, campaign_id), {"state": "contacted", "limit": "3"}
    )
    assert answer.json() == contacted[:3]


async def test_unknown_campaign_is_a_404(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    answer = await fetch(session, leads_url(fake, "cam_doesNotExist12345"))
    assert answer.status == 404
    assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert answer.text == "Campaign not found"
    assert all(name in answer.headers for name in RATE_HEADERS)


async def test_other_paths_are_a_recorded_404(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    # Without the trailing slash of the spec.
    answer = await fetch(session, f"{fake.base_url}/campaigns/{fake.campaign_ids[0]}/leads")
    assert (answer.status, answer.text) == (404, "Not found")
    [recorded] = fake.requests
    assert recorded.campaign_id is None
    assert recorded.status == 404
    assert recorded.path == f"/api/campaigns/{fake.campaign_ids[0]}/leads"


async def test_add_campaign_replaces_a_served_campaign(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    first = [{"_id": "lea_1", "contactId": "con_1", "state": "scanned", "extra": [1, 2]}]
    second = [{"_id": "lea_2", "contactId": "ctc_2", "state": "paused"}]
    fake.add_campaign("cam_mine", first)
    assert (await fetch(session, leads_url(fake, "cam_mine"))).json() == first
    first[0]["state"] = "mutated after adding"  # copied: does not leak in
    fake.add_campaign("cam_mine", second)
    assert (await fetch(session, leads_url(fake, "cam_mine"))).json() == second
    assert "cam_mine" not in fake.campaign_ids


def test_add_campaign_refuses_bad_input() -> None:
    fake = FakeLemlistServer(campaigns=0)
    with pytest.raises(ValueError, match="campaign_id"):
        fake.add_campaign("", [])
    with pytest.raises(TypeError):
        fake.add_campaign("cam_x", [{"_id": "lea_1", "when": object()}])
    with pytest.raises(KeyError):
        fake.campaign_leads("cam_x")


async def test_hostile_campaign_id_is_one_encoded_path_segment(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    leads = [{"_id": "lea_1", "contactId": "ctc_1", "state": "hooked"}]
    fake.add_campaign("x/../../team", leads)
    raw_path = "/api/campaigns/x%2F%2E%2E%2F%2E%2E%2Fteam/leads/"
    url = URL(fake.base_url, encoded=True).with_path(raw_path, encoded=True)
    answer = await fetch(session, url)
    assert (answer.status, answer.json()) == (200, leads)
    [recorded] = fake.requests
    assert recorded.campaign_id == "x/../../team"
    assert recorded.raw_path == raw_path
    assert recorded.path == "/api/campaigns/x/../../team/leads/"


# -- Authentication ------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        aiohttp.encode_basic_auth("", "wrong-key"),
        aiohttp.encode_basic_auth("login", "the-key"),  # the login must be empty
        aiohttp.encode_basic_auth("", "the-key").replace("Basic", "Bearer"),
        "Basic !!!not-base64!!!",
        "Basic",
        "the-key",
    ],
)
@pytest.mark.looptime
async def test_bad_credentials_are_a_401_that_is_not_rate_limited(
    authorization: str | None,
) -> None:
    async with (
        FakeLemlistServer(seed=1, campaigns=1, api_key="the-key") as fake,
        aiohttp.ClientSession() as session,
    ):
        headers = {} if authorization is None else {"Authorization": authorization}
        url = leads_url(fake, fake.campaign_ids[0])
        bad = await asyncio.gather(*(fetch(session, url, headers=headers) for _ in range(25)))
        good = await asyncio.gather(
            *(fetch(session, url, headers=auth("the-key")) for _ in range(RATE_LIMIT))
        )
    assert {(answer.status, answer.text) for answer in bad} == {
        (401, "The authentication you supplied is incorrect")
    }
    assert {answer.headers["Content-Type"] for answer in bad} == {"text/plain; charset=utf-8"}
    assert not any(name in answer.headers for answer in bad for name in RATE_HEADERS)
    assert [answer.status for answer in good] == [200] * RATE_LIMIT
    assert fake.count(401) == 25
    assert [r.authenticated for r in fake.requests] == [False] * 25 + [True] * RATE_LIMIT
    assert fake.max_arrivals_in_window() == RATE_LIMIT


async def test_the_auth_scheme_is_case_insensitive(fake: FakeLemlistServer) -> None:
    header = aiohttp.encode_basic_auth("", fake.api_key).replace("Basic", "bAsIc")
    async with aiohttp.ClientSession() as session:
        answer = await fetch(
            session, leads_url(fake, fake.campaign_ids[0]), headers={"Authorization": header}
        )
    assert answer.status == 200


# -- Rate limit ----------------------------------------------------------------------


@pytest.mark.looptime
async def test_fixed_window_admits_20_then_429s_until_it_ends(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    url = leads_url(fake, fake.campaign_ids[0])
    # An arbitrary phase: the window opens at the key's first request.
    await asyncio.sleep(0.7)
    start = now()
    burst = await fetch_many(session, url, 25)
    assert now() == start  # loopback I/O took no loop time
    assert sorted(answer.status for answer in burst) == [200] * 20 + [429] * 5
    rejected = [answer for answer in burst if answer.status == 429]
    assert {answer.text for answer in rejected} == {"Too many requests, please try again later."}
    assert {answer.headers["Content-Type"] for answer in rejected} == {"text/plain; charset=utf-8"}
    assert {answer.headers["Retry-After"] for answer in rejected} == {"2.000"}

    await sleep_until(start + RATE_WINDOW - 0.001)
    late = await fetch(session, url)
    assert (late.status, late.headers["Retry-After"]) == (429, "0.001")

    await sleep_until(start + RATE_WINDOW)
    next_window = await fetch_many(session, url, 21)
    assert sorted(answer.status for answer in next_window) == [200] * 20 + [429]
    assert fake.count(200) == 40
    assert fake.count(429) == 7
    assert (
        fake.arrival_times()
        == [start] * 25 + [at(start + RATE_WINDOW - 0.001)] + [at(start + RATE_WINDOW)] * 21
    )


@pytest.mark.looptime
async def test_remaining_counts_down_and_reset_points_at_the_window_end(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    url = leads_url(fake, fake.campaign_ids[0])
    start = now()
    remaining = []
    for step in range(RATE_LIMIT + 1):
        await sleep_until(start + step * 0.05)
        before = time.time()
        answer = await fetch(session, url)
        after = time.time()
        remaining.append(int(answer.headers["X-RateLimit-Remaining"]))
        assert answer.headers["X-RateLimit-Limit"] == str(RATE_LIMIT)
        # The window ends RATE_WINDOW after its first request; the header is
        # that instant on the wall clock, truncated to the second.
        until_reset = start + RATE_WINDOW - now()
        reset = parse_js_date(answer.headers["X-RateLimit-Reset"])
        assert before + until_reset - 1.0 < reset <= after + until_reset
        assert answer.status == (200 if step < RATE_LIMIT else 429)
        assert ("Retry-After" in answer.headers) == (answer.status == 429)
    assert remaining == [*range(RATE_LIMIT - 1, -1, -1), 0]
    assert answer.headers["Retry-After"] == f"{RATE_WINDOW - RATE_LIMIT * 0.05:.3f}"


def test_reset_header_is_javascript_date_to_string() -> None:
    # The only place a calendar date leaks out; pin its exact shape.
    assert _js_date_string(1613466162.999) == (
        "Tue Feb 16 2021 09:02:42 GMT+0000 (Coordinated Universal Time)"
    )
    assert _js_date_string(1704154385.0) == (
        "Tue Jan 02 2024 00:13:05 GMT+0000 (Coordinated Universal Time)"
    )


@pytest.mark.looptime
async def test_retry_after_counts_from_the_first_request_of_the_window(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    url = leads_url(fake, fake.campaign_ids[0])
    start = now()
    assert (await fetch(session, url)).status == 200
    await asyncio.sleep(0.75)
    burst = await fetch_many(session, url, 20)
    assert sorted(answer.status for answer in burst) == [200] * 19 + [429]
    [rejected] = [answer for answer in burst if answer.status == 429]
    assert rejected.headers["Retry-After"] == "1.250"
    assert rejected.headers["X-RateLimit-Remaining"] == "0"
    await asyncio.sleep(float(rejected.headers["Retry-After"]))
    assert now() == at(start + RATE_WINDOW)
    assert (await fetch(session, url)).status == 200


@pytest.mark.parametrize(
    ("window_mode", "statuses_at_2_1", "max_arrivals"),
    [
        # The window that opened at 0.0 is over: a fresh one admits all 20,
        # although 19 requests arrived 0.2 s earlier.
        ("fixed", [200] * 20, 39),
        # At most 20 in any 2 s: only one more fits next to the 19 of 1.9.
        ("sliding", [200] + [429] * 19, 39),
    ],
)
@pytest.mark.looptime
async def test_window_modes_differ_at_the_window_boundary(
    window_mode: WindowMode, statuses_at_2_1: list[int], max_arrivals: int
) -> None:
    async with (
        FakeLemlistServer(seed=2, campaigns=1, window_mode=window_mode) as fake,
        aiohttp.ClientSession(headers=auth(fake.api_key)) as session,
    ):
        url = leads_url(fake, fake.campaign_ids[0])
        start = now()
        assert (await fetch(session, url)).status == 200
        await sleep_until(start + 1.9)
        assert {answer.status for answer in await fetch_many(session, url, 19)} == {200}
        await sleep_until(start + 2.1)
        later = await fetch_many(session, url, 20)
    assert sorted(answer.status for answer in later) == statuses_at_2_1
    assert fake.max_arrivals_in_window() == max_arrivals


@pytest.mark.looptime
async def test_sliding_window_retry_after_and_rejected_requests_count() -> None:
    async with (
        FakeLemlistServer(seed=2, campaigns=1, window_mode="sliding") as fake,
        aiohttp.ClientSession(headers=auth(fake.api_key)) as session,
    ):
        assert fake.window_mode == "sliding"
        url = leads_url(fake, fake.campaign_ids[0])
        start = now()
        assert {a.status for a in await fetch_many(session, url, 10)} == {200}
        await sleep_until(start + 1.0)
        assert {a.status for a in await fetch_many(session, url, 10)} == {200}
        await sleep_until(start + 1.5)
        first_rejected = await fetch(session, url)
        # Admitted once the 10 of t=0 leave, at t=2.0.
        assert (first_rejected.status, first_rejected.headers["Retry-After"]) == (429, "0.500")
        second_rejected = await fetch(session, url)
        # The rejected arrival at 1.5 counts too: 22 arrivals, so 3 must leave,
        # still at t=2.0.
        assert second_rejected.headers["Retry-After"] == "0.500"
        await sleep_until(start + 2.0)
        # In (0, 2.0]: 10 + 2 rejected = 12 earlier arrivals, room for 8.
        again = await fetch_many(session, url, 9)
    assert sorted(answer.status for answer in again) == [200] * 8 + [429]
    assert [answer.headers["X-RateLimit-Remaining"] for answer in again].count("0") == 2
    # The reject at t=2.0 waits for the 10 of t=1.0: 21 arrivals remain in
    # (1.0, 2.0], of which 2 must leave.
    [rejected] = [answer for answer in again if answer.status == 429]
    assert rejected.headers["Retry-After"] == "1.000"


@pytest.mark.looptime
async def test_no_rate_limit_when_disabled() -> None:
    async with (
        FakeLemlistServer(seed=2, campaigns=1, rate_limit=None) as fake,
        aiohttp.ClientSession(headers=auth(fake.api_key)) as session,
    ):
        answers = await fetch_many(session, leads_url(fake, fake.campaign_ids[0]), 50)
    assert {answer.status for answer in answers} == {200}
    assert not any(name in answer.headers for answer in answers for name in RATE_HEADERS)
    assert fake.rate_limit is None
    assert fake.max_arrivals_in_window() == 50


@pytest.mark.looptime
async def test_custom_rate_limit_and_window() -> None:
    async with (
        FakeLemlistServer(seed=2, campaigns=1, rate_limit=3, window=10.0) as fake,
        aiohttp.ClientSession(headers=auth(fake.api_key)) as session,
    ):
        url = leads_url(fake, fake.campaign_ids[0])
        start = now()
        first = await fetch_many(session, url, 4)
        await sleep_until(start + 9.0)
        still_closed = await fetch(session, url)
        await sleep_until(start + 10.0)
        reopened = await fetch(session, url)
    assert sorted(answer.status for answer in first) == [200, 200, 200, 429]
    assert {answer.headers["X-RateLimit-Limit"] for answer in first} == {"3"}
    assert (still_closed.status, still_closed.headers["Retry-After"]) == (429, "1.000")
    assert (reopened.status, reopened.headers["X-RateLimit-Remaining"]) == (200, "2")


# -- Fault injection -----------------------------------------------------------------


@pytest.mark.looptime
async def test_fail_next_answers_the_next_requests_then_stops(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    url = leads_url(fake, fake.campaign_ids[0])
    fake.fail_next(503, count=2, body="busy", headers={"Retry-After": "7"})
    assert fake.pending_faults == 2
    first, second, third = [await fetch(session, url) for _ in range(3)]
    assert fake.pending_faults == 0
    for answer in (first, second):
        assert (answer.status, answer.text, answer.headers["Retry-After"]) == (503, "busy", "7")
        assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"
    # Faults are requests the server saw: they count against the limit.
    assert [a.headers["X-RateLimit-Remaining"] for a in (first, second, third)] == [
        "19",
        "18",
        "17",
    ]
    assert third.status == 200
    assert [r.status for r in fake.requests] == [503, 503, 200]


async def test_fail_next_defaults_and_header_overrides(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    url = leads_url(fake, fake.campaign_ids[0])
    fake.fail_next(500)
    fake.fail_next(
        400,
        body='{"error": "BadRequest", "message": "nope"}',
        content_type="application/json",
        headers={"x-ratelimit-remaining": "0"},
    )
    server_error = await fetch(session, url)
    bad_request = await fetch(session, url)
    assert (server_error.status, server_error.text) == (500, "Internal Server Error")
    assert bad_request.status == 400
    assert bad_request.headers["Content-Type"] == "application/json"
    assert bad_request.json() == {"error": "BadRequest", "message": "nope"}
    # Replaced case-insensitively, not sent twice.
    assert bad_request.headers.getall("X-RateLimit-Remaining") == ["0"]


@pytest.mark.looptime
async def test_faults_wait_for_an_authenticated_request_and_beat_the_429(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    url = leads_url(fake, fake.campaign_ids[0])
    assert {a.status for a in await fetch_many(session, url, RATE_LIMIT)} == {200}
    fake.fail_next(401, body="")
    unauthenticated = await fetch(session, url, headers=auth("wrong"))
    injected = await fetch(session, url)
    over_the_limit = await fetch(session, url)
    assert [unauthenticated.status, injected.status, over_the_limit.status] == [401, 401, 429]
    assert injected.headers["X-RateLimit-Remaining"] == "0"
    assert [r.authenticated for r in fake.requests[-3:]] == [False, True, True]
    assert fake.max_arrivals_in_window() == RATE_LIMIT + 2


@pytest.mark.parametrize(("status", "count"), [(99, 1), (600, 1), (500, 0), (500, -1)])
def test_fail_next_refuses_bad_arguments(status: int, count: int) -> None:
    fake = FakeLemlistServer(campaigns=0)
    with pytest.raises(ValueError, match="status" if count == 1 else "count"):
        fake.fail_next(status, count=count)
    with pytest.raises(ValueError, match="count"):
        fake.drop_next(0)
    with pytest.raises(ValueError, match="count"):
        fake.malformed_next(0)
    assert fake.pending_faults == 0


async def test_malformed_next_is_a_200_that_is_not_json(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    url = leads_url(fake, fake.campaign_ids[0])
    fake.malformed_next(count=2)
    answers = [await fetch(session, url) for _ in range(3)]
    assert [answer.status for answer in answers] == [200, 200, 200]
    for answer in answers[:2]:
        assert answer.headers["Content-Type"] == "application/json"
        assert all(name in answer.headers for name in RATE_HEADERS)
        with pytest.raises(json.JSONDecodeError):
            answer.json()
    assert isinstance(answers[2].json(), list)


@pytest.mark.looptime
async def test_drop_next_disconnects_cleanly(
    fake: FakeLemlistServer, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    url = leads_url(fake, fake.campaign_ids[0])
    fake.latency = 0.5  # the drop comes after the latency, like a timeout upstream
    caplog.set_level(logging.DEBUG, logger="aiohttp")
    start = now()
    # aiohttp itself sends an idempotent request once more when the server
    # closes the connection under it, so one GET takes two drops to fail.
    fake.drop_next(count=2)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await fetch(session, url)
    assert now() == at(start + 1.0)
    assert fake.pending_faults == 0
    fake.drop_next()
    retried = await fetch(session, url)
    assert retried.status == 200
    assert retried.headers["X-RateLimit-Remaining"] == "16"
    assert [r.status for r in fake.requests] == [DROPPED_STATUS] * 3 + [200]
    assert fake.count(DROPPED_STATUS) == 3
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


@pytest.mark.looptime
async def test_latency_delays_answers_but_not_arrivals(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    url = leads_url(fake, fake.campaign_ids[0])
    fake.latency = 0.25
    start = now()
    answers = await fetch_many(session, url, 3)
    assert now() == at(start + 0.25)
    assert {answer.status for answer in answers} == {200}
    assert fake.arrival_times() == [start] * 3
    fake.latency = 0.0
    await fetch(session, url)
    assert now() == at(start + 0.25)


@pytest.mark.looptime
async def test_jitter_is_bounded_and_seeded() -> None:
    delays: list[list[float]] = []
    for _ in range(2):
        async with (
            FakeLemlistServer(seed=9, campaigns=1, latency=0.1, jitter=0.5) as fake,
            aiohttp.ClientSession(headers=auth(fake.api_key)) as session,
        ):
            url = leads_url(fake, fake.campaign_ids[0])
            run = []
            for _ in range(10):
                start = now()
                await fetch(session, url)
                run.append(now() - start)
            delays.append(run)
    assert delays[0] == pytest.approx(delays[1], abs=2e-6)
    assert all(0.1 <= delay <= 0.6 + 1e-6 for delay in delays[0])
    assert len({round(delay, 4) for delay in delays[0]}) > 5


def test_latency_and_jitter_are_validated_when_set() -> None:
    fake = FakeLemlistServer(campaigns=0)
    fake.latency, fake.jitter = 0.5, 0.25
    assert (fake.latency, fake.jitter) == (0.5, 0.25)
    with pytest.raises(ValueError, match="latency"):
        fake.latency = -1.0
    with pytest.raises(ValueError, match="jitter"):
        fake.jitter = float("nan")


# -- Recording -----------------------------------------------------------------------


@pytest.mark.looptime
async def test_requests_are_recorded(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    campaign_id = fake.campaign_ids[0]
    start = now()
    await fetch(session, leads_url(fake, campaign_id), {"state": "emailsSent", "limit": "5"})
    await asyncio.sleep(0.5)
    await fetch(session, leads_url(fake, "cam_missing"))
    assert fake.requests == [
        RecordedRequest(
            time=start,
            method="GET",
            path=f"/api/campaigns/{campaign_id}/leads/",
            raw_path=f"/api/campaigns/{campaign_id}/leads/",
            query={"state": "emailsSent", "limit": "5"},
            status=200,
            campaign_id=campaign_id,
            authenticated=True,
        ),
        RecordedRequest(
            time=at(start + 0.5),
            method="GET",
            path="/api/campaigns/cam_missing/leads/",
            raw_path="/api/campaigns/cam_missing/leads/",
            query={},
            status=404,
            campaign_id="cam_missing",
            authenticated=True,
        ),
    ]
    assert fake.arrival_times() == [start, at(start + 0.5)]
    assert (fake.count(200), fake.count(404), fake.count(429)) == (1, 1, 0)
    fake.reset_records()
    assert fake.requests == []
    assert fake.max_arrivals_in_window() == 0


@pytest.mark.looptime
async def test_max_arrivals_in_window_uses_half_open_intervals(
    fake: FakeLemlistServer, session: aiohttp.ClientSession
) -> None:
    url = leads_url(fake, fake.campaign_ids[0])
    start = now()
    for offset in (0.0, 0.5, 1.0, 1.5, 2.0):
        await sleep_until(start + offset)
        await fetch(session, url)
    await fetch(session, url, headers=auth("wrong"))  # not authenticated: not counted
    assert fake.max_arrivals_in_window() == 4  # [0, 2) holds 0, 0.5, 1, 1.5 but not 2
    assert fake.max_arrivals_in_window(1.0) == 2
    assert fake.max_arrivals_in_window(1.01) == 3
    assert fake.max_arrivals_in_window(0.5) == 1
    assert fake.max_arrivals_in_window(10.0) == 5
    with pytest.raises(ValueError, match="window"):
        fake.max_arrivals_in_window(0.0)


def recorded(at: float, *, authenticated: bool = True) -> RecordedRequest:
    return RecordedRequest(
        time=at,
        method="GET",
        path="/",
        raw_path="/",
        query={},
        status=200,
        campaign_id=None,
        authenticated=authenticated,
    )


@given(
    times=st.lists(st.integers(min_value=0, max_value=400), max_size=40),
    window=st.integers(min_value=1, max_value=100),
)
def test_max_arrivals_in_window_matches_brute_force(times: list[int], window: int) -> None:
    # Whole milliseconds, as exact binary fractions are not the point here.
    fake = FakeLemlistServer(campaigns=0)
    fake.requests.extend(recorded(t / 1000) for t in times)
    fake.requests.append(recorded(0.0, authenticated=False))
    brute_force = max(
        (sum(1 for t in times if s <= t < s + window) for s in times),
        default=0,
    )
    assert fake.max_arrivals_in_window(window / 1000) == brute_force


# -- Lifecycle -----------------------------------------------------------------------


async def test_start_and_close_explicitly() -> None:
    fake = FakeLemlistServer(seed=4, campaigns=1)
    with pytest.raises(RuntimeError, match="not running"):
        _ = fake.base_url
    await fake.start()
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api", fake.base_url)
        with pytest.raises(RuntimeError, match="already running"):
            await fake.start()
        async with aiohttp.ClientSession(headers=auth(fake.api_key)) as session:
            answer = await fetch(session, leads_url(fake, fake.campaign_ids[0]))
        assert answer.status == 200
    finally:
        await fake.close()
    with pytest.raises(RuntimeError, match="not running"):
        _ = fake.base_url
    await fake.close()  # idempotent
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_closing_with_an_open_client_leaves_nothing_behind() -> None:
    fake = FakeLemlistServer(seed=4, campaigns=1)
    async with aiohttp.ClientSession(headers=auth(fake.api_key)) as session:
        async with fake:
            url = leads_url(fake, fake.campaign_ids[0])
            # The kept-alive connection is still open when the server goes away.
            assert (await fetch(session, url)).status == 200
        with pytest.raises(aiohttp.ClientConnectionError):
            await fetch(session, url)
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_a_taken_port_raises_and_leaves_nothing_behind() -> None:
    async with FakeLemlistServer(campaigns=0) as first:
        port = URL(first.base_url).port
        assert port is not None
        second = FakeLemlistServer(campaigns=0, port=port)
        with pytest.raises(OSError, match="address already in use"):
            await second.start()
        with pytest.raises(RuntimeError, match="not running"):
            _ = second.base_url
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_ipv6_loopback_gets_a_bracketed_url() -> None:
    fake = FakeLemlistServer(seed=4, campaigns=1, host="::1")
    try:
        await fake.start()
    except OSError:  # pragma: no cover - depends on the machine
        pytest.skip("no IPv6 loopback here")
    try:
        assert re.fullmatch(r"http://\[::1\]:\d+/api", fake.base_url)
        async with aiohttp.ClientSession(headers=auth(fake.api_key)) as session:
            answer = await fetch(session, leads_url(fake, fake.campaign_ids[0]))
        assert answer.status == 200
    finally:
        await fake.close()
