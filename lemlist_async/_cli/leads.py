"""``lemlist-async leads``: the leads of many campaigns, as JSON Lines or CSV.

It fans out with ``LemlistClient.stream_campaign_leads`` and writes one record
per lead, in completion order. A failed campaign is one line on stderr and the
others go on (exit 1 at the end); a key lemlist refuses (401) stops the run,
since every other campaign would fail the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TextIO

from lemlist_async._constants import API_KEY_ENV_VAR, LEADS_LIMIT_MAX, LEADS_LIMIT_MIN
from lemlist_async._converter import converter
from lemlist_async._errors import AuthenticationError
from lemlist_async._models import Lead

from ._base import PROG, exit_status, plural, register
from ._console import Console, ProgressLine
from ._inputs import collect_ids, read_api_key
from ._options import (
    KEY_HELP,
    add_connection_options,
    add_ids_file_option,
    add_ids_options,
    add_output_options,
    bounded_int,
    make_client,
    state,
    state_warning,
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
        add_connection_options(parser)
        parser.add_argument(
            "--concurrency",
            type=bounded_int(1),
            metavar="N",
            help="campaigns in flight at most (default: 24; the rate limit sets the pace)",
        )

    def run(self, args: argparse.Namespace, console: Console) -> int:
        """Read the key and the ids, then fetch and write; 0, or 1 if any campaign failed."""
        key = read_api_key(os.environ, args.key_file)
        ids = collect_ids(args.campaign_ids, args.ids_file, sys.stdin)
        warning = None if args.state is None else state_warning(args.state)
        if warning is not None:
            console.line(f"{PROG} {args.command}: {warning}")
        with RecordSink(args.output, console, noun="lead") as sink:
            failed, total = asyncio.run(_fetch_leads(args, key, ids, sink, console))
        if failed:
            # "1 of 1 campaign failed", "1 of 3 campaigns failed": the noun follows the total.
            console.line(f"{PROG}: {failed:,} of {plural(total, 'campaign')} failed")
        elif console.isatty():
            console.line(
                f"{PROG}: {plural(total, 'campaign')}, {plural(sink.count, 'lead')}{sink.where()}"
            )
        return exit_status(failed=failed)


async def _fetch_leads(
    args: argparse.Namespace, key: str, ids: list[str], sink: RecordSink, console: Console
) -> tuple[int, int]:
    """Fetch and write every campaign's leads; returns (campaigns failed, campaigns)."""
    total = len(set(ids))  # the fan-out fetches each distinct id once
    client = make_client(args, key)
    status = ProgressLine(
        console, lambda: client.limiter, total=total, enabled=sink.progress_wanted()
    )
    failed = 0
    refused = False
    logger.info("fetching the leads of %s from %s", plural(total, "campaign"), args.base_url)
    write = make_writer(args.format, sink.stream)
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
                        sink.count = status.leads
                        continue
                    failed += 1
                    console.line(f"{PROG}: campaign {item.campaign_id}: {item.error}")
                    if isinstance(item.error, AuthenticationError):
                        # Every other campaign would fail the same way, each
                        # spending a request of the key's budget: stop here.
                        refused = True
                        break
    if refused:
        failed += total - status.done
        console.line(
            f"{PROG}: lemlist refused the API key; stopped, "
            f"{plural(total - status.done, 'campaign')} not fetched"
        )
    sink.finish(succeeded=not failed)
    return failed, total


register(LeadsCommand())
