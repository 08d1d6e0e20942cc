"""``client.unsubscribes``: what lemlist must not contact: list, add, remove.

https://developer.lemlist.com/api-reference/endpoints/unsubscribes
The legacy ``/unsubscribes`` routes are deprecated by lemlist and not used.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Final

from lemlist_async._constants import UNSUBSCRIBES_BULK_MAX, UNSUBSCRIBES_PAGE_MAX
from lemlist_async._models import Unsubscribe
from lemlist_async._pagination import OffsetPages, Pager
from lemlist_async._params import check_range, check_text, path_segment
from lemlist_async._request import Body, Request

from ._base import Resource

__all__ = ["Unsubscribes"]

#: The re-subscribe's answer for a value that is not unsubscribed: after an
#: attempt that may have been applied, it means that attempt re-subscribed it.
_NOT_LISTED: Final = "Variable not found in unsubscribe list"
#: Where a value sits in a path, as errors and logs show it (it is personal data).
_VALUE_TEMPLATE: Final = "/v2/unsubscribes/variables/{value}"


class Unsubscribes(Resource):
    """Unsubscribed emails, domains, LinkedIn URLs, phones: ``client.unsubscribes``."""

    def list(self, *, page_size: int = UNSUBSCRIBES_PAGE_MAX) -> Pager[Unsubscribe]:
        """Every unsubscribed variable, page by page.

        ``GET /v2/unsubscribes/variables?offset=&limit=``
        https://developer.lemlist.com/api-reference/endpoints/unsubscribes/list-unsubscribed-variables

        Args:
            page_size: Entries per request, from 1 to 100.

        Returns:
            A ``Pager`` of ``Unsubscribe``; nothing is sent until it is read.

        Raises:
            ValueError, TypeError: A bad ``page_size``; raised here.
        """
        size = check_range(page_size, "page_size", 1, UNSUBSCRIBES_PAGE_MAX)
        request = Request[builtins.list[Unsubscribe]](
            method="GET",
            path="/v2/unsubscribes/variables",
            into=builtins.list[Unsubscribe],
        )
        return self._paginate(request, OffsetPages(size))

    async def add(self, value: str) -> Unsubscribe:
        """Unsubscribe one email, ``@domain``, LinkedIn URL or phone number.

        ``POST /v2/unsubscribes/variables/{value}``
        https://developer.lemlist.com/api-reference/endpoints/unsubscribes/unsubscribe-variable

        lemlist documents it as idempotent (a value already unsubscribed gives
        its existing record), so it is retried like a read, except its
        documented permanent 500 ("Failed to unsubscribe variable").

        Args:
            value: What to unsubscribe (kept out of errors and logs above DEBUG).

        Returns:
            The unsubscribed entry.

        Raises:
            ValueError, TypeError: A bad value; nothing was sent.
            ServerError: lemlist failed to unsubscribe it (500); not retried.
            LemlistError: Any other failure, as for every call.
        """
        segment = path_segment(value, "value")
        return await self._send(
            Request[Unsubscribe](
                method="POST",
                path=f"/v2/unsubscribes/variables/{segment}",
                into=Unsubscribe,
                never_retry=frozenset({500}),
                template=_VALUE_TEMPLATE,
            )
        )

    async def add_many(self, values: Iterable[str]) -> int:
        """Unsubscribe many values, ``UNSUBSCRIBES_BULK_MAX`` (10,000) per request.

        ``POST /v2/unsubscribes/variables``
        https://developer.lemlist.com/api-reference/endpoints/unsubscribes/bulk-unsubscribe-variables

        Unsubscribing is a set operation, so each request is retried like a
        read. The values are checked, and duplicates dropped, before the first
        request; the chunks are sent one after the other, so a failure leaves
        the earlier chunks applied and raises (sending all again is harmless).

        Args:
            values: Emails, ``@domains``, LinkedIn URLs or phone numbers.

        Returns:
            How many distinct values were sent.

        Raises:
            ValueError, TypeError: A bad value, or one str instead of many;
                nothing was sent.
            LemlistError: A chunk failed, as for every call.
        """
        if isinstance(values, str | bytes) or not isinstance(values, Iterable):
            raise TypeError(f"values must be an iterable of str, not {type(values).__name__}")
        distinct = list(dict.fromkeys(check_text(value, "each value") for value in values))
        for start in range(0, len(distinct), UNSUBSCRIBES_BULK_MAX):
            await self._send(
                Request[str](
                    method="POST",
                    path="/v2/unsubscribes/variables",
                    json={"values": distinct[start : start + UNSUBSCRIBES_BULK_MAX]},
                    body=Body.MESSAGE,
                )
            )
        return len(distinct)

    async def remove(self, value: str) -> None:
        """Re-subscribe a value: lemlist may contact it again.

        ``DELETE /v2/unsubscribes/variables/{value}``
        https://developer.lemlist.com/api-reference/endpoints/unsubscribes/re-subscribe-variable

        Retried like a read: a "Variable not found in unsubscribe list" that
        follows an attempt which may have been applied means that attempt
        re-subscribed it, and the call succeeds.

        Args:
            value: The unsubscribed value (kept out of errors and logs above DEBUG).

        Raises:
            ValueError, TypeError: A bad value; nothing was sent.
            BadRequestError: The value is not unsubscribed, with no earlier attempt.
            ConflictError: The value is protected (it came from the lead, or
                from an abuse report) and cannot be re-subscribed.
            LemlistError: Any other failure, as for every call.
        """
        segment = path_segment(value, "value")
        await self._send(
            Request[None](
                method="DELETE",
                path=f"/v2/unsubscribes/variables/{segment}",
                body=Body.EMPTY,
                template=_VALUE_TEMPLATE,
                done_answers=((400, _NOT_LISTED),),
            )
        )
