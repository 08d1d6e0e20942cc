"""What the user gives: campaign ids (arguments, a file, stdin) and the API key.

The API key comes from ``LEMLIST_API_KEY`` or ``--key-file``, never from a
command-line value, which would show in the process list and the shell history.
Any option that looks like it carries a secret (``--api-key``, ``--apiKey``,
``--token``, ...; see ``key_option``) is refused before argparse parses
anything, so that no usage error echoes its value. No message here ever
contains the key.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, TextIO

from lemlist_async._constants import API_KEY_ENV_VAR

from ._base import SURROGATE, UsageError, error_reason

__all__ = ["collect_ids", "key_option", "parse_ids", "read_api_key", "refuse_key_options"]

# What makes an option name look like it carries a secret, once lowercased and
# stripped of "-" and "_": these words anywhere, or "key" at the end. Matching by
# shape rather than by a list of spellings: argparse's "unrecognized arguments"
# error would print the value of any spelling a list missed (--apiKey, --lemlist-api-key).
_KEY_WORDS: Final = ("apikey", "token", "secret")


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
    kept: the commands fetch each id once.

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
            raise UsageError(
                f"cannot read the campaign ids on stdin: {error_reason(error)}"
            ) from None

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
            raise UsageError(
                f"cannot read --ids-file {ids_file!r}: {error_reason(error)}"
            ) from None
    if not ids:
        raise UsageError(
            "no campaign ids: give them as arguments, with --ids-file FILE, or as '-' "
            "to read them from stdin"
        )
    for campaign_id in ids:
        if SURROGATE.search(campaign_id):
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
            raise UsageError(f"cannot read the --key-file: {error_reason(error)}") from None
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


def refuse_key_options(parser: argparse.ArgumentParser, argv: Sequence[str]) -> None:
    """Exit through ``parser.error`` (status 2) if any word of ``argv`` is a key-like option.

    Called before argparse sees ``argv``: its usage errors quote the words they
    reject, and a value after an unknown option is such a word. Every word is
    scanned, also after ``--``: no campaign id starts with ``-``, and a refusal
    costs nothing. The message names the option, never its value.
    """
    for argument in argv:
        option = key_option(argument)
        if option is not None:
            parser.error(
                f"there is no {option} option: a key on the command line shows in the "
                f"process list and the shell history. Set {API_KEY_ENV_VAR}, or put the "
                "key in a file and pass --key-file PATH"
            )
