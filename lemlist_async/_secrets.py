"""Which members of lemlist's objects hold secrets, by name: one rule for every output.

lemlist's team body can carry an API key, some integrations' objects a token
or a secret. The CLI leaves such members out of what it prints, the account
sync out of what it stores; both ask `secret_name`.
"""

from __future__ import annotations

from typing import Final

__all__ = ["SECRET_WORDS", "secret_name"]

#: A member whose folded name contains one of these holds a secret.
SECRET_WORDS: Final = ("apikey", "token", "secret", "password")


def secret_name(name: str) -> bool:
    """Whether a member named ``name`` holds a secret.

    ``name`` is folded (lowercased, without ``_`` and ``-``), so ``apiKey``,
    ``api_key``, ``accessToken``, ``client_secret`` and ``password`` all are.
    """
    folded = name.lower().replace("_", "").replace("-", "")
    return any(word in folded for word in SECRET_WORDS)
