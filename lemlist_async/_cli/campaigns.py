"""``lemlist-async campaigns``: the team's campaigns, as JSON Lines, CSV, or their ids.

Every campaign is read through the SDK's pager (``client.campaigns.list``, 100
a page) and written as it arrives. ``--ids`` writes the ids alone, one per
line, for ``lemlist-async export -`` to read::

    lemlist-async campaigns --status running --ids | lemlist-async export -

A failure midway is one line on stderr and exit 1; with ``--output FILE`` the
campaigns listed until then are kept in ``FILE.partial``, as ``leads`` does.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from collections.abc import Callable
from typing import Final, TextIO

from lemlist_async._constants import API_KEY_ENV_VAR
from lemlist_async._errors import LemlistError
from lemlist_async._models import Campaign

from ._base import PROG, exit_status, plural, register
from ._console import Console
from ._inputs import read_api_key
from ._options import (
    KEY_HELP,
    add_connection_options,
    campaign_status,
    make_client,
    status_warning,
)
from ._output import PARTIAL_SUFFIX, RecordSink, escape_surrogates, record_writer, wire_record

__all__ = ["CAMPAIGN_CSV_FIELDS", "CampaignsCommand", "status_warning"]

#: The CSV columns; ``labels`` are joined with ``;``. Every member is in JSON Lines.
CAMPAIGN_CSV_FIELDS: Final = (
    "_id",
    "name",
    "status",
    "createdAt",
    "createdBy",
    "teamId",
    "labels",
)

logger = logging.getLogger("lemlist_async.cli")


_EPILOG = f"""\
{KEY_HELP}

Output: one record per campaign, oldest first. jsonl (the default) writes
every member lemlist sent:
  {{"_id":"cam_...","name":"Q3 outreach","status":"running","createdAt":"...",...}}
csv writes the columns {",".join(CAMPAIGN_CSV_FIELDS)} only (labels
joined with ';'). --ids writes the ids alone, one per line, for export -.
--output FILE appears only if the whole list was read; otherwise FILE is left
as it was and the campaigns listed are in FILE{PARTIAL_SUFFIX}.

Exit code: 0 listed, 1 lemlist failed midway, 2 usage error (bad option, no key).

examples:
  export {API_KEY_ENV_VAR}=...   # or: --key-file ~/.config/lemlist/key
  {PROG} campaigns > campaigns.jsonl
  {PROG} campaigns --status running --format csv -o running.csv
  {PROG} campaigns --status running --ids | {PROG} export - > leads.jsonl
"""


class CampaignsCommand:
    """``campaigns [--status S] [--format jsonl|csv | --ids] [-o FILE]``: see the module."""

    name = "campaigns"
    help = "list the campaigns as JSON Lines or CSV, or only their ids"
    description = (
        "List every campaign of the team, page by page, and write one record per campaign."
    )
    epilog = _EPILOG

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """--status, --format or --ids, --output, and the connection options."""
        parser.add_argument(
            "--status",
            type=campaign_status,
            metavar="S",
            help="only campaigns in this status, e.g. running (one lemlist does not "
            "document is sent anyway, with a warning)",
        )
        shape = parser.add_mutually_exclusive_group()
        shape.add_argument(
            "--format", choices=("jsonl", "csv"), default="jsonl", help="jsonl (default) or csv"
        )
        shape.add_argument(
            "--ids",
            action="store_true",
            help=f"write only the ids, one per line (for `| {PROG} export -`)",
        )
        parser.add_argument(
            "-o", "--output", metavar="FILE", help="write to FILE (atomically) instead of stdout"
        )
        add_connection_options(parser)

    def run(self, args: argparse.Namespace, console: Console) -> int:
        """List and write; 0, or 1 if lemlist failed before the end of the list."""
        key = read_api_key(os.environ, args.key_file)
        warning = None if args.status is None else status_warning(args.status)
        if warning is not None:
            console.line(f"{PROG} {args.command}: {warning}")
        with RecordSink(args.output, console, noun="campaign") as sink:
            failed = asyncio.run(_list_campaigns(args, key, sink, console))
        if not failed and console.isatty():
            console.line(f"{PROG}: {plural(sink.count, 'campaign')}{sink.where()}")
        return exit_status(failed=failed)


def _writer(args: argparse.Namespace, stream: TextIO) -> Callable[[Campaign], None]:
    """A function that writes one campaign: its id alone, or its record."""
    if args.ids:

        def write_id(campaign: Campaign) -> None:
            stream.write(escape_surrogates(campaign.id) + "\n")

        return write_id
    write_record = record_writer(args.format, stream, CAMPAIGN_CSV_FIELDS)

    def write(campaign: Campaign) -> None:
        write_record(wire_record(campaign))

    return write


async def _list_campaigns(
    args: argparse.Namespace, key: str, sink: RecordSink, console: Console
) -> int:
    """Write every campaign as it arrives; returns 1 if lemlist failed midway, else 0."""
    write = _writer(args, sink.stream)
    logger.info("listing the campaigns from %s", args.base_url)
    async with make_client(args, key) as client:
        try:
            async for campaign in client.campaigns.list(status=args.status):
                write(campaign)
                sink.count += 1
        except LemlistError as error:
            console.line(f"{PROG} {args.command}: error: {error}")
            sink.finish(succeeded=False)
            return 1
    sink.finish(succeeded=True)
    return 0


register(CampaignsCommand())
