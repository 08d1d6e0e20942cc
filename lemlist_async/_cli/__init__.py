"""The ``lemlist-async`` command line.

::

    lemlist-async leads cam_A cam_B --state interested --limit 500 > leads.jsonl
    lemlist-async campaigns --status running --ids | lemlist-async export - > leads.jsonl
    lemlist-async import cam_A leads.csv --results results.jsonl
    lemlist-async activities --since 2024-05-01 --type emailsReplied > replies.jsonl
    lemlist-async team --format text
    lemlist-async sync sqlite:///lemlist.db
    lemlist-async demo

One module per command (``leads``, ``campaigns``, ``export``, ``imports``,
``activities``, ``team``, ``sync``, ``demo``); each registers a ``Command``
(``_base``) when imported,
and ``build_parser`` (``_parser``) adds a subcommand per registered command.
The shared parts:
``_inputs`` (ids, the API key, the refusal of key-like options), ``_options``
(shared options and their types), ``_console`` (stderr and the progress line),
``_output`` (JSON Lines, CSV, atomic ``--output`` and ``.partial``).

Rules every command keeps:

- The API key comes from ``LEMLIST_API_KEY`` or ``--key-file``, never from a
  command-line value; any option that looks like it carries one is refused
  before argparse parses anything (see ``_inputs``). The key is never printed,
  in any message or log line.
- Exit codes: 0 every campaign succeeded, 1 some failed (or the output could not
  be written: a full disk), 2 a usage error (a bad option, no key, no ids, an
  unreadable file), 130 interrupted, 141 stdout closed by its reader (``| head``),
  which ends the run without a word, as it ends a Unix tool.
- ``--output FILE`` appears only when the run succeeded; otherwise the records
  fetched are kept in ``FILE.partial`` (see ``_output``).
- The progress line is drawn only when stderr is a terminal (see ``_console``).

This package is imported by ``python -m lemlist_async`` and the console script
only; ``import lemlist_async`` never loads it, and ``lemlist_async.testing`` is
imported by ``demo`` alone, when it runs.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Sequence
from typing import Final

from ._base import (
    EXIT_BROKEN_PIPE,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    PROG,
    Command,
    UsageError,
)
from ._console import Console
from ._inputs import refuse_key_options
from ._parser import build_parser

__all__ = ["main"]

#: The command modules, in the order ``--help`` lists them; each registers its
#: command when imported.
COMMAND_MODULES: Final = (
    "leads",
    "campaigns",
    "export",
    "imports",
    "activities",
    "team",
    "sync",
    "demo",
)
for _module in COMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_module}")


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
        refuse_key_options(parser, arguments)
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
        command: Command = args.command_obj
        status = command.run(args, console)
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
