"""What every resource shares: the client that sends its requests."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp

from lemlist_async._constants import RECONCILE_SENDS, RECONCILE_SETTLE
from lemlist_async._errors import AmbiguousWriteError, LemlistError
from lemlist_async._pagination import Page, Pager, PageRule
from lemlist_async._request import Request

if TYPE_CHECKING:
    from lemlist_async._client import LemlistClient

__all__ = ["Resource"]

T = TypeVar("T")

logger = logging.getLogger("lemlist_async")


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

    def _reconcile(self, value: bool | None, default: bool) -> bool:
        return self._client._reconcile(value, default)

    async def _send(self, request: Request[T]) -> T:
        return await self._client._send(request)

    async def _create(
        self, request: Request[T], *, reconcile: bool, find: Callable[[], Awaitable[T | None]]
    ) -> tuple[T, bool]:
        """Send a create that may duplicate; after an ambiguous attempt, reconcile.

        Without ``reconcile`` the ``AmbiguousWriteError`` propagates. With it,
        ``find`` looks for what the attempt may have made: found, it is the
        result; proven absent, the create is sent once more (``RECONCILE_SENDS``
        sends at most). A look-up that fails leaves the outcome unknown, so the
        ``AmbiguousWriteError`` propagates, with the look-up's failure as context.

        Returns:
            The result, and whether it was found by a look-up.
        """
        shown = f"{request.method} {request.template or request.path}"
        sends = 0
        while True:
            sends += 1
            try:
                return await self._send(request), False
            except AmbiguousWriteError as error:
                if not reconcile or sends >= RECONCILE_SENDS:
                    raise
                if error.status is None:
                    # No answer: lemlist may still be applying the attempt, and a
                    # look-up made too early would miss it, then create it twice.
                    await asyncio.sleep(RECONCILE_SETTLE)
                try:
                    found = await find()
                except LemlistError:
                    raise error  # noqa: B904 (the look-up's failure is the context)
                if found is not None:
                    logger.info("%s may have failed: found by a look-up, not sent again", shown)
                    return found, True
                logger.info("%s may have failed: a look-up found nothing, sent once more", shown)

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
