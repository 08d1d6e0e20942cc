"""``lemlist-async export``: every lead of each campaign, streamed to JSON Lines or CSV.

Each campaign is read with ``client.campaigns.iter_export_leads`` (lemlist's
Export Campaign Leads, parsed as its bytes arrive) and every lead is written as
soon as it is parsed, so memory stays flat whatever the campaigns' sizes.

Campaigns are exported one after another, in the order given (each distinct id
once). An export is one long response per campaign, not many small requests,
so the rate limit is not what sets the pace, and fetching several at once
would have to either interleave their records or hold all but one in memory.
One at a time keeps each campaign's records together and memory bounded.

A failed campaign (not found, another team's, a body cut short) is one line
on stderr and the next one goes on; the exit code is then 1. Leads of a
campaign that failed midway that were already written stay written. A key
lemlist refuses (401) stops the run. ``--output FILE`` and ``FILE.partial``
work as for ``leads``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from typing import Final

from lemlist_async._constants import API_KEY_ENV_VAR
from lemlist_async._errors import AuthenticationError, LemlistError

from ._base import PROG, exit_status, plural, register
from ._console import Console, ProgressLine
from ._inputs import collect_ids, read_api_key
from ._options import (
    KEY_HELP,
    add_connection_options,
    add_ids_file_option,
    add_ids_options,
    add_output_options,
    make_client,
    state,
    state_warning,
)
from ._output import PARTIAL_SUFFIX, RecordSink, record_writer, wire_record

__all__ = ["EXPORT_CSV_FIELDS", "ExportCommand"]

#: The CSV columns. Custom variables vary per campaign, and a CSV header must be
#: known before the first row: they are in JSON Lines only.
EXPORT_CSV_FIELDS: Final = (
    "campaignId",
    "_id",
    "email",
    "firstName",
    "lastName",
    "companyName",
    "lastState",
    "status",
)

logger = logging.getLogger("lemlist_async.cli")

_EPILOG = f"""\
{KEY_HELP}

Output: one record per lead, with its campaign id, campaign after campaign.
jsonl (the default) writes every member lemlist sent, custom variables
included:
  {{"campaignId":"cam_...","_id":"lea_...","email":"...","Birthday":"1 May"}}
csv writes the columns {",".join(EXPORT_CSV_FIELDS)} only:
custom variables differ from campaign to campaign, and are in jsonl alone.
--output FILE appears only if every campaign succeeded; otherwise FILE is left
as it was and the leads exported are in FILE{PARTIAL_SUFFIX}.

Each failed campaign is one line on stderr. Exit code: 0 all succeeded,
1 some campaign failed, 2 usage error (bad option, no key, no ids),
141 stdout closed early. A progress line is drawn on stderr when it is a terminal.

examples:
  export {API_KEY_ENV_VAR}=...   # or: --key-file ~/.config/lemlist/key
  {PROG} export cam_A1B2C3D4E5F6G7H8I9 > leads.jsonl
  {PROG} export --ids-file campaigns.txt --state interested --state hooked \\
      --format csv -o leads.csv
  {PROG} campaigns --status running --ids | {PROG} export - -o running.jsonl
"""


class ExportCommand:
    """``export CAMPAIGN_ID... [--state S ...] [--format jsonl|csv] [-o FILE]``: see the module."""

    name = "export"
    help = "write every lead of campaigns, with their custom variables, as JSON Lines or CSV"
    description = (
        "Export every lead of each campaign, one campaign after another, and write\n"
        "one record per lead as it arrives."
    )
    epilog = _EPILOG

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """CAMPAIGN_ID..., --state (repeatable), the output, ids and connection options."""
        add_ids_options(parser)
        parser.add_argument(
            "--state",
            type=state,
            action="append",
            dest="states",
            metavar="S",
            help="only leads in this state; repeat for several (one lemlist does not "
            "document is sent anyway, with a warning)",
        )
        add_output_options(parser)
        add_ids_file_option(parser)
        add_connection_options(parser)

    def run(self, args: argparse.Namespace, console: Console) -> int:
        """Read the key and the ids, then export; 0, or 1 if any campaign failed."""
        key = read_api_key(os.environ, args.key_file)
        ids = list(dict.fromkeys(collect_ids(args.campaign_ids, args.ids_file, sys.stdin)))
        for name in args.states or ():
            warning = state_warning(name)
            if warning is not None:
                console.line(f"{PROG} {args.command}: {warning}")
        with RecordSink(args.output, console, noun="lead") as sink:
            failed = asyncio.run(_export(args, key, ids, sink, console))
        if failed:
            console.line(f"{PROG}: {failed:,} of {plural(len(ids), 'campaign')} failed")
        elif console.isatty():
            console.line(
                f"{PROG}: {plural(len(ids), 'campaign')}, {plural(sink.count, 'lead')}"
                f"{sink.where()}"
            )
        return exit_status(failed=failed)


async def _export(
    args: argparse.Namespace, key: str, ids: list[str], sink: RecordSink, console: Console
) -> int:
    """Export the campaigns in order, writing each lead as it arrives; returns the failures."""
    client = make_client(args, key)
    total = len(ids)
    status = ProgressLine(
        console, lambda: client.limiter, total=total, enabled=sink.progress_wanted()
    )
    write = record_writer(args.format, sink.stream, EXPORT_CSV_FIELDS)
    failed = 0
    logger.info("exporting the leads of %s from %s", plural(total, "campaign"), args.base_url)
    async with client:
        with status:
            for done, campaign_id in enumerate(ids, start=1):
                first = {"campaignId": campaign_id}
                try:
                    leads = client.campaigns.iter_export_leads(campaign_id, states=args.states)
                    async for lead in leads:
                        write(wire_record(lead, first))
                        status.leads += 1
                        sink.count = status.leads
                except (LemlistError, ValueError) as error:
                    # ValueError: an id no URL path can carry (only dots, say).
                    failed += 1
                    console.line(f"{PROG}: campaign {campaign_id}: {error}")
                    if isinstance(error, AuthenticationError):
                        # Every other campaign would fail the same way: stop here.
                        failed += total - done
                        console.line(
                            f"{PROG}: lemlist refused the API key; stopped, "
                            f"{plural(total - done, 'campaign')} not exported"
                        )
                        break
                status.on_progress(done, total)
    sink.finish(succeeded=not failed)
    return failed


register(ExportCommand())
