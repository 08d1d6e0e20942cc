"""Fan-out: the leads of many campaigns, streamed as each completes.

The ids are read lazily and at most ``concurrency`` fetches are in flight, so
10,000 ids never become 10,000 tasks, and a consumer that is slow to ask for the
next item slows fetching down. A campaign that fails is an item with its error,
not the end of the stream. The rate limiter, not this module, decides when each
request goes out.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Iterator,
    Mapping,
)
from types import TracebackType
from typing import Any, Self

import attrs

from ._constants import FANOUT_READ_BATCH
from ._errors import InvalidCampaignIdError, LemlistError
from ._models import Lead
from ._params import path_segment

__all__ = ["CampaignLeads", "CampaignLeadsStream", "FanOutError", "ProgressHook"]

#: Called after each campaign completes, with how many are done and how many
#: there are in all (None while the ids come from an iterator of unknown length).
ProgressHook = Callable[[int, int | None], None]

Fetch = Callable[[str], Awaitable[list[Lead]]]


@attrs.frozen
class CampaignLeads:
    """The outcome of one campaign in a fan-out.

    Attributes:
        campaign_id: The campaign, as given.
        leads: Its leads, or None when ``error`` is set.
        error: Why it failed, or None.
    """

    campaign_id: str
    leads: list[Lead] | None = attrs.field(repr=lambda v: f"<{len(v)} leads>" if v else repr(v))
    error: LemlistError | None = None

    @property
    def ok(self) -> bool:
        """Whether the campaign's leads were fetched."""
        return self.error is None


class FanOutError(ExceptionGroup[LemlistError], LemlistError):
    """Some campaigns of ``get_leads_for_campaigns`` failed; the others did not.

    An ``ExceptionGroup`` of the per-campaign errors (``except*`` works), and a
    ``LemlistError``.

    Attributes:
        results: The leads of every campaign that succeeded, by id: nothing already
            fetched is lost.
        errors_by_campaign: The error of every campaign that failed, by id.
    """

    results: dict[str, list[Lead]]
    errors_by_campaign: dict[str, LemlistError]

    def __new__(
        cls,
        message: str,
        errors: Mapping[str, LemlistError],
        results: dict[str, list[Lead]],
    ) -> Self:
        self = super().__new__(cls, message, list(errors.values()))
        self.results = results
        self.errors_by_campaign = dict(errors)
        return self

    def __init__(
        self,
        message: str,
        errors: Mapping[str, LemlistError],
        results: dict[str, list[Lead]],
    ) -> None:
        super().__init__(message, list(errors.values()))

    def __reduce__(self) -> tuple[object, ...]:
        return (FanOutError, (self.message, self.errors_by_campaign, self.results))

    def derive(self, excs: Iterable[LemlistError]) -> FanOutError:  # type: ignore[override]
        # split() and subgroup() keep the results and the errors they keep.
        kept = {id(e) for e in excs}
        errors = {c: e for c, e in self.errors_by_campaign.items() if id(e) in kept}
        return FanOutError(self.message, errors, self.results)


class CampaignLeadsStream(AsyncIterator[CampaignLeads]):
    """The async iterator ``LemlistClient.stream_campaign_leads`` returns.

    Use it with ``async for``. An exception in the loop's body or cancelling the
    task cancels the fetches in flight, and so does ``break`` when nothing else
    refers to the stream. A stream kept in a variable runs its fetches in flight
    to their end unless it is closed: hold it in ``async with`` (or call
    ``await stream.aclose()``), which also waits for them to finish unwinding.
    """

    def __init__(
        self,
        campaign_ids: Iterable[str] | AsyncIterable[str],
        fetch: Fetch,
        *,
        concurrency: int,
        on_progress: ProgressHook | None = None,
    ) -> None:
        self._fetch = fetch
        self._concurrency = concurrency
        self._on_progress = on_progress
        if isinstance(campaign_ids, str | bytes):
            # A lone id would otherwise be fanned out one character at a time.
            raise TypeError("campaign_ids must be an iterable of ids, not a single str")
        self._sync: Iterator[str] | None = None
        self._async: AsyncIterator[str] | None = None
        if isinstance(campaign_ids, AsyncIterable):
            self._async = aiter(campaign_ids)
            self._total: int | None = None
        else:
            self._total = _distinct_count(campaign_ids)
            self._sync = iter(campaign_ids)
        self._exhausted = False
        self._seen: set[str] = set()
        self._pending: set[asyncio.Task[CampaignLeads]] = set()
        self._id_task: asyncio.Task[str] | None = None
        self._ready: deque[CampaignLeads] = deque()
        self._done = 0
        self._closed = False

    def __repr__(self) -> str:
        return (
            f"<CampaignLeadsStream done={self._done} total={self._total} "
            f"in_flight={len(self._pending)}>"
        )

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> CampaignLeads:
        if self._closed:
            raise StopAsyncIteration
        finished = False
        try:
            item = await self._next()
            finished = True
        finally:
            if not finished:
                # Exhausted, failed or cancelled: nothing may keep running.
                await self.aclose()
        self._done += 1
        if self._on_progress is not None:
            self._on_progress(self._done, self._total)
        return item

    async def _next(self) -> CampaignLeads:
        while not self._ready:
            if self._closed:
                # aclose() ran while this call waited: nothing more starts or comes.
                raise StopAsyncIteration
            self._fill()
            if self._ready:
                break
            waiting: set[asyncio.Task[Any]] = set(self._pending)
            if self._id_task is not None:
                waiting.add(self._id_task)
            if not waiting:
                if self._exhausted:
                    raise StopAsyncIteration
                # Only already-seen ids so far: let the loop run, then read on.
                await asyncio.sleep(0)
                continue
            # Wait for a fetch, or for the next id of an async source, whichever
            # comes first: a slow source never holds back finished campaigns.
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if self._closed:
                raise StopAsyncIteration
            if self._id_task in done:
                id_task, self._id_task = self._id_task, None
                try:
                    self._accept(id_task.result())
                except StopAsyncIteration:
                    self._exhausted = True
            finished = done & self._pending
            self._pending -= finished
            # Several can finish together; the rest wait here, bounded by concurrency.
            self._ready.extend(task.result() for task in finished)
        return self._ready.popleft()

    def _fill(self) -> None:
        """Start fetches until ``concurrency`` are in flight or the ids run out.

        Reads at most ``FANOUT_READ_BATCH`` ids per call: a source of ids already
        seen (``itertools.cycle``) starts nothing, and must not keep the loop
        from running everything else.
        """
        budget = FANOUT_READ_BATCH
        while not self._exhausted and len(self._pending) < self._concurrency:
            budget -= 1
            if budget < 0:
                return
            if self._async is not None:
                if self._id_task is None:
                    self._id_task = asyncio.create_task(_next_id(self._async))
                return
            assert self._sync is not None
            try:
                campaign_id = next(self._sync)
            except StopIteration:
                self._exhausted = True
                return
            if not self._accept(campaign_id):
                return

    def _accept(self, campaign_id: object) -> bool:
        """Start fetching one id; False when it became an error item instead."""
        problem = _id_problem(campaign_id)
        if problem is not None:
            error = InvalidCampaignIdError(f"invalid campaign id {campaign_id!r}: {problem}")
            self._ready.append(CampaignLeads(str(campaign_id), None, error))
            return False
        assert isinstance(campaign_id, str)
        if campaign_id not in self._seen:
            self._seen.add(campaign_id)
            # A plain function, not a method: a task must not keep the stream
            # alive, or a stream dropped with `break` would never be collected.
            self._pending.add(asyncio.create_task(_fetch_one(self._fetch, campaign_id)))
        return True

    def _tasks(self) -> set[asyncio.Task[Any]]:
        tasks: set[asyncio.Task[Any]] = set(self._pending)
        if self._id_task is not None:
            tasks.add(self._id_task)
        return tasks

    async def aclose(self) -> None:
        """Cancel the fetches in flight and wait until they have unwound."""
        self._closed = True
        tasks = self._tasks()
        self._pending, self._id_task = set(), None
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __del__(self) -> None:
        # A loop left with `break` drops the stream without closing it: cancel
        # what is in flight so that no request outlives its consumer.
        if "_pending" not in vars(self):  # __init__ refused its arguments.
            return
        for task in self._tasks():
            if not task.done() and not task.get_loop().is_closed():
                task.cancel()


async def _next_id(source: AsyncIterator[str]) -> str:
    return await anext(source)


async def _fetch_one(fetch: Fetch, campaign_id: str) -> CampaignLeads:
    try:
        leads = await fetch(campaign_id)
    except LemlistError as error:
        return CampaignLeads(campaign_id, None, error)
    return CampaignLeads(campaign_id, leads, None)


def _id_problem(campaign_id: object) -> str | None:
    """Why ``campaign_id`` cannot be sent, or None: the request's own rule."""
    try:
        path_segment(campaign_id, "the id")
    except (TypeError, ValueError) as error:
        return str(error)
    return None


def _distinct_count(campaign_ids: Iterable[str]) -> int | None:
    if not isinstance(campaign_ids, Collection):
        return None
    valid = [c for c in campaign_ids if _id_problem(c) is None]
    return len(set(valid)) + len(campaign_ids) - len(valid)
