"""stderr: error lines, log records, and the progress line drawn over them.

The progress line is hand-written (``Console.status`` and ``ProgressLine``, a
few dozen lines) rather than taken from a progress-bar library: one line of
status does not justify a dependency. Commands draw it only when stderr is a
terminal (and the records do not go to that same terminal).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from types import TracebackType
from typing import Final, Self, TextIO

from lemlist_async._ratelimit import WindowRateLimiter

from ._base import plural

__all__ = [
    "PROGRESS_INTERVAL",
    "Console",
    "CountLine",
    "ProgressLine",
    "rate_limit_waiting",
    "render_count",
    "render_progress",
]

#: Seconds between two redraws of the progress line: at most ~10 a second.
PROGRESS_INTERVAL: Final = 0.1


def render_progress(
    done: int, total: int | None, leads: int, elapsed: float, *, waiting: bool
) -> str:
    """The text of the progress line, e.g. ``37/200 campaigns, 9,120 leads, 4.1 s``.

    Counts have thousands separators, and nouns agree with them (``1/1 campaign,
    1 lead``), as everywhere the CLI prints a count (see ``plural``).

    Args:
        done: Campaigns finished, failed ones included.
        total: Campaigns in all, or None when unknown (shown as ``?``).
        leads: Leads received so far.
        elapsed: Seconds since the start.
        waiting: Whether requests are held back by the rate limit right now.
    """
    # The noun agrees with the total ("1/1 campaign"); unknown, it is plural.
    campaigns = "? campaigns" if total is None else plural(total, "campaign")
    text = f"{done:,}/{campaigns}, {plural(leads, 'lead')}, {elapsed:.1f} s"
    return text + ", waiting for the rate limit" if waiting else text


def render_count(count: int, noun: str, elapsed: float, *, waiting: bool) -> str:
    """The text of a count's progress line, e.g. ``1,234 activities, 4.1 s``.

    For a list read page by page, whose length is not known in advance; the
    count is written as ``plural`` writes it, and ``waiting`` as in
    ``render_progress``.
    """
    text = f"{plural(count, noun)}, {elapsed:.1f} s"
    return text + ", waiting for the rate limit" if waiting else text


def rate_limit_waiting(limiter: object, now: float) -> bool:
    """Whether a key's limiter holds requests back at loop time ``now``.

    True when requests queue for a slot or the key is paused after a 429. Only
    the SDK's ``WindowRateLimiter`` can tell; any other limiter reads as False.
    """
    if not isinstance(limiter, WindowRateLimiter):
        return False
    return bool(limiter._waiters) or limiter.paused_until() > now


class Console:
    """stderr, shared by permanent lines and one redrawable status line.

    A permanent line (an error, a log record) first wipes the status line, so
    the two never mix; the next redraw puts the status back below it. It is also
    a minimal text stream (``write``/``flush``) for ``logging.StreamHandler``.

    Once a write or a flush finds the stream closed by its reader
    (``BrokenPipeError``), the console goes silent instead of raising: nobody is
    left to read it, and the run (its output goes elsewhere) must not die of it.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._shown = 0  # width of the status line on screen; 0 when none
        self._closed = False

    def isatty(self) -> bool:
        """Whether the underlying stream is a terminal."""
        return self._stream.isatty()

    def write(self, text: str) -> int:
        """Write ``text`` below (in place of) the status line; returns ``len(text)``."""
        self.clear()
        self._put(text)
        return len(text)

    def flush(self) -> None:
        """Flush the underlying stream."""
        self._put("")

    def line(self, text: str) -> None:
        """Write a permanent line; newlines inside ``text`` become spaces."""
        self.write(" ".join(text.splitlines()) + "\n")

    def status(self, text: str) -> None:
        """Redraw the status line in place, cut to the terminal's width."""
        text = text[: self._width() - 1]
        # Spaces over what is left of a longer previous text; no ANSI codes needed.
        padded = text.ljust(self._shown)
        if self._put("\r" + padded):
            self._shown = max(len(padded), 1)

    def clear(self) -> None:
        """Wipe the status line, if one is shown."""
        if self._shown:
            self._put("\r" + " " * self._shown + "\r")
            self._shown = 0

    def _put(self, text: str) -> bool:
        # Write and flush; False once the reader is gone.
        if self._closed:
            return False
        try:
            if text:
                self._stream.write(text)
            self._stream.flush()
        except BrokenPipeError:
            self._closed = True
            return False
        return True

    def _width(self) -> int:
        try:
            columns = os.get_terminal_size(self._stream.fileno()).columns
        except (OSError, ValueError):  # not a terminal, or no file descriptor
            columns = 0
        # A fresh pseudo-terminal may report 0 columns.
        return columns if columns >= 20 else 80


class ProgressLine:
    """Redraws ``render_progress`` on a ``Console`` about 10 times a second.

    Use as ``with ProgressLine(...) as progress:`` inside a running loop and pass
    ``progress.on_progress`` to the fan-out; count leads in ``progress.leads``.
    The line is wiped on exit, also on an error or a cancellation. A timer
    callback, not a task, so that stopping it needs no cancellation to await.
    """

    def __init__(
        self,
        console: Console,
        limiter: Callable[[], object],
        *,
        total: int | None = None,
        enabled: bool = True,
    ) -> None:
        self.done = 0
        self.total = total
        self.leads = 0
        self._console = console
        self._limiter = limiter
        self._enabled = enabled
        self._loop = asyncio.get_running_loop()
        self._start = self._loop.time()
        self._timer: asyncio.TimerHandle | None = None

    def on_progress(self, done: int, total: int | None) -> None:
        """The fan-out's ``on_progress`` hook: record, and let the timer draw."""
        self.done, self.total = done, total

    def _text(self, elapsed: float, *, waiting: bool) -> str:
        """The line to draw; a subclass draws its own."""
        return render_progress(self.done, self.total, self.leads, elapsed, waiting=waiting)

    def _draw(self) -> None:
        now = self._loop.time()
        waiting = rate_limit_waiting(self._limiter(), now)
        self._console.status(self._text(now - self._start, waiting=waiting))
        self._timer = self._loop.call_later(PROGRESS_INTERVAL, self._draw)

    def __enter__(self) -> Self:
        if self._enabled:
            self._draw()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._console.clear()


class CountLine(ProgressLine):
    """A ``ProgressLine`` that counts one kind of record: ``render_count``'s text.

    Use as ``with CountLine(console, limiter, noun="activity") as progress:``
    inside a running loop, and keep ``progress.count`` up to date; drawn,
    redrawn and wiped as ``ProgressLine`` is.
    """

    def __init__(
        self,
        console: Console,
        limiter: Callable[[], object],
        *,
        noun: str,
        enabled: bool = True,
    ) -> None:
        super().__init__(console, limiter, enabled=enabled)
        self.count = 0
        self._noun = noun

    def _text(self, elapsed: float, *, waiting: bool) -> str:
        return render_count(self.count, self._noun, elapsed, waiting=waiting)
