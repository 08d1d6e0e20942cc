"""Receiving lemlist's webhooks: check each delivery, get a typed ``Activity``.

``import lemlist_async`` does not import this module; import it explicitly::

    from lemlist_async.webhooks import parse_event, webhook_handler

``parse_event`` is pure (bytes in, ``Activity`` out) and fits any web framework;
``webhook_handler`` is a ready aiohttp handler built on it. See
``docs/webhooks.md`` ("Receiving webhooks").
"""

from __future__ import annotations

from ._webhooks import (
    WebhookBodyTooLargeError,
    WebhookError,
    WebhookHandler,
    WebhookPayloadError,
    WebhookSecretError,
    parse_event,
    webhook_handler,
)

__all__ = [
    "WebhookBodyTooLargeError",
    "WebhookError",
    "WebhookHandler",
    "WebhookPayloadError",
    "WebhookSecretError",
    "parse_event",
    "webhook_handler",
]
