"""``client.unsubscribes``: what lemlist must not contact, page by page.

https://developer.lemlist.com/api-reference/endpoints/unsubscribes
The legacy ``/unsubscribes`` routes are deprecated by lemlist and not used.
"""

from __future__ import annotations

import builtins

from lemlist_async._constants import UNSUBSCRIBES_PAGE_MAX
from lemlist_async._models import Unsubscribe
from lemlist_async._pagination import OffsetPages, Pager
from lemlist_async._params import check_range
from lemlist_async._request import Request

from ._base import Resource

__all__ = ["Unsubscribes"]


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
