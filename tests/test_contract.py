"""Contract test: the SDK's requests and the fake's answers against lemlist's OpenAPI document.

Every operation of ``client.campaigns`` (and ``client.get_campaign_leads``) is
driven against a `FakeLemlistServer`, with every optional argument that changes
what is sent. An aiohttp trace on the client's session records each request as
it left the SDK (method, URL, headers, body); each is checked against
``tests/data/lemlist-openapi-v2.json``, a verbatim copy of lemlist's document,
with openapi-core (documented server, path and method; path, query and security
parameters; JSON body), plus two checks of ``_contract``'s own: no undocumented
query parameter, none sent twice. The fake is deterministic for reads, so each
request is sent again with a plain session and the body the fake answers is
checked against the operation's response schema for its status and content type.

Where the document and lemlist's observed behaviour differ, the SDK and the fake
follow lemlist, and `DEVIATIONS`, below, is the only place that says so: one
entry and its reason per difference, patched into the document in memory. A
deviation no longer needed fails `test_every_deviation_is_still_needed`; an
operation added to the SDK without a driver here fails
`test_every_sdk_operation_is_driven`.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import re
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Final

import aiohttp
import pytest
from multidict import CIMultiDict
from yarl import URL

import lemlist_async
from lemlist_async import LemlistClient
from lemlist_async.testing import FakeLemlistServer

from ._contract import (
    Deviation,
    Exchange,
    Recorder,
    check,
    check_all,
    parameter_schema,
    replay,
    response_schema,
    sdk_operations,
    template,
)

START: Final = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
END: Final = dt.datetime(2025, 6, 30, 23, 59, 59, tzinfo=dt.UTC)


# -- The one place where lemlist's document and lemlist differ ----------------------------


def _array_or_v2_envelope(documented: Any) -> Any:
    return {
        "oneOf": [
            documented,
            {
                "type": "object",
                "required": ["campaigns"],
                "properties": {
                    "campaigns": documented,
                    "pagination": {
                        "type": "object",
                        "properties": {
                            "totalRecords": {"type": "integer", "minimum": 0},
                            "currentPage": {"type": "integer", "minimum": 1},
                            "nextPage": {"type": "integer", "minimum": 1, "nullable": True},
                            "totalPage": {"type": "integer", "minimum": 0},
                        },
                    },
                },
            },
        ]
    }


def _comma_separated(documented: Any) -> Any:
    one = "|".join(re.escape(value) for value in documented["enum"])
    return {"type": "string", "pattern": f"^({one})(,({one}))*$"}


_GET_MANY_CAMPAIGNS: Final = ("get", "/campaigns")
_EXPORT_LEADS: Final = ("get", "/campaigns/{campaignId}/export/leads")

DEVIATIONS: Final = (
    Deviation(
        operation=_GET_MANY_CAMPAIGNS,
        pointer=response_schema(_GET_MANY_CAMPAIGNS, "200", "application/json"),
        patch=_array_or_v2_envelope,
        reason=(
            "The document says Get Many Campaigns answers an array of campaigns; with "
            "version=v2, which the SDK sends, lemlist answers {campaigns, pagination} "
            "(reference api-surface.md, 2.3 item 1). The SDK reads both shapes and the fake "
            "serves either (the envelope by default): both are accepted."
        ),
    ),
    Deviation(
        operation=_EXPORT_LEADS,
        pointer=parameter_schema(_EXPORT_LEADS, "state"),
        patch=_comma_separated,
        reason=(
            "Export Campaign Leads' state 'can be a comma-separated list of states', says "
            "its description, but its schema is an enum of single states. The SDK sends "
            "the list (export_leads(states=[...])): each item must still be in the enum."
        ),
    ),
)


# -- Driving every operation --------------------------------------------------------------

Driver = Callable[[LemlistClient, FakeLemlistServer], Awaitable[object]]


async def _list(client: LemlistClient, fake: FakeLemlistServer) -> object:
    first = fake.campaigns()[0]
    await client.campaigns.list().collect()
    await client.campaigns.list(page_size=3, prefetch=3).collect()
    return await client.campaigns.list(
        status=first["status"], created_by=first["createdBy"], sort_order="desc", page_size=2
    ).collect()


async def _get(client: LemlistClient, fake: FakeLemlistServer) -> object:
    return await client.campaigns.get(fake.campaign_ids[0])


async def _leads(client: LemlistClient, fake: FakeLemlistServer) -> object:
    await client.campaigns.leads(fake.campaign_ids[0])
    return await client.campaigns.leads(fake.campaign_ids[1], state="contacted", limit=500)


async def _get_campaign_leads(client: LemlistClient, fake: FakeLemlistServer) -> object:
    return await client.get_campaign_leads(fake.campaign_ids[2], state="interested", limit=1)


async def _export_leads(client: LemlistClient, fake: FakeLemlistServer) -> object:
    await client.campaigns.export_leads(fake.campaign_ids[0])
    return await client.campaigns.export_leads(
        fake.campaign_ids[1], states=["interested", "emailsReplied"]
    )


async def _iter_export_leads(client: LemlistClient, fake: FakeLemlistServer) -> object:
    streamed = [lead async for lead in client.campaigns.iter_export_leads(fake.campaign_ids[2])]
    states = ["contacted"]
    async for lead in client.campaigns.iter_export_leads(fake.campaign_ids[3], states=states):
        streamed.append(lead)
    return streamed


def _send_user(fake: FakeLemlistServer) -> str:
    user = fake.team()["users"][0]
    return f"{user['userId']}|{user['email']}"


async def _stats(client: LemlistClient, fake: FakeLemlistServer) -> object:
    await client.campaigns.stats(fake.campaign_ids[0], start=START, end=END)
    return await client.campaigns.stats(
        fake.campaign_ids[1],
        start=START,
        end=END,
        send_user=_send_user(fake),
        ab="B",
        channels=["email", "linkedin"],
    )


def _many_ids(fake: FakeLemlistServer) -> list[str]:
    """More ids than one request takes, unknown ones among them."""
    return [*fake.campaign_ids, *(f"cam_unknown{i:03}" for i in range(150))]


async def _stats_many(client: LemlistClient, fake: FakeLemlistServer) -> object:
    await client.campaigns.stats_many(fake.campaign_ids[:2], start=START, end=END)
    return await client.campaigns.stats_many(
        _many_ids(fake),
        start=START,
        end=END,
        send_user=_send_user(fake),
        ab="A",
        channels=["others"],
    )


async def _reports(client: LemlistClient, fake: FakeLemlistServer) -> object:
    await client.campaigns.reports(fake.campaign_ids[:1])
    return await client.campaigns.reports(_many_ids(fake))


async def _leads_find(client: LemlistClient, fake: FakeLemlistServer) -> object:
    # Only 2xx answers are checked here; "Lead not found" is tested on its own.
    return await client.leads.find(fake.shared_lead_emails()[0])


async def _leads_get(client: LemlistClient, fake: FakeLemlistServer) -> object:
    email = fake.shared_lead_emails()[0]
    lead = await client.leads.get(email=email)
    return await client.leads.get(lead_id=lead.id)


async def _activities_list(client: LemlistClient, fake: FakeLemlistServer) -> object:
    first = fake.activities()[0]
    await client.activities.list(page_size=50).collect()
    return await client.activities.list(
        type=first["type"],
        campaign_id=first.get("campaignId"),
        lead_id=first.get("leadId"),
        is_first=True,
        since=START.replace(year=2020),
        until=END.replace(year=2030),
    ).collect()


async def _team_get(client: LemlistClient, fake: FakeLemlistServer) -> object:
    return await client.team.get()


async def _team_credits(client: LemlistClient, fake: FakeLemlistServer) -> object:
    return await client.team.credits()


async def _team_senders(client: LemlistClient, fake: FakeLemlistServer) -> object:
    await client.team.senders()
    return await client.team.senders(state="running")


async def _hooks_list(client: LemlistClient, fake: FakeLemlistServer) -> object:
    return await client.hooks.list()


async def _unsubscribes_list(client: LemlistClient, fake: FakeLemlistServer) -> object:
    return await client.unsubscribes.list(page_size=100).collect()


#: Every public operation of every resource of the client, by ``resource.method``,
#: and the client's own shortcut.
DRIVERS: Final[dict[str, Driver]] = {
    "campaigns.list": _list,
    "campaigns.get": _get,
    "campaigns.leads": _leads,
    "get_campaign_leads": _get_campaign_leads,
    "campaigns.export_leads": _export_leads,
    "campaigns.iter_export_leads": _iter_export_leads,
    "campaigns.stats": _stats,
    "campaigns.stats_many": _stats_many,
    "campaigns.reports": _reports,
    "leads.find": _leads_find,
    "leads.get": _leads_get,
    "activities.list": _activities_list,
    "team.get": _team_get,
    "team.credits": _team_credits,
    "team.senders": _team_senders,
    "hooks.list": _hooks_list,
    "unsubscribes.list": _unsubscribes_list,
}


@pytest.fixture(params=["envelope", "array"])
async def exchanges(request: pytest.FixtureRequest) -> list[Exchange]:
    """What the SDK sent and the fake answered, for both shapes of Get Many Campaigns."""
    recorder = Recorder()
    # No rate limit, on either side: the answers sent again must be the ones the
    # SDK got, and rate limiting is not what this test is about.
    async with (
        FakeLemlistServer(
            seed=10, campaigns=6, campaigns_shape=request.param, rate_limit=None
        ) as fake,
        aiohttp.ClientSession(trace_configs=[recorder.config]) as session,
    ):
        async with LemlistClient(
            fake.api_key, base_url=fake.base_url, session=session, rate_limit=nullcontext()
        ) as client:
            for drive in DRIVERS.values():
                await drive(client, fake)
        return await replay(recorder.sent)


def _check_all(exchanges: list[Exchange], deviations: tuple[Deviation, ...] = DEVIATIONS) -> Any:
    assert exchanges
    return check_all(exchanges, exchanges[0].url.origin() / "api", deviations)


# -- The tests ----------------------------------------------------------------------------


async def test_requests_and_2xx_bodies_match_the_spec(exchanges: list[Exchange]) -> None:
    """Every request the SDK sends is a documented operation, with documented
    parameters and body; every 2xx body the fake answers fits its schema."""
    found = _check_all(exchanges)
    report = "\n".join(error for errors in found.values() for error in errors)
    assert not report, report


async def test_every_sdk_operation_is_driven(exchanges: list[Exchange]) -> None:
    """An operation added to the SDK fails here until a driver covers it."""
    resources = {
        name: type(member.func(None))
        for name, member in vars(LemlistClient).items()
        if isinstance(member, functools.cached_property)
    }
    assert set(resources) == {"campaigns", "leads", "activities", "team", "hooks", "unsubscribes"}
    public = {
        f"{resource}.{name}"
        for resource, cls in resources.items()
        for name, member in inspect.getmembers(cls)
        if not name.startswith("_") and inspect.isfunction(member)
    }
    assert public | {"get_campaign_leads"} == set(DRIVERS)
    driven = {(op[0], template(op[1])) for op in _check_all(exchanges) if op is not None}
    sdk = sdk_operations(Path(lemlist_async.__file__).parent)
    assert len(sdk) >= 7, sdk  # the AST walk still finds the SDK's requests
    assert sdk <= driven, f"operations of the SDK no driver sends: {sorted(sdk - driven)}"


async def test_every_deviation_is_still_needed(exchanges: list[Exchange]) -> None:
    """Without its patch, each deviation's operation breaks the contract: one that
    lemlist's document or the SDK no longer needs must go."""
    strict = _check_all(exchanges, deviations=())
    broken = {deviation.operation for deviation in DEVIATIONS if strict.get(deviation.operation)}
    # The array is the document's shape: only the envelope needs its deviation.
    envelope = any(
        template(exchange.url.path).endswith("/campaigns") and exchange.response_body[:1] == b"{"
        for exchange in exchanges
    )
    expected = {deviation.operation for deviation in DEVIATIONS}
    assert broken == (expected if envelope else expected - {_GET_MANY_CAMPAIGNS})
    assert all(deviation.reason for deviation in DEVIATIONS)


_AUTH: Final = {"Authorization": aiohttp.encode_basic_auth("", "key")}
_JSON: Final = {**_AUTH, "Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("method", "path_qs", "headers", "body", "answer", "problem"),
    [
        ("GET", "/campaigns?offset=0&unknown=1", _AUTH, b"", b"[]", "parameters ['unknown']"),
        ("GET", "/campaigns?limit=1&limit=2", _AUTH, b"", b"[]", "'limit' sent more than once"),
        ("GET", "/campaigns?sortBy=name", _AUTH, b"", b"[]", "'name' is not one of"),
        ("GET", "/campaigns", {}, b"", b"[]", "SecurityValidationError"),
        ("GET", "/campaigns/cam_1/leads", _AUTH, b"", b"[]", "no such operation"),
        ("GET", "/campaigns/cam_1/leads/?limit=501", _AUTH, b"", b"[]", "maximum of 500"),
        ("DELETE", "/v2/campaigns/cam_1/stats", _AUTH, b"", b"{}", "no such operation"),
        ("GET", "/campaigns/cam_1/export/leads?state=all,no", _AUTH, b"", b"[]", "does not match"),
        ("POST", "/v2/campaigns/stats/batch", _JSON, b'{"campaignIds": []}', b"{}", "non-empty"),
        ("GET", "/campaigns/cam_1", _AUTH, b"", b"[]", "[] is not of type 'object'"),
        ("GET", "/campaigns", _AUTH, b"", b'[{"createdAt": "today"}]', "is not a 'date-time'"),
        ("GET", "/campaigns", _AUTH, b"", b'{"campaigns": [{"_id": 1}]}', "not of type 'string'"),
    ],
)
async def test_the_check_rejects_what_the_spec_does_not_document(
    method: str, path_qs: str, headers: dict[str, str], body: bytes, answer: bytes, problem: str
) -> None:
    """The contract is not vacuous: undocumented requests and answers fail it."""
    base = URL("http://127.0.0.1:1/api")
    exchange = Exchange(
        method=method,
        url=URL(f"{base}{path_qs}"),
        headers=CIMultiDict(headers),
        body=body,
        status=200,
        response_status=200,
        response_type="application/json",
        response_body=answer,
    )
    errors = "\n".join(check(exchange, base, DEVIATIONS).errors)
    assert problem in errors, errors
