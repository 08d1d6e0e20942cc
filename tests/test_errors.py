"""The pure rules that turn an error response into an exception."""

from __future__ import annotations

import pytest

from lemlist_async import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    LemlistError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from lemlist_async._constants import MAX_MESSAGE_CHARS
from lemlist_async._errors import error_for_response, server_message


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (402, PaymentRequiredError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (405, APIStatusError),
        (409, APIStatusError),
        (422, APIStatusError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
        (599, ServerError),
    ],
)
def test_status_maps_to_most_specific_class(status: int, cls: type[APIStatusError]) -> None:
    err = error_for_response(status, method="GET", url="https://x/api", body="", headers={})
    assert type(err) is cls
    assert isinstance(err, APIStatusError)
    assert isinstance(err, LemlistError)
    assert err.status == status


def test_rate_limit_error_carries_retry_after() -> None:
    err = error_for_response(
        429,
        method="GET",
        url="u",
        body="Too many",
        headers={"Retry-After": "1.5"},
        retry_after=1.5,
    )
    assert isinstance(err, RateLimitError)
    assert err.retry_after == 1.5
    assert err.headers["Retry-After"] == "1.5"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ("Campaign not found", 404, "Campaign not found"),
        ("  Lead not found\n", 404, "Lead not found"),
        ("", 401, "Unauthorized"),
        ("   ", 503, "Service Unavailable"),
        ("", 599, "(empty body)"),
        ('{"error": "Bad team", "code": 400}', 400, "Bad team"),
        ('{"error": "BadRequest", "message": "Invalid state"}', 400, "BadRequest: Invalid state"),
        ('{"error": "Same", "message": "Same"}', 400, "Same"),
        ('{"ok": false, "message": "Nope"}', 400, "Nope"),
        ('{"success": false, "error": "Nope"}', 400, "Nope"),
        ('{"other": 1}', 400, '{"other": 1}'),
        ('"quoted text"', 400, "quoted text"),
        ("{not json", 400, "{not json"),
        ("Bad params\n(invalid state parameter)", 400, "Bad params (invalid state parameter)"),
    ],
)
def test_server_message(body: str, status: int, message: str) -> None:
    assert server_message(body, status) == message


def test_server_message_is_truncated_but_body_is_kept() -> None:
    body = "x" * 5000
    err = error_for_response(500, method="GET", url="u", body=body, headers={})
    assert len(err.message) == MAX_MESSAGE_CHARS
    assert err.message.endswith("…")
    assert err.body == body
