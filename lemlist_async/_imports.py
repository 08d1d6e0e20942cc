"""Bulk lead import: the fan-out engine, fed leads, yielding one ``ImportResult`` each.

``client.leads.add_many`` builds a ``LeadImport``. Its inputs are read lazily:
first the campaign's emails (one export), then each lead, checked and given its
index; the creates run through the fan-out at the rate limit. Nothing is sent
for a lead whose email the campaign already has, or that an earlier lead of the
same input had, so an import run again on the same input after an interruption
adds only what is missing.
"""

from __future__ import annotations

from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Mapping,
)
from typing import Any

import attrs

from ._errors import AmbiguousWriteError, InvalidLeadError, LemlistError
from ._fanout import ProgressHook, _Stream
from ._models import ImportResult, ImportStatus, LeadDetails, NewLead

__all__ = ["LeadImport"]

LeadInput = NewLead | Mapping[str, Any]


@attrs.frozen(eq=False)
class _Entry:
    """One lead of the input, checked: the lead, or why it cannot be sent."""

    index: int
    email: str | None
    lead: NewLead | None = None
    error: InvalidLeadError | None = None
    duplicate: bool = False


def _entry(index: int, value: object, seen: set[str]) -> _Entry:
    try:
        lead = value if isinstance(value, NewLead) else NewLead.from_mapping(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        # The message names the problem only: NewLead never puts a value in it.
        raw = value.get("email") if isinstance(value, Mapping) else None
        email = raw if isinstance(raw, str) and raw else None
        return _Entry(index, email, error=InvalidLeadError(f"lead {index}: {exc}"))
    key = lead.email.casefold()
    duplicate = key in seen
    seen.add(key)
    return _Entry(index, lead.email, lead, duplicate=duplicate)


async def _entries(
    leads: Iterable[Any] | AsyncIterable[Any],
    present: Callable[[], Awaitable[set[str]]],
    state: dict[str, set[str]],
) -> AsyncIterator[_Entry]:
    # The campaign's emails come first: no create may start before they are known.
    state["present"] = await present()
    seen: set[str] = set()
    index = 0
    if isinstance(leads, AsyncIterable):
        async for value in leads:
            yield _entry(index, value, seen)
            index += 1
    else:
        for value in leads:
            yield _entry(index, value, seen)
            index += 1


def _failed(entry: _Entry, value: ImportResult | None, error: LemlistError | None) -> ImportResult:
    if value is not None:
        return value
    return ImportResult(
        index=entry.index, email=entry.email, status=ImportStatus.FAILED, error=error
    )


class LeadImport(_Stream[_Entry, ImportResult, ImportResult]):
    """The async iterator ``client.leads.add_many`` returns: an ``ImportResult`` per lead.

    Use it with ``async for``, inside ``async with`` (or ``await aclose()``) so
    that leaving early cancels the creates in flight and waits for them: a
    create cancelled after it was sent may still have been applied, and the
    next run on the same input finds it present.
    """

    def __init__(
        self,
        leads: Iterable[LeadInput] | AsyncIterable[LeadInput],
        *,
        present: Callable[[], Awaitable[set[str]]],
        create: Callable[[NewLead], Awaitable[tuple[LeadDetails, bool]]],
        concurrency: int,
        on_progress: ProgressHook | None,
    ) -> None:
        if isinstance(leads, str | bytes | Mapping) or not isinstance(
            leads, Iterable | AsyncIterable
        ):
            raise TypeError(f"leads must be an iterable of leads, not {type(leads).__name__}")
        state: dict[str, set[str]] = {}

        async def one(entry: _Entry) -> ImportResult:
            result = ImportResult(index=entry.index, email=entry.email, status=ImportStatus.FAILED)
            if entry.error is not None:
                return attrs.evolve(result, error=entry.error)
            if entry.duplicate:
                return attrs.evolve(result, status=ImportStatus.DUPLICATE)
            assert entry.lead is not None
            if entry.lead.email.casefold() in state["present"]:
                return attrs.evolve(result, status=ImportStatus.PRESENT)
            try:
                lead, reconciled = await create(entry.lead)
            except AmbiguousWriteError as error:
                return attrs.evolve(result, status=ImportStatus.AMBIGUOUS, error=error)
            except LemlistError as error:
                return attrs.evolve(result, error=error)
            return attrs.evolve(
                result, status=ImportStatus.CREATED, lead=lead, reconciled=reconciled
            )

        super().__init__(
            _entries(leads, present, state),
            one,
            concurrency=concurrency,
            on_progress=on_progress,
            item=_failed,
            dedupe=False,
        )
        if isinstance(leads, Collection):
            self._total = len(leads)
