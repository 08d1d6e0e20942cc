"""LemlistClient against a real aiohttp server on loopback."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import gzip
import logging
import tracemalloc
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from lemlist_async import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    Lead,
    LeadState,
    LemlistClient,
    LemlistError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    ResponseTooLargeError,
    ResponseValidationError,
    ServerError,
    WindowRateLimiter,
)

from .conftest import SENTINEL_KEY, ScriptedServer


async def test_sends_basic_auth_with_empty_login(
    server: ScriptedServer, client: LemlistClient
) -> None:
    await client.get_campaign_leads("cam_1")
    (seen,) = server.requests
    scheme, _, encoded = seen.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(encoded).decode() == f":{SENTINEL_KEY}"
    assert seen.headers["Accept"] == "application/json"
    assert seen.headers["User-Agent"].startswith("lemlist-async/")


async def test_path_has_trailing_slash_and_unset_params_are_not_sent(
    server: ScriptedServer, client: LemlistClient
) -> None:
    await client.get_campaign_leads("cam_A1B2C3D4E5F6G7H8I9")
    (seen,) = server.requests
    assert seen.method == "GET"
    assert seen.raw_path == "/api/campaigns/cam_A1B2C3D4E5F6G7H8I9/leads/"
    assert seen.query == {}


@pytest.mark.parametrize(
    ("state", "limit", "query"),
    [
        ("interested", 500, {"state": "interested", "limit": "500"}),
        (LeadState.NOT_INTERESTED, 1, {"state": "notInterested", "limit": "1"}),
        ("someFutureState", None, {"state": "someFutureState"}),
        (None, 100, {"limit": "100"}),
    ],
)
async def test_query_parameters(
    server: ScriptedServer,
    client: LemlistClient,
    state: str | None,
    limit: int | None,
    query: dict[str, str],
) -> None:
    await client.get_campaign_leads("cam_1", state=state, limit=limit)
    assert server.requests[0].query == query


@pytest.mark.parametrize(
    "hostile",
    ["x/../../team", "..x", ".a.", "a b?c=d#e", "cam_1/leads", "%2F", "é/ü", "cam_1\\..\\x"],
)
async def test_campaign_id_is_one_encoded_path_segment(
    server: ScriptedServer, client: LemlistClient, hostile: str
) -> None:
    await client.get_campaign_leads(hostile)
    (seen,) = server.requests
    prefix, suffix = "/api/campaigns/", "/leads/"
    assert seen.raw_path.startswith(prefix)
    assert seen.raw_path.endswith(suffix)
    segment = seen.raw_path[len(prefix) : -len(suffix)]
    assert "/" not in segment
    assert "." not in segment
    assert seen.match_info["tail"] == f"campaigns/{hostile}/leads/"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"campaign_id": ""}, ValueError),
        ({"campaign_id": "   "}, ValueError),
        # Dot segments: normalizers turn %2E%2E back into "..", reaching /leads/.
        ({"campaign_id": ".."}, ValueError),
        ({"campaign_id": "."}, ValueError),
        ({"campaign_id": "....."}, ValueError),
        # A lone surrogate, as a surrogateescape read of stdin makes: no UTF-8 for it.
        ({"campaign_id": "cam_\udcff"}, ValueError),
        ({"campaign_id": None}, TypeError),
        ({"campaign_id": 5}, TypeError),
        ({"campaign_id": "c", "limit": 0}, ValueError),
        ({"campaign_id": "c", "limit": 501}, ValueError),
        ({"campaign_id": "c", "limit": -1}, ValueError),
        ({"campaign_id": "c", "limit": True}, TypeError),
        ({"campaign_id": "c", "limit": 5.0}, TypeError),
        ({"campaign_id": "c", "limit": "5"}, TypeError),
        ({"campaign_id": "c", "state": ""}, ValueError),
        ({"campaign_id": "c", "state": 3}, TypeError),
        ({"campaign_id": "c", "max_retries": -1}, ValueError),
        ({"campaign_id": "c", "deadline": 0}, ValueError),
        ({"campaign_id": "c", "deadline": float("inf")}, ValueError),
    ],
)
async def test_bad_arguments_raise_before_any_request(
    server: ScriptedServer, client: LemlistClient, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        await client.get_campaign_leads(**kwargs)
    assert server.requests == []


async def test_leads_are_typed_and_keep_unknown_fields(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer_json(
        [
            {"_id": "lea_1", "contactId": "ctc_1", "state": "interested"},
            {"_id": "lea_2", "contactId": "con_2", "state": "brandNewState", "score": 7},
        ]
    )
    first, second = await client.get_campaign_leads("cam_1")
    assert first == Lead(id="lea_1", contact_id="ctc_1", state=LeadState.INTERESTED)
    assert first.state is LeadState.INTERESTED
    assert isinstance(second.state, LeadState)
    assert second.state == "brandNewState"
    assert not second.state.is_known
    assert second.extra == {"score": 7}


async def test_empty_campaign_gives_empty_list(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer_json([])
    assert await client.get_campaign_leads("cam_1") == []


STATUS_CASES = [
    (400, BadRequestError, "Bad team"),
    (401, AuthenticationError, "The authentication you supplied is incorrect"),
    (402, PaymentRequiredError, "Not enough credits"),
    (403, PermissionDeniedError, "User linked to this API key is blocked"),
    (404, NotFoundError, "Campaign not found"),
    (405, APIStatusError, "Method not allowed"),
    (429, RateLimitError, "Monitoring limit exceeded"),
    (500, ServerError, "Lead in graveyard"),
    (503, ServerError, "Service Unavailable"),
]


@pytest.mark.parametrize(("status", "cls", "text"), STATUS_CASES)
async def test_error_status_with_text_body(
    server: ScriptedServer,
    client: LemlistClient,
    status: int,
    cls: type[APIStatusError],
    text: str,
) -> None:
    server.answer(status, text, headers={"Retry-After": "600"} if status == 429 else None)
    with pytest.raises(cls) as caught:
        await client.get_campaign_leads("cam_1")
    err = caught.value
    assert type(err) is cls
    assert err.status == status
    assert err.message == text
    assert err.body == text
    assert err.method == "GET"
    assert err.url.endswith("/api/campaigns/cam_1/leads/")
    assert text in str(err)
    assert str(status) in str(err)


@pytest.mark.parametrize(
    ("payload", "message", "code"),
    [
        ({"error": "Campaign not found", "code": 404}, "Campaign not found", "404"),
        ({"error": "BadRequest", "message": "Invalid state"}, "Invalid state", "BadRequest"),
        ({"ok": False, "message": "Campaign not found"}, "Campaign not found", None),
        ({"success": False, "error": "Campaign not found"}, "Campaign not found", None),
        (
            {"success": False, "error": {"code": "NOT_FOUND", "message": "Contact not found"}},
            "Contact not found",
            "NOT_FOUND",
        ),
    ],
)
async def test_error_status_with_json_body(
    server: ScriptedServer,
    client: LemlistClient,
    payload: dict[str, Any],
    message: str,
    code: str | None,
) -> None:
    server.answer_json(payload, status=404)
    with pytest.raises(NotFoundError) as caught:
        await client.get_campaign_leads("cam_1")
    assert caught.value.message == message
    assert caught.value.code == code


async def test_error_status_with_empty_body_uses_status_phrase(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer(401, b"")
    with pytest.raises(AuthenticationError) as caught:
        await client.get_campaign_leads("cam_1")
    assert caught.value.message == "Unauthorized"
    assert caught.value.body == ""


@pytest.mark.parametrize(
    ("body", "content_type", "fragment"),
    [
        (b"<html>oops</html>", "text/html", "not valid JSON"),
        (b'{"_id": "lea_1"}', "application/json", "expected a JSON array"),
        (b"", "application/json", "not valid JSON"),
    ],
)
async def test_malformed_success_body(
    server: ScriptedServer, client: LemlistClient, body: bytes, content_type: str, fragment: str
) -> None:
    server.answer(200, body, content_type=content_type)
    with pytest.raises(ResponseValidationError) as caught:
        await client.get_campaign_leads("cam_1")
    assert fragment in str(caught.value)
    assert caught.value.body == body.decode()
    assert caught.value.status == 200


async def test_payload_that_does_not_fit_lists_every_bad_path(
    server: ScriptedServer, client: LemlistClient
) -> None:
    server.answer_json(
        [
            {"_id": "lea_1", "contactId": "ctc_1", "state": "scanned"},
            {"_id": 5, "contactId": None, "state": "scanned"},
            {"contactId": "ctc_3", "state": 7},
            "not an object",
        ]
    )
    with pytest.raises(ResponseValidationError) as caught:
        await client.get_campaign_leads("cam_1")
    errors = caught.value.errors
    assert "invalid value for type, expected str @ $[1]._id" in errors
    assert "invalid value for type, expected str @ $[1].contactId" in errors
    assert "required field missing @ $[2]._id" in errors
    assert any(e.endswith("@ $[2].state") for e in errors)
    assert any(e.endswith("@ $[3]") for e in errors)
    assert not any("$[0]" in e for e in errors)


def _own_session(client: LemlistClient) -> aiohttp.ClientSession | None:
    # A function call, so the type checker does not carry narrowing across awaits.
    return client._shared.own_session


async def test_owned_session_is_created_lazily_and_closed(server: ScriptedServer) -> None:
    client = LemlistClient(SENTINEL_KEY, base_url=server.base_url)
    assert _own_session(client) is None
    async with client:
        await client.get_campaign_leads("cam_1")
        session = _own_session(client)
        assert session is not None
        was_open = not session.closed
    assert was_open
    assert session.closed
    assert client.closed


async def test_injected_session_is_used_not_closed_not_mutated(server: ScriptedServer) -> None:
    async with aiohttp.ClientSession(headers={"X-App": "mine"}) as session:
        before = dict(session.headers)
        async with LemlistClient(SENTINEL_KEY, base_url=server.base_url, session=session) as c:
            await c.get_campaign_leads("cam_1")
        assert not session.closed
        assert dict(session.headers) == before
        assert c._shared.own_session is None
        assert server.requests[0].headers["X-App"] == "mine"
        assert server.requests[0].headers["Authorization"].startswith("Basic ")


async def test_close_is_idempotent_and_use_after_close_raises(server: ScriptedServer) -> None:
    client = LemlistClient(SENTINEL_KEY, base_url=server.base_url)
    await client.get_campaign_leads("cam_1")
    await client.close()
    await client.close()
    with pytest.raises(ClientClosedError, match="closed"):
        await client.get_campaign_leads("cam_1")
    with pytest.raises(ClientClosedError):
        async with client:
            pass
    assert len(server.requests) == 1


async def test_the_key_never_shows(
    server: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="lemlist_async")
    server.answer(401, "The authentication you supplied is incorrect")
    client = LemlistClient(SENTINEL_KEY, base_url=server.base_url, max_retries=0)
    async with client:
        with pytest.raises(AuthenticationError) as caught:
            await client.get_campaign_leads("cam_1")
        await client.get_campaign_leads("cam_1")
        texts = [repr(client), str(client), repr(caught.value), str(caught.value)]
        texts += [repr(vars(caught.value)), repr(client.limiter), repr(client.latest_rate_limit)]
    texts += [r.getMessage() for r in caplog.records]
    assert caplog.records, "expected DEBUG records of each attempt"
    encoded = base64.b64encode(f":{SENTINEL_KEY}".encode()).decode()
    for text in texts:
        assert SENTINEL_KEY not in text
        assert encoded not in text


async def test_no_unclosed_session_warning_after_context(server: ScriptedServer) -> None:
    async with LemlistClient(SENTINEL_KEY, base_url=server.base_url) as client:
        await client.get_campaign_leads("cam_1")
    del client
    gc.collect()  # filterwarnings=error turns a ResourceWarning here into a failure.


async def test_a_closed_injected_session_is_a_clear_error_before_any_slot(
    server: ScriptedServer,
) -> None:
    session = aiohttp.ClientSession()
    await session.close()
    async with LemlistClient(SENTINEL_KEY, base_url=server.base_url, session=session) as c:
        with pytest.raises(ClientClosedError, match="session given to this LemlistClient"):
            await c.get_campaign_leads("cam_1")
        limiter = c.limiter
        assert isinstance(limiter, WindowRateLimiter)
        assert limiter.busy() == 0
    assert server.requests == []


async def test_a_session_that_raises_for_status_changes_nothing(server: ScriptedServer) -> None:
    server.answer(404, "Campaign not found")
    async with (
        aiohttp.ClientSession(raise_for_status=True) as session,
        LemlistClient(SENTINEL_KEY, base_url=server.base_url, session=session) as client,
    ):
        with pytest.raises(NotFoundError, match="Campaign not found"):
            await client.get_campaign_leads("cam_1")
    assert len(server.requests) == 1  # A 404 is never retried.


def _chain(error: BaseException | None) -> list[BaseException]:
    found = []
    while error is not None:
        found.append(error)
        error = error.__cause__ or error.__context__
    return found


@pytest.mark.parametrize("status", [302, 404, 500])
async def test_the_key_is_in_no_exception_of_the_chain(
    server: ScriptedServer, status: int
) -> None:
    server.default = lambda _: web.Response(
        status=status, text="no", headers={"Location": "/api/elsewhere"}
    )
    async with (
        aiohttp.ClientSession(raise_for_status=True) as session,
        LemlistClient(SENTINEL_KEY, base_url=server.base_url, session=session) as client,
    ):
        with pytest.raises(LemlistError) as caught:
            await client.get_campaign_leads("cam_1", max_retries=0)
    encoded = base64.b64encode(f":{SENTINEL_KEY}".encode()).decode()
    for error in _chain(caught.value):
        for text in (repr(error), str(error), repr(vars(error))):
            assert SENTINEL_KEY not in text
            assert encoded not in text


# -- Nothing reachable from an SDK exception holds the key ------------------------------


def _reachable(root: BaseException) -> list[object]:
    """Every object reachable from an exception: args, attributes, cause, context, groups."""
    seen: dict[int, object] = {}
    todo: list[tuple[object, int]] = [(root, 0)]
    while todo:
        obj, depth = todo.pop()
        if id(obj) in seen or depth > 8:
            continue
        seen[id(obj)] = obj
        children: list[object] = []
        if isinstance(obj, BaseException):
            children += [obj.__cause__, obj.__context__, *obj.args]
            children += list(getattr(obj, "exceptions", ()))
        if isinstance(obj, dict):
            children += [*obj.keys(), *obj.values()]
        elif isinstance(obj, list | tuple | set | frozenset):
            children += list(obj)
        elif not isinstance(obj, str | bytes | int | float | type(None)):
            with contextlib.suppress(TypeError):
                children += list(vars(obj).values())
            for name in getattr(type(obj), "__slots__", ()):
                children.append(getattr(obj, name, None))
        todo += [(child, depth + 1) for child in children if child is not None]
    return list(seen.values())


def _assert_no_key(error: BaseException) -> None:
    encoded = base64.b64encode(f":{SENTINEL_KEY}".encode()).decode()
    for obj in _reachable(error):
        text = obj if isinstance(obj, str) else repr(obj)
        assert SENTINEL_KEY not in text, f"the key is reachable through {type(obj).__name__}"
        assert encoded not in text, f"the Authorization is reachable through {type(obj).__name__}"


async def _garbage_server(reply: bytes) -> asyncio.Server:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(reply)
        await writer.drain()
        writer.close()

    return await asyncio.start_server(answer, "127.0.0.1", 0)


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 abc Nonsense\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"\x00\x01\x02 not http at all\r\n\r\n",
    ],
    ids=["status-line", "content-length", "chunked", "binary"],
)
async def test_a_malformed_response_leaves_the_key_unreachable(reply: bytes) -> None:
    garbage = await _garbage_server(reply)
    host, port = garbage.sockets[0].getsockname()[:2]
    try:
        async with LemlistClient(
            SENTINEL_KEY, base_url=f"http://{host}:{port}/api", max_retries=0
        ) as client:
            with pytest.raises(LemlistError) as caught:
                await client.get_campaign_leads("cam_1")
    finally:
        garbage.close()
        await garbage.wait_closed()
    _assert_no_key(caught.value)


@pytest.mark.parametrize("status", [302, 400, 401, 404, 429, 500, 503])
async def test_no_status_error_holds_the_key(server: ScriptedServer, status: int) -> None:
    server.default = lambda _: web.Response(status=status, text="no")
    async with LemlistClient(
        SENTINEL_KEY, base_url=server.base_url, max_retries=0, max_rate_limit_wait=0.01
    ) as client:
        with pytest.raises(LemlistError) as caught:
            await client.get_campaign_leads("cam_1")
    _assert_no_key(caught.value)


# -- Injected sessions and event loops --------------------------------------------------


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # aiohttp 3.14 deprecates auth=.
async def test_an_injected_session_with_auth_is_refused_at_construction() -> None:
    async with aiohttp.ClientSession(auth=aiohttp.BasicAuth("", "other")) as session:
        with pytest.raises(ValueError, match="auth="):
            LemlistClient(SENTINEL_KEY, session=session)


def test_a_client_reused_in_a_second_event_loop_says_what_to_do() -> None:
    client = LemlistClient(SENTINEL_KEY, base_url="http://127.0.0.1:9/api")

    async def first() -> None:
        await client.__aenter__()

    async def second() -> None:
        await client.get_campaign_leads("cam_1")

    asyncio.run(first())
    with pytest.raises(ClientClosedError, match=r"another event loop.*asyncio\.run"):
        asyncio.run(second())


# -- Response size --------------------------------------------------------------------------


async def test_a_compressed_bomb_is_refused_early_with_bounded_memory(
    server: ScriptedServer,
) -> None:
    inflated = 64 * 1024 * 1024
    bomb = gzip.compress(b"[" + b" " * inflated + b"]", compresslevel=9)
    server.answer(200, bomb, content_type="application/json", headers={"Content-Encoding": "gzip"})
    cap = 1024 * 1024
    async with LemlistClient(
        SENTINEL_KEY, base_url=server.base_url, max_retries=0, max_response_size=cap
    ) as client:
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLargeError) as caught:
                await client.get_campaign_leads("cam_1")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert caught.value.limit == cap
    assert caught.value.status == 200
    assert peak < inflated / 8  # Nowhere near the 64 MiB it would inflate to.


async def test_a_body_declared_too_long_is_refused_unread(server: ScriptedServer) -> None:
    server.answer(200, b"[" + b" " * 5000 + b"]", content_type="application/json")
    async with LemlistClient(
        SENTINEL_KEY, base_url=server.base_url, max_retries=0, max_response_size=1000
    ) as client:
        with pytest.raises(ResponseTooLargeError, match="max_response_size"):
            await client.get_campaign_leads("cam_1")


async def test_an_error_body_past_the_cap_is_cut_not_refused(server: ScriptedServer) -> None:
    server.answer(503, "x" * 5000)
    async with LemlistClient(
        SENTINEL_KEY, base_url=server.base_url, max_retries=0, max_response_size=1000
    ) as client:
        with pytest.raises(ServerError) as caught:
            await client.get_campaign_leads("cam_1")
    assert caught.value.body == "x" * 1000


@pytest.mark.parametrize(("limit", "sent"), [(2, 3), (None, 501)])
async def test_a_page_longer_than_asked_is_refused_before_structuring(
    server: ScriptedServer, client: LemlistClient, limit: int | None, sent: int
) -> None:
    server.answer_json([{"_id": f"lea_{i}", "contactId": "c", "state": "x"} for i in range(sent)])
    with pytest.raises(ResponseValidationError, match=f"sent {sent:,} items"):
        await client.get_campaign_leads("cam_1", limit=limit)
