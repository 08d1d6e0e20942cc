"""``lemlist-async activities``: the team's activities, as JSON Lines or CSV.

Every matching activity is read through the SDK's pager
(``client.activities.list``, newest first, 100 a page) and written as it
arrives. Without ``--until`` the walk is pinned to the moment of its first
request (``maxDate``), so activities created meanwhile neither shift the pages
nor come twice.

``--since`` and ``--until`` take ISO 8601 dates or dates and times; a date
alone is midnight UTC, and a time without an offset is UTC (``iso_datetime``).
A bad date, or ``--since`` after ``--until``, is a usage error (exit 2)
before any request. ``--type`` is an open set: one lemlist does not document
is sent anyway, with a warning.

A failure midway is one line on stderr and exit 1; with ``--output FILE`` the
activities written until then are kept in ``FILE.partial``, as ``campaigns`` does.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from collections.abc import Callable
from typing import Final

from lemlist_async._constants import API_KEY_ENV_VAR
from lemlist_async._errors import LemlistError
from lemlist_async._models import ActivityType

from ._base import PROG, SURROGATE, UsageError, exit_status, plural, register
from ._console import Console, CountLine
from ._inputs import read_api_key
from ._options import (
    KEY_HELP,
    add_connection_options,
    add_output_options,
    iso_datetime,
    make_client,
    open_set_warning,
)
from ._output import PARTIAL_SUFFIX, RecordSink, record_writer, wire_record

__all__ = ["ACTIVITY_CSV_FIELDS", "ActivitiesCommand", "type_warning"]

#: The CSV columns. Every other member (the lead's fields, custom variables...)
#: is in JSON Lines only: they vary per activity, and a CSV header is written first.
ACTIVITY_CSV_FIELDS: Final = ("_id", "type", "createdAt", "campaignId", "leadId", "sequenceStep")

#: The activity types lemlist documents: ``ActivityType``'s members (iteration
#: skips the pseudo-members that unknown types become).
_KNOWN_TYPES: Final = frozenset(member.value for member in ActivityType)
# Listed by a warning about a type that is close to none of them.
_COMMON_TYPES: Final = ("emailsSent", "emailsOpened", "emailsClicked", "emailsReplied")

logger = logging.getLogger("lemlist_async.cli")


def type_warning(activity_type: str) -> str | None:
    """A warning for a ``--type`` that lemlist does not document; None for one it does.

    Only the members of ``ActivityType`` count; this never calls
    ``ActivityType(name)``, which would cache a pseudo-member per name typed.
    See ``open_set_warning``.
    """
    return open_set_warning(activity_type, _KNOWN_TYPES, _COMMON_TYPES, "an activity type")


def _text(what: str) -> Callable[[str], str]:
    """An argparse ``type`` for a non-empty name or id, stripped, that is valid text."""

    def parse(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"must not be empty; leave it out for every {what}")
        if SURROGATE.search(text):
            raise argparse.ArgumentTypeError("is not valid UTF-8 text")
        return text.strip()

    return parse


_EPILOG = f"""\
{KEY_HELP}

Output: one record per activity, newest first. jsonl (the default) writes
every member lemlist sent, by its wire name (a lead's fields and custom
variables included):
  {{"_id":"act_...","type":"emailsOpened","createdAt":"...","campaignId":"cam_...",...}}
csv writes the columns {",".join(ACTIVITY_CSV_FIELDS)} only.
--output FILE appears only if the whole list was read; otherwise FILE is left
as it was and the activities read are in FILE{PARTIAL_SUFFIX}.

Dates: 2024-05-01 is midnight UTC; 2024-05-01T09:30 is UTC; an offset
(+02:00, Z) is kept. Without --until, the list is pinned to the moment of the
first request: activities created while it is read are left out.

Exit code: 0 listed, 1 lemlist failed midway, 2 usage error (bad option or
date, no key). A progress line is drawn on stderr when it is a terminal.

examples:
  export {API_KEY_ENV_VAR}=...   # or: --key-file ~/.config/lemlist/key
  {PROG} activities --since 2024-05-01 > may.jsonl
  {PROG} activities --type emailsReplied --campaign cam_A1B2C3D4E5F6G7H8I9 \\
      --first --format csv -o replies.csv
"""


class ActivitiesCommand:
    """``activities [--type T] [--campaign ID] [--lead ID] [--first|--not-first] ...``."""

    name = "activities"
    help = "list the activities (opens, replies, ...) as JSON Lines or CSV"
    description = (
        "List every activity that matches, newest first, page by page, and write\n"
        "one record per activity."
    )
    epilog = _EPILOG

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """The filters, the output and the connection options."""
        parser.add_argument(
            "--type",
            type=_text("type"),
            metavar="T",
            help="only activities of this type, e.g. emailsOpened (one lemlist does not "
            "document is sent anyway, with a warning)",
        )
        parser.add_argument(
            "--campaign", type=_text("campaign"), metavar="ID", help="only this campaign's"
        )
        parser.add_argument("--lead", type=_text("lead"), metavar="ID", help="only this lead's")
        first = parser.add_mutually_exclusive_group()
        first.add_argument(
            "--first",
            dest="is_first",
            action="store_const",
            const=True,
            help="only the first activity of each type per lead",
        )
        first.add_argument(
            "--not-first",
            dest="is_first",
            action="store_const",
            const=False,
            help="only the later ones (not the first of each type per lead)",
        )
        parser.add_argument(
            "--since",
            type=iso_datetime,
            metavar="ISO",
            help="only activities at or after this date or date and time (UTC unless given)",
        )
        parser.add_argument(
            "--until",
            type=iso_datetime,
            metavar="ISO",
            help="only activities at or before this date or date and time (UTC unless given)",
        )
        add_output_options(parser)
        add_connection_options(parser)

    def run(self, args: argparse.Namespace, console: Console) -> int:
        """List and write; 0, or 1 if lemlist failed before the end of the list.

        Raises:
            UsageError: ``--since`` is after ``--until``, or no key.
        """
        if args.since is not None and args.until is not None and args.since > args.until:
            raise UsageError(
                f"--since {args.since.isoformat()} is after --until {args.until.isoformat()}"
            )
        key = read_api_key(os.environ, args.key_file)
        warning = None if args.type is None else type_warning(args.type)
        if warning is not None:
            console.line(f"{PROG} {args.command}: {warning}")
        with RecordSink(args.output, console, noun="activity") as sink:
            failed = asyncio.run(_list_activities(args, key, sink, console))
        if not failed and console.isatty():
            console.line(f"{PROG}: {plural(sink.count, 'activity')}{sink.where()}")
        return exit_status(failed=failed)


async def _list_activities(
    args: argparse.Namespace, key: str, sink: RecordSink, console: Console
) -> int:
    """Write every activity as it arrives; returns 1 if lemlist failed midway, else 0."""
    write = record_writer(args.format, sink.stream, ACTIVITY_CSV_FIELDS)
    client = make_client(args, key)
    logger.info("listing the activities from %s", args.base_url)
    async with client:
        with CountLine(
            console, lambda: client.limiter, noun="activity", enabled=sink.progress_wanted()
        ) as progress:
            activities = client.activities.list(
                type=args.type,
                campaign_id=args.campaign,
                lead_id=args.lead,
                is_first=args.is_first,
                since=args.since,
                until=args.until,
            )
            try:
                async with activities:
                    async for activity in activities:
                        write(wire_record(activity))
                        sink.count += 1
                        progress.count = sink.count
            except LemlistError as error:
                console.line(f"{PROG} {args.command}: error: {error}")
                sink.finish(succeeded=False)
                return 1
    sink.finish(succeeded=True)
    return 0


register(ActivitiesCommand())
