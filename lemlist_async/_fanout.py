"""Fan-out: any per-input work over many inputs, streamed as each completes.

The inputs are read lazily and at most ``concurrency`` tasks are in flight, so
10,000 ids never become 10,000 tasks, and a consumer that is slow to ask for the
next item slows the work down. An input that fails is an item with its error,
not the end of the stream. The rate limiter, not this module, decides when each
request goes out. ``fan_out`` is the engine's public face; the leads of many
campaigns (``stream_campaign_leads``) are one use of it.
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
from typing import Any, Generic, Self, TypeVar

import attrs

from ._constants import FANOUT_CONCURRENCY, FANOUT_READ_BATCH
from ._errors import InvalidCampaignIdError, LemlistError
from ._models import Lead
from ._params import check_concurrency, path_segment
from ._tasks import TaskOwner

__all__ = [
    "CampaignLeads",
    "CampaignLeadsStream",
    "FanOut",
    "FanOutError",
    "Outcome",
    "ProgressHook",
    "campaign_leads_item",
    "fan_out",
    "refuse_campaign_id",
]

#: Called after each campaign completes, with how many are done and how many
#: there are in all (None while the ids come from an iterator of unknown length).
ProgressHook = Callable[[int, int | None], None]

K = TypeVar("K")
V = TypeVar("V")
I = TypeVar("I")  # noqa: E741 - the item type, beside K and V


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


@attrs.frozen
class Outcome(Generic[K, V]):
    """The outcome of one input of a fan-out.

    Attributes:
        input: The input, as read from the source.
        value: What the function returned, or None when ``error`` is set.
        error: The ``LemlistError`` it raised, or None.
    """

    input: K
    value: V | None = None
    error: LemlistError | None = None

    @property
    def ok(self) -> bool:
        """Whether the function returned a value."""
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


class _Stream(TaskOwner, AsyncIterator[I], Generic[K, V, I]):
    """The fan-out engine: inputs read lazily, ``fn`` run on each, items as they complete.

    Every public fan-out is this engine with the item it yields: ``FanOut``
    yields ``Outcome`` items, ``CampaignLeadsStream`` yields ``CampaignLeads``.
    """

    def __init__(
        self,
        inputs: Iterable[K] | AsyncIterable[K],
        fn: Callable[[K], Awaitable[V]],
        *,
        concurrency: int,
        on_progress: ProgressHook | None,
        item: Callable[[K, V | None, LemlistError | None], I],
        refuse: Callable[[object], LemlistError | None] | None = None,
        dedupe: bool = True,
    ) -> None:
        self._fn = fn
        self._concurrency = concurrency
        self._on_progress = on_progress
        self._item = item
        self._refuse = refuse
        self._dedupe = dedupe
        if isinstance(inputs, str | bytes):
            # A lone id would otherwise be fanned out one character at a time.
            raise TypeError("the inputs must be an iterable of inputs, not a single str")
        self._sync: Iterator[K] | None = None
        self._async: AsyncIterator[K] | None = None
        if isinstance(inputs, AsyncIterable):
            self._async = aiter(inputs)
            self._total: int | None = None
        else:
            self._total = self._count(inputs)
            self._sync = iter(inputs)
        self._exhausted = False
        self._seen: set[K] = set()
        self._pending: set[asyncio.Task[I]] = set()
        self._input_task: asyncio.Task[K] | None = None
        self._ready: deque[I] = deque()
        self._done = 0
        self._closed = False

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} done={self._done} total={self._total} "
            f"in_flight={len(self._pending)}>"
        )

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> I:
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

    async def _next(self) -> I:
        while not self._ready:
            if self._closed:
                # aclose() ran while this call waited: nothing more starts or comes.
                raise StopAsyncIteration
            self._fill()
            if self._ready:
                break
            waiting: set[asyncio.Task[Any]] = set(self._pending)
            if self._input_task is not None:
                waiting.add(self._input_task)
            if not waiting:
                if self._exhausted:
                    raise StopAsyncIteration
                # Only inputs already seen so far: let the loop run, then read on.
                await asyncio.sleep(0)
                continue
            # Wait for a task, or for the next input of an async source, whichever
            # comes first: a slow source never holds back finished work.
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if self._closed:
                raise StopAsyncIteration
            if self._input_task in done:
                input_task, self._input_task = self._input_task, None
                try:
                    self._accept(input_task.result())
                except StopAsyncIteration:
                    self._exhausted = True
            finished = done & self._pending
            self._pending -= finished
            # Several can finish together; the rest wait here, bounded by concurrency.
            self._ready.extend(task.result() for task in finished)
        return self._ready.popleft()

    def _fill(self) -> None:
        """Start tasks until ``concurrency`` are in flight or the inputs run out.

        Reads at most ``FANOUT_READ_BATCH`` inputs per call: a source of inputs
        already seen (``itertools.cycle``) starts nothing, and must not keep the
        loop from running everything else.
        """
        budget = FANOUT_READ_BATCH
        while not self._exhausted and len(self._pending) < self._concurrency:
            budget -= 1
            if budget < 0:
                return
            if self._async is not None:
                if self._input_task is None:
                    self._input_task = asyncio.create_task(_next_input(self._async))
                return
            assert self._sync is not None
            try:
                value = next(self._sync)
            except StopIteration:
                self._exhausted = True
                return
            if not self._accept(value):
                return

    def _accept(self, value: K) -> bool:
        """Start one task; False when the input became an error item instead."""
        if self._refuse is not None and (error := self._refuse(value)) is not None:
            self._ready.append(self._item(value, None, error))
            return False
        if self._dedupe:
            if value in self._seen:
                return True
            self._seen.add(value)
        # A plain function, not a method: a task must not keep the stream alive,
        # or a stream dropped with `break` would never be collected.
        self._pending.add(asyncio.create_task(_run_one(self._fn, self._item, value)))
        return True

    def _count(self, inputs: Iterable[K]) -> int | None:
        if not isinstance(inputs, Collection):
            return None
        refuse = self._refuse
        valid = [v for v in inputs if refuse is None or refuse(v) is None]
        distinct = len(set(valid)) if self._dedupe else len(valid)
        return distinct + len(inputs) - len(valid)

    def _tasks(self) -> set[asyncio.Task[Any]]:
        tasks: set[asyncio.Task[Any]] = set(self._pending)
        if self._input_task is not None:
            tasks.add(self._input_task)
        return tasks

    def _forget(self) -> None:
        self._pending, self._input_task = set(), None


class FanOut(_Stream[K, V, "Outcome[K, V]"]):
    """The async iterator ``fan_out`` returns: an ``Outcome`` per input, as each completes.

    Use it with ``async for``. An exception in the loop's body or cancelling the
    task cancels the work in flight, and so does ``break`` when nothing else
    refers to the stream. A stream kept in a variable runs its work in flight
    to its end unless it is closed: hold it in ``async with`` (or call
    ``await stream.aclose()``), which also waits for it to finish unwinding.
    """


class CampaignLeadsStream(_Stream[str, list[Lead], CampaignLeads]):
    """The async iterator ``LemlistClient.stream_campaign_leads`` returns.

    Use it with ``async for``. An exception in the loop's body or cancelling the
    task cancels the fetches in flight, and so does ``break`` when nothing else
    refers to the stream. A stream kept in a variable runs its fetches in flight
    to their end unless it is closed: hold it in ``async with`` (or call
    ``await stream.aclose()``), which also waits for them to finish unwinding.
    """


def fan_out(
    inputs: Iterable[K] | AsyncIterable[K],
    fn: Callable[[K], Awaitable[V]],
    *,
    concurrency: int = FANOUT_CONCURRENCY,
    on_progress: ProgressHook | None = None,
    dedupe: bool = True,
) -> FanOut[K, V]:
    """Run ``fn`` on every input, at most ``concurrency`` at once, yielding each as it completes.

    ::

        running = client.campaigns.list(status="running")
        async with fan_out(running, lambda c: client.campaigns.leads(c.id)) as stream:
            async for outcome in stream:
                print(outcome.input.name, outcome.value if outcome.ok else outcome.error)

    The inputs are read lazily, from any iterable or async iterable (a
    ``Pager`` is one), so memory stays bounded whatever their number. A
    ``LemlistError`` raised by ``fn`` is an item with its ``error`` set, never
    the end of the stream; any other exception is a bug and propagates. Every
    call of ``fn`` that sends requests goes through the client's rate limiter.

    Args:
        inputs: The inputs.
        fn: An async function of one input.
        concurrency: Calls of ``fn`` in flight at most; by default a little above
            what the rate limit can use.
        on_progress: Called as ``on_progress(done, total)`` after each input;
            ``total`` is None when ``inputs`` has no length.
        dedupe: Run ``fn`` once per distinct input (inputs must then be hashable).

    Returns:
        A ``FanOut``: an async iterator of ``Outcome`` items, in completion order.

    Raises:
        ValueError, TypeError: A bad ``concurrency``, or ``inputs`` given as one str.
    """
    return FanOut(
        inputs,
        fn,
        concurrency=check_concurrency(concurrency),
        on_progress=on_progress,
        item=Outcome,
        dedupe=dedupe,
    )


async def _next_input(source: AsyncIterator[K]) -> K:
    return await anext(source)


async def _run_one(
    fn: Callable[[K], Awaitable[V]],
    item: Callable[[K, V | None, LemlistError | None], I],
    value: K,
) -> I:
    try:
        result = await fn(value)
    except LemlistError as error:
        return item(value, None, error)
    return item(value, result, None)


def refuse_campaign_id(campaign_id: object) -> InvalidCampaignIdError | None:
    """The error of a campaign id that cannot be sent (the request's own rule), or None."""
    try:
        path_segment(campaign_id, "the id")
    except (TypeError, ValueError) as error:
        problem = str(error)
    else:
        return None
    return InvalidCampaignIdError(f"invalid campaign id {campaign_id!r}: {problem}")


def campaign_leads_item(
    campaign_id: object, leads: list[Lead] | None, error: LemlistError | None
) -> CampaignLeads:
    """The item of ``stream_campaign_leads`` for one campaign."""
    return CampaignLeads(str(campaign_id), leads, error)
