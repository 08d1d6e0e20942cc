"""What the SDK's async iterators that own tasks share: closing, and cancelling when dropped."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from types import TracebackType
from typing import Any, Self

__all__ = ["TaskOwner"]


class TaskOwner:
    """An object that runs tasks on behalf of its reader (a fan-out, a pager).

    ``async with`` it, or ``await aclose()``, cancels the tasks in flight and waits
    until they have unwound. Dropped without closing (a loop left with ``break``),
    it cancels them from ``__del__``, so that no request outlives its reader.
    Subclasses say which tasks they own (``_tasks``) and forget them (``_forget``).
    """

    _closed: bool = False

    def _tasks(self) -> Collection[asyncio.Task[Any]]:
        raise NotImplementedError

    def _forget(self) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        """Cancel the tasks in flight and wait until they have unwound."""
        self._closed = True
        tasks = list(self._tasks())
        self._forget()
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
        try:
            tasks = self._tasks()
        except AttributeError:  # __init__ refused its arguments: nothing was started.
            return
        for task in tasks:
            if not task.done() and not task.get_loop().is_closed():
                task.cancel()
