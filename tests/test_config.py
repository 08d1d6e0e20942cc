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


def test_missing_key_tells_unset_from_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEMLIST_API_KEY", raising=False)
    with pytest.raises(ValueError, match="LEMLIST_API_KEY is not set"):
        LemlistClient()
    monkeypatch.setenv("LEMLIST_API_KEY", " ")
    with pytest.raises(ValueError, match="LEMLIST_API_KEY environment variable is empty"):
        LemlistClient()


SECRET = "sk-SECRET-0123456789abcdef"


@pytest.mark.parametrize(
    "key",
    [
        f"{SECRET}\udcff",  # A stray byte of the environment, read with surrogateescape.
        f"{SECRET}é",
        f"{SECRET}\x7f",
        f"sk {SECRET}",
        f"sk\t{SECRET}",
    ],
)
def test_a_key_that_cannot_be_sent_is_refused_without_showing_it(
    monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    monkeypatch.setenv("LEMLIST_API_KEY", key)
    for given in (key, None):
        with pytest.raises(ValueError, match="cannot be sent") as caught:
            LemlistClient(given)
        error = caught.value
        assert error.__cause__ is None
        assert error.__context__ is None
        for text in (str(error), repr(error), repr(error.args)):
            assert SECRET not in text


@pytest.mark.parametrize(
    "url",
    [
        f"https://api.lemlist.com/api?access_token={SECRET}",
        f"https://api.lemlist.com/api#{SECRET}",
        f"http://example.com/api?key={SECRET}",
        f"ftp://example.com/api?key={SECRET}",
        f"example.com/api?key={SECRET}",
        f"https://:{SECRET}@api.lemlist.com/api",
    ],
)
def test_base_url_errors_never_echo_a_query_fragment_or_credentials(url: str) -> None:
    with pytest.raises(ValueError, match="base_url") as caught:
        LemlistClient("k", base_url=url)
    assert SECRET not in str(caught.value)
    assert caught.value.__context__ is None


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
    assert client.latest_rate_limit is None
