"""Configuration rules, checked once when a client is built: key, base URL, headers.

Pure functions: they read the environment only where told to, and send nothing.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
from collections.abc import Mapping

import aiohttp
from yarl import URL

from ._constants import API_KEY_ENV_VAR
from ._version import __version__

__all__ = ["auth_headers", "key_fingerprint", "resolve_api_key", "validate_base_url"]

_USER_AGENT = f"lemlist-async/{__version__} aiohttp/{aiohttp.__version__}"


def resolve_api_key(api_key: str | None, environ: Mapping[str, str] = os.environ) -> str:
    """Return the key to use: the argument, else ``LEMLIST_API_KEY``.

    Raises:
        ValueError: Neither gives a non-empty key; the message says how to provide one.
        TypeError: The key is not a string.
    """
    if api_key is None:
        if API_KEY_ENV_VAR not in environ:
            problem = f"api_key was not given and {API_KEY_ENV_VAR} is not set"
        else:
            problem = f"the {API_KEY_ENV_VAR} environment variable is empty"
        api_key = environ.get(API_KEY_ENV_VAR, "")
        source = API_KEY_ENV_VAR
    else:
        problem = "api_key is empty"
        source = "api_key"
    if not isinstance(api_key, str):
        raise TypeError(f"api_key must be a str, not {type(api_key).__name__}")
    key = api_key.strip()
    if not key:
        raise ValueError(
            f"No lemlist API key: {problem}. Pass LemlistClient(api_key=...) or "
            f"set {API_KEY_ENV_VAR}; the key is on "
            "https://app.lemlist.com/settings/integrations"
        )
    # The key travels in a header: only visible ASCII can. Checked here, never by
    # encoding it, so that no UnicodeEncodeError holding the key is ever raised.
    bad = next((i for i, char in enumerate(key) if not " " < char < "\x7f"), None)
    if bad is not None:
        raise ValueError(
            f"The lemlist API key in {source} has a character that cannot be sent "
            f"(position {bad + 1} of {len(key)}; the key is not shown): look for a stray "
            "byte or space where it was copied."
        )
    return key


def validate_base_url(base_url: str | URL) -> URL:
    """Check that a base URL is absolute and keeps the key out of clear text.

    ``http://`` is refused unless the host is loopback (``localhost``,
    127.0.0.0/8, ``::1``), because every request carries the API key.

    Returns:
        The URL without a trailing slash, ready to have paths appended.

    Raises:
        ValueError: The URL is not absolute, not HTTP(S), or plain HTTP to a
            non-loopback host.
    """
    url = URL(base_url)
    # Credentials, a query and a fragment are never echoed: any of them may be
    # where a key was pasted.
    if url.user or url.password:
        raise ValueError(
            "base_url must not contain credentials; pass the key as api_key=... instead"
        )
    if url.query_string or url.fragment:
        raise ValueError(
            f"base_url must not have a query or fragment (not shown), got {_shown(url)!r}"
        )
    if not url.absolute or url.scheme not in {"http", "https"} or not url.host:
        raise ValueError(f"base_url must be an absolute https:// URL, got {_shown(url)!r}")
    if url.scheme == "http" and not _is_loopback(url.host):
        raise ValueError(
            f"base_url {_shown(url)!r} is plain http to a non-loopback host: the API key "
            "would travel in clear text. Use https://, or http:// only to localhost."
        )
    return url.with_path(url.path.rstrip("/"))


def _shown(url: URL) -> str:
    """``url`` as an error message may show it: no credentials, query or fragment."""
    return (
        str(url.with_user(None).with_query(None).with_fragment(None))
        if url.absolute
        else (url.path)
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def key_fingerprint(api_key: str) -> str:
    """A short stable name for a key that reveals nothing of it (for sharing limiters)."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


def auth_headers(api_key: str) -> dict[str, str]:
    """The headers every request carries.

    lemlist uses HTTP Basic with an empty login and the key as password.
    https://developer.lemlist.com/api-reference#authentication
    """
    return {
        "Authorization": aiohttp.encode_basic_auth("", api_key),
        "Accept": "application/json",
        "User-Agent": _USER_AGENT,
    }
