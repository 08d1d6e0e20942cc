"""What every resource shares: the client that sends its requests."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp

from lemlist_async._pagination import Page, Pager, PageRule
from lemlist_async._request import Request

if TYPE_CHECKING:
    from lemlist_async._client import LemlistClient

__all__ = ["Resource"]

T = TypeVar("T")


class Resource:
    """A namespace of operations on the client (``client.campaigns``, ...).

    It holds no state of its own: every request goes through the client's
    pipeline, so through its one rate limiter, retry policy and session, with
    the client's per-call options (see ``LemlistClient.with_options``).
    """

    def __init__(self, client: LemlistClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._client!r}>"

    async def _send(self, request: Request[T]) -> T:
        return await self._client._send(request)

    def _stream(
        self, request: Request[Any]
    ) -> AbstractAsyncContextManager[aiohttp.ClientResponse]:
        return self._client._stream(request)

    def _paginate(
        self, request: Request[list[T]], rule: PageRule, *, prefetch: int = 1
    ) -> Pager[T]:
        async def fetch(query: Mapping[str, str]) -> Page[T]:
            page: Page[T] = await self._send(
                Request[Page[T]](
                    method=request.method,
                    path=request.path,
                    into=request.into,
                    query=query,
                    retry=request.retry,
                    page_rule=rule,
                )
            )
            return page

        return Pager(fetch, rule, request.query, prefetch=prefetch)
