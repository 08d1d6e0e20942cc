"""Activity windows: the pure rules that make reading lemlist's activity feed incremental.

Get Many Activities filters on ``createdAt`` with ``minDate`` and ``maxDate``
(both inclusive) and pages by offset, newest first.
https://developer.lemlist.com/api-reference/endpoints/activities/get-many-activities

A run reads ``[lower, upper]``: from the last run's watermark minus an overlap
(activities lemlist records late still arrive; rows are deduplicated by ``_id``)
up to a moment pinned in the past. It splits that span into windows that share
their boundaries. A window's ``maxDate`` lies in the past, so its set of
activities is frozen and offsets inside it are stable: a saved offset resumes
it. A window whose first page shows it holds many pages is replaced by
narrower ones that cover it whole (reading its first page again, never
guessing which activities it held), so that several windows are in flight and
none lasts much longer than the others. The watermark moves only to the end
of the windows finished whole from the start of the span.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Sequence

import attrs

__all__ = ["Window", "frontier", "plan", "split"]

_MS = dt.timedelta(milliseconds=1)


def to_ms(moment: dt.datetime) -> dt.datetime:
    """``moment`` in UTC, truncated to the millisecond (lemlist's dates' resolution)."""
    moment = moment.astimezone(dt.UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


@attrs.frozen(order=True)
class Window:
    """``[start, end]`` of the activity feed, both inclusive, and how far it was read.

    Attributes:
        start: ``minDate``.
        end: ``maxDate``, after ``start``.
        offset: The offset of the next page to read.
        done: Every page was read.
    """

    start: dt.datetime
    end: dt.datetime
    offset: int = 0
    done: bool = False

    @property
    def scope(self) -> str:
        """The window's name in the sync's state."""
        return f"{iso(self.start)}/{iso(self.end)}"

    def state(self) -> str:
        return json.dumps({"done": True} if self.done else {"offset": self.offset})

    @classmethod
    def from_state(cls, scope: str, state: str) -> Window:
        start, end = scope.split("/")
        value = json.loads(state)
        return cls(
            parse_iso(start),
            parse_iso(end),
            offset=int(value.get("offset", 0)),
            done=bool(value.get("done", False)),
        )


def plan(lower: dt.datetime, upper: dt.datetime, width: dt.timedelta) -> list[Window]:
    """Windows of at most ``width`` from ``lower`` to ``upper``, sharing boundaries.

    Empty when ``upper`` is not after ``lower`` (there is nothing to read).
    """
    lower, upper = to_ms(lower), to_ms(upper)
    width = max(width, _MS)
    windows = []
    start = lower
    while start < upper:
        end = min(start + width, upper)
        windows.append(Window(start, end))
        start = end
    return windows


def split(
    window: Window,
    first_page: Sequence[dt.datetime | None],
    page_size: int,
    *,
    above: int,
    target: int,
    most: int,
    narrowest: dt.timedelta,
) -> list[Window] | None:
    """Narrower windows covering ``window``, when its first page shows it is long.

    The first page holds the newest ``page_size`` activities; the time they
    span gives the window's density, and so its estimated number of pages.

    Args:
        window: A window whose first page was just read.
        first_page: The ``createdAt`` of that page's activities.
        page_size: The page size asked for.
        above: Split only when more pages than this are expected.
        target: Pages expected per piece.
        most: Most pieces.
        narrowest: No piece narrower than this; a window narrower than two of
            them is never split.

    Returns:
        The pieces, oldest first, or None to keep walking ``window`` by offset.
    """
    dates = [d for d in first_page if d is not None]
    width = window.end - window.start
    if window.offset or len(first_page) < page_size or not dates or width < 2 * narrowest:
        return None
    spanned = max(window.end - min(dates), _MS)
    pages = width / spanned
    if pages <= above:
        return None
    count = min(most, math.ceil(pages / target), int(width / narrowest))
    if count < 2:
        return None
    step = to_ms(window.start + width / count) - window.start
    step = max(step, _MS)
    pieces = []
    start = window.start
    for _ in range(count - 1):
        pieces.append(Window(start, start + step))
        start += step
    pieces.append(Window(start, window.end))
    return pieces


def frontier(windows: Iterable[Window]) -> dt.datetime | None:
    """The end of the windows finished whole from the first one on, or None if it is not."""
    reached = None
    for window in sorted(windows):
        if not window.done:
            break
        reached = window.end
    return reached
