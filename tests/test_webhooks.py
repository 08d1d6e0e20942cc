"""lemlist_async.webhooks: parse_event's rules, and the aiohttp handler on a real server."""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import json
import logging
import pickle
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

import lemlist_async.webhooks
from lemlist_async import Activity, ActivityType, LemlistError
from lemlist_async._constants import WEBHOOK_MAX_BODY
from lemlist_async.webhooks import (
    WebhookBodyTooLargeError,
    WebhookError,
    WebhookHandler,
    WebhookPayloadError,
    WebhookSecretError,
    parse_event,
    webhook_handler,
)

SECRET = "s3cr3t-Zq8xVbN1-hook"
WRONG = "n0t-the-s3cr3t-Kp2w"
ACTIVITY_TYPE = f"{ActivityType.__module__}.ActivityType"
#: A value of a lead that must never reach a log record or an exception.
PRIVATE = "jane.private@example.com"


def delivery(**members: Any) -> dict[str, Any]:
    """An emailsOpened activity as lemlist delivers it, with ``members`` on top."""
    return {
        "_id": "act_0123456789abcdef",
        "type": "emailsOpened",
        "leadId": "lea_0123456789abcdef",
        "campaignId": "cam_0123456789abcdef",
        "sequenceId": "seq_0123456789abcdef",
        "stepId": "stp_0123456789abcdef",
        "sequenceStep": 1,
        "createdAt": "2026-03-02T10:20:30.123Z",
        "leadEmail": PRIVATE,
        "campaignName": "Spring outreach",
        **members,
    }


def body(**members: Any) -> bytes:
    return json.dumps(delivery(**members)).encode()


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text
        assert WRONG not in text
        assert PRIVATE not in text


# -- parse_event ---------------------------------------------------------------


def test_a_delivery_becomes_a_typed_activity() -> None:
    event = parse_event(body())
    assert isinstance(event, Activity)
    assert event.id == "act_0123456789abcdef"
    assert event.type is ActivityType.EMAILS_OPENED
    assert event.lead_id == "lea_0123456789abcdef"
    assert event.campaign_id == "cam_0123456789abcdef"
    assert event.sequence_step == 1
    assert event.created_at == dt.datetime(2026, 3, 2, 10, 20, 30, 123000, tzinfo=dt.UTC)
    assert event.extra == {"leadEmail": PRIVATE, "campaignName": "Spring outreach"}


def test_text_bodies_are_accepted_like_bytes() -> None:
    assert parse_event(body().decode()) == parse_event(body())


def test_an_unknown_type_and_unknown_members_are_kept() -> None:
    event = parse_event(body(type="hologramSent", hologramColour="teal"))
    assert event.type == "hologramSent"
    assert event.type is not None
    assert not event.type.is_known
    assert event.extra["hologramColour"] == "teal"


@pytest.mark.parametrize(
    ("configured", "given"),
    [
        pytest.param(SECRET, SECRET, id="right secret"),
        pytest.param(None, SECRET, id="secret sent, none configured"),
        pytest.param(None, None, id="no secret anywhere"),
    ],
)
def test_accepted_deliveries_never_keep_the_secret(
    configured: str | None, given: str | None
) -> None:
    members = {} if given is None else {"secret": given}
    event = parse_event(body(**members), secret=configured)
    assert "secret" not in event.extra
    assert event.extra == {"leadEmail": PRIVATE, "campaignName": "Spring outreach"}
    assert SECRET not in repr(event)
    assert SECRET not in repr(event.extra)


@pytest.mark.parametrize(
    ("members", "reason"),
    [
        pytest.param({"secret": WRONG}, "wrong", id="wrong"),
        pytest.param({}, "missing", id="missing"),
        pytest.param({"secret": None}, "missing", id="null"),
        pytest.param({"secret": 12345}, "wrong", id="not a string"),
        pytest.param({"secret": SECRET.upper()}, "wrong", id="case differs"),
        pytest.param({"secret": SECRET + " "}, "wrong", id="longer"),
        pytest.param({"secret": "\ud800"}, "wrong", id="lone surrogate"),
    ],
)
def test_a_configured_secret_refuses_a_missing_or_wrong_one(
    members: dict[str, Any], reason: str
) -> None:
    with pytest.raises(WebhookSecretError, match=reason) as caught:
        parse_event(body(**members), secret=SECRET)
    assert isinstance(caught.value, WebhookError)
    assert isinstance(caught.value, LemlistError)
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None
    assert_no_secret(str(caught.value), repr(caught.value))


def test_the_secret_is_compared_in_constant_time_on_utf8_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[object, object]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    secret = "clé-secrète-ünïcode"
    parse_event(body(secret=secret), secret=secret)
    assert calls == [(secret.encode(), secret.encode())]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param(b"", "not JSON", id="empty"),
        pytest.param(f"secret={SECRET}&email={PRIVATE}".encode(), "not JSON", id="form"),
        pytest.param(b'{"_id": "act_1", "leadEmail": "' + PRIVATE.encode(), "not JSON", id="cut"),
        pytest.param(b'{"_id": "\xff\xfe"}', "not JSON", id="bad UTF-8"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, "not JSON", id="too deep"),
        pytest.param(b"[]", "a JSON array", id="array"),
        pytest.param(json.dumps(PRIVATE).encode(), "a JSON string", id="string"),
        pytest.param(b"null", "a JSON null", id="null"),
        pytest.param(b"42", "a JSON number", id="number"),
        pytest.param(b"true", "a JSON boolean", id="boolean"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused(raw: bytes, message: str) -> None:
    with pytest.raises(WebhookPayloadError, match=message) as caught:
        parse_event(raw, secret=SECRET)
    assert not isinstance(caught.value, WebhookSecretError)
    assert caught.value.__context__ is None
    assert_no_secret(str(caught.value), repr(caught.value))


@pytest.mark.parametrize(
    ("members", "errors"),
    [
        pytest.param(
            {"_id": 7, "createdAt": PRIVATE},
            [
                "invalid value for type, expected str @ $._id",
                "invalid value for type, expected datetime.datetime | None @ $.createdAt",
            ],
            id="bad values",
        ),
        pytest.param(
            {"sequenceStep": PRIVATE},
            ["invalid value for type, expected int | None @ $.sequenceStep"],
            id="string for an int",
        ),
        pytest.param(
            {"type": 3},
            [f"invalid value for type, expected {ACTIVITY_TYPE} | None @ $.type"],
            id="number for a type",
        ),
    ],
)
def test_a_payload_that_does_not_fit_names_its_bad_paths_not_its_values(
    members: dict[str, Any], errors: list[str]
) -> None:
    with pytest.raises(WebhookPayloadError, match="does not fit an activity record") as caught:
        parse_event(body(secret=SECRET, **members), secret=SECRET)
    assert caught.value.errors == errors
    assert caught.value.__context__ is None
    assert_no_secret(str(caught.value), repr(caught.value))


def test_a_payload_without_an_id_is_refused() -> None:
    payload = delivery()
    del payload["_id"]
    with pytest.raises(WebhookPayloadError) as caught:
        parse_event(json.dumps(payload))
    assert caught.value.errors == ["required field missing @ $._id"]


def test_the_enrichment_callback_keeps_its_data_in_extra() -> None:
    data = [{"id": "enr_0123456789abcdef"}, {"id": "enr_fedcba9876543210"}]
    raw = json.dumps({"type": "enrichmentDone", "data": data, "secret": SECRET})
    event = parse_event(raw, secret=SECRET)
    assert event.type is ActivityType.ENRICHMENT_DONE
    assert event.id == ""
    assert event.extra == {"data": data}

    with_id = parse_event(json.dumps({"_id": "act_1", "type": "enrichmentDone", "data": data}))
    assert with_id.id == "act_1"
    assert with_id.extra == {"data": data}


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"type": "emailsSent", "data": []}, id="another type"),
        pytest.param({"type": "enrichmentDone", "data": {"id": "enr_1"}}, id="data not a list"),
        pytest.param({"type": "enrichmentDone", "data": [], "createdAt": 5}, id="other bad field"),
    ],
)
def test_only_the_enrichment_callback_may_lack_an_id(payload: dict[str, Any]) -> None:
    with pytest.raises(WebhookPayloadError):
        parse_event(json.dumps(payload))


def test_a_body_over_the_cap_is_refused_before_it_is_decoded() -> None:
    assert WEBHOOK_MAX_BODY == 1024 * 1024
    raw = body()
    assert parse_event(raw, max_body=len(raw)).id == "act_0123456789abcdef"
    with pytest.raises(WebhookBodyTooLargeError, match=f"over {len(raw) - 1} bytes") as caught:
        parse_event(raw, max_body=len(raw) - 1)
    assert caught.value.limit == len(raw) - 1
    assert isinstance(caught.value, WebhookPayloadError)
    # Past the default cap, not even JSON is looked at.
    with pytest.raises(WebhookBodyTooLargeError):
        parse_event(b" " * (WEBHOOK_MAX_BODY + 1))


def test_text_is_measured_in_utf8_bytes() -> None:
    text = json.dumps(delivery(campaignName="é" * 10), ensure_ascii=False)
    size = len(text.encode())
    assert size > len(text)
    assert parse_event(text, max_body=size).extra["campaignName"] == "é" * 10
    with pytest.raises(WebhookBodyTooLargeError):
        parse_event(text, max_body=size - 1)


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"secret": ""}, id="empty secret"),
        pytest.param({"max_body": 0}, id="zero cap"),
        pytest.param({"max_body": 1.5}, id="float cap"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"secret|max_body"):
        parse_event(body(), **kwargs)
    with pytest.raises(ValueError, match=r"secret|max_body"):
        webhook_handler(_ignore, **kwargs)


def test_the_errors_pickle_and_compare_by_value() -> None:
    errors: list[WebhookError] = [
        WebhookSecretError("webhook secret wrong"),
        WebhookPayloadError(
            "webhook body does not fit", errors=["required field missing @ $._id"]
        ),
        WebhookBodyTooLargeError("webhook body over 10 bytes", limit=10),
    ]
    for error in errors:
        assert pickle.loads(pickle.dumps(error)) == error  # noqa: S301 - our own bytes


def test_the_public_module_reexports_the_private_one() -> None:
    assert sorted(lemlist_async.webhooks.__all__) == [
        "WebhookBodyTooLargeError",
        "WebhookError",
        "WebhookHandler",
        "WebhookPayloadError",
        "WebhookSecretError",
        "parse_event",
        "webhook_handler",
    ]
    for name in lemlist_async.webhooks.__all__:
        assert getattr(lemlist_async.webhooks, name).__module__ == "lemlist_async._webhooks"


def test_importing_the_sdk_does_not_import_the_webhooks_module() -> None:
    code = "import sys, lemlist_async; print('lemlist_async._webhooks' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


# -- The aiohttp handler, on a loopback server -----------------------------------------


async def _ignore(event: Activity) -> None:
    return None


class Receiver:
    """What on_event saw, and a gate it waits on before it returns."""

    def __init__(self) -> None:
        self.events: list[Activity] = []
        self.finished: list[str] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.received = asyncio.Event()

    async def __call__(self, event: Activity) -> None:
        self.events.append(event)
        self.received.set()
        await self.gate.wait()
        self.finished.append(event.id)


@pytest.fixture
def caplog_all(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every record of every logger, checked afterwards for a body or a secret."""
    caplog.set_level(logging.DEBUG)
    yield caplog
    for record in caplog.records:
        exc_text = logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
        assert_no_secret(record.getMessage(), exc_text)


async def serve(handler: WebhookHandler) -> TestClient[web.Request, web.Application]:
    app = web.Application()
    app.router.add_post("/lemlist", handler.handle)
    app.on_cleanup.append(handler.drain)
    return TestClient(TestServer(app))


@pytest.fixture
async def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
async def http(
    receiver: Receiver, caplog_all: pytest.LogCaptureFixture
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    handler = webhook_handler(receiver, secret=SECRET, max_body=4096)
    async with await serve(handler) as client:
        yield client


async def test_a_good_delivery_gets_200_and_on_event_gets_the_typed_event(
    http: TestClient[web.Request, web.Application], receiver: Receiver
) -> None:
    response = await http.post("/lemlist", data=body(secret=SECRET))
    assert response.status == 200
    await asyncio.wait_for(receiver.received.wait(), 10)
    [event] = receiver.events
    assert event == parse_event(body(secret=SECRET), secret=SECRET)
    assert event.type is ActivityType.EMAILS_OPENED
    assert "secret" not in event.extra


async def test_the_answer_does_not_wait_for_on_event(caplog_all: pytest.LogCaptureFixture) -> None:
    receiver = Receiver()
    receiver.gate.clear()
    handler = webhook_handler(receiver, secret=SECRET)
    async with await serve(handler) as http:
        response = await http.post("/lemlist", data=body(secret=SECRET))
        assert response.status == 200
        await asyncio.wait_for(receiver.received.wait(), 10)
        assert handler.pending == 1
        assert receiver.finished == []
        assert "pending=1" in repr(handler)
        assert SECRET not in repr(handler)
        receiver.gate.set()
        await handler.drain()
        assert handler.pending == 0
        assert receiver.finished == ["act_0123456789abcdef"]


async def test_drain_waits_for_the_running_tasks(caplog_all: pytest.LogCaptureFixture) -> None:
    receiver = Receiver()
    receiver.gate.clear()
    handler = webhook_handler(receiver)
    async with await serve(handler) as http:
        for n in range(3):
            response = await http.post("/lemlist", data=body(_id=f"act_{n}"))
            assert response.status == 200
        drained = asyncio.create_task(handler.drain())
        await asyncio.wait_for(receiver.received.wait(), 10)
        assert not drained.done()
        receiver.gate.set()
        await asyncio.wait_for(drained, 10)
        assert sorted(receiver.finished) == ["act_0", "act_1", "act_2"]
        assert handler.pending == 0


async def test_app_cleanup_drains_the_handler(caplog_all: pytest.LogCaptureFixture) -> None:
    receiver = Receiver()
    receiver.gate.clear()
    handler = webhook_handler(receiver)
    app = web.Application()
    app.router.add_post("/lemlist", handler.handle)

    async def open_gate(app: web.Application) -> None:
        assert receiver.finished == []  # still held: cleanup is what lets it finish
        receiver.gate.set()

    app.on_cleanup.append(open_gate)
    app.on_cleanup.append(handler.drain)
    async with TestClient(TestServer(app)) as http:
        response = await http.post("/lemlist", data=body())
        assert response.status == 200
        await asyncio.wait_for(receiver.received.wait(), 10)
    assert receiver.finished == ["act_0123456789abcdef"]
    assert handler.pending == 0


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        pytest.param(body(secret=WRONG), 401, "secret wrong", id="wrong secret"),
        pytest.param(body(), 401, "secret missing", id="no secret"),
        pytest.param(b"secret=" + SECRET.encode(), 400, "not JSON", id="not JSON"),
        pytest.param(b"[]", 400, "not a JSON object", id="array"),
        pytest.param(body(secret=SECRET, _id=7), 400, "does not fit", id="bad field"),
    ],
)
async def test_refused_deliveries_get_4xx_and_never_reach_on_event(
    http: TestClient[web.Request, web.Application],
    receiver: Receiver,
    caplog_all: pytest.LogCaptureFixture,
    data: bytes,
    status: int,
    words: str,
) -> None:
    response = await http.post("/lemlist", data=data)
    assert response.status == status
    text = await response.text()
    assert words in text
    assert_no_secret(text)
    assert receiver.events == []
    [record] = [r for r in caplog_all.records if r.name == "lemlist_async"]
    assert record.levelno == logging.WARNING
    assert f"refused with {status}" in record.getMessage()


async def test_a_body_over_max_body_gets_413(
    http: TestClient[web.Request, web.Application], receiver: Receiver
) -> None:
    big = body(secret=SECRET, padding="x" * 5000)
    response = await http.post("/lemlist", data=big)
    assert response.status == 413
    assert "over 4096 bytes" in await response.text()


async def test_a_chunked_body_over_max_body_gets_413(
    caplog_all: pytest.LogCaptureFixture,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as read
        for _ in range(64):
            yield b" " * 1024

    async with await serve(webhook_handler(_ignore, max_body=4096)) as http:
        response = await http.post("/lemlist", data=chunks())
        assert response.status == 413


async def test_a_failing_on_event_is_logged_without_the_body(
    caplog_all: pytest.LogCaptureFixture,
) -> None:
    async def on_event(event: Activity) -> None:
        raise RuntimeError("the CRM is down")

    handler = webhook_handler(on_event, secret=SECRET)
    async with await serve(handler) as http:
        response = await http.post("/lemlist", data=body(secret=SECRET))
        assert response.status == 200
        await handler.drain()
    [record] = [r for r in caplog_all.records if r.levelno >= logging.ERROR]
    assert record.name == "lemlist_async"
    assert record.levelno == logging.ERROR
    assert "act_0123456789abcdef" in record.getMessage()
    assert "emailsOpened" in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)
