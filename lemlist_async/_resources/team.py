"""``client.team``: the team, its credits and its senders.

https://developer.lemlist.com/api-reference/endpoints/team
"""

from __future__ import annotations

import builtins

from lemlist_async._models import CampaignStatus, Sender, Team, TeamCredits
from lemlist_async._params import check_text
from lemlist_async._request import Request

from ._base import Resource

__all__ = ["TeamResource"]


class TeamResource(Resource):
    """The team of the API key. Reached as ``client.team``."""

    async def get(self) -> Team:
        """The team, with its users.

        ``GET /team?version=v2``
        https://developer.lemlist.com/api-reference/endpoints/team/get-team

        The body may hold secrets (the Slack webhook's URL, an API key): they are
        never in a ``repr`` of the model, and never copied into an error.

        Returns:
            The team.

        Raises:
            LemlistError: As for every call.
        """
        return await self._send(
            Request[Team](
                method="GET", path="/team", into=Team, query={"version": "v2"}, sensitive=True
            )
        )

    async def credits(self) -> TeamCredits:
        """The team's enrichment credits.

        ``GET /team/credits``
        https://developer.lemlist.com/api-reference/endpoints/team/get-team-credits

        Raises:
            LemlistError: As for every call.
        """
        return await self._send(
            Request[TeamCredits](method="GET", path="/team/credits", into=TeamCredits)
        )

    async def senders(self, *, state: str | CampaignStatus | None = None) -> builtins.list[Sender]:
        """The team's senders, each with the campaigns it sends from.

        ``GET /team/senders``
        https://developer.lemlist.com/api-reference/endpoints/team/get-team-senders

        Args:
            state: Only campaigns in this status.

        Raises:
            ValueError, TypeError: A bad ``state``; nothing was sent.
            LemlistError: As for every call.
        """
        query = {} if state is None else {"state": check_text(state, "state")}
        return await self._send(
            Request[builtins.list[Sender]](
                method="GET", path="/team/senders", into=builtins.list[Sender], query=query
            )
        )
