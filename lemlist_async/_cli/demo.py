"""``lemlist-async demo``: the fan-out against a fake lemlist, in this process.

It starts ``FakeLemlistServer`` at lemlist's real rate limit, fetches the leads
of its seeded campaigns through the real client with the progress line, and
prints a summary. It needs neither a key nor a network. ``lemlist_async.testing``
(aiohttp.web) is imported when the demo runs, never by the rest of the CLI.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
from typing import Final

from lemlist_async._client import LemlistClient
from lemlist_async._constants import RATE_LIMIT, RATE_WINDOW

from ._base import EXIT_FAILED, EXIT_OK, PROG, register
from ._console import Console, ProgressLine
from ._options import bounded_int

__all__ = ["DemoCommand"]

# The demo's fake lemlist: the real rate limit and a small, realistic latency.
DEMO_CAMPAIGNS: Final = 200
DEMO_LIMIT: Final = 500
DEMO_LATENCY: Final = 0.030
DEMO_JITTER: Final = 0.020
_LATENCY_MS: Final = round(DEMO_LATENCY * 1000)
_JITTER_MS: Final = round(DEMO_JITTER * 1000)
_DEMO_MINIMUM: Final = RATE_WINDOW * (math.ceil(DEMO_CAMPAIGNS / RATE_LIMIT) - 1)

logger = logging.getLogger("lemlist_async.cli")

_EPILOG = f"""\
The fake lemlist (lemlist_async.testing.FakeLemlistServer) enforces the real
rate limit, {RATE_LIMIT} requests per {RATE_WINDOW:g} s in a fixed window, and answers each
request after {_LATENCY_MS} ms plus up to {_JITTER_MS} ms. The summary compares the elapsed
time with the fastest schedule that limit allows. {DEMO_CAMPAIGNS} campaigns take about
{_DEMO_MINIMUM:.0f} s: that is the rate limit at work, not slowness.

examples:
  {PROG} demo
  {PROG} demo --campaigns 25 --seed 7
"""


class DemoCommand:
    """``demo [--campaigns N] [--seed S]``: see the module docstring."""

    name = "demo"
    help = "fetch leads from a fake lemlist in this process: no key, no network"
    description = (
        "Start a fake lemlist in this process, fetch the leads of its seeded\n"
        "campaigns through the real client, and print a summary. No key, no network."
    )
    epilog = _EPILOG

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """--campaigns N and --seed S."""
        parser.add_argument(
            "--campaigns",
            type=bounded_int(1),
            default=DEMO_CAMPAIGNS,
            metavar="N",
            help=f"campaigns to fetch (default: {DEMO_CAMPAIGNS})",
        )
        parser.add_argument(
            "--seed", type=int, default=0, metavar="S", help="seeds the fake's data (default: 0)"
        )

    def run(self, args: argparse.Namespace, console: Console) -> int:
        """Run the demo; 0 when every campaign was fetched without a single 429, else 1."""
        return asyncio.run(_demo(args.campaigns, args.seed, console))


async def _demo(campaigns: int, seed: int, console: Console) -> int:
    # Imported here: the fake server (aiohttp.web) is for the demo only.
    from lemlist_async.testing import FakeLemlistServer

    loop = asyncio.get_running_loop()
    fake = FakeLemlistServer(
        seed=seed,
        campaigns=campaigns,
        rate_limit=RATE_LIMIT,
        window=RATE_WINDOW,
        window_mode="fixed",
        latency=DEMO_LATENCY,
        jitter=DEMO_JITTER,
    )
    async with fake:
        logger.info("demo: a fake lemlist at %s", fake.base_url)
        client = LemlistClient(fake.api_key, base_url=fake.base_url)
        status = ProgressLine(
            console, lambda: client.limiter, total=campaigns, enabled=console.isatty()
        )
        fetched = 0
        start = loop.time()
        async with client:
            with status:
                fanout = client.stream_campaign_leads(
                    fake.campaign_ids, limit=DEMO_LIMIT, on_progress=status.on_progress
                )
                async with fanout:
                    async for item in fanout:
                        if item.leads is None:
                            console.line(f"{PROG}: campaign {item.campaign_id}: {item.error}")
                            continue
                        fetched += 1
                        status.leads += len(item.leads)
        elapsed = loop.time() - start
        requests = len(fake.requests)
        too_many = fake.count(429)
        busiest = fake.max_arrivals_in_window(RATE_WINDOW)
    cycles = math.ceil(campaigns / RATE_LIMIT) - 1
    minimum = RATE_WINDOW * cycles + DEMO_LATENCY
    # Counts with thousands separators, as on the progress line; not inside the
    # formula, where "ceil(1,000/20)" would read as two arguments.
    print(
        f"fake lemlist: in this process, {RATE_LIMIT:,} requests per {RATE_WINDOW:g} s "
        f"(fixed window), {_LATENCY_MS} ms + up to {_JITTER_MS} ms latency",
        f"campaigns fetched: {fetched:,} of {campaigns:,}",
        f"leads: {status.leads:,}",
        f"requests the server received: {requests:,}",
        f"429 responses: {too_many:,}",
        f"most requests in any {RATE_WINDOW:g} s window: {busiest:,} (limit {RATE_LIMIT:,})",
        f"elapsed: {elapsed:.2f} s",
        f"theoretical minimum: {minimum:.2f} s = {RATE_WINDOW:g} s x (ceil({campaigns}/"
        f"{RATE_LIMIT}) - 1) + one {_LATENCY_MS} ms round trip",
        f"elapsed / minimum: {elapsed / minimum:.2f}",
        sep="\n",
    )
    return EXIT_OK if fetched == campaigns and too_many == 0 else EXIT_FAILED


register(DemoCommand())
