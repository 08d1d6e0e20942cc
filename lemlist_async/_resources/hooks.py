"""``client.hooks``: the team's webhooks.

https://developer.lemlist.com/api-reference/endpoints/webhooks
"""

from __future__ import annotations

import builtins

from lemlist_async._models import Webhook
from lemlist_async._request import Request

from ._base import Resource

__all__ = ["Hooks"]


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
