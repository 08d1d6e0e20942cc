"""``client.leads``: find a lead by email, or get one by email or id.

https://developer.lemlist.com/api-reference/endpoints/leads
"""

from __future__ import annotations

import builtins

from lemlist_async._errors import NotFoundError
from lemlist_async._models import LeadDetails, LeadInCampaign
from lemlist_async._params import check_text, path_segment
from lemlist_async._request import Request

from ._base import Resource

__all__ = ["Leads"]

#: lemlist's 404 body for an email it has no lead for: an empty answer, not an
#: error (any other 404, such as "No user found for this API key", still is).
_NO_LEAD = "Lead not found"


class Leads(Resource):
    """Leads, across campaigns. Reached as ``client.leads``."""

    async def find(self, email: str) -> builtins.list[LeadInCampaign]:
        """Every campaign a lead is in, by its email.

        ``GET /leads/{email}?version=v2``
        https://developer.lemlist.com/api-reference/endpoints/leads/get-lead-by-email

        Args:
            email: The lead's email, sent as one path segment (``+``, ``%``, ``/``
                and non-ASCII characters are encoded).

        Returns:
            One entry per campaign the lead is in; ``[]`` when lemlist has no lead
            with that email.

        Raises:
            ValueError, TypeError: A bad email; nothing was sent.
            NotFoundError: A 404 other than "Lead not found" (a key without a user).
            LemlistError: Any other failure, as for every call.
        """
        segment = path_segment(email, "email")
        request = Request[builtins.list[LeadInCampaign]](
            method="GET",
            path=f"/leads/{segment}",
            into=builtins.list[LeadInCampaign],
            query={"version": "v2"},
        )
        try:
            return await self._send(request)
        except NotFoundError as error:
            if error.body.strip() == _NO_LEAD:
                return []
            raise

    async def get(self, *, email: str | None = None, lead_id: str | None = None) -> LeadDetails:
        """One lead, by its email or its id (exactly one of the two).

        ``GET /leads?email=|id=&version=v2``
        https://developer.lemlist.com/api-reference/endpoints/leads/get-lead

        Args:
            email: The lead's email.
            lead_id: The lead's id (``lea_...``).

        Returns:
            The lead.

        Raises:
            ValueError, TypeError: Neither or both given, or a bad value; nothing was sent.
            NotFoundError: No such lead ("Lead not found").
            LemlistError: Any other failure, as for every call.
        """
        if (email is None) == (lead_id is None):
            raise ValueError("give exactly one of email= and lead_id=")
        query = {"version": "v2"}
        if email is not None:
            query["email"] = check_text(email, "email")
        else:
            query["id"] = check_text(lead_id, "lead_id")
        return await self._send(
            Request[LeadDetails](method="GET", path="/leads", into=LeadDetails, query=query)
        )
