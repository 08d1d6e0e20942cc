"""The top-level parser: shared options, then one subcommand per registered command."""

from __future__ import annotations

import argparse

from lemlist_async._version import __version__

from ._base import PROG, commands
from ._options import KEY_HELP

__all__ = ["build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser; each subcommand stores its ``Command`` as ``command_obj``.

    Every parser refuses abbreviated options (``allow_abbrev=False``), and every
    subcommand takes ``-v/--verbose``. Commands appear in registration order.
    """
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="The lemlist API from the command line, at its rate limit and never past it.",
        epilog=f"{KEY_HELP}\n\nexamples:\n  {PROG} demo\n  {PROG} leads --help\n"
        f"  {PROG} campaigns --status running --ids | {PROG} export - > leads.jsonl",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    common = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    common.add_argument(
        "-v", "--verbose", action="store_true", help="log retries and rate-limit pauses to stderr"
    )
    for command in commands():
        sub = subparsers.add_parser(
            command.name,
            parents=[common],
            help=command.help,
            description=command.description,
            epilog=command.epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            allow_abbrev=False,
        )
        sub.set_defaults(command_obj=command)
        command.add_arguments(sub)
    return parser
