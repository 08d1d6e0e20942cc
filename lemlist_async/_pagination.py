"""One pager for every paginated list: pure page rules, and ``Pager`` that walks them.

lemlist paginates in eight ways (offset and limit, a page number, an envelope's
``nextPage``, ...). Each paginated operation declares its rule as a small pure
object: which query asks for the first page, where a page's items and total are
in its body, which query asks for the next one. ``Pager`` walks any rule; every
page is one request through the pipeline, so through the rate limiter.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Generic, Protocol, Self, TypeVar

import attrs

from ._tasks import TaskOwner

__all__ = ["OffsetPages", "Page", "PageRule", "Pager", "PinnedOffsetPages"]

T = TypeVar("T")


@attrs.frozen
class Page(Generic[T]):
    """One page of a list.

    Attributes:
        items: The page's items, in the server's order.
        offset: How many items came before this page.
        total: How many items the whole list holds, when the server says.
    """

    items: list[T]
    offset: int
    total: int | None = None


class PageRule(Protocol):
    """How one operation pages. Pure: no I/O, tested without a server."""

    def first(self, query: Mapping[str, str]) -> dict[str, str]:
        """The query of the first page."""
        ...

    def split(self, payload: Any) -> tuple[Any, int | None]:
        """The raw items of a page's JSON body, and the list's total if it says.

        Raises:
            ValueError: The body is not a page of this list.
        """
        ...

    def offset(self, query: Mapping[str, str]) -> int:
        """How many items come before the page ``query`` asks for."""
        ...

    def after(
        self, query: Mapping[str, str], got: int, total: int | None
    ) -> dict[str, str] | None:
        """The query of the page after the one ``query`` asked for, or None at the end.

        Args:
            query: The query of the page just read.
            got: How many items it held.
            total: The list's total, when the server said.
        """
        ...


@attrs.frozen
class OffsetPages:
    """``offset`` and ``limit`` paging: a short page, or the total reached, is the end.

    Accepts a body that is the array itself or an envelope holding it
    (``{"campaigns": [...], "pagination": {"totalRecords": ...}}``).

    Attributes:
        limit: Items asked for per page.
        items_key: The envelope's member that holds the items.
        total_path: Where the envelope gives the list's total.
        start: The offset of the first page (a walk resumed from a saved offset).
    """

    limit: int
    items_key: str | None = None
    total_path: tuple[str, ...] = ()
    start: int = attrs.field(default=0, kw_only=True)

    def first(self, query: Mapping[str, str]) -> dict[str, str]:
        return {**query, "offset": str(self.start), "limit": str(self.limit)}

    def split(self, payload: Any) -> tuple[Any, int | None]:
        if isinstance(payload, list):
            return payload, None
        if self.items_key is None or not isinstance(payload, dict):
            raise ValueError(f"expected a JSON array, got {type(payload).__name__}")
        if self.items_key not in payload:
            raise ValueError(f"expected an array or an object with {self.items_key!r}")
        node: Any = payload
        for key in self.total_path:
            node = node.get(key) if isinstance(node, dict) else None
        total = node if type(node) is int and node >= 0 else None
        return payload[self.items_key], total

    def offset(self, query: Mapping[str, str]) -> int:
        return int(query["offset"])

    def after(
        self, query: Mapping[str, str], got: int, total: int | None
    ) -> dict[str, str] | None:
        offset = int(query["offset"]) + got
        if got < self.limit or (total is not None and offset >= total):
            return None
        return {**query, "offset": str(offset)}

    def remaining(self, query: Mapping[str, str], total: int) -> list[dict[str, str]]:
        """The queries of every page after the first, once the total is known."""
        start = int(query["offset"]) + self.limit
        return [{**query, "offset": str(o)} for o in range(start, total, self.limit)]


@attrs.frozen
class PinnedOffsetPages(OffsetPages):
    """Offset paging over a list that grows at its head while it is walked.

    lemlist's activities come newest first: one created during a walk would
    shift every later offset by one, and an item would come twice. So the first
    request pins an upper bound on the items' date (``pin``, e.g. ``maxDate``) to
    the moment of the walk's start, unless the caller gave one, and every page
    carries it. Should items still shift, ``drop_repeats`` tells the pager to
    drop an item whose ``id`` was on the page before.

    Attributes:
        pin: The query parameter that bounds the items' date.
        clock: The current time, aware (tests pass a fixed one).
    """

    pin: str = "maxDate"
    clock: Callable[[], dt.datetime] = attrs.field(default=lambda: dt.datetime.now(dt.UTC))
    drop_repeats: bool = True

    def first(self, query: Mapping[str, str]) -> dict[str, str]:
        first = super().first(query)
        if self.pin not in first:
            now = self.clock().astimezone(dt.UTC).isoformat(timespec="milliseconds")
            first[self.pin] = now.replace("+00:00", "Z")
        return first


#: Sends the request of one page and returns it decoded.
FetchPage = Callable[[Mapping[str, str]], Awaitable[Page[T]]]


class Pager(Generic[T]):
    """Every item of a paginated list, fetched page by page as it is read.

    ``async for item in pager`` yields every item across pages, in the server's
    order; ``await pager.collect()`` returns them as a list; ``pager.pages()``
    yields the pages with their offset and total. Nothing is sent before the
    first item or page is asked for, and each page is a request through the
    client's rate limiter.

    With ``prefetch`` above 1 and a first page that tells the list's total, the
    next pages are requested up to ``prefetch`` at a time, still in order for
    the reader. Leaving the loop early sends no page that was not already in
    flight: those queued are cancelled (a pager kept in a variable is stopped by
    ``async with`` or ``await pager.aclose()``).
    """

    def __init__(
        self,
        fetch: FetchPage[T],
        rule: PageRule,
        query: Mapping[str, str],
        *,
        prefetch: int = 1,
    ) -> None:
        self._fetch = fetch
        self._rule = rule
        self._query = dict(query)
        self._prefetch = prefetch
        self._iterator: _PageIterator[T] | None = None
        self._items: deque[T] = deque()

    def __repr__(self) -> str:
        return f"<Pager {type(self._rule).__name__} query={self._query!r}>"

    async def first_page(self) -> Page[T]:
        """Fetch only the first page."""
        return await self._fetch(self._rule.first(self._query))

    def pages(self) -> _PageIterator[T]:
        """An async iterator of the pages, each with its offset and total."""
        return _PageIterator(self._fetch, self._rule, self._query, self._prefetch)

    async def collect(self) -> list[T]:
        """Every item of the list, as one list."""
        items: list[T] = []
        async with self.pages() as pages:
            async for page in pages:
                items.extend(page.items)
        return items

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> T:
        while not self._items:
            if self._iterator is None:
                self._iterator = self.pages()
            page = await anext(self._iterator)
            self._items.extend(page.items)
        return self._items.popleft()

    async def aclose(self) -> None:
        """Stop: cancel the page requests in flight and wait until they have unwound."""
        if self._iterator is not None:
            await self._iterator.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class _PageIterator(TaskOwner, Generic[T]):
    """The pages of one walk, in order, fetching up to ``prefetch`` ahead."""

    def __init__(
        self, fetch: FetchPage[T], rule: PageRule, query: Mapping[str, str], prefetch: int
    ) -> None:
        self._fetch = fetch
        self._rule = rule
        self._prefetch = prefetch
        # Queries known but not yet sent, in order: the first page's, then the
        # rest once a page tells them.
        self._todo: deque[dict[str, str]] = deque([rule.first(query)])
        # Page requests in flight, with their queries, in the order read.
        self._ahead: deque[tuple[dict[str, str], asyncio.Task[Page[T]]]] = deque()
        self._planned = False
        # Ids of the page before, when the rule asks for repeats to be dropped.
        drop = getattr(rule, "drop_repeats", False)
        self._previous: set[object] | None = set() if drop else None
        self._closed = False

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Page[T]:
        if self._closed:
            raise StopAsyncIteration
        self._fill()
        if not self._ahead:
            raise StopAsyncIteration
        query, task = self._ahead[0]
        done = False
        try:
            page = await task
            done = True
        finally:
            if not done:  # Failed or cancelled: nothing may keep running.
                await self.aclose()
        self._ahead.popleft()
        self._plan(query, page)  # From the page as the server sent it.
        return self._without_repeats(page)

    def _without_repeats(self, page: Page[T]) -> Page[T]:
        previous = self._previous
        if previous is None:
            return page
        kept = [item for item in page.items if getattr(item, "id", None) not in previous]
        self._previous = {getattr(item, "id", None) for item in page.items}
        return page if len(kept) == len(page.items) else attrs.evolve(page, items=kept)

    def _plan(self, query: dict[str, str], page: Page[T]) -> None:
        """Learn the following queries from the page just read."""
        if self._planned:
            return  # Every page was planned from the total.
        remaining = getattr(self._rule, "remaining", None)
        if self._prefetch > 1 and page.total is not None and remaining is not None:
            self._todo.extend(remaining(query, page.total))
            self._planned = True
            return
        following = self._rule.after(query, len(page.items), page.total)
        if following is not None:
            self._todo.append(following)

    def _fill(self) -> None:
        loop = asyncio.get_running_loop()
        while self._todo and len(self._ahead) < max(1, self._prefetch):
            query = self._todo.popleft()
            self._ahead.append((query, loop.create_task(_fetch_page(self._fetch, query))))

    def _tasks(self) -> list[asyncio.Task[Page[T]]]:
        return [task for _, task in self._ahead]

    def _forget(self) -> None:
        self._ahead.clear()
        self._todo.clear()


async def _fetch_page(fetch: FetchPage[T], query: dict[str, str]) -> Page[T]:
    return await fetch(query)
