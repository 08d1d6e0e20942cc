"""``lemlist-async import``: leads from a CSV or JSON Lines file into a campaign.

The file is read lazily (``LeadRows``, a generator of mappings) and fed to
``client.leads.add_many``: the campaign's export is read once for the emails it
has, then one create per new lead goes out at the rate limit. Each lead's
outcome is counted on the progress line and, with ``--results FILE``, written
as one JSON line as soon as it is known.

A line of the file that cannot be a lead (not JSON, not an object, more CSV
cells than the header) is a ``FAILED`` result for that lead, not the end of the
run: it is fed to ``add_many`` as an empty mapping (which it reports as having
no email) and its error is replaced with one that says what was wrong with the
line. A file that stops being readable midway (not UTF-8, a broken CSV quote)
ends the input there: the creates in flight finish, then the run exits 1.

Personal data (emails, names, lemlist's words about a lead, which may quote
them) stays out of stderr unless ``--verbose``; the ``--results`` file, which
the user asked for, carries the emails.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import csv
import io
import json
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from typing import IO, Any, Final, TextIO

import attrs

from lemlist_async._constants import API_KEY_ENV_VAR, FANOUT_CONCURRENCY
from lemlist_async._errors import (
    AmbiguousWriteError,
    APIStatusError,
    AuthenticationError,
    InvalidLeadError,
    LemlistError,
)
from lemlist_async._models import ImportResult, ImportStatus
from lemlist_async._params import path_segment

from ._base import PROG, SURROGATE, UsageError, error_reason, exit_status, plural, register
from ._console import Console, ProgressLine
from ._inputs import read_api_key
from ._options import KEY_HELP, add_connection_options, bounded_int, make_client
from ._output import PARTIAL_SUFFIX, RecordSink, jsonl_line

__all__ = [
    "IMPORT_FORMATS",
    "ImportCommand",
    "LeadRows",
    "Tally",
    "input_format",
    "render_import",
    "result_record",
]

#: The formats of the input file, by the extensions that select them.
IMPORT_FORMATS: Final = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
#: Leads whose failure is told on stderr without ``--verbose``; the rest are
#: counted (and written to ``--results``), not listed.
SHOWN_FAILURES: Final = 10

logger = logging.getLogger("lemlist_async.cli")


def input_format(path: str, given: str | None) -> str:
    """The input's format: ``given`` (``--format``), else the file's extension.

    Raises:
        UsageError: Standard input (``-``) without ``--format``, or an extension
            that is neither ``.csv`` nor ``.jsonl`` (``.ndjson``) without it.
    """
    if given is not None:
        return given
    if path == "-":
        raise UsageError("reading the leads from stdin needs --format csv or --format jsonl")
    extension = os.path.splitext(path)[1].lower()
    if extension not in IMPORT_FORMATS:
        raise UsageError(
            f"cannot tell the format of {path!r} from its extension: name it .csv or "
            ".jsonl, or give --format csv or --format jsonl"
        )
    return IMPORT_FORMATS[extension]


class LeadRows:
    """The leads of an input file, read lazily: iterate it once, for ``add_many``.

    CSV has a header row; each later row is a mapping of the header's names
    (stripped of surrounding spaces) to its cells, blank rows skipped, a short
    row's missing cells left out. JSON Lines has one object per line, blank
    lines skipped; its numbers and booleans become their JSON text (``3``,
    ``true``), as a CSV cell would hold them. A row or line that cannot be a lead (not JSON, not an
    object, more cells than the header, bytes that are not UTF-8) is yielded as
    ``{}``, which ``add_many`` makes a ``FAILED`` lead, and its real problem is
    kept for ``explain``; nothing of its content is in that problem.

    Reading stops at an error of the file itself (a CSV field past the csv
    module's size limit, an I/O error): ``read_error`` then says why, and the
    leads before it are imported.

    Args:
        stream: The text, opened with ``newline=""`` and
            ``errors="surrogateescape"`` (bytes that are not UTF-8 then fail
            their own line only).
        fmt: ``csv`` or ``jsonl``.

    Raises:
        UsageError: A CSV file whose header cannot be read, is not UTF-8 text
            or has no ``email`` column; raised here, before any request.
    """

    def __init__(self, stream: TextIO, fmt: str) -> None:
        self._stream = stream
        #: Why the lead at an index was replaced by ``{}``; only such leads are here.
        self.problems: dict[int, str] = {}
        #: Why reading stopped early, or None.
        self.read_error: str | None = None
        #: The last line read (of the file, from 1).
        self.line = 0
        self._header: list[str] = []
        self._csv = csv.reader(stream) if fmt == "csv" else None
        if self._csv is not None:
            try:
                header = next(self._csv, None)
            except (csv.Error, OSError) as error:
                raise UsageError(f"cannot read the CSV header: {_reason(error)}") from None
            self.line = self._csv.line_num
            self._header = [name.strip() for name in header or ()]
            if any(SURROGATE.search(name) for name in self._header):
                raise UsageError("the CSV header is not UTF-8 text")
            if header is not None and "email" not in self._header:
                raise UsageError(
                    "the CSV header has no 'email' column (names are case-sensitive: "
                    "email, firstName or first_name, ...)"
                )

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        rows = self._csv_rows() if self._csv is not None else self._json_rows()
        try:
            yield from rows
        except (csv.Error, OSError) as error:
            self.read_error = _reason(error)

    def explain(self, result: ImportResult) -> ImportResult:
        """``result``, with the line's own problem as its error when it was not a lead."""
        problem = self.problems.pop(result.index, None)
        if problem is None:
            return result
        return attrs.evolve(result, error=InvalidLeadError(f"lead {result.index}: {problem}"))

    def _csv_rows(self) -> Iterator[Mapping[str, Any]]:
        assert self._csv is not None
        index = 0
        width = len(self._header)
        for row in self._csv:
            first, self.line = self.line + 1, self._csv.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > width:
                self.problems[index] = f"line {first} has more cells than the header"
            elif any(SURROGATE.search(cell) for cell in row):
                self.problems[index] = f"line {first} is not UTF-8 text"
            yield {} if index in self.problems else dict(zip(self._header, row, strict=False))
            index += 1

    def _json_rows(self) -> Iterator[Mapping[str, Any]]:
        index = 0
        for text in self._stream:
            self.line += 1
            if not text.strip():
                continue
            value: object = None
            if SURROGATE.search(text):
                self.problems[index] = f"line {self.line} is not UTF-8 text"
            else:
                try:
                    value = json.loads(text)
                except ValueError:
                    self.problems[index] = f"line {self.line} is not JSON"
                else:
                    if not isinstance(value, dict):
                        self.problems[index] = f"line {self.line} is not a JSON object"
                    elif any(_not_text(item) for pair in value.items() for item in pair):
                        # A "\udcff" escape: JSON can say it, no text can hold it.
                        self.problems[index] = f"line {self.line} is not valid text"
            if isinstance(value, dict) and index not in self.problems:
                yield {name: _as_text(item) for name, item in value.items()}
            else:
                yield {}
            index += 1


def _as_text(value: object) -> object:
    """A JSON number or boolean as its JSON text (``3``, ``2.5``, ``true``); else ``value``.

    lemlist keeps a lead's fields and custom variables as text, and a CSV
    cell is always text: a JSON Lines file sends the same. A list or an
    object is left as it is, for ``NewLead`` to refuse.
    """
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return value


def _not_text(value: object) -> bool:
    """Whether ``value`` is a str holding a lone surrogate, which UTF-8 cannot send."""
    return isinstance(value, str) and SURROGATE.search(value) is not None


def _reason(error: Exception) -> str:
    # csv.Error's words describe the format ("field larger than field limit"),
    # never a cell; an OSError's are cut to its reason.
    return str(error) if isinstance(error, csv.Error) else error_reason(error)


@attrs.define
class Tally:
    """The leads of an import so far, by status."""

    counts: collections.Counter[ImportStatus] = attrs.field(factory=collections.Counter)

    @property
    def total(self) -> int:
        """Every lead with a result."""
        return sum(self.counts.values())

    @property
    def problems(self) -> int:
        """The leads ``FAILED`` or ``AMBIGUOUS``: those that make the exit code 1."""
        return self.counts[ImportStatus.FAILED] + self.counts[ImportStatus.AMBIGUOUS]

    def summary(self) -> str:
        """``X created, Y already present, Z duplicates in the file, F failed, A ambiguous``."""
        count = self.counts
        duplicates = plural(count[ImportStatus.DUPLICATE], "duplicate")
        return (
            f"{count[ImportStatus.CREATED]:,} created, "
            f"{count[ImportStatus.PRESENT]:,} already present, "
            f"{duplicates} in the file, "
            f"{count[ImportStatus.FAILED]:,} failed, "
            f"{count[ImportStatus.AMBIGUOUS]:,} ambiguous"
        )


def render_import(tally: Tally, elapsed: float, *, waiting: bool) -> str:
    """The progress line of an import: ``12 leads: 9 created, 1 present, ..., 4.1 s``."""
    count = tally.counts
    text = (
        f"{plural(tally.total, 'lead')}: {count[ImportStatus.CREATED]:,} created, "
        f"{count[ImportStatus.PRESENT]:,} present, "
        f"{plural(count[ImportStatus.DUPLICATE], 'duplicate')}, "
        f"{count[ImportStatus.FAILED]:,} failed, "
        f"{count[ImportStatus.AMBIGUOUS]:,} ambiguous, {elapsed:.1f} s"
    )
    return text + ", waiting for the rate limit" if waiting else text


class _ImportLine(ProgressLine):
    """A ``ProgressLine`` that draws ``render_import`` of its ``tally``."""

    def __init__(self, console: Console, limiter: Any, tally: Tally, *, enabled: bool) -> None:
        super().__init__(console, limiter, enabled=enabled)
        self.tally = tally

    def _text(self, elapsed: float, *, waiting: bool) -> str:
        return render_import(self.tally, elapsed, waiting=waiting)


def result_record(result: ImportResult) -> dict[str, Any]:
    """One line of ``--results``: ``{"index", "email", "status", "leadId", "error"}``.

    ``error`` is ``"ClassName: message"``, or None; ``leadId`` is the lead's id
    for a ``CREATED`` lead, else None; ``email`` is None when the lead had
    none (an empty cell included).
    """
    error = result.error
    return {
        "index": result.index,
        "email": result.email or None,
        "status": result.status.value,
        "leadId": None if result.lead is None else result.lead.id,
        "error": None if error is None else f"{type(error).__name__}: {error}",
    }


def failure_line(result: ImportResult, *, verbose: bool) -> str:
    """The stderr line about a ``FAILED`` or ``AMBIGUOUS`` lead.

    ``lemlist-async: lead 3: failed: a lead needs an email``. Without
    ``verbose`` it holds only what cannot be personal data: the lead's index,
    its status, and the error's class (with lemlist's status code for an
    answer of lemlist, whose words may quote the lead); the messages of the
    SDK's own ``InvalidLeadError`` and ``AmbiguousWriteError``, which never
    quote a value, are shown whole. With ``verbose``, every error's message.
    """
    error = result.error
    head = f"{PROG}: lead {result.index}: {result.status.value}"
    if error is None:
        return head
    if isinstance(error, InvalidLeadError):
        return f"{head}: {str(error).removeprefix(f'lead {result.index}: ')}"
    if verbose or isinstance(error, AmbiguousWriteError):
        return f"{head}: {type(error).__name__}: {error}"
    status = f" {error.status}" if isinstance(error, APIStatusError) else ""
    return f"{head} ({type(error).__name__}{status})"


_EPILOG = f"""\
{KEY_HELP}

FILE is read as UTF-8 (a byte order mark is fine), lazily: leads.csv with a
header row, or leads.jsonl with one JSON object per line; --format says which
when the extension does not, and is needed for '-' (stdin). Columns or keys
named like lemlist's fields (email, firstName or first_name, lastName,
companyName, jobTitle, linkedinUrl, picture, phone, companyDomain, icebreaker,
timezone, contactOwner) fill them; every other one is a custom variable.
Empty values are left out; JSON numbers and booleans are sent as their text
(3, true). A lead needs an email.

The campaign's leads are read once first: a lead whose email the campaign has
is "present" and nothing is sent for it, so running the same file again after
an interruption creates only what is missing. Each lead's status: created,
present, duplicate (an earlier line has the email), failed, ambiguous (the
create may or may not have happened; look it up before sending it again).

--results FILE writes one JSON line per lead as its result comes:
  {{"index":0,"email":"...","status":"created","leadId":"lea_...","error":null}}
FILE appears when every line was read; a run stopped early (interrupted, key
refused) leaves it as it was and keeps the results in FILE{PARTIAL_SUFFIX}.

Exit code: 0 no lead failed or is ambiguous, 1 otherwise (or the campaign was
not found, the key refused, the file unreadable midway), 2 usage error.
Emails and names are never printed on stderr without --verbose.

examples:
  export {API_KEY_ENV_VAR}=...   # or: --key-file ~/.config/lemlist/key
  {PROG} import cam_A1B2C3D4E5F6G7H8I9 leads.csv --results results.jsonl
  {PROG} import cam_A1B2C3D4E5F6G7H8I9 leads.jsonl --deduplicate --rate-limit 10
  some-tool | {PROG} import cam_A1B2C3D4E5F6G7H8I9 - --format jsonl
"""


class ImportCommand:
    """``import CAMPAIGN_ID FILE [--format csv|jsonl] [--results FILE] ...``: see the module."""

    name = "import"
    help = "add the leads of a CSV or JSON Lines file to a campaign, once each"
    description = (
        "Create each lead of FILE in the campaign, at the rate limit, skipping those\n"
        "the campaign already has, and report what became of every one."
    )
    epilog = _EPILOG

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """CAMPAIGN_ID, FILE, --format, --deduplicate, --no-reconcile, --results, ..."""
        parser.add_argument("campaign_id", metavar="CAMPAIGN_ID", help="the campaign")
        parser.add_argument(
            "file", metavar="FILE", help="leads.csv or leads.jsonl; '-' reads stdin"
        )
        parser.add_argument(
            "--format",
            choices=("csv", "jsonl"),
            help="the format of FILE (default: from its extension; required for '-')",
        )
        parser.add_argument(
            "--deduplicate",
            action="store_true",
            help="let lemlist refuse a lead whose email is in another campaign",
        )
        parser.add_argument(
            "--no-reconcile",
            dest="reconcile",
            action="store_false",
            help="report a create that may have failed as ambiguous, instead of "
            "looking the lead up",
        )
        parser.add_argument(
            "--results",
            metavar="FILE",
            help="write one JSON line per lead (index, email, status, leadId, error); "
            "'-' for stdout",
        )
        add_connection_options(parser)
        parser.add_argument(
            "--concurrency",
            type=bounded_int(1),
            metavar="N",
            help=f"creates in flight at most (default: {FANOUT_CONCURRENCY}; the rate limit "
            "sets the pace)",
        )

    def run(self, args: argparse.Namespace, console: Console) -> int:
        """Check the arguments, open FILE, then import; 0, or 1 if any lead failed.

        Raises:
            UsageError: No key, a bad campaign id, FILE unreadable or of an
                unknown format, a CSV header without ``email``; before any request.
        """
        key = read_api_key(os.environ, args.key_file)
        campaign_id = args.campaign_id.strip()
        try:
            path_segment(campaign_id, "the campaign id")
        except (TypeError, ValueError) as error:
            problem = "not valid UTF-8 text" if SURROGATE.search(campaign_id) else error
            raise UsageError(f"campaign id {campaign_id!r}: {problem}") from None
        fmt = input_format(args.file, args.format)
        tally = Tally()
        with _open_input(args.file) as stream:
            rows = LeadRows(stream, fmt)
            sink = None
            if args.results:
                sink = RecordSink(args.results, console, noun="result", kept="so far")
            with sink or contextlib.nullcontext():
                try:
                    outcome = asyncio.run(
                        _import(args, campaign_id, key, rows, tally, sink, console)
                    )
                except KeyboardInterrupt:
                    if tally.total:
                        console.line(
                            f"{PROG}: interrupted after {plural(tally.total, 'lead')}: "
                            f"{tally.summary()}"
                        )
                    raise
        if outcome is None:  # the campaign could not be read: said already
            return exit_status(failed=1)
        complete = outcome is False and rows.read_error is None
        where = sink.where() if sink is not None and complete else ""
        console.line(
            f"{PROG}: imported {plural(tally.total, 'lead')} into {campaign_id}: "
            f"{tally.summary()}{where}"
        )
        if rows.read_error is not None:
            console.line(
                f"{PROG} import: error: stopped reading {_shown(args.file)} after line "
                f"{rows.line:,}: {rows.read_error}; the leads after it were not imported"
            )
        return exit_status(failed=tally.problems + (not complete))


def _shown(path: str) -> str:
    return "stdin" if path == "-" else repr(path)


@contextlib.contextmanager
def _open_input(path: str) -> Iterator[TextIO]:
    """FILE (or stdin for ``-``) as UTF-8 text, less a BOM, as ``LeadRows`` reads it.

    Raises:
        UsageError: FILE cannot be opened (the reason only, not the OS's message).
    """
    if path == "-":
        binary: IO[bytes] = sys.stdin.buffer
        text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="")
        try:
            yield text
        finally:
            text.detach()  # stdin's buffer stays open, as it was found
        return
    try:
        stream = open(  # noqa: SIM115
            path, encoding="utf-8-sig", errors="surrogateescape", newline=""
        )
    except OSError as error:
        raise UsageError(f"cannot read {path!r}: {error_reason(error)}") from None
    with stream:
        yield stream


async def _import(
    args: argparse.Namespace,
    campaign_id: str,
    key: str,
    rows: LeadRows,
    tally: Tally,
    sink: RecordSink | None,
    console: Console,
) -> bool | None:
    """Import ``rows``, counting into ``tally`` and writing results to ``sink``.

    Returns:
        None when the campaign could not be read (nothing was sent; the error
        was printed), else whether the run stopped before the end of the input
        (lemlist refused the key).
    """
    client = make_client(args, key)
    enabled = console.isatty() and (sink is None or sink.progress_wanted())
    progress = _ImportLine(console, lambda: client.limiter, tally, enabled=enabled)
    shown = 0
    stopped = False
    logger.info("importing leads into %s from %s", campaign_id, args.base_url)
    async with client:
        with progress:
            results = client.leads.add_many(
                campaign_id,
                rows,
                deduplicate=args.deduplicate,
                reconcile=None if args.reconcile else False,
                concurrency=args.concurrency,
            )
            try:
                async with results:
                    async for raw in results:
                        result = rows.explain(raw)
                        tally.counts[result.status] += 1
                        if sink is not None:
                            sink.stream.write(jsonl_line(result_record(result)) + "\n")
                            sink.count += 1
                        if result.ok or result.status is ImportStatus.DUPLICATE:
                            continue
                        if isinstance(result.error, AuthenticationError):
                            # Every other create would be refused the same way.
                            console.line(f"{PROG}: lemlist refused the API key; stopped")
                            stopped = True
                            break
                        if args.verbose or shown < SHOWN_FAILURES:
                            console.line(failure_line(result, verbose=args.verbose))
                        elif shown == SHOWN_FAILURES:
                            more = "see --results" if sink is not None else "use --results FILE"
                            console.line(f"{PROG}: more leads failed; {more} for each one")
                        shown += 1
            except LemlistError as error:
                # Raised only by the first iteration: the campaign's export failed.
                if isinstance(error, AuthenticationError):
                    console.line(f"{PROG}: lemlist refused the API key: {error}")
                else:
                    console.line(f"{PROG}: campaign {campaign_id}: {error}")
                return None
    if sink is not None:
        sink.finish(succeeded=not stopped and rows.read_error is None)
    return stopped


register(ImportCommand())
