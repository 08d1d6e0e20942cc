"""What every command shares: exit codes, ``UsageError``, counts, and the registry.

A command is an object with the ``Command`` protocol's members; its module calls
``register(...)`` at import, and ``build_parser`` adds a subcommand for each
registered command, in registration order. Nothing else knows the commands.
"""

from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING, Final, Protocol

if TYPE_CHECKING:
    from ._console import Console

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "PROG",
    "SURROGATE",
    "Command",
    "UsageError",
    "commands",
    "error_reason",
    "exit_status",
    "plural",
    "register",
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

#: A UTF-16 surrogate code point, which text in UTF-8 can never hold.
SURROGATE: Final = re.compile("[\ud800-\udfff]")


class UsageError(Exception):
    """A problem with how the command was called; main reports it in one line, exit 2."""


class Command(Protocol):
    """A subcommand of ``lemlist-async``.

    Attributes:
        name: The word that selects it (``leads``).
        help: One line for the top-level ``--help``.
        description: The text above its own ``--help``'s options.
        epilog: The text below them: details and examples (raw, not re-wrapped).
    """

    name: str
    help: str
    description: str
    epilog: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add the command's own arguments to its (sub)parser."""

    def run(self, args: argparse.Namespace, console: Console) -> int:
        """Run with the parsed ``args``; return the exit code.

        May raise ``UsageError`` (exit 2), ``BrokenPipeError`` (stdout closed,
        exit 141), ``OSError`` (the output could not be written, exit 1) and
        ``KeyboardInterrupt`` (exit 130): ``main`` turns each into its exit code.
        """


_COMMANDS: dict[str, Command] = {}


def register(command: Command) -> Command:
    """Add ``command`` to the command line; returns it. A name is registered once.

    Raises:
        ValueError: Another command of that name is registered already.
    """
    if command.name in _COMMANDS:
        raise ValueError(f"a command named {command.name!r} is registered already")
    _COMMANDS[command.name] = command
    return command


def commands() -> tuple[Command, ...]:
    """The registered commands, in registration order."""
    return tuple(_COMMANDS.values())


def exit_status(*, failed: int) -> int:
    """The exit code of a finished run: 0 when no campaign failed, else 1."""
    return EXIT_FAILED if failed else EXIT_OK


def plural(count: int, noun: str) -> str:
    """``count`` and ``noun``, as every count the CLI prints: ``1 lead``, ``58,490 leads``.

    Thousands are separated by commas; unless the count is 1, the noun takes an
    ``s``, or ``ies`` for its ``y`` after a consonant (``2 activities``). Only
    for the CLI's own regular nouns (campaign, lead, activity).
    """
    if count == 1:
        return f"{count:,} {noun}"
    if noun.endswith("y") and noun[-2:-1] not in ("", "a", "e", "i", "o", "u"):
        return f"{count:,} {noun[:-1]}ies"
    return f"{count:,} {noun}s"


def error_reason(error: Exception) -> str:
    """Why reading or writing a file failed, in a few words that quote nothing.

    OSError's ``str()`` repeats the file name, and UnicodeDecodeError's quotes
    the offending bytes (which may be the key's): only the reason is kept.
    """
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    if isinstance(error, UnicodeDecodeError):
        return "not UTF-8 text"
    return type(error).__name__
