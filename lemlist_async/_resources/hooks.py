"""``client.hooks``: the team's webhooks: list, create, delete.

https://developer.lemlist.com/api-reference/endpoints/webhooks
"""

from __future__ import annotations

import builtins
from typing import Any

from yarl import URL

from lemlist_async._models import ActivityType, Webhook
from lemlist_async._params import check_flag, check_text, path_segment
from lemlist_async._request import Body, Request
from lemlist_async._retry import RetryClass

from ._base import Resource

__all__ = ["Hooks"]

#: lemlist's 404 body for a webhook it does not have.
_NO_HOOK = "Webhook not found"


class Hooks(Resource):
    """Webhooks. Reached as ``client.hooks``."""

    async def list(self) -> builtins.list[Webhook]:
        """Every webhook of the team.

        ``GET /hooks``
        https://developer.lemlist.com/api-reference/endpoints/webhooks/get-many-webhooks

        Returns:
            The webhooks (their target URLs are kept out of ``repr``).

        Raises:
            LemlistError: As for every call.
        """
        return await self._send(
            Request[builtins.list[Webhook]](
                method="GET", path="/hooks", into=builtins.list[Webhook], sensitive=True
            )
        )

    async def create(
        self,
        target_url: str,
        *,
        type: str | ActivityType | None = None,
        campaign_id: str | None = None,
        is_first: bool | None = None,
        secret: str | None = None,
        reconcile: bool | None = None,
    ) -> Webhook:
        """Create a webhook: lemlist will POST each event of ``type`` to ``target_url``.

        ``POST /hooks`` (``campaignId`` and ``isFirst`` in the query)
        https://developer.lemlist.com/api-reference/endpoints/webhooks/add-webhook

        A create may duplicate (every event then arrives twice): after an
        attempt that may have been applied it is not sent again. With
        ``reconcile`` on, the hooks are listed instead, and one with the same
        target URL, type and campaign is returned; only when none is found is
        the create sent once more. lemlist never returns a secret, so a hook
        that already had the same target, type and campaign before the call is
        taken for this one: reconcile only for hooks your code alone creates.

        Args:
            target_url: An absolute ``http(s)`` URL that receives the events.
            type: The event type (``ActivityType``); None for every event.
            campaign_id: Only the events of this campaign.
            is_first: Only the first event of its type per lead.
            secret: A shared secret lemlist puts in every delivery's body (see
                ``lemlist_async.webhooks.parse_event``); never logged.
            reconcile: Look the hook up after an ambiguous attempt instead of
                raising; None takes the client's option (off by default).

        Returns:
            The webhook created (or, reconciled, the one found).

        Raises:
            ValueError, TypeError: A bad argument; nothing was sent.
            AmbiguousWriteError: The create may or may not have been applied,
                and ``reconcile`` was off (or every send it allows was ambiguous).
            BadRequestError: lemlist refused it; its words are in the error.
            LemlistError: Any other failure, as for every call.
        """
        url = _target(target_url)
        body: dict[str, Any] = {"targetUrl": url}
        if type is not None:
            body["type"] = check_text(type, "type")
        if secret is not None:
            body["secret"] = check_text(secret, "secret")
        query: dict[str, str] = {}
        if campaign_id is not None:
            query["campaignId"] = check_text(campaign_id, "campaign_id")
        if is_first is not None:
            query["isFirst"] = "true" if check_flag(is_first, "is_first") else "false"
        request = Request[Webhook](
            method="POST",
            path="/hooks",
            into=Webhook,
            query=query,
            json=body,
            retry=RetryClass.UNSAFE,
            sensitive=True,
        )

        async def find() -> Webhook | None:
            campaign = query.get("campaignId")
            for hook in reversed(await self.list()):
                if (hook.target_url, hook.type, hook.campaign_id) == (
                    url,
                    body.get("type"),
                    campaign,
                ):
                    return hook
            return None

        hook, _ = await self._create(
            request, reconcile=self._reconcile(reconcile, False), find=find
        )
        return hook

    async def delete(self, hook_id: str) -> None:
        """Delete a webhook.

        ``DELETE /hooks/{hookId}``
        https://developer.lemlist.com/api-reference/endpoints/webhooks/delete-webhook

        Retried like a read: a "Webhook not found" that follows an attempt which
        may have been applied means that attempt deleted it, and the call succeeds.

        Args:
            hook_id: The webhook's id.

        Raises:
            ValueError, TypeError: A bad id; nothing was sent.
            NotFoundError: No such webhook ("Webhook not found"), with no earlier attempt.
            LemlistError: Any other failure, as for every call.
        """
        segment = path_segment(hook_id, "hook_id")
        await self._send(
            Request[None](
                method="DELETE",
                path=f"/hooks/{segment}",
                body=Body.EMPTY,
                done_answers=((404, _NO_HOOK),),
            )
        )


def _target(target_url: object) -> str:
    """Check a webhook's target: an absolute http(s) URL with a host."""
    text = check_text(target_url, "target_url")
    try:
        url = URL(text)
    except ValueError:
        raise ValueError("target_url is not a valid URL") from None
    if url.scheme not in ("http", "https") or not url.host:
        # The URL itself may carry a token: it is not repeated here.
        raise ValueError("target_url must be an absolute http:// or https:// URL")
    return text
