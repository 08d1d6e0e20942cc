"""The pure rules that turn an error response into an exception."""

from __future__ import annotations

import pickle

import pytest

from lemlist_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConflictError,
    FanOutError,
    InvalidCampaignIdError,
    LemlistError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
)
from lemlist_async._constants import MAX_MESSAGE_CHARS
from lemlist_async._errors import error_for_response, server_message, server_words


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (402, PaymentRequiredError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (405, APIStatusError),
        (409, ConflictError),
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
        ('{"error": "BadRequest", "message": "Invalid state"}', 400, "Invalid state"),
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


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (
            '{"error": "LEAD_NOT_FOUND", "message": "No such lead"}',
            ("No such lead", "LEAD_NOT_FOUND"),
        ),
        (
            '{"success": false, "error": {"code": "E_DUP", "message": "Contact exists"}}',
            ("Contact exists", "E_DUP"),
        ),
        ('{"error": "Bad team", "code": 400}', ("Bad team", "400")),
        ('{"error": "Same", "message": "Same"}', ("Same", "Same")),
        ('{"ok": false, "message": "Nope"}', ("Nope", None)),
        (
            '{"success": false, "error": {"code": 7}}',
            ('{"success": false, "error": {"code": 7}}', "7"),
        ),
        ("Campaign not found", ("Campaign not found", None)),
    ],
)
def test_server_words_give_the_message_and_the_code(
    body: str, words: tuple[str, str | None]
) -> None:
    assert server_words(body, 400) == words


def test_a_json_error_code_reaches_the_exception() -> None:
    err = error_for_response(
        409,
        method="POST",
        url="u",
        body='{"error": "ALREADY_EXISTS", "message": "Lead already in campaign"}',
        headers={},
    )
    assert isinstance(err, ConflictError)
    assert (err.message, err.code) == ("Lead already in campaign", "ALREADY_EXISTS")
    assert str(err) == "409 Lead already in campaign [ALREADY_EXISTS] (POST u)"


def test_server_message_is_truncated_but_body_is_kept() -> None:
    body = "x" * 5000
    err = error_for_response(500, method="GET", url="u", body=body, headers={})
    assert len(err.message) == MAX_MESSAGE_CHARS
    assert err.message.endswith("…")
    assert err.body == body


def _examples() -> list[LemlistError]:
    status = error_for_response(404, method="GET", url="u", body="Campaign not found", headers={})
    limited = error_for_response(
        429, method="GET", url="u", body="Too many", headers={"Retry-After": "2"}, retry_after=2.0
    )
    return [
        status,
        limited,
        ServerError("boom", status=503, method="GET", url="u", body="boom"),
        APIConnectionError("refused", method="GET", url="u"),
        APITimeoutError("slow", method="GET", url="u"),
        ResponseValidationError("bad", status=200, method="GET", url="u", body="x", errors=["e"]),
        ClientClosedError("closed"),
        InvalidCampaignIdError("empty"),
        FanOutError("1 of 2 campaigns failed", {"cam_x": status}, {"cam_y": []}),
    ]


@pytest.mark.parametrize("error", _examples(), ids=lambda e: type(e).__name__)
def test_every_error_pickles_with_its_attributes(error: LemlistError) -> None:
    # A multiprocessing worker sends its exceptions back pickled.
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert vars(copy) == vars(error) or isinstance(error, FanOutError)
    if isinstance(error, FanOutError):
        assert isinstance(copy, FanOutError)
        assert copy.results == error.results
        assert list(copy.errors_by_campaign) == ["cam_x"]
        assert str(copy.exceptions[0]) == str(error.exceptions[0])
