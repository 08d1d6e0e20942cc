"""Every write on loopback: what it sends, its retry class, and reconciliation.

A scripted server answers each test's script, so that each rule is checked on
the requests that really left the client: how many, in which order, with what.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from lemlist_async import (
    AmbiguousWriteError,
    BadRequestError,
    ConflictError,
    LemlistClient,
    NewLead,
    NotFoundError,
    ServerError,
)

from .conftest import ScriptedServer

pytestmark = pytest.mark.looptime

EMAIL = "ada.lovelace+vip@example.com"
CREATED = {"_id": "lea_new", "email": EMAIL, "campaignId": "cam_1", "campaignName": "Q1"}


@pytest.fixture
async def client(server: ScriptedServer) -> AsyncIterator[LemlistClient]:
    async with LemlistClient("k", base_url=server.base_url, max_retries=3) as c:
        yield c


async def _drop(request: web.Request) -> web.StreamResponse:
    """Applied, then no answer: the connection closes before the headers."""
    assert request.transport is not None
    request.transport.close()
    return web.Response()


def _body(server: ScriptedServer, index: int) -> Any:
    return json.loads(server.requests[index].body)


# -- What each write sends --------------------------------------------------------------


async def test_add_sends_typed_fields_variables_and_flags(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer_json(CREATED)
    lead = await client.leads.add(
        "cam_1",
        email=EMAIL,
        first_name="Ada",
        company_domain="example.com",
        variables={"companySize": 50, "vip": True},
        deduplicate=True,
        find_phone=True,
    )
    assert lead.id == "lea_new"
    assert lead.extra["campaignName"] == "Q1"
    (sent,) = server.requests
    assert (sent.method, sent.path) == ("POST", "/api/campaigns/cam_1/leads/")
    assert sent.query == {"deduplicate": "true", "findPhone": "true"}
    assert _body(server, 0) == {
        "email": EMAIL,
        "firstName": "Ada",
        "companyDomain": "example.com",
        "companySize": "50",
        "vip": "true",
    }


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"email": ""}, ValueError, "email must not be empty"),
        ({"email": 3}, TypeError, "email must be a str"),
        ({"email": EMAIL, "first_name": 1}, TypeError, "first_name must be a str"),
        ({"email": EMAIL, "variables": {"firstName": "x"}}, ValueError, "pass it as first_name="),
        ({"email": EMAIL, "variables": {"x": [1]}}, TypeError, "must be a str, int, float"),
        ({"email": EMAIL, "variables": ["x"]}, TypeError, "variables must be a mapping"),
        ({"email": EMAIL, "last_name": "L\udcff"}, ValueError, "last_name is not valid text"),
        ({"email": EMAIL, "variables": {"x": "\udcff"}}, ValueError, "variable 'x' is not valid"),
        ({"email": EMAIL, "deduplicate": "yes"}, TypeError, "deduplicate must be a bool"),
        ({"email": EMAIL, "reconcile": 1}, TypeError, "reconcile must be a bool"),
    ],
)
async def test_add_refuses_bad_input_before_sending(
    server: ScriptedServer, client: LemlistClient, kwargs: dict[str, Any], error: type, words: str
) -> None:
    with pytest.raises(error, match=words) as caught:
        await client.leads.add("cam_1", **kwargs)
    assert "ada" not in str(caught.value).lower()
    assert server.requests == []


async def test_update_sends_only_what_is_given_and_refuses_nothing_to_do(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer_json({"_id": "lea_1", "firstName": "Ada"})
    updated = await client.leads.update("cam_1", "lea_1", first_name="Ada", job_title="CTO")
    assert updated.first_name == "Ada"
    (sent,) = server.requests
    assert (sent.method, sent.path) == ("PATCH", "/api/campaigns/cam_1/leads/lea_1")
    assert _body(server, 0) == {"firstName": "Ada", "jobTitle": "CTO"}
    with pytest.raises(ValueError, match="at least one field"):
        await client.leads.update("cam_1", "lea_1")
    assert len(server.requests) == 1


async def test_pause_resume_and_campaign_states(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer_json([{"_id": "lea_1", "isPaused": True}])
    server.answer_json([{"_id": "lea_1", "isPaused": False}])
    server.answer_json({"_id": "cam_1", "state": "running"})
    server.answer_json({"_id": "cam_1", "state": "paused"})
    assert (await client.leads.pause("lea_1", campaign_id="cam_1"))[0].is_paused is True
    assert (await client.leads.resume("lea_1"))[0].is_paused is False
    assert (await client.campaigns.start("cam_1")).state == "running"
    assert (await client.campaigns.pause("cam_1")).state == "paused"
    assert [(r.method, r.path, r.query) for r in server.requests] == [
        ("POST", "/api/leads/pause/lea_1", {"campaignId": "cam_1"}),
        ("POST", "/api/leads/start/lea_1", {}),
        ("POST", "/api/campaigns/cam_1/start", {}),
        ("POST", "/api/campaigns/cam_1/pause", {}),
    ]


async def test_set_interested_picks_its_route_and_hides_the_email(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer_json([{"_id": "lea_1"}, {"_id": "lea_2"}])
    server.answer_json({"_id": "lea_1"})
    assert len(await client.leads.set_interested(EMAIL, True)) == 2
    assert len(await client.leads.set_interested(EMAIL, False, campaign_id="cam_1")) == 1
    assert [r.match_info["tail"] for r in server.requests] == [
        f"leads/interested/{EMAIL}",
        f"campaigns/cam_1/leads/{EMAIL}/notinterested",
    ]
    server.answer(502, "Bad Gateway")
    with pytest.raises(AmbiguousWriteError) as caught:
        await client.leads.set_interested(EMAIL, True)
    assert len(server.requests) == 3  # Not sent again: it fires webhooks.
    assert "{leadIdOrEmail}" in str(caught.value)
    assert "ada" not in str(caught.value).lower()


async def test_unsubscribes_add_many_chunks_by_ten_thousand(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.default = lambda _: web.json_response("Variables unsubscribed")
    values = [f"user{i}@example.com" for i in range(25_000)]
    assert await client.unsubscribes.add_many([*values, values[0]]) == 25_000
    sizes = [len(_body(server, i)["values"]) for i in range(len(server.requests))]
    assert sizes == [10_000, 10_000, 5_000]
    assert _body(server, 2)["values"][-1] == values[-1]
    with pytest.raises(TypeError, match="iterable of str"):
        await client.unsubscribes.add_many("a@b.c")
    with pytest.raises(ValueError, match="each value must not be empty"):
        await client.unsubscribes.add_many(["a@b.c", " "])
    assert len(server.requests) == 3


async def test_unsubscribe_one_and_resubscribe(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer_json({"_id": "uns_1", "value": EMAIL, "source": "api"})
    server.answer_json("Variable subscribed")
    server.answer(409, "Variable is protected and cannot be re-subscribed")
    assert (await client.unsubscribes.add(EMAIL)).value == EMAIL
    await client.unsubscribes.remove(EMAIL)
    with pytest.raises(ConflictError, match="protected") as caught:
        await client.unsubscribes.remove(EMAIL)
    assert "ada" not in str(caught.value).lower()  # The path's template is shown.
    assert [(r.method, r.match_info["tail"]) for r in server.requests] == [
        ("POST", f"v2/unsubscribes/variables/{EMAIL}"),
        ("DELETE", f"v2/unsubscribes/variables/{EMAIL}"),
        ("DELETE", f"v2/unsubscribes/variables/{EMAIL}"),
    ]


async def test_hooks_create_sends_campaign_and_is_first_in_the_query(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer_json({"_id": "hoo_1", "targetUrl": "https://me.test/h", "type": "emailsOpened"})
    hook = await client.hooks.create(
        "https://me.test/h", type="emailsOpened", campaign_id="cam_1", is_first=True, secret="s3"
    )
    assert hook.id == "hoo_1"
    (sent,) = server.requests
    assert sent.query == {"campaignId": "cam_1", "isFirst": "true"}
    assert _body(server, 0) == {
        "targetUrl": "https://me.test/h",
        "type": "emailsOpened",
        "secret": "s3",
    }
    for bad in ("ftp://me.test/h", "/relative", "https://"):
        with pytest.raises(ValueError, match="target_url"):
            await client.hooks.create(bad)
    assert len(server.requests) == 1


# -- Retry classes ----------------------------------------------------------------------


async def test_add_after_a_502_raises_ambiguous_and_never_resends(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer(502, "Bad Gateway")
    with pytest.raises(AmbiguousWriteError) as caught:
        await client.leads.add("cam_1", email=EMAIL, first_name="Ada")
    assert caught.value.status == 502
    assert (caught.value.method, caught.value.url.endswith("/campaigns/cam_1/leads/")) == (
        "POST",
        True,
    )
    assert "ada" not in str(caught.value).lower()
    assert len(server.requests) == 1


async def test_add_after_a_429_is_sent_again(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer(429, "Too many requests", headers={"Retry-After": "1"})
    server.answer_json(CREATED)
    assert (await client.leads.add("cam_1", email=EMAIL)).id == "lea_new"
    assert len(server.requests) == 2


async def test_update_retries_a_502_but_never_the_graveyard_500(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer(502, "Bad Gateway")
    server.answer_json({"_id": "lea_1", "lastName": "L"})
    assert (await client.leads.update("cam_1", "lea_1", last_name="L")).last_name == "L"
    server.answer(500, "Lead in graveyard")
    with pytest.raises(ServerError, match="graveyard"):
        await client.leads.update("cam_1", "lea_1", last_name="L")
    assert len(server.requests) == 3


@pytest.mark.parametrize(
    ("call", "gone"),
    [
        (lambda c: c.leads.remove("cam_1", "lea_1", hard=True), (404, "Lead not found")),
        (lambda c: c.hooks.delete("hoo_1"), (404, "Webhook not found")),
        (
            lambda c: c.unsubscribes.remove(EMAIL),
            (400, "Variable not found in unsubscribe list"),
        ),
    ],
)
async def test_a_gone_answer_after_an_ambiguous_attempt_is_success(
    server: ScriptedServer, client: LemlistClient, call: Any, gone: tuple[int, str]
) -> None:
    server.answer_with(_drop)  # The first attempt was applied; its answer was lost.
    server.answer(gone[0], gone[1])
    assert await call(client) is None
    assert len(server.requests) == 2
    # Without an earlier attempt, the same answer is an error.
    server.answer(gone[0], gone[1])
    with pytest.raises((NotFoundError, BadRequestError), match=gone[1]):
        await call(client)


async def test_remove_hard_sends_action_remove(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer_json({"_id": "lea_1"})
    server.answer_json({"_id": "lea_1"})
    await client.leads.remove("cam_1", "lea_1")
    await client.leads.remove("cam_1", "lea_1", hard=True)
    assert [r.query for r in server.requests] == [{}, {"action": "remove"}]


# -- Reconciliation ---------------------------------------------------------------------


def _found(campaign_id: str) -> list[dict[str, Any]]:
    return [{"_id": "lea_found", "campaign": {"id": campaign_id, "name": "Q"}}]


async def test_add_reconciled_returns_the_lead_the_lost_attempt_created(
    server: ScriptedServer, client: LemlistClient, caplog: pytest.LogCaptureFixture
) -> None:
    server.answer_with(_drop)
    server.answer_json(_found("cam_other") + _found("cam_1"))
    server.answer_json({"_id": "lea_found", "email": EMAIL, "campaignId": "cam_1"})
    with caplog.at_level(logging.INFO, logger="lemlist_async"):
        lead = await client.leads.add("cam_1", email=EMAIL, reconcile=True)
    assert lead.id == "lea_found"
    assert [(r.method, r.path) for r in server.requests] == [
        ("POST", "/api/campaigns/cam_1/leads/"),
        ("GET", f"/api/leads/{EMAIL}"),
        ("GET", "/api/leads"),
    ]
    assert "found by a look-up, not sent again" in caplog.text
    assert "ada" not in caplog.text.lower()


async def test_add_reconciled_sends_once_more_only_when_proven_absent(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer(502, "Bad Gateway")
    server.answer(404, "Lead not found")  # The look-up: lemlist has no such lead.
    server.answer_json(CREATED)
    patient = client.with_options(reconcile=True)
    assert (await patient.leads.add("cam_1", email=EMAIL)).id == "lea_new"
    assert [r.method for r in server.requests] == ["POST", "GET", "POST"]
    # The per-call value wins over the client's option.
    server.answer(502, "Bad Gateway")
    with pytest.raises(AmbiguousWriteError):
        await patient.leads.add("cam_1", email=EMAIL, reconcile=False)
    assert len(server.requests) == 4


async def test_a_failed_look_up_leaves_the_write_ambiguous(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer(502, "Bad Gateway")
    server.answer(401, "The authentication you supplied is incorrect")
    with pytest.raises(AmbiguousWriteError) as caught:
        await client.leads.add("cam_1", email=EMAIL, reconcile=True)
    assert "authentication" in str(caught.value.__context__)
    assert [r.method for r in server.requests] == ["POST", "GET"]


async def test_reconciliation_gives_up_after_its_sends(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.default = lambda request: (
        web.Response(status=502)
        if request.method == "POST"
        else web.Response(status=404, text="Lead not found")
    )
    with pytest.raises(AmbiguousWriteError):
        await client.leads.add("cam_1", email=EMAIL, reconcile=True)
    assert [r.method for r in server.requests] == ["POST", "GET", "POST", "GET", "POST"]


async def test_hooks_create_reconciles_by_listing(
    server: ScriptedServer, client: LemlistClient
) -> None:
    hooks = [
        {"_id": "hoo_other", "targetUrl": "https://me.test/h", "type": "emailsOpened"},
        {"_id": "hoo_mine", "targetUrl": "https://me.test/h", "campaignId": "cam_1"},
    ]
    server.answer(503, "Service Unavailable")
    server.answer_json(hooks)
    hook = await client.hooks.create("https://me.test/h", campaign_id="cam_1", reconcile=True)
    assert hook.id == "hoo_mine"
    assert [r.method for r in server.requests] == ["POST", "GET"]
    server.answer(503, "Service Unavailable")
    with pytest.raises(AmbiguousWriteError):
        await client.hooks.create("https://me.test/h", campaign_id="cam_1")
    assert len(server.requests) == 3


# -- NewLead -----------------------------------------------------------------------------


def test_new_lead_from_a_row_takes_both_names_and_keeps_the_rest_as_variables() -> None:
    lead = NewLead.from_mapping(
        {"email": EMAIL, "firstName": "Ada", "last_name": "L", "Plan": "pro", "phone": ""}
    )
    assert lead == NewLead(email=EMAIL, first_name="Ada", last_name="L", variables={"Plan": "pro"})
    assert lead.to_json() == {"email": EMAIL, "firstName": "Ada", "lastName": "L", "Plan": "pro"}
    assert "ada" not in repr(lead).lower()
    with pytest.raises(ValueError, match="needs an email"):
        NewLead.from_mapping({"firstName": "Ada"})
    with pytest.raises(TypeError, match="must be a mapping"):
        NewLead.from_mapping(["email"])  # type: ignore[arg-type]


async def test_a_look_up_by_email_keeps_the_email_out_of_logs_and_errors(
    server: ScriptedServer, client: LemlistClient, caplog: pytest.LogCaptureFixture
) -> None:
    server.answer(502, "Bad Gateway")
    server.answer(404, "No user found for this API key")
    with (
        caplog.at_level(logging.INFO, logger="lemlist_async"),
        pytest.raises(NotFoundError) as caught,
    ):
        await client.leads.find(EMAIL)
    assert "retry 1 of 3" in caplog.text
    assert "/leads/{email}" in str(caught.value)
    for text in (caplog.text, str(caught.value)):
        assert "ada" not in text.lower()
