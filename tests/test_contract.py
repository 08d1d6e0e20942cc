"""Contract test: the SDK's requests and the fake's answers against lemlist's OpenAPI document.

Every operation of every resource of the client (and ``client.get_campaign_leads``),
reads and writes, is driven against a `FakeLemlistServer`, with every optional
argument that changes what is sent. An aiohttp trace on the client's session
records each request as it left the SDK (method, URL, headers, body); each is checked against
``tests/data/lemlist-openapi-v2.json``, a verbatim copy of lemlist's document,
with openapi-core (documented server, path and method; path, query and security
parameters; JSON body), plus two checks of ``_contract``'s own: no undocumented
query parameter, none sent twice. The fake is deterministic, so every request
is sent again, in order, with a plain session to a twin fake (same seed, same
state: writes give the same answers there), and the body the twin answers is
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
from lemlist_async import ImportStatus, LemlistClient, NewLead
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


# -- Writes: each against the fake's state, which the twin replays identically -----------


def _lead_of(fake: FakeLemlistServer, campaign: int, index: int) -> str:
    lead_id: str = fake.campaign_leads(fake.campaign_ids[campaign])[index]["_id"]
    return lead_id


async def _leads_add(client: LemlistClient, fake: FakeLemlistServer) -> object:
    await client.leads.add(
        fake.campaign_ids[0],
        email="new.lead@example.com",
        first_name="New",
        last_name="Lead",
        company_name="Acme",
        job_title="CTO",
        linkedin_url="https://www.linkedin.com/in/new-lead",
        picture="https://example.com/p.png",
        phone="+33600000000",
        company_domain="acme.example",
        icebreaker="Hi",
        timezone="Europe/Paris",
        contact_owner=fake.team()["users"][0]["email"],
        variables={"plan": "pro", "seats": 12},
    )
    return await client.leads.add(
        fake.campaign_ids[1],
        email="enriched.lead@example.com",
        deduplicate=True,
        find_email=True,
        verify_email=True,
        linkedin_enrichment=True,
        find_phone=True,
    )


async def _leads_add_many(client: LemlistClient, fake: FakeLemlistServer) -> object:
    rows: list[NewLead | dict[str, str]] = [
        NewLead(email="bulk.one@example.com"),
        {"email": "bulk.two@example.com", "Plan": "x"},
    ]
    results = [result async for result in client.leads.add_many(fake.campaign_ids[2], rows)]
    assert {result.status for result in results} == {ImportStatus.CREATED}, results
    return results


async def _leads_update(client: LemlistClient, fake: FakeLemlistServer) -> object:
    return await client.leads.update(
        fake.campaign_ids[0],
        _lead_of(fake, 0, 0),
        first_name="Ada",
        last_name="Lovelace",
        company_name="Engines",
        job_title="Analyst",
        preferred_contact_method="email",
    )


async def _leads_remove(client: LemlistClient, fake: FakeLemlistServer) -> object:
    await client.leads.remove(fake.campaign_ids[0], _lead_of(fake, 0, 1))
    await client.leads.remove(fake.campaign_ids[0], _lead_of(fake, 0, 2), hard=True)
    return None


async def _leads_pause(client: LemlistClient, fake: FakeLemlistServer) -> object:
    await client.leads.pause(_lead_of(fake, 1, 0))
    return await client.leads.pause(_lead_of(fake, 1, 1), campaign_id=fake.campaign_ids[1])


async def _leads_resume(client: LemlistClient, fake: FakeLemlistServer) -> object:
    return await client.leads.resume(_lead_of(fake, 1, 0))


async def _leads_set_interested(client: LemlistClient, fake: FakeLemlistServer) -> object:
    email = fake.exported_leads(fake.campaign_ids[3])[0]["email"]
    await client.leads.set_interested(email, True)
    await client.leads.set_interested(_lead_of(fake, 3, 1), False)
    await client.leads.set_interested(email, False, campaign_id=fake.campaign_ids[3])
    return await client.leads.set_interested(
        _lead_of(fake, 3, 2), True, campaign_id=fake.campaign_ids[3]
    )


async def _campaigns_start(client: LemlistClient, fake: FakeLemlistServer) -> object:
    return await client.campaigns.start(fake.campaign_ids[4])


async def _campaigns_pause(client: LemlistClient, fake: FakeLemlistServer) -> object:
    return await client.campaigns.pause(fake.campaign_ids[4])


async def _hooks_create(client: LemlistClient, fake: FakeLemlistServer) -> object:
    await client.hooks.create("https://hooks.example/all")
    return await client.hooks.create(
        "https://hooks.example/opened",
        type="emailsOpened",
        campaign_id=fake.campaign_ids[0],
        is_first=True,
        secret="s3cret",
    )


async def _hooks_delete(client: LemlistClient, fake: FakeLemlistServer) -> object:
    hook = await client.hooks.create("https://hooks.example/short-lived")
    await client.hooks.delete(hook.id)
    return None


async def _unsubscribes_add(client: LemlistClient, fake: FakeLemlistServer) -> object:
    await client.unsubscribes.add("gone+tag@example.com")
    return await client.unsubscribes.add("@competitor.example")


async def _unsubscribes_add_many(client: LemlistClient, fake: FakeLemlistServer) -> object:
    return await client.unsubscribes.add_many(["a@example.com", "b@example.com", "+33611111111"])


async def _unsubscribes_remove(client: LemlistClient, fake: FakeLemlistServer) -> object:
    await client.unsubscribes.remove("gone+tag@example.com")
    return None


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
    "leads.add": _leads_add,
    "leads.add_many": _leads_add_many,
    "leads.update": _leads_update,
    "leads.remove": _leads_remove,
    "leads.pause": _leads_pause,
    "leads.resume": _leads_resume,
    "leads.set_interested": _leads_set_interested,
    "campaigns.start": _campaigns_start,
    "campaigns.pause": _campaigns_pause,
    "hooks.create": _hooks_create,
    "hooks.delete": _hooks_delete,
    "unsubscribes.add": _unsubscribes_add,
    "unsubscribes.add_many": _unsubscribes_add_many,
    "unsubscribes.remove": _unsubscribes_remove,
}


@pytest.fixture(params=["envelope", "array"])
async def exchanges(request: pytest.FixtureRequest) -> list[Exchange]:
    """What the SDK sent and the fake answered, for both shapes of Get Many Campaigns."""
    recorder = Recorder()
    # No rate limit, on either side: the answers sent again must be the ones the
    # SDK got, and rate limiting is not what this test is about.
    config: dict[str, Any] = {
        "seed": 10,
        "campaigns": 6,
        "campaigns_shape": request.param,
        "rate_limit": None,
    }
    async with (
        FakeLemlistServer(**config) as fake,
        aiohttp.ClientSession(trace_configs=[recorder.config]) as session,
        LemlistClient(
            fake.api_key, base_url=fake.base_url, session=session, rate_limit=nullcontext()
        ) as client,
    ):
        for drive in DRIVERS.values():
            await drive(client, fake)
    # Writes change the fake: their answers are read again from a twin that
    # receives the same requests in the same order.
    async with FakeLemlistServer(**config) as twin:
        return await replay(recorder.sent, URL(twin.base_url).origin())


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
