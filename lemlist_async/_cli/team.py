"""``lemlist-async team``: the team, its credits and its senders, secrets left out.

Three requests (``client.team.get``, ``.credits`` and ``.senders``), then one
JSON document on stdout::

    {"team": {...}, "credits": {...}, "senders": [...]}

each part as lemlist sent it (``converter.unstructure``: wire names, extra
members included), or, with ``--format text``, a few lines for a human.

Secrets are never printed. lemlist's team body may carry the Slack webhook's
URL and an API key; ``without_secrets`` drops, at any depth, ``slackWebhook``
(its ``url`` is a secret), every member whose name (lowercased, without ``_``
and ``-``) contains ``apikey``, ``token``, ``secret`` or ``password``, and a webhook's
``targetUrl`` (which often carries a token of its own). The text format shows
only a few chosen members, none of them secret.

A failed request is one line on stderr (lemlist's error, never the team's
body) and exit 1; nothing is written to stdout then.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Final

from lemlist_async._constants import API_KEY_ENV_VAR
from lemlist_async._converter import converter
from lemlist_async._errors import LemlistError
from lemlist_async._models import Sender, Team, TeamCredits
from lemlist_async._secrets import secret_name

from ._base import PROG, exit_status, plural, register
from ._console import Console
from ._inputs import read_api_key
from ._options import KEY_HELP, add_connection_options, make_client
from ._output import escape_surrogates

__all__ = ["TeamCommand", "secret_member", "team_document", "team_text", "without_secrets"]

#: Folded names of members dropped whole: the Slack webhook (its URL is a
#: secret) and a webhook's target URL (which often carries a token).
_SECRET_MEMBERS: Final = frozenset({"slackwebhook", "targeturl"})

logger = logging.getLogger("lemlist_async.cli")


def secret_member(name: str) -> bool:
    """Whether a member named ``name`` may hold a secret, and is left out of any output.

    ``name`` is folded (lowercased, without ``_`` and ``-``): ``slackWebhook``,
    ``targetUrl``, and every name `secret_name` calls secret (``apiKey``,
    ``api_key``, ``accessToken``, ``clientSecret``, ``password``).
    """
    folded = name.lower().replace("_", "").replace("-", "")
    return folded in _SECRET_MEMBERS or secret_name(name)


def without_secrets(value: Any) -> Any:
    """A copy of ``value`` (JSON-like data) without the members ``secret_member`` names.

    Mappings are filtered at every depth, lists and tuples (become lists) are
    walked; everything else is returned as it is.
    """
    if isinstance(value, Mapping):
        return {
            name: without_secrets(member)
            for name, member in value.items()
            if not secret_member(str(name))
        }
    if isinstance(value, list | tuple):
        return [without_secrets(item) for item in value]
    return value


def team_document(team: Team, credits: TeamCredits, senders: Sequence[Sender]) -> dict[str, Any]:
    """``{"team": ..., "credits": ..., "senders": [...]}``, wire names, secrets left out."""
    document: dict[str, Any] = without_secrets(
        {
            "team": converter.unstructure(team),
            "credits": converter.unstructure(credits),
            "senders": [converter.unstructure(sender) for sender in senders],
        }
    )
    return document


def team_text(team: Team, credits: TeamCredits, senders: Sequence[Sender]) -> str:
    """A few lines for a human: the team, its users, credits, and each sender's campaigns.

    Only declared, non-secret members are shown; ends with a newline.
    """
    users = team.users or ()
    names = {user.user_id: user.name or user.email for user in users if user.user_id}
    lines = [f"team: {team.name or '(no name)'} ({team.id}), {plural(len(users), 'user')}"]
    remaining = credits.details.remaining if credits.details is not None else None
    left = "" if remaining is None or remaining.total is None else f", {remaining.total:,} left"
    count = "unknown" if credits.credits is None else f"{credits.credits:,}"
    lines.append(f"credits: {count}{left}")
    lines.append(f"senders: {len(senders):,}")
    for sender in senders:
        who = names.get(sender.user_id or "") or sender.user_id or "(unknown user)"
        label = who if sender.user_id in (None, who) else f"{who} ({sender.user_id})"
        campaigns = sender.campaigns or ()
        lines.append(f"  {label}: {plural(len(campaigns), 'campaign')}")
        lines.extend(
            f"    {campaign.name or campaign.id} ({campaign.status or 'unknown status'})"
            for campaign in campaigns
        )
    return "\n".join(lines) + "\n"


_EPILOG = f"""\
{KEY_HELP}

Output: json (the default) is one JSON document,
  {{"team": {{...}}, "credits": {{...}}, "senders": [...]}}
each part as lemlist sent it, by its wire names; text is a short summary.
Secrets are never printed: the Slack webhook, webhooks' target URLs, and any
member named like an API key, a token or a secret are left out.

Exit code: 0 written, 1 lemlist failed, 2 usage error (bad option, no key).

examples:
  export {API_KEY_ENV_VAR}=...   # or: --key-file ~/.config/lemlist/key
  {PROG} team --format text
  {PROG} team | jq '.credits.credits'
"""


class TeamCommand:
    """``team [--format json|text]``: see the module docstring."""

    name = "team"
    help = "show the team, its credits and its senders (secrets left out)"
    description = "Show the team of the API key, its credits and its senders."
    epilog = _EPILOG

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """--format and the connection options."""
        parser.add_argument(
            "--format", choices=("json", "text"), default="json", help="json (default) or text"
        )
        add_connection_options(parser)

    def run(self, args: argparse.Namespace, console: Console) -> int:
        """Fetch the three parts, then write them; 0, or 1 if a request failed."""
        key = read_api_key(os.environ, args.key_file)
        try:
            team, credits, senders = asyncio.run(_fetch(args, key))
        except LemlistError as error:
            console.line(f"{PROG} {args.command}: error: {error}")
            return exit_status(failed=1)
        if args.format == "text":
            text = team_text(team, credits, senders)
        else:
            document = team_document(team, credits, senders)
            text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
        if isinstance(sys.stdout, io.TextIOWrapper):
            sys.stdout.reconfigure(encoding="utf-8")
        sys.stdout.write(escape_surrogates(text))
        return exit_status(failed=0)


async def _fetch(args: argparse.Namespace, key: str) -> tuple[Team, TeamCredits, list[Sender]]:
    """The team, its credits and its senders, one request after another."""
    logger.info("reading the team from %s", args.base_url)
    async with make_client(args, key) as client:
        team = await client.team.get()
        credits = await client.team.credits()
        senders = await client.team.senders()
    return team, credits, senders


register(TeamCommand())
