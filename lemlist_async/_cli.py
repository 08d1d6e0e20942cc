"""The ``lemlist-async`` command line: the leads of many campaigns, and a demo.

::

    lemlist-async leads cam_A cam_B --state interested --limit 500 > leads.jsonl
    lemlist-async demo

``leads`` fans out with ``LemlistClient.stream_campaign_leads`` and writes one
record per lead, in completion order, as JSON Lines or CSV. ``demo`` runs the
same fan-out against ``FakeLemlistServer`` in-process, at lemlist's real rate
limit, and needs neither a key nor a network.

Rules this module keeps:

- The API key comes from ``LEMLIST_API_KEY`` or ``--key-file``, never from a
  command-line value, which would show in the process list and the shell
  history. Any option that looks like it carries a secret (``--api-key``,
  ``--apiKey``, ``--token``, ...; see ``key_option``) is refused before argparse
  parses anything, so that no usage error echoes its value.
  The key is never printed, in any message or log line.
- Exit codes: 0 every campaign succeeded, 1 some failed (or the output could not
  be written: a full disk), 2 a usage error (a bad option, no key, no ids, an
  unreadable file), 130 interrupted, 141 stdout closed by its reader (``| head``),
  which ends the run without a word, as it ends a Unix tool.
- ``--output FILE`` appears only when every campaign succeeded: records go to a
  temporary file in the same directory, renamed over ``FILE`` at the end. On a
  failure or an interruption, ``FILE`` is left as it was and the records already
  fetched are kept in ``FILE.partial`` (said on stderr), so nothing is lost and
  nothing half-written claims success.
- The progress line is hand-written (``Console.status`` and ``ProgressLine``, a
  few dozen lines) rather than taken from a progress-bar library: one line of
  status does not justify a dependency. It is drawn only when stderr is a
  terminal (and the records do not go to that same terminal).

This module is imported by ``python -m lemlist_async`` and the console script
only; ``import lemlist_async`` never loads it, and ``lemlist_async.testing`` is
imported by ``demo`` alone.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import difflib
import io
import json
import logging
import math
import os
import re
import secrets
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Final, Self, TextIO

from ._client import LemlistClient
from ._config import validate_base_url
from ._constants import (
    API_KEY_ENV_VAR,
    DEFAULT_BASE_URL,
    LEADS_LIMIT_MAX,
    LEADS_LIMIT_MIN,
    RATE_LIMIT,
    RATE_WINDOW,
)
from ._converter import converter
from ._errors import AuthenticationError
from ._models import Lead, LeadState
from ._ratelimit import WindowRateLimiter
from ._version import __version__

__all__ = [
    "CSV_FIELDS",
    "EXIT_BROKEN_PIPE",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "AtomicOutput",
    "Console",
    "ProgressLine",
    "UsageError",
    "build_parser",
    "collect_ids",
    "csv_row",
    "escape_surrogates",
    "exit_status",
    "jsonl_line",
    "key_option",
    "lead_record",
    "main",
    "make_writer",
    "parse_ids",
    "plural",
    "rate_limit_waiting",
    "read_api_key",
    "render_progress",
    "state_warning",
]

PROG: Final = "lemlist-async"

EXIT_OK: Final = 0
#: Some campaign failed, or the output could not be written (a full disk).
EXIT_FAILED: Final = 1
#: argparse's own code for usage errors; the CLI's usage errors share it.
EXIT_USAGE: Final = 2
#: 128 + SIGINT, as shells report a process killed by Ctrl-C.
EXIT_INTERRUPTED: Final = 130
#: 128 + SIGPIPE: stdout was closed by its reader (``| head``), as a Unix tool
#: killed by SIGPIPE reports it. Not 0: the output is incomplete, which
#: ``set -o pipefail`` is there to notice; not 1: no campaign failed.
EXIT_BROKEN_PIPE: Final = 141

#: The CSV columns. Members beyond these (``Lead.extra``) are only in JSON Lines:
#: a CSV header must be known before the first row, and extras vary per lead.
CSV_FIELDS: Final = ("campaignId", "_id", "contactId", "state")
_WIRE_FIELDS: Final = CSV_FIELDS[1:]

#: Seconds between two redraws of the progress line: at most ~10 a second.
PROGRESS_INTERVAL: Final = 0.1
#: Suffix of the file that keeps the records of a run that did not succeed.
PARTIAL_SUFFIX: Final = ".partial"

# The demo's fake lemlist: the real rate limit and a small, realistic latency.
DEMO_CAMPAIGNS: Final = 200
DEMO_LIMIT: Final = 500
DEMO_LATENCY: Final = 0.030
DEMO_JITTER: Final = 0.020
_LATENCY_MS: Final = round(DEMO_LATENCY * 1000)
_JITTER_MS: Final = round(DEMO_JITTER * 1000)

# What makes an option name look like it carries a secret, once lowercased and
# stripped of "-" and "_": these words anywhere, or "key" at the end. Matching by
# shape rather than by a list of spellings: argparse's "unrecognized arguments"
# error would print the value of any spelling a list missed (--apiKey, --lemlist-api-key).
_KEY_WORDS: Final = ("apikey", "token", "secret")

#: The lead states lemlist documents: ``LeadState``'s members (iteration skips
#: the pseudo-members that unknown states become).
_KNOWN_STATES: Final = frozenset(state.value for state in LeadState)
# Listed by a warning about a state that is close to none of them.
_COMMON_STATES: Final = ("interested", "notInterested", "contacted", "hooked", "paused")

# A UTF-16 surrogate code point, which text in UTF-8 can never hold.
_SURROGATE: Final = re.compile("[\ud800-\udfff]")

_KEY_HELP: Final = f"""\
The API key is read from the {API_KEY_ENV_VAR} environment variable, or from
the first line of --key-file PATH. There is deliberately no option that takes
the key itself: a value on the command line shows in the process list and in
the shell history."""

logger = logging.getLogger("lemlist_async.cli")


class UsageError(Exception):
    """A problem with how the command was called; main reports it in one line, exit 2."""


# -- Pure parts: ids, key, records, exit code, progress text ---------------------------


def parse_ids(lines: Iterable[str]) -> list[str]:
    """Campaign ids from lines of text, one per line, in order.

    Blank lines are skipped, and so is everything from a ``#`` to the end of its
    line (lemlist ids never contain ``#``), so a list can carry comments.
    Surrounding whitespace is stripped.
    """
    ids: list[str] = []
    for line in lines:
        campaign_id = line.split("#", 1)[0].strip()
        if campaign_id:
            ids.append(campaign_id)
    return ids


def collect_ids(arguments: Sequence[str], ids_file: str | None, stdin: TextIO) -> list[str]:
    """The campaign ids to fetch: the arguments, then ``--ids-file``.

    An argument ``-`` stands for the ids read from ``stdin`` (read once, however
    many times ``-`` appears); ``--ids-file -`` reads stdin too. Duplicates are
    kept: the fan-out fetches each id once.

    Raises:
        UsageError: The ids file or stdin cannot be read or is not UTF-8, an id
            is not valid text (see below), or no id was given at all.

    An id holding a lone surrogate, as Python makes of bytes that are not UTF-8
    in ``argv`` (and on stdin in the C locale), is refused before any request:
    no URL can carry it.
    """
    ids: list[str] = []
    stdin_read = False

    def from_stdin() -> list[str]:
        nonlocal stdin_read
        if stdin_read:
            return []
        stdin_read = True
        try:
            return parse_ids(stdin)
        except UnicodeDecodeError as error:
            raise UsageError(f"cannot read the campaign ids on stdin: {_reason(error)}") from None

    for argument in arguments:
        if argument == "-":
            ids.extend(from_stdin())
        elif argument.strip():
            ids.append(argument.strip())
    if ids_file == "-":
        ids.extend(from_stdin())
    elif ids_file is not None:
        try:
            with open(ids_file, encoding="utf-8") as lines:
                ids.extend(parse_ids(lines))
        except (OSError, UnicodeDecodeError) as error:
            raise UsageError(f"cannot read --ids-file {ids_file!r}: {_reason(error)}") from None
    if not ids:
        raise UsageError(
            "no campaign ids: give them as arguments, with --ids-file FILE, or as '-' "
            "to read them from stdin"
        )
    for campaign_id in ids:
        if _SURROGATE.search(campaign_id):
            # repr() escapes the surrogate, so the message itself can be printed.
            raise UsageError(f"campaign id {campaign_id!r} is not valid UTF-8 text")
    return ids


def read_api_key(environ: Mapping[str, str], key_file: str | None) -> str:
    """The API key: the first line of ``key_file`` when given, else ``LEMLIST_API_KEY``.

    An explicit ``--key-file`` wins over the environment. The file is read as
    UTF-8; a leading byte order mark (as Windows editors save "UTF-8 with BOM")
    and the whitespace around the key, ``\\r`` of a CRLF line end included, are
    not part of it. Messages never contain the key, any byte of the file, nor
    the key file's path (in case the key itself was typed there).

    Raises:
        UsageError: No key anywhere, or the key file is unreadable, not UTF-8,
            or empty.
    """
    if key_file is not None:
        try:
            # utf-8-sig: the same as utf-8, less a BOM at the start, which
            # str.strip() would keep and lemlist would refuse with a 401.
            with open(key_file, encoding="utf-8-sig") as file:
                key = file.readline().strip()
        except UnicodeDecodeError:
            raise UsageError(
                "cannot read the --key-file: not UTF-8 text; save it as UTF-8 "
                "(UTF-16, as PowerShell's '>' writes, is not accepted)"
            ) from None
        except OSError as error:
            raise UsageError(f"cannot read the --key-file: {_reason(error)}") from None
        if not key:
            raise UsageError("the --key-file is empty: put the API key on its first line")
        return key
    key = environ.get(API_KEY_ENV_VAR, "").strip()
    if not key:
        raise UsageError(
            f"no API key: set {API_KEY_ENV_VAR} or pass --key-file PATH (never the key "
            "itself on the command line); the key is on "
            "https://app.lemlist.com/settings/integrations"
        )
    return key


def key_option(argument: str) -> str | None:
    """The option named by ``argument`` if it looks like one that carries a secret, else None.

    ``argument`` is one command-line word; for ``--opt=VALUE`` the name is the
    part before ``=``. An option looks secret-bearing when its name, lowercased
    and without ``-`` and ``_``, contains ``apikey``, ``token`` or ``secret``, or
    ends in ``key``: ``--apiKey``, ``--API-KEY``, ``--lemlist-api-key``,
    ``--auth-token``, ``--key``. ``--key-file`` does not. Words that are not
    options (``-`` alone, ids, values) are None.
    """
    if not argument.startswith("-"):
        return None
    option = argument.split("=", 1)[0]
    name = option.lower().replace("-", "").replace("_", "")
    if any(word in name for word in _KEY_WORDS) or name.endswith("key"):
        return option
    return None


def _refuse_key_options(parser: argparse.ArgumentParser, argv: Sequence[str]) -> None:
    # Before argparse sees argv: its usage errors quote the words they reject, and
    # a value after an unknown option is such a word. Every word is scanned, also
    # after "--": no campaign id starts with "-", and a refusal costs nothing.
    for argument in argv:
        option = key_option(argument)
        if option is not None:
            parser.error(
                f"there is no {option} option: a key on the command line shows in the "
                f"process list and the shell history. Set {API_KEY_ENV_VAR}, or put the "
                "key in a file and pass --key-file PATH"
            )


def _reason(error: Exception) -> str:
    # OSError's str() repeats the file name; only the reason is wanted here.
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    if isinstance(error, UnicodeDecodeError):
        # Not str(error): it quotes the offending bytes, which may be the key's.
        return "not UTF-8 text"
    return type(error).__name__


def lead_record(campaign_id: str, lead: Lead) -> dict[str, Any]:
    """One output record: the campaign id, then the lead as lemlist sent it.

    Members come in the order ``campaignId``, ``_id``, ``contactId``, ``state``,
    then the lead's extra members. An extra member named like one of these
    never overrides it.
    """
    wire = converter.unstructure(lead)
    record: dict[str, Any] = {"campaignId": campaign_id}
    for name in _WIRE_FIELDS:
        record[name] = wire[name]
    record["state"] = str(lead.state)  # the plain string, not the enum member
    for name, value in wire.items():
        record.setdefault(name, value)
    return record


def escape_surrogates(text: str) -> str:
    """``text`` with each surrogate code point written as ``\\uXXXX`` (6 characters).

    A lone surrogate is what JSON's ``"\\udcff"`` escape and a surrogateescape
    read of bytes that are not UTF-8 both produce; a UTF-8 stream refuses to
    write it. The result always encodes, and other text is left as it is.
    """
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


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


def csv_row(record: Mapping[str, Any]) -> list[str]:
    """A record's values in ``CSV_FIELDS`` order; other members are dropped.

    A lone surrogate becomes the 6 characters ``\\udcff`` (``backslashreplace``
    style): CSV has no escape of its own, and a row must always be writable.
    """
    return [escape_surrogates(str(record[name])) for name in CSV_FIELDS]


def state_warning(state: str) -> str | None:
    """A warning for a ``--state`` that lemlist does not document; None for one it does.

    States are an open set, so an unknown one is still sent: lemlist may have
    added it since. But a typo would match no lead without any error, hence the
    warning. It suggests the closest documented state, compared without case
    (``difflib``), or lists a few common ones when none is close.

    Only the documented states (the members of ``LeadState``) count; this never
    calls ``LeadState(state)``, which would cache a pseudo-member per name typed.
    """
    if state in _KNOWN_STATES:
        return None
    by_folded = {known.casefold(): known for known in _KNOWN_STATES}
    close = difflib.get_close_matches(state.casefold(), by_folded, n=1)
    if close:
        hint = f"did you mean {by_folded[close[0]]!r}?"
    else:
        hint = "such as " + ", ".join(repr(known) for known in _COMMON_STATES)
    return (
        f"warning: {state!r} is not a lead state lemlist documents ({hint}); it is sent as given"
    )


def exit_status(*, failed: int) -> int:
    """The exit code of a finished run: 0 when no campaign failed, else 1."""
    return EXIT_FAILED if failed else EXIT_OK


def plural(count: int, noun: str) -> str:
    """``count`` and ``noun``, as every count the CLI prints: ``1 lead``, ``58,490 leads``.

    Thousands are separated by commas; the noun takes an ``s`` unless the count
    is 1. Only for the CLI's own regular nouns (campaign, lead).
    """
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


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


def rate_limit_waiting(limiter: object, now: float) -> bool:
    """Whether a key's limiter holds requests back at loop time ``now``.

    True when requests queue for a slot or the key is paused after a 429. Only
    the SDK's ``WindowRateLimiter`` can tell; any other limiter reads as False.
    """
    if not isinstance(limiter, WindowRateLimiter):
        return False
    return bool(limiter._waiters) or limiter.paused_until() > now


# -- stderr: error lines, log records and the progress line -----------------------------


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

    def _draw(self) -> None:
        now = self._loop.time()
        waiting = rate_limit_waiting(self._limiter(), now)
        text = render_progress(
            self.done, self.total, self.leads, now - self._start, waiting=waiting
        )
        self._console.status(text)
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


# -- Output ----------------------------------------------------------------------------


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
            raise UsageError(f"cannot write --output {path!r}: {_reason(error)}") from None
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


RecordWriter = Callable[[str, Sequence[Lead]], None]


def make_writer(output_format: str, stream: TextIO) -> RecordWriter:
    """A function that writes a campaign's leads as records; CSV writes its header now."""
    if output_format == "csv":
        # "\n", not the csv module's default "\r\n": output goes to pipes and Unix
        # tools; every CSV reader accepts it.
        rows = csv.writer(stream, lineterminator="\n")
        rows.writerow(CSV_FIELDS)

        def write_csv(campaign_id: str, leads: Sequence[Lead]) -> None:
            rows.writerows(csv_row(lead_record(campaign_id, lead)) for lead in leads)

        return write_csv

    def write_jsonl(campaign_id: str, leads: Sequence[Lead]) -> None:
        stream.writelines(jsonl_line(lead_record(campaign_id, lead)) + "\n" for lead in leads)

    return write_jsonl


# -- Commands --------------------------------------------------------------------------


def _run_leads(args: argparse.Namespace, console: Console) -> int:
    key = read_api_key(os.environ, args.key_file)
    ids = collect_ids(args.campaign_ids, args.ids_file, sys.stdin)
    warning = None if args.state is None else state_warning(args.state)
    if warning is not None:
        console.line(f"{PROG} {args.command}: {warning}")
    to_stdout = args.output in (None, "-")
    if to_stdout and isinstance(sys.stdout, io.TextIOWrapper):
        # JSON Lines is UTF-8 by definition, whatever the locale says.
        sys.stdout.reconfigure(encoding="utf-8")
    # With the records themselves on the terminal, a status line would be torn
    # up by them; it is drawn only when they go elsewhere.
    progress = console.isatty() and not (to_stdout and sys.stdout.isatty())
    output_path = None if to_stdout else args.output
    return asyncio.run(_fetch_leads(args, key, ids, output_path, console, progress=progress))


async def _fetch_leads(
    args: argparse.Namespace,
    key: str,
    ids: list[str],
    output_path: str | None,
    console: Console,
    *,
    progress: bool,
) -> int:
    total = len(set(ids))  # the fan-out fetches each distinct id once
    client = LemlistClient(key, base_url=args.base_url)
    status = ProgressLine(console, lambda: client.limiter, total=total, enabled=progress)
    # Created before any request, so that an unwritable path costs nothing.
    output = None if output_path is None else AtomicOutput(output_path)
    stream = sys.stdout if output is None else output.stream
    failed = 0
    refused = False
    committed = False
    logger.info("fetching the leads of %s from %s", plural(total, "campaign"), args.base_url)
    try:
        write = make_writer(args.format, stream)
        async with client:
            with status:
                fanout = client.stream_campaign_leads(
                    ids,
                    state=args.state,
                    limit=args.limit,
                    concurrency=args.concurrency,
                    on_progress=status.on_progress,
                )
                async with fanout:
                    async for item in fanout:
                        if item.leads is not None:
                            write(item.campaign_id, item.leads)
                            status.leads += len(item.leads)
                            continue
                        failed += 1
                        console.line(f"{PROG}: campaign {item.campaign_id}: {item.error}")
                        if isinstance(item.error, AuthenticationError):
                            # Every other campaign would fail the same way, each
                            # spending a request of the key's budget: stop here.
                            refused = True
                            break
        stream.flush()
        if refused:
            failed += total - status.done
            console.line(
                f"{PROG}: lemlist refused the API key; stopped, "
                f"{plural(total - status.done, 'campaign')} not fetched"
            )
        if output is not None and not failed:
            output.commit()
            committed = True
    finally:
        # Also on an exception or Ctrl-C: what was fetched is kept, never lost.
        if output is not None and not committed:
            if status.leads:
                partial = output.keep_partial()
                verb = "is" if status.leads == 1 else "are"
                console.line(
                    f"{PROG}: {output.path!r} was not written; the "
                    f"{plural(status.leads, 'lead')} fetched {verb} in {partial!r}"
                )
            else:
                output.discard()
    if failed:
        # "1 of 1 campaign failed", "1 of 3 campaigns failed": the noun follows the total.
        console.line(f"{PROG}: {failed:,} of {plural(total, 'campaign')} failed")
    elif console.isatty():
        where = "" if output is None else f", written to {output.path!r}"
        console.line(f"{PROG}: {plural(total, 'campaign')}, {plural(status.leads, 'lead')}{where}")
    return exit_status(failed=failed)


def _run_demo(args: argparse.Namespace, console: Console) -> int:
    return asyncio.run(_demo(args.campaigns, args.seed, console))


async def _demo(campaigns: int, seed: int, console: Console) -> int:
    # Imported here: the fake server (aiohttp.web) is for the demo only.
    from .testing import FakeLemlistServer

    loop = asyncio.get_running_loop()
    fake = FakeLemlistServer(
        seed=seed,
        campaigns=campaigns,
        rate_limit=RATE_LIMIT,
        window=RATE_WINDOW,
        window_mode="fixed",
        latency=DEMO_LATENCY,
        jitter=DEMO_JITTER,
    )
    async with fake:
        logger.info("demo: a fake lemlist at %s", fake.base_url)
        client = LemlistClient(fake.api_key, base_url=fake.base_url)
        status = ProgressLine(
            console, lambda: client.limiter, total=campaigns, enabled=console.isatty()
        )
        fetched = 0
        start = loop.time()
        async with client:
            with status:
                fanout = client.stream_campaign_leads(
                    fake.campaign_ids, limit=DEMO_LIMIT, on_progress=status.on_progress
                )
                async with fanout:
                    async for item in fanout:
                        if item.leads is None:
                            console.line(f"{PROG}: campaign {item.campaign_id}: {item.error}")
                            continue
                        fetched += 1
                        status.leads += len(item.leads)
        elapsed = loop.time() - start
        requests = len(fake.requests)
        too_many = fake.count(429)
        busiest = fake.max_arrivals_in_window(RATE_WINDOW)
    cycles = math.ceil(campaigns / RATE_LIMIT) - 1
    minimum = RATE_WINDOW * cycles + DEMO_LATENCY
    # Counts with thousands separators, as on the progress line; not inside the
    # formula, where "ceil(1,000/20)" would read as two arguments.
    print(
        f"fake lemlist: in this process, {RATE_LIMIT:,} requests per {RATE_WINDOW:g} s "
        f"(fixed window), {_LATENCY_MS} ms + up to {_JITTER_MS} ms latency",
        f"campaigns fetched: {fetched:,} of {campaigns:,}",
        f"leads: {status.leads:,}",
        f"requests the server received: {requests:,}",
        f"429 responses: {too_many:,}",
        f"most requests in any {RATE_WINDOW:g} s window: {busiest:,} (limit {RATE_LIMIT:,})",
        f"elapsed: {elapsed:.2f} s",
        f"theoretical minimum: {minimum:.2f} s = {RATE_WINDOW:g} s x (ceil({campaigns}/"
        f"{RATE_LIMIT}) - 1) + one {_LATENCY_MS} ms round trip",
        f"elapsed / minimum: {elapsed / minimum:.2f}",
        sep="\n",
    )
    return EXIT_OK if fetched == campaigns and too_many == 0 else EXIT_FAILED


# -- The parser ------------------------------------------------------------------------


def _bounded_int(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse ``type`` for an int in ``low..high`` (no upper bound when None)."""
    bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer {bounds}, got {text!r}"
            ) from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected an integer {bounds}, got {value}")
        return value

    return parse


def _state(text: str) -> str:
    # lemlist's states are an open set (see LeadState): any non-empty name passes;
    # _run_leads warns about one lemlist does not document (state_warning).
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty; leave --state out for every state")
    return text.strip()


def _base_url(text: str) -> str:
    try:
        return str(validate_base_url(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


_LEADS_EPILOG = f"""\
{_KEY_HELP}

Output: one record per lead, with its campaign id, in the order campaigns
complete. jsonl (the default) writes every member lemlist sent:
  {{"campaignId":"cam_...","_id":"lea_...","contactId":"ctc_...","state":"contacted"}}
csv writes the columns {",".join(CSV_FIELDS)} only (members beyond them are
in jsonl alone). --output FILE appears only if every campaign succeeded;
otherwise FILE is left as it was and the leads fetched are in FILE{PARTIAL_SUFFIX}.

Each failed campaign is one line on stderr. Exit code: 0 all succeeded,
1 some campaign failed, 2 usage error (bad option, no key, no ids),
141 stdout closed early (as by `| head`: the run stops quietly).
A progress line is drawn on stderr when it is a terminal.

examples:
  export {API_KEY_ENV_VAR}=...   # or: --key-file ~/.config/lemlist/key
  {PROG} leads cam_A1B2C3D4E5F6G7H8I9 cam_J1K2L3M4N5O6P7Q8R9 > leads.jsonl
  {PROG} leads --ids-file campaigns.txt --state interested --limit 500 \\
      --format csv --output interested.csv
  grep -v paused campaigns.txt | {PROG} leads - --limit 500 -o leads.jsonl
"""

_DEMO_MINIMUM: Final = RATE_WINDOW * (math.ceil(DEMO_CAMPAIGNS / RATE_LIMIT) - 1)

_DEMO_EPILOG = f"""\
The fake lemlist (lemlist_async.testing.FakeLemlistServer) enforces the real
rate limit, {RATE_LIMIT} requests per {RATE_WINDOW:g} s in a fixed window, and answers each
request after {_LATENCY_MS} ms plus up to {_JITTER_MS} ms. The summary compares the elapsed
time with the fastest schedule that limit allows. {DEMO_CAMPAIGNS} campaigns take about
{_DEMO_MINIMUM:.0f} s: that is the rate limit at work, not slowness.

examples:
  {PROG} demo
  {PROG} demo --campaigns 25 --seed 7
"""


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser; each subcommand stores its runner as ``run``."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="The lemlist API from the command line, at its rate limit and never past it.",
        epilog=f"{_KEY_HELP}\n\nexamples:\n  {PROG} demo\n  {PROG} leads --help",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    common = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    common.add_argument(
        "-v", "--verbose", action="store_true", help="log retries and rate-limit pauses to stderr"
    )

    leads = commands.add_parser(
        "leads",
        parents=[common],
        help="write the leads of campaigns as JSON Lines or CSV",
        description="Fetch the leads of campaigns, as fast as lemlist's rate limit allows,\n"
        "and write one record per lead.",
        epilog=_LEADS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    leads.set_defaults(run=_run_leads)
    leads.add_argument(
        "campaign_ids",
        nargs="*",
        metavar="CAMPAIGN_ID",
        help="campaign ids; '-' reads more from stdin, one per line",
    )
    leads.add_argument(
        "--state",
        type=_state,
        help="only leads in this state, e.g. interested (one lemlist does not document "
        "is sent anyway, with a warning)",
    )
    leads.add_argument(
        "--limit",
        type=_bounded_int(LEADS_LIMIT_MIN, LEADS_LIMIT_MAX),
        metavar="N",
        help=f"at most N leads per campaign, {LEADS_LIMIT_MIN} to {LEADS_LIMIT_MAX} "
        "(lemlist's default: 100)",
    )
    leads.add_argument(
        "--format", choices=("jsonl", "csv"), default="jsonl", help="jsonl (default) or csv"
    )
    leads.add_argument(
        "-o", "--output", metavar="FILE", help="write to FILE (atomically) instead of stdout"
    )
    leads.add_argument(
        "--ids-file",
        metavar="FILE",
        help="read more ids from FILE, one per line; blank lines and # comments are skipped",
    )
    leads.add_argument(
        "--base-url",
        type=_base_url,
        default=DEFAULT_BASE_URL,
        metavar="URL",
        help=f"the API root (default: {DEFAULT_BASE_URL}); http:// only to localhost",
    )
    leads.add_argument(
        "--key-file",
        metavar="PATH",
        help=f"read the API key from the first line of PATH (instead of {API_KEY_ENV_VAR})",
    )
    leads.add_argument(
        "--concurrency",
        type=_bounded_int(1),
        metavar="N",
        help="campaigns in flight at most (default: 24; the rate limit sets the pace)",
    )

    demo = commands.add_parser(
        "demo",
        parents=[common],
        help="fetch leads from a fake lemlist in this process: no key, no network",
        description="Start a fake lemlist in this process, fetch the leads of its seeded\n"
        "campaigns through the real client, and print a summary. No key, no network.",
        epilog=_DEMO_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    demo.set_defaults(run=_run_demo)
    demo.add_argument(
        "--campaigns",
        type=_bounded_int(1),
        default=DEMO_CAMPAIGNS,
        metavar="N",
        help=f"campaigns to fetch (default: {DEMO_CAMPAIGNS})",
    )
    demo.add_argument(
        "--seed", type=int, default=0, metavar="S", help="seeds the fake's data (default: 0)"
    )
    return parser


# -- Entry point -----------------------------------------------------------------------


def _discard_stdout() -> None:
    # The recipe of the signal module's docs: point file descriptor 1 at devnull
    # so that the interpreter's final flush of what is still buffered does not
    # report the closed pipe again. A stdout without a descriptor has no such
    # final flush to fear.
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError):  # io.UnsupportedOperation is both
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code.

    Args:
        argv: The arguments, without the program name; ``sys.argv[1:]`` when None.

    Returns:
        0, 1, 2, 130 or 141; see the module docstring. ``--help`` and ``--version``
        return 0. Nothing raises out of here but bugs.
    """
    parser = build_parser()
    arguments = sys.argv[1:] if argv is None else list(argv)
    try:
        _refuse_key_options(parser, arguments)
        args = parser.parse_args(arguments)
    except SystemExit as exit_:
        # argparse exits on --help, --version and usage errors; main returns instead.
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    console = Console(sys.stderr)
    handler: logging.Handler | None = None
    package_logger = logging.getLogger("lemlist_async")
    level = package_logger.level
    if args.verbose:
        # Through the console, so that a log line wipes the progress line first.
        handler = logging.StreamHandler(console)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        package_logger.addHandler(handler)
        package_logger.setLevel(logging.INFO)
    try:
        run: Callable[[argparse.Namespace, Console], int] = args.run
        status = run(args, console)
        # Here, not at the interpreter's exit, where a closed pipe would be
        # reported as "Exception ignored ... BrokenPipeError".
        sys.stdout.flush()
        return status
    except UsageError as error:
        console.line(f"{PROG} {args.command}: error: {error}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        console.line(f"{PROG}: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of stdout went away (`| head`): end quietly, as Unix tools
        # do. (Console never raises it: a closed stderr is ignored there.)
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as error:
        # Writing the output failed (disk full, a directory vanished): not a bug,
        # so one line, not a traceback. What was fetched is kept, see AtomicOutput.
        console.line(f"{PROG} {args.command}: error: {error}")
        return EXIT_FAILED
    finally:
        if handler is not None:
            package_logger.removeHandler(handler)
            package_logger.setLevel(level)
