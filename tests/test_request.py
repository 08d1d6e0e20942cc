"""The request layer's pure rules: retry decisions and body decoding, without I/O;
then the retry classes end to end against a loopback server."""

from __future__ import annotations

import logging
import socket
from typing import Any

import pytest
from aiohttp import web

from lemlist_async import (
    AmbiguousWriteError,
    APIConnectionError,
    Campaign,
    Lead,
    LemlistClient,
    NotFoundError,
    Page,
    ResponseValidationError,
    ServerError,
)
from lemlist_async._pagination import OffsetPages
from lemlist_async._request import Body, Request, decode
from lemlist_async._retry import RetryClass, may_retry

from .conftest import ScriptedServer

SAFE, UNSAFE = RetryClass.SAFE, RetryClass.UNSAFE


@pytest.mark.parametrize(
    ("retry", "status", "sent", "never", "expected"),
    [
        # A 429 was refused before lemlist acted on it: always again.
        (SAFE, 429, True, frozenset(), True),
        (UNSAFE, 429, True, frozenset(), True),
        # A request that never left: always again.
        (SAFE, None, False, frozenset(), True),
        (UNSAFE, None, False, frozenset(), True),
        # Sent, and no answer: a read may go again, a write may have been applied.
        (SAFE, None, True, frozenset(), True),
        (UNSAFE, None, True, frozenset(), False),
        # 5xx: a read again, a write never.
        (SAFE, 500, True, frozenset(), True),
        (SAFE, 503, True, frozenset(), True),
        (UNSAFE, 500, True, frozenset(), False),
        (UNSAFE, 503, True, frozenset(), False),
        # A permanent 500 lemlist documents for the operation.
        (SAFE, 500, True, frozenset({500}), False),
        (SAFE, 503, True, frozenset({500}), True),
        # Other statuses never.
        (SAFE, 400, True, frozenset(), False),
        (SAFE, 404, True, frozenset(), False),
        (SAFE, 409, True, frozenset(), False),
        (SAFE, 501, True, frozenset(), False),
    ],
)
def test_may_retry(
    retry: RetryClass, status: int | None, sent: bool, never: frozenset[int], expected: bool
) -> None:
    assert may_retry(retry, status=status, sent=sent, never_retry=never) is expected


def _decode(request: Request[Any], body: bytes, status: int = 200) -> Any:
    return decode(request, status=status, body=body, url="https://x/api/p")


def test_decode_each_body_kind() -> None:
    assert (
        _decode(Request[None](method="GET", path="/p", body=Body.EMPTY), b"ignored", 202) is None
    )
    assert (
        _decode(Request[str](method="GET", path="/p", body=Body.TEXT), b"a,b\n1,2\n")
        == "a,b\n1,2\n"
    )
    assert _decode(
        Request[str](method="GET", path="/p", body=Body.MESSAGE), b'"Variables unsubscribed"'
    ) == ("Variables unsubscribed")
    assert _decode(
        Request[str](method="GET", path="/p", body=Body.MESSAGE), b"Variable subscribed\n"
    ) == ("Variable subscribed")
    leads = _decode(
        Request[list[Lead]](method="GET", path="/p", into=list[Lead]),
        b'[{"_id": "lea_1", "contactId": "ctc_1", "state": "scanned"}]',
    )
    assert [lead.id for lead in leads] == ["lea_1"]


def test_decode_a_page_of_either_shape() -> None:
    rule = OffsetPages(2, items_key="campaigns", total_path=("pagination", "totalRecords"))
    request = Request[Page[Campaign]](
        method="GET",
        path="/campaigns",
        into=list[Campaign],
        query={"offset": "4", "limit": "2"},
        page_rule=rule,
    )
    envelope = b'{"campaigns": [{"_id": "cam_1"}], "pagination": {"totalRecords": 5}}'
    page = _decode(request, envelope)
    assert (page.offset, page.total, [c.id for c in page.items]) == (4, 5, ["cam_1"])
    page = _decode(request, b'[{"_id": "cam_1"}, {"_id": "cam_2"}]')
    assert (page.offset, page.total, len(page.items)) == (4, None, 2)
    with pytest.raises(ResponseValidationError, match="not a page of the list"):
        _decode(request, b'{"data": []}')
    with pytest.raises(ResponseValidationError) as caught:
        _decode(request, b'[{"_id": 5}]')
    assert caught.value.errors == ["invalid value for type, expected str @ $[0]._id"]


def test_decode_refuses_a_list_longer_than_asked() -> None:
    request = Request[list[Lead]](method="GET", path="/p", into=list[Lead], max_items=1)
    body = b'[{"_id": "a", "contactId": "c", "state": "s"}, {"_id": "b", "contactId": "c", "state": "s"}]'  # noqa: E501
    with pytest.raises(ResponseValidationError, match="at most 1 were asked"):
        _decode(request, body)


def test_a_request_is_a_value() -> None:
    first = Request[Any](method="GET", path="/p", query={"a": "1"})
    assert first == Request[Any](method="GET", path="/p", query={"a": "1"})
    assert first.retry is SAFE


# -- The classes end to end ---------------------------------------------------------------


def _write(path: str = "/things") -> Request[Any]:
    return Request[Any](
        method="POST", path=path, into=Any, json={"name": "x"}, retry=RetryClass.UNSAFE
    )


@pytest.mark.looptime
async def test_an_unsafe_request_is_never_resent_after_a_5xx(server: ScriptedServer) -> None:
    server.answer(503, "Service Unavailable")
    async with LemlistClient("k", base_url=server.base_url, max_retries=4) as client:
        with pytest.raises(AmbiguousWriteError) as caught:
            await client._send(_write())
    assert len(server.requests) == 1
    assert server.requests[0].method == "POST"
    assert caught.value.status == 503
    assert isinstance(caught.value.__cause__, ServerError)
    assert "may or may not have been applied" in str(caught.value)


@pytest.mark.looptime
async def test_an_unsafe_request_is_resent_after_a_429(server: ScriptedServer) -> None:
    server.answer(429, "Too many", headers={"Retry-After": "1"})
    server.default = lambda _: web.json_response({"ok": True})
    async with LemlistClient("k", base_url=server.base_url, max_retries=4) as client:
        assert await client._send(_write()) == {"ok": True}
    assert len(server.requests) == 2


@pytest.mark.looptime
async def test_an_unsafe_request_is_not_resent_after_a_dropped_connection(
    server: ScriptedServer,
) -> None:
    async def drop(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    server.answer_with(drop)
    async with LemlistClient("k", base_url=server.base_url, max_retries=4) as client:
        with pytest.raises(AmbiguousWriteError) as caught:
            await client._send(_write())
    assert caught.value.status is None
    assert isinstance(caught.value.__cause__, APIConnectionError)
    assert caught.value.__cause__.request_sent
    assert len(server.requests) == 1


@pytest.mark.looptime
async def test_a_safe_request_is_resent_after_a_dropped_connection(
    server: ScriptedServer,
) -> None:
    async def drop(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    server.answer_with(drop)
    async with LemlistClient("k", base_url=server.base_url, max_retries=4) as client:
        assert await client._send(Request[Any](method="GET", path="/things", into=Any)) == [
            {"_id": "lea_1", "contactId": "ctc_1", "state": "scanned"}
        ]
    assert len(server.requests) == 2


async def test_a_connection_refused_was_never_sent_so_even_a_write_is_retried() -> None:
    with socket.socket() as probe:  # A port with nothing listening on it.
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    attempts = 0

    async with LemlistClient("k", base_url=f"http://127.0.0.1:{port}/api", max_retries=2) as c:
        pipeline = c._shared.ensure_pipeline()
        original = pipeline._attempt

        async def counted(*args: Any, **kwargs: Any) -> Any:
            nonlocal attempts
            attempts += 1
            return await original(*args, **kwargs)

        pipeline._attempt = counted  # type: ignore[method-assign]
        pipeline.retry = type(pipeline.retry)(max_retries=2, backoff_base=0.001, backoff_cap=0.001)
        with pytest.raises(APIConnectionError) as caught:
            await c._send(_write())
    assert not caught.value.request_sent
    assert attempts == 3


@pytest.mark.looptime
async def test_a_gone_answer_after_an_ambiguous_attempt_means_done(server: ScriptedServer) -> None:
    async def drop(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    delete = Request[str | None](
        method="DELETE",
        path="/things/t1",
        body=Body.EMPTY,
        done_answers=((404, "Thing not found"),),
        done_value="gone",
    )
    server.answer_with(drop)  # Applied, then the connection dropped: no answer.
    server.answer(404, "Thing not found")  # The retry finds it gone.
    server.answer(404, "Thing not found")  # Without an ambiguous attempt: a real 404.
    async with LemlistClient("k", base_url=server.base_url, max_retries=2) as client:
        assert await client._send(delete) == "gone"
        with pytest.raises(NotFoundError):
            await client._send(delete)
    assert len(server.requests) == 3


@pytest.mark.looptime
async def test_a_template_keeps_personal_data_out_of_errors_and_logs(
    server: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="lemlist_async")
    request = Request[Any](
        method="GET", path="/leads/ada%40example%2Ecom", into=Any, template="/leads/{email}"
    )
    server.answer(503, "down")
    server.answer(404, "No user found for this API key")
    async with LemlistClient("k", base_url=server.base_url, max_retries=1) as client:
        with pytest.raises(NotFoundError) as caught:
            await client._send(request)
    assert caught.value.url.endswith("/api/leads/{email}")
    assert server.requests[0].raw_path == "/api/leads/ada%40example%2Ecom"
    texts = [str(caught.value), *(record.getMessage() for record in caplog.records)]
    assert caplog.records
    assert not [text for text in texts if "ada" in text or "example" in text]
