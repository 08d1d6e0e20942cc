"""A ``FakeLemlistServer`` in a process of its own, for benchmarks that measure the client.

In the client's process the server would take its CPU time (serializing,
writing) and its memory (every campaign's leads and cached bodies) from the
very numbers being measured. Here it runs elsewhere:

* run as a script, this file starts a ``FakeLemlistServer`` on a free loopback
  port (rate limiting disabled unless asked for), prints one JSON line (``base_url``,
  ``api_key``, ``campaign_ids``) and serves until its standard input closes or
  it gets SIGTERM or SIGINT;
* `server_process` is the parent's side: it starts that script, waits for the
  line, and always stops the process on the way out, error or cancellation
  included. Closing the pipe is the stop signal, so a parent that dies without
  cleaning up still takes the server down with it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import attrs

from lemlist_async.testing import FakeLemlistServer

__all__ = ["ServerInfo", "server_process"]

#: Seconds for the server to bind and print its address.
STARTUP_TIMEOUT: Final = 30.0
#: Seconds the server gets to close after its stdin closes, before it is killed.
STOP_TIMEOUT: Final = 5.0
#: The ready line lists every campaign id; asyncio's default 64 KiB line limit
#: is too small for a few thousand.
_LINE_LIMIT: Final = 16 * 1024 * 1024
#: This file, run as the server's script.
_SCRIPT: Final = str(Path(__file__).resolve())


@attrs.frozen
class ServerInfo:
    """What a client needs to reach the server process.

    Attributes:
        base_url: The API root, e.g. ``"http://127.0.0.1:40123/api"``.
        api_key: The only key the server accepts.
        campaign_ids: The seeded campaigns, in seeding order.
        pid: The server's process id.
    """

    base_url: str
    api_key: str
    campaign_ids: tuple[str, ...]
    pid: int


@contextlib.asynccontextmanager
async def server_process(
    *,
    campaigns: int,
    leads_per_campaign: int = 500,
    seed: int = 0,
    custom_variables: int | None = None,
    rate_limit: int | None = None,
    window: float | None = None,
    activities: int | None = None,
    unsubscribes: int | None = None,
    latency: float = 0.0,
    jitter: float = 0.0,
) -> AsyncIterator[ServerInfo]:
    """Run a ``FakeLemlistServer`` in a child process, rate-limit-free by default.

    Args:
        campaigns: How many campaigns to seed.
        leads_per_campaign: Leads in every campaign.
        seed: Seeds the key and the data.
        custom_variables: Custom variables of every campaign; ``None`` keeps
            the fake's default (a random count from 0 to 10).
        rate_limit: Requests admitted per window (lemlist's 2 s, fixed); ``None``
            disables rate limiting.
        window: The rate-limit window in seconds; ``None`` keeps lemlist's.
        activities, unsubscribes: How many to seed; ``None`` keeps the fake's default.
        latency: Seconds added to every answer.
        jitter: Upper bound of an extra uniform random delay per answer.

    Yields:
        The running server's address, key and campaign ids.

    Raises:
        RuntimeError: The process exited or printed garbage instead of its ready line.
        TimeoutError: It did not get ready within `STARTUP_TIMEOUT` seconds.
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        _SCRIPT,
        f"--campaigns={campaigns}",
        f"--leads-per-campaign={leads_per_campaign}",
        f"--seed={seed}",
        *([] if custom_variables is None else [f"--custom-variables={custom_variables}"]),
        *([] if rate_limit is None else [f"--rate-limit={rate_limit}"]),
        f"--options={json.dumps(_options(window, activities, unsubscribes))}",
        f"--latency={latency!r}",
        f"--jitter={jitter!r}",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        limit=_LINE_LIMIT,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), STARTUP_TIMEOUT)
        if not line:
            code = await process.wait()
            raise RuntimeError(f"the server process exited with code {code} before it was ready")
        try:
            ready = json.loads(line)
            info = ServerInfo(
                base_url=ready["base_url"],
                api_key=ready["api_key"],
                campaign_ids=tuple(ready["campaign_ids"]),
                pid=process.pid,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise RuntimeError(f"unexpected ready line from the server: {line[:200]!r}") from exc
        yield info
    finally:
        await _stop(process)


def _options(
    window: float | None, activities: int | None, unsubscribes: int | None
) -> dict[str, Any]:
    """The fake's options given, by name; the others keep the fake's defaults."""
    given = {"window": window, "activities": activities, "unsubscribes": unsubscribes}
    return {name: value for name, value in given.items() if value is not None}


async def _stop(process: asyncio.subprocess.Process) -> None:
    """Close the server's stdin (its stop signal), then kill it if it lingers."""
    if process.stdin is not None:
        process.stdin.close()
    try:
        await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()


# -- The child's side ---------------------------------------------------------------------


class _UntilEof(asyncio.Protocol):
    """Sets ``stop`` when the parent closes the pipe; what it writes is ignored."""

    def __init__(self, stop: asyncio.Event) -> None:
        self._stop = stop

    def eof_received(self) -> bool | None:
        self._stop.set()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop.set()


async def _serve(
    *,
    campaigns: int,
    leads_per_campaign: int,
    seed: int,
    custom_variables: int | None,
    rate_limit: int | None,
    options: dict[str, Any],
    latency: float,
    jitter: float,
) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    transport, _ = await loop.connect_read_pipe(lambda: _UntilEof(stop), sys.stdin)
    # Passed only when given, so that the fake's own default holds otherwise.
    variables: dict[str, Any] = (
        {} if custom_variables is None else {"custom_variables": custom_variables}
    )
    try:
        async with FakeLemlistServer(
            seed=seed,
            campaigns=campaigns,
            leads_per_campaign=leads_per_campaign,
            **variables,
            rate_limit=rate_limit,
            **options,
            latency=latency,
            jitter=jitter,
            host="127.0.0.1",
            port=0,
        ) as fake:
            fake.activities()  # Drawn now, not during the first request measured.
            ready = {
                "base_url": fake.base_url,
                "api_key": fake.api_key,
                "campaign_ids": fake.campaign_ids,
            }
            print(json.dumps(ready), flush=True)
            await stop.wait()
    finally:
        transport.close()


def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--campaigns", type=int, required=True)
    parser.add_argument("--leads-per-campaign", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--custom-variables", type=int, default=None)
    parser.add_argument("--rate-limit", type=int, default=None)
    parser.add_argument("--options", type=json.loads, default={})
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--jitter", type=float, default=0.0)
    args = parser.parse_args()
    asyncio.run(
        _serve(
            campaigns=args.campaigns,
            leads_per_campaign=args.leads_per_campaign,
            seed=args.seed,
            custom_variables=args.custom_variables,
            rate_limit=args.rate_limit,
            options=args.options,
            latency=args.latency,
            jitter=args.jitter,
        )
    )


if __name__ == "__main__":
    _main()
