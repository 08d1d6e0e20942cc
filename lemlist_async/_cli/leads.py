"""``lemlist-async leads``: the leads of many campaigns, as JSON Lines or CSV.

It fans out with ``LemlistClient.stream_campaign_leads`` and writes one record
per lead, in completion order. A failed campaign is one line on stderr and the
others go on (exit 1 at the end); a key lemlist refuses (401) stops the run,
since every other campaign would fail the same way.

The ids come from the arguments, ``-`` (stdin) and ``--ids-file``, or, with
``--all-campaigns``, from lemlist's list of campaigns (``--status S`` to keep
one status): read page by page while the fan-out runs, never all at first. A
failure of that list is one line on stderr and exit 1; the leads already
fetched stay written.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import logging
import os
import sys
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, aclosing
from typing import Any, Final, NamedTuple, TextIO

from lemlist_async._client import LemlistClient
from lemlist_async._constants import API_KEY_ENV_VAR, LEADS_LIMIT_MAX, LEADS_LIMIT_MIN
from lemlist_async._converter import converter
from lemlist_async._errors import AuthenticationError, LemlistError
from lemlist_async._models import Lead

from ._base import PROG, UsageError, exit_status, plural, register
from ._console import Console, ProgressLine
from ._inputs import collect_ids, read_api_key
from ._options import (
    KEY_HELP,
    add_connection_options,
    add_ids_file_option,
    add_ids_options,
    add_output_options,
    bounded_int,
    campaign_status,
    make_client,
    state,
    state_warning,
    status_warning,
)
from ._output import PARTIAL_SUFFIX, RecordSink, escape_surrogates, jsonl_line

__all__ = ["CSV_FIELDS", "LeadsCommand", "csv_row", "lead_record", "make_writer"]

#: The CSV columns. Members beyond these (``Lead.extra``) are only in JSON Lines:
#: a CSV header must be known before the first row, and extras vary per lead.
CSV_FIELDS: Final = ("campaignId", "_id", "contactId", "state")
_WIRE_FIELDS: Final = CSV_FIELDS[1:]

logger = logging.getLogger("lemlist_async.cli")


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


def csv_row(record: Mapping[str, Any]) -> list[str]:
    """A record's values in ``CSV_FIELDS`` order; other members are dropped.

    A lone surrogate becomes the 6 characters ``\\udcff`` (``backslashreplace``
    style): CSV has no escape of its own, and a row must always be writable.
    """
    return [escape_surrogates(str(record[name])) for name in CSV_FIELDS]


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


_EPILOG = f"""\
{KEY_HELP}

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
  {PROG} leads --all-campaigns --status running --state interested > leads.jsonl
"""


class LeadsCommand:
    """``leads CAMPAIGN_ID... [--state S] [--limit N] ...``: see the module docstring."""

    name = "leads"
    help = "write the leads of campaigns as JSON Lines or CSV"
    description = (
        "Fetch the leads of campaigns, as fast as lemlist's rate limit allows,\n"
        "and write one record per lead."
    )
    epilog = _EPILOG

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """CAMPAIGN_ID..., --state, --limit, the output, ids, key and --concurrency options."""
        add_ids_options(parser)
        parser.add_argument(
            "--state",
            type=state,
            help="only leads in this state, e.g. interested (one lemlist does not document "
            "is sent anyway, with a warning)",
        )
        parser.add_argument(
            "--limit",
            type=bounded_int(LEADS_LIMIT_MIN, LEADS_LIMIT_MAX),
            metavar="N",
            help=f"at most N leads per campaign, {LEADS_LIMIT_MIN} to {LEADS_LIMIT_MAX} "
            "(lemlist's default: 100)",
        )
        add_output_options(parser)
        add_ids_file_option(parser)
        parser.add_argument(
            "--all-campaigns",
            action="store_true",
            help="every campaign lemlist lists (read page by page), instead of ids given",
        )
        parser.add_argument(
            "--status",
            type=campaign_status,
            metavar="S",
            help="with --all-campaigns: only campaigns in this status, e.g. running",
        )
        add_connection_options(parser)
        parser.add_argument(
            "--concurrency",
            type=bounded_int(1),
            metavar="N",
            help="campaigns in flight at most (default: 24; the rate limit sets the pace)",
        )

    def run(self, args: argparse.Namespace, console: Console) -> int:
        """Read the key and the ids, then fetch and write; 0, or 1 if any campaign failed.

        Raises:
            UsageError: ``--all-campaigns`` with ids, ``--status`` without it, no
                ids, no key.
        """
        key = read_api_key(os.environ, args.key_file)
        ids = _ids(args)
        warnings = [
            None if args.state is None else state_warning(args.state),
            None if args.status is None else status_warning(args.status),
        ]
        for warning in warnings:
            if warning is not None:
                console.line(f"{PROG} {args.command}: {warning}")
        with RecordSink(args.output, console, noun="lead") as sink:
            failed, total, broken = asyncio.run(_fetch_leads(args, key, ids, sink, console))
        if failed:
            # "1 of 1 campaign failed", "1 of 3 campaigns failed": the noun follows the total.
            console.line(f"{PROG}: {failed:,} of {plural(total, 'campaign')} failed")
        elif not broken and console.isatty():
            console.line(
                f"{PROG}: {plural(total, 'campaign')}, {plural(sink.count, 'lead')}{sink.where()}"
            )
        return exit_status(failed=failed + broken)


def _ids(args: argparse.Namespace) -> list[str] | None:
    """The ids given, or None with ``--all-campaigns`` (the ids come from lemlist).

    Raises:
        UsageError: ``--all-campaigns`` with ids, ``--status`` without it, no ids.
    """
    if args.all_campaigns:
        if args.campaign_ids or args.ids_file is not None:
            raise UsageError(
                "--all-campaigns reads every campaign from lemlist: give no campaign ids "
                "(arguments, '-' or --ids-file) with it"
            )
        return None
    if args.status is not None:
        raise UsageError("--status goes with --all-campaigns only (it filters that list)")
    return collect_ids(args.campaign_ids, args.ids_file, sys.stdin)


async def _listed_ids(client: LemlistClient, status: str | None) -> AsyncGenerator[str]:
    """The ids of the campaigns lemlist lists, read page by page as they are asked for."""
    async with client.campaigns.list(status=status) as campaigns:
        async for campaign in campaigns:
            yield campaign.id


class _Fetched(NamedTuple):
    failed: int  # campaigns that failed
    total: int  # campaigns in all (known ones, if the run stopped early)
    broken: bool  # the list of campaigns failed (--all-campaigns)


async def _fetch_leads(
    args: argparse.Namespace, key: str, ids: list[str] | None, sink: RecordSink, console: Console
) -> _Fetched:
    """Fetch and write every campaign's leads, of ``ids`` or (None) of every campaign listed."""
    # The fan-out fetches each distinct id once; a listed total is unknown until the end.
    total = None if ids is None else len(set(ids))
    client = make_client(args, key)
    status = ProgressLine(
        console, lambda: client.limiter, total=total, enabled=sink.progress_wanted()
    )
    failed = 0
    refused = broken = False
    what = "every campaign listed" if total is None else plural(total, "campaign")
    logger.info("fetching the leads of %s from %s", what, args.base_url)
    write = make_writer(args.format, sink.stream)
    async with client, AsyncExitStack() as stack:
        source: list[str] | AsyncIterable[str] | None = ids
        if source is None:
            # Closed (with its pager) before the client, however the run ends.
            source = await stack.enter_async_context(aclosing(_listed_ids(client, args.status)))
        with status:
            fanout = client.stream_campaign_leads(
                source,
                state=args.state,
                limit=args.limit,
                concurrency=args.concurrency,
                on_progress=status.on_progress,
            )
            try:
                async with fanout:
                    async for item in fanout:
                        if item.leads is not None:
                            write(item.campaign_id, item.leads)
                            status.leads += len(item.leads)
                            sink.count = status.leads
                            continue
                        failed += 1
                        console.line(f"{PROG}: campaign {item.campaign_id}: {item.error}")
                        if isinstance(item.error, AuthenticationError):
                            # Every other campaign would fail the same way, each
                            # spending a request of the key's budget: stop here.
                            refused = True
                            break
            except LemlistError as error:
                # A campaign's error is an item, never raised: this is the list's.
                broken = True
                console.line(f"{PROG}: cannot list the campaigns: {error}")
    if total is None:
        total = status.done
    if refused:
        left = total - status.done
        failed += left
        stopped = "" if ids is None else f", {plural(left, 'campaign')} not fetched"
        console.line(f"{PROG}: lemlist refused the API key; stopped{stopped}")
    sink.finish(succeeded=not failed and not broken)
    return _Fetched(failed, total, broken)


register(LeadsCommand())
