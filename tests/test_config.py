"""Construction-time rules: key, base URL, options."""

from __future__ import annotations

import pytest

from lemlist_async import LemlistClient
from lemlist_async._config import key_fingerprint, resolve_api_key, validate_base_url


def test_key_from_argument_wins_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEMLIST_API_KEY", "from-env")
    assert resolve_api_key("given") == "given"


def test_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEMLIST_API_KEY", "from-env")
    assert resolve_api_key(None) == "from-env"


@pytest.mark.parametrize("env", [None, "", "   "])
def test_missing_key_says_how_to_provide_one(
    monkeypatch: pytest.MonkeyPatch, env: str | None
) -> None:
    if env is None:
        monkeypatch.delenv("LEMLIST_API_KEY", raising=False)
    else:
        monkeypatch.setenv("LEMLIST_API_KEY", env)
    with pytest.raises(ValueError, match="LEMLIST_API_KEY") as caught:
        LemlistClient()
    assert "api_key=" in str(caught.value)


def test_key_of_wrong_type() -> None:
    with pytest.raises(TypeError):
        resolve_api_key(123)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.lemlist.com/api", "https://api.lemlist.com/api"),
        ("https://api.lemlist.com/api/", "https://api.lemlist.com/api"),
        ("http://localhost:8080/api", "http://localhost:8080/api"),
        ("http://127.0.0.1:9/api", "http://127.0.0.1:9/api"),
        ("http://127.8.9.10/api", "http://127.8.9.10/api"),
        ("http://[::1]:81/api", "http://[::1]:81/api"),
    ],
)
def test_accepted_base_urls(url: str, expected: str) -> None:
    assert str(validate_base_url(url)) == expected


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("http://api.lemlist.com/api", "clear text"),
        ("http://10.0.0.1/api", "clear text"),
        ("http://localhost.evil.com/api", "clear text"),
        ("ftp://api.lemlist.com/api", "absolute https"),
        ("/api", "absolute https"),
        ("api.lemlist.com", "absolute https"),
        ("https://api.lemlist.com/api?access_token=x", "query"),
    ],
)
def test_refused_base_urls(url: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        LemlistClient("k", base_url=url)


@pytest.mark.parametrize(
    "url", ["https://:sk-SECRET@api.lemlist.com/api", "https://user:sk-SECRET@x.test/api"]
)
def test_credentials_in_base_url_are_refused_without_echoing_them(url: str) -> None:
    with pytest.raises(ValueError, match="credentials") as caught:
        LemlistClient("k", base_url=url)
    assert "sk-SECRET" not in str(caught.value)


def test_fingerprint_is_stable_and_reveals_nothing() -> None:
    assert key_fingerprint("secret-key") == key_fingerprint("secret-key")
    assert key_fingerprint("secret-key") != key_fingerprint("secret-kez")
    assert "secret" not in key_fingerprint("secret-key")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"timeout": 0}, ValueError),
        ({"timeout": float("nan")}, ValueError),
        ({"timeout": "30"}, TypeError),
        ({"rate_limit": 0}, ValueError),
        ({"rate_limit": 21}, ValueError),
        ({"rate_limit": True}, TypeError),
        ({"rate_limit": object()}, TypeError),
        ({"max_retries": -1}, ValueError),
        ({"max_rate_limit_wait": 0}, ValueError),
        ({"session": "not a session"}, TypeError),
    ],
)
def test_bad_options_fail_at_construction(
    kwargs: dict[str, object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        LemlistClient("k", **kwargs)  # type: ignore[arg-type]


def test_construction_needs_no_event_loop() -> None:
    client = LemlistClient("k")
    assert not client.closed
    assert client.rate_limit is None
