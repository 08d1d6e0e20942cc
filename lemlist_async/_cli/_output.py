"""Output: records as JSON Lines or CSV, to stdout or atomically to ``--output FILE``.

``--output FILE`` appears only when the run succeeded: records go to a
temporary file in the same directory, renamed over ``FILE`` at the end. On a
failure or an interruption, ``FILE`` is left as it was and the records already
fetched are kept in ``FILE.partial`` (said on stderr), so nothing is lost and
nothing half-written claims success. ``RecordSink`` does all of this for a
command; ``AtomicOutput`` is the file underneath.

JSON Lines and CSV are UTF-8, whatever the locale; a lone surrogate (which JSON
may carry, and which UTF-8 cannot) is written escaped, so output never fails on one.
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
import sys
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Final, Self, TextIO

from lemlist_async._converter import converter

from ._base import PROG, SURROGATE, UsageError, error_reason, plural
from ._console import Console

__all__ = [
    "PARTIAL_SUFFIX",
    "AtomicOutput",
    "RecordSink",
    "cells",
    "escape_surrogates",
    "jsonl_line",
    "record_writer",
    "wire_record",
]

#: Suffix of the file that keeps the records of a run that did not succeed.
PARTIAL_SUFFIX: Final = ".partial"


def escape_surrogates(text: str) -> str:
    """``text`` with each surrogate code point written as ``\\uXXXX`` (6 characters).

    A lone surrogate is what JSON's ``"\\udcff"`` escape and a surrogateescape
    read of bytes that are not UTF-8 both produce; a UTF-8 stream refuses to
    write it. The result always encodes, and other text is left as it is.
    """
    return SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def jsonl_line(record: Mapping[str, Any]) -> str:
    """A record as one line of JSON Lines (compact, UTF-8 text, no newline).

    Characters are written as themselves (``é``, not ``\\u00e9``), except lone
    surrogates: they are escaped as ``json.dumps(..., ensure_ascii=True)`` does,
    which is valid JSON, encodes as UTF-8, and reads back as the same string.
    """
    line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    # Only inside string literals can json.dumps have written a surrogate, so
    # its JSON escape is the exact equivalent.
    return escape_surrogates(line)


def wire_record(model: object, first: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A model as lemlist sent it (``converter.unstructure``: wire names), for output.

    Members come in the order: ``first``'s, then the model's declared members,
    then its ``extra`` ones (members the SDK does not declare, such as a
    campaign's custom variables). A member of the model named like one of
    ``first`` never overrides it. Absent optional members are left out.
    """
    wire: dict[str, Any] = converter.unstructure(model)
    extra: Mapping[str, Any] = getattr(model, "extra", {})
    record = dict(first or {})
    for name, value in wire.items():
        if name not in extra:
            record.setdefault(name, value)
    for name, value in wire.items():
        record.setdefault(name, value)
    return record


def cells(record: Mapping[str, Any], fields: Sequence[str]) -> list[str]:
    """A record's values in ``fields`` order, as CSV cells; other members are dropped.

    A member that is missing or None is an empty cell; a list (or tuple) is its
    items joined with ``;``; anything else is ``str(value)``. A lone surrogate
    becomes the 6 characters ``\\udcff`` (``backslashreplace`` style): CSV has
    no escape of its own, and a row must always be writable.
    """
    row: list[str] = []
    for name in fields:
        value = record.get(name)
        if value is None:
            text = ""
        elif isinstance(value, list | tuple):
            text = ";".join(str(item) for item in value)
        else:
            text = str(value)
        row.append(escape_surrogates(text))
    return row


def record_writer(
    output_format: str, stream: TextIO, fields: Sequence[str]
) -> Callable[[Mapping[str, Any]], None]:
    """A function that writes one record to ``stream``; CSV writes its header now.

    ``jsonl`` writes every member of the record; ``csv`` the ``fields`` only
    (see ``cells``), one row per record.
    """
    if output_format == "csv":
        # "\n", not the csv module's default "\r\n": output goes to pipes and Unix
        # tools; every CSV reader accepts it.
        rows = csv.writer(stream, lineterminator="\n")
        rows.writerow(fields)

        def write_csv(record: Mapping[str, Any]) -> None:
            rows.writerow(cells(record, fields))

        return write_csv

    def write_jsonl(record: Mapping[str, Any]) -> None:
        stream.write(jsonl_line(record) + "\n")

    return write_jsonl


class AtomicOutput:
    """A text file that takes ``path``'s place only when the run succeeded.

    Records go to a temporary file next to ``path`` (same directory, so the final
    rename is atomic). ``commit`` renames it over ``path``; ``keep_partial``
    renames it to ``path + ".partial"`` instead, leaving ``path`` untouched;
    ``discard`` deletes it. The file is created as by any program (permissions
    from the umask), not with a temporary file's private mode.

    Raises:
        UsageError: The temporary file cannot be created (no such directory, no
            permission), before anything is fetched.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        if os.path.isdir(path):
            raise UsageError(f"--output {path!r} is a directory; give a file name")
        directory, name = os.path.split(os.path.abspath(path))
        self._temp = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(self._temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except OSError as error:
            raise UsageError(f"cannot write --output {path!r}: {error_reason(error)}") from None
        # newline="": the csv module writes its own line endings.
        self.stream: TextIO = open(fd, "w", encoding="utf-8", newline="")  # noqa: SIM115

    def commit(self) -> None:
        """Flush to disk and move the file to ``path``."""
        self.stream.flush()
        os.fsync(self.stream.fileno())
        self.stream.close()
        os.replace(self._temp, self.path)

    def keep_partial(self) -> str:
        """Move the file to ``path + ".partial"`` and return that name."""
        self.stream.close()
        partial = self.path + PARTIAL_SUFFIX
        os.replace(self._temp, partial)
        return partial

    def discard(self) -> None:
        """Delete the file."""
        self.stream.close()
        os.unlink(self._temp)


class RecordSink:
    """Where a command's records go: stdout, or ``--output FILE`` through ``AtomicOutput``.

    ::

        with RecordSink(args.output, console, noun="lead") as sink:
            ...write to sink.stream, add to sink.count...
            sink.finish(succeeded=not failed)

    Created before any request, so that an unwritable path costs nothing. Stdout
    is switched to UTF-8 (JSON Lines is UTF-8 by definition, whatever the
    locale). ``finish`` flushes, and moves the file into place when the run
    succeeded. Leaving the block without that (a failure, an exception, Ctrl-C)
    keeps the records in ``FILE.partial`` and says so on stderr, or deletes the
    temporary file when no record was written; ``FILE`` is left as it was.

    Args:
        output: ``--output``'s value; None or ``-`` for stdout.
        console: Where the ``.partial`` message goes.
        noun: What a record is, in that message (``lead``, ``campaign``).
        kept: What follows the noun there: ``the 3 leads fetched are in ...``.

    Raises:
        UsageError: ``output`` is a directory, or cannot be created.
    """

    def __init__(
        self, output: str | None, console: Console, *, noun: str, kept: str = "fetched"
    ) -> None:
        self.to_stdout = output in (None, "-")
        if self.to_stdout and isinstance(sys.stdout, io.TextIOWrapper):
            sys.stdout.reconfigure(encoding="utf-8")
        self.file = None if output is None or self.to_stdout else AtomicOutput(output)
        self.stream: TextIO = sys.stdout if self.file is None else self.file.stream
        #: Records written so far; the caller counts them.
        self.count = 0
        self._console = console
        self._noun = noun
        self._kept = kept
        self._done = self.file is None

    def progress_wanted(self) -> bool:
        """Whether to draw a progress line: stderr is a terminal the records do not go to.

        With the records themselves on the terminal, a status line would be
        torn up by them.
        """
        return self._console.isatty() and not (self.to_stdout and sys.stdout.isatty())

    def where(self) -> str:
        """``, written to 'FILE'`` for a summary line; empty for stdout."""
        return "" if self.file is None else f", written to {self.file.path!r}"

    def finish(self, *, succeeded: bool) -> None:
        """Flush the records; when ``succeeded``, move the file into place."""
        self.stream.flush()
        if succeeded and self.file is not None:
            self.file.commit()
            self._done = True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Also on an exception or Ctrl-C: what was fetched is kept, never lost.
        if self._done or self.file is None:
            return
        self._done = True
        if not self.count:
            self.file.discard()
            return
        partial = self.file.keep_partial()
        verb = "is" if self.count == 1 else "are"
        self._console.line(
            f"{PROG}: {self.file.path!r} was not written; the "
            f"{plural(self.count, self._noun)} {self._kept} {verb} in {partial!r}"
        )
