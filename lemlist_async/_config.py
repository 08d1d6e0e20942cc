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
        api_key = environ.get(API_KEY_ENV_VAR, "")
        source = f"the {API_KEY_ENV_VAR} environment variable"
    else:
        source = "api_key"
    if not isinstance(api_key, str):
        raise TypeError(f"api_key must be a str, not {type(api_key).__name__}")
    if not api_key.strip():
        raise ValueError(
            f"No lemlist API key: {source} is empty. Pass LemlistClient(api_key=...) or "
            f"set {API_KEY_ENV_VAR}; the key is on "
            "https://app.lemlist.com/settings/integrations"
        )
    return api_key.strip()


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
    if url.user or url.password:
        # Not echoed: the credentials may be the key itself.
        raise ValueError(
            "base_url must not contain credentials; pass the key as api_key=... instead"
        )
    if not url.absolute or url.scheme not in {"http", "https"} or not url.host:
        raise ValueError(f"base_url must be an absolute https:// URL, got {str(base_url)!r}")
    if url.scheme == "http" and not _is_loopback(url.host):
        raise ValueError(
            f"base_url {str(url)!r} is plain http to a non-loopback host: the API key "
            "would travel in clear text. Use https://, or http:// only to localhost."
        )
    if url.query_string or url.fragment:
        raise ValueError(f"base_url must not have a query or fragment, got {str(url)!r}")
    return url.with_path(url.path.rstrip("/"))


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
