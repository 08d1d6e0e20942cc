"""Webhook deliveries: the fake POSTs its new activities to its webhooks' targets.

lemlist calls a webhook's ``targetUrl`` "with the event data as an object ...
see activities" (its legacy docs): the body is the activity, as Get Many
Activities lists it, plus ``"secret"`` when the webhook has one (Add Webhook:
"Sent back to your endpoint as a ``secret`` field in the body of every webhook
call"). lemlist documents no retries, order or timeout: the fake makes one
attempt per webhook, in the background, with `DELIVERY_TIMEOUT`, and follows no
redirect.

A fake must never call the outside world: only loopback hosts (127.0.0.0/8,
``::1``, ``localhost``) are contacted; any other target is refused, recorded
as a failed `Delivery`, and never resolved nor contacted.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
from collections.abc import Callable, Mapping
from typing import Any, Final

import aiohttp
import attrs
from yarl import URL

from ._account import Account
from ._wire import dumps

__all__ = ["DELIVERY_TIMEOUT", "Deliverer", "Delivery"]

#: Seconds one delivery may take, connection included.
DELIVERY_TIMEOUT: Final = 5.0
#: Host names taken as loopback without resolving them (besides loopback addresses).
_LOOPBACK_NAMES: Final = frozenset({"localhost", "localhost."})
#: `Delivery.error` of a delivery the fake could not start or finish.
NOT_RUNNING: Final = "not delivered: the fake server is not running"
CANCELLED: Final = "cancelled: the fake server closed before the answer came"


@attrs.frozen(kw_only=True)
class Delivery:
    """One webhook call the fake made, or refused to make.

    It never holds the webhook's secret, which travels only in the body sent.

    Attributes:
        hook_id: The webhook's ``_id``.
        url: Its ``targetUrl``, where the activity was (or would have been) sent.
        event_type: The activity's ``type``, e.g. ``"emailsOpened"``.
        activity_id: The activity's ``_id``, as Get Many Activities lists it.
        status: The receiver's status, or ``None`` when no answer came.
        error: Why no answer came (a refused host, a connection error, a
            timeout, the fake closing), or ``None``.
    """

    hook_id: str
    url: str
    event_type: str
    activity_id: str
    status: int | None = None
    error: str | None = None


class Deliverer:
    """Sends each published activity to the matching webhooks, in background tasks.

    A webhook matches an activity when its ``type`` is unset or the
    activity's, its ``campaignId`` unset or the activity's, and, when its
    ``isFirst`` is true, the activity is the first of its type for its lead.
    """

    def __init__(self, account: Account, record: Callable[[Delivery], None]) -> None:
        self._account = account
        self._record = record
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self.running = False

    def publish(self, activity: Mapping[str, Any]) -> None:
        """Start a delivery of ``activity`` to each matching webhook; never waits."""
        for hook, secret in self._account.hook_targets():
            if not _matches(hook, activity):
                continue
            delivery = Delivery(
                hook_id=str(hook["_id"]),
                url=str(hook["targetUrl"]),
                event_type=str(activity.get("type", "")),
                activity_id=str(activity.get("_id", "")),
            )
            refusal = _refusal(delivery.url)
            if refusal is not None:
                self._record(attrs.evolve(delivery, error=refusal))
                continue
            if not self.running:
                self._record(attrs.evolve(delivery, error=NOT_RUNNING))
                continue
            body = dumps({**activity, "secret": secret} if secret else dict(activity))
            task = asyncio.get_running_loop().create_task(self._post(delivery, body))
            self._tasks.add(task)
            task.add_done_callback(functools.partial(self._done, delivery))

    async def settled(self) -> None:
        """Wait until no delivery is in flight (those started meanwhile included)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def close(self) -> None:
        """Stop delivering: cancel the deliveries in flight, wait for them, close the session."""
        self.running = False
        tasks = set(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _done(self, delivery: Delivery, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled():  # `close`, maybe before the task even started
            self._record(attrs.evolve(delivery, error=CANCELLED))

    async def _post(self, delivery: Delivery, body: bytes) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with self._session.post(
                delivery.url,
                data=body,
                headers={"Content-Type": "application/json"},
                timeout=aiohttp.ClientTimeout(total=DELIVERY_TIMEOUT),
                allow_redirects=False,
            ) as response:
                await response.read()
                outcome = attrs.evolve(delivery, status=response.status)
        except TimeoutError:
            outcome = attrs.evolve(delivery, error=f"timeout: no answer in {DELIVERY_TIMEOUT} s")
        except (aiohttp.ClientError, OSError) as exc:
            outcome = attrs.evolve(delivery, error=f"{type(exc).__name__}: {exc}")
        self._record(outcome)


def _matches(hook: Mapping[str, Any], activity: Mapping[str, Any]) -> bool:
    kind = hook.get("type")
    campaign_id = hook.get("campaignId")
    return (
        (kind is None or kind == activity.get("type"))
        and (campaign_id is None or campaign_id == activity.get("campaignId"))
        and (hook.get("isFirst") is not True or activity.get("isFirst") is True)
    )


def _refusal(url: str) -> str | None:
    """Why the fake will not call ``url``, or ``None`` for a loopback http(s) URL."""
    try:
        parsed = URL(url)
    except ValueError:
        return f"refused: {url!r} is not a URL"
    host = parsed.host
    if parsed.scheme not in ("http", "https") or not host:
        return f"refused: {url!r} is not an absolute http(s) URL"
    if host.lower() in _LOOPBACK_NAMES:
        return None
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        return (
            f"refused: {host} is not a loopback host"
            " (the fake only calls 127.0.0.0/8, ::1 and localhost)"
        )
    return None
