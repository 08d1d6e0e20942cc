"""Exporting one campaign of 100,000 leads with 10 custom variables: peak memory and speed.

Three ways of reading Export Campaign Leads (``?format=json``, one JSON array of
every lead, which the fake streams in chunks of 500 leads):

* ``client.campaigns.export_leads(id)``: reads the whole body, ``json.loads``,
  then structures the ``list[ExportedLead]`` on the compiled fast path;
* ``client.campaigns.iter_export_leads(id)``: parses aiohttp's stream with
  ijson and yields one ``ExportedLead`` at a time (``async for``);
* raw aiohttp: GET, ``await response.read()``, ``json.loads``: dicts only, the
  floor of reading the whole body.

The consumer counts the leads and keeps none of them (the list
``export_leads`` returns is alive until it is counted, as it would be for any
caller). Each variant runs at 100,000 leads and at 10,000; the target is for
the streaming variant: its peak stays flat (within 1.2x) from 10,000 to 100,000
leads.

Two rate-limit-free ``FakeLemlistServer`` of one campaign each (10,000 and
100,000 leads, 10 custom variables) run in processes of their own
(`_server_process`), so that neither their data nor the CPU they spend
serializing rows is counted; each serves one untimed export first (the fake
draws its leads on first use). Each measurement runs in a fresh child process
(this file, run with ``--child``): it reads the job on stdin, notes its peak
RSS once its imports are done, reads the export, and prints its peak RSS, the
count, the wall time and its own CPU time. The peak is ``VmHWM`` from
``/proc/self/status``, not ``ru_maxrss``, which Linux carries over ``fork`` and
``exec`` from the parent (see `bench_memory`); the reported growth is the peak
minus that baseline. Variants and sizes rotate for ``ROUNDS`` rounds; medians.

The fake serializes rows with the standard library's ``json`` at tens of
thousands of leads a second, so it, not the client, bounds the wall-clock rate;
the child's CPU time per lead is the client's own cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Final

import aiohttp
import attrs
from _rss import peak_kib
from _server_process import ServerInfo, server_process

from lemlist_async import LemlistClient

SIZES: Final = (10_000, 100_000)
CUSTOM_VARIABLES: Final = 10
ROUNDS: Final = 3
TARGET: Final = 1.2
#: Seconds one child gets before it is killed.
CHILD_TIMEOUT: Final = 120.0
_CHILD_FLAG: Final = "--child"
#: This file, run with `_CHILD_FLAG` in each child.
_SCRIPT: Final = str(Path(__file__).resolve())

EXPORT: Final = "export_leads (whole body)"
STREAM: Final = "iter_export_leads (ijson stream)"
RAW: Final = "aiohttp read + json.loads"
VARIANTS: Final = (EXPORT, STREAM, RAW)


@attrs.frozen
class Run:
    """One child's measurement; sizes in KiB."""

    variant: str
    leads: int
    baseline_kib: int
    peak_kib: int
    elapsed: float
    cpu: float


@attrs.frozen
class Result:
    """The medians of one variant's runs at one size."""

    variant: str
    leads: int
    baseline_mib: float
    peak_mib: float
    elapsed: float
    cpu: float

    @property
    def growth_mib(self) -> float:
        return self.peak_mib - self.baseline_mib

    @classmethod
    def of(cls, runs: list[Run]) -> Result:
        return cls(
            variant=runs[0].variant,
            leads=runs[0].leads,
            baseline_mib=statistics.median(r.baseline_kib for r in runs) / 1024,
            peak_mib=statistics.median(r.peak_kib for r in runs) / 1024,
            elapsed=statistics.median(r.elapsed for r in runs),
            cpu=statistics.median(r.cpu for r in runs),
        )


# -- The parent's side -----------------------------------------------------------------------


async def warm_up(server: ServerInfo) -> None:
    """One export, read and dropped chunk by chunk, so the fake has drawn its leads."""
    headers = {"Authorization": aiohttp.encode_basic_auth("", server.api_key)}
    url = f"{server.base_url}/campaigns/{server.campaign_ids[0]}/export/leads?format=json"
    async with aiohttp.ClientSession(headers=headers) as session, session.get(url) as response:
        response.raise_for_status()
        async for _ in response.content.iter_chunked(1 << 16):
            pass


async def measure_in_child(server: ServerInfo, variant: str, leads: int) -> Run:
    """Read ``server``'s export with ``variant`` in a fresh process."""
    job = {
        "variant": variant,
        "base_url": server.base_url,
        "api_key": server.api_key,
        "campaign_id": server.campaign_ids[0],
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        _SCRIPT,
        _CHILD_FLAG,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        out, _ = await asyncio.wait_for(
            process.communicate(json.dumps(job).encode()), CHILD_TIMEOUT
        )
    finally:
        if process.returncode is None:  # timed out, or cancelled
            process.kill()
            await process.wait()
    if process.returncode != 0:
        raise RuntimeError(f"the child for {variant} exited with {process.returncode}")
    run = Run(**json.loads(out))
    if run.leads != leads:
        raise RuntimeError(f"{variant} read {run.leads} leads, not {leads}")
    return run


async def main(sizes: tuple[int, ...] = SIZES, rounds: int = ROUNDS) -> list[Result]:
    async with contextlib.AsyncExitStack() as stack:
        servers: dict[int, ServerInfo] = {}
        for n in sizes:
            servers[n] = await stack.enter_async_context(
                server_process(
                    campaigns=1,
                    leads_per_campaign=n,
                    custom_variables=CUSTOM_VARIABLES,
                    seed=n,
                )
            )
        await asyncio.gather(*(warm_up(server) for server in servers.values()))
        runs: dict[tuple[str, int], list[Run]] = {(v, n): [] for n in sizes for v in VARIANTS}
        order = list(runs)
        for _ in range(rounds):
            for variant, n in order:
                runs[variant, n].append(await measure_in_child(servers[n], variant, n))
            order.append(order.pop(0))  # every case takes every position in turn
    return [Result.of(runs[key]) for key in runs]


def report(results: list[Result]) -> str:
    lines = [
        f"Exporting one campaign, {CUSTOM_VARIABLES} custom variables, leads counted and"
        " dropped (fresh process per run, server in its own process; medians of"
        f" {ROUNDS} rounds)",
        "",
        "| leads | variant | RSS after imports | peak RSS | peak - imports | elapsed"
        " | leads/s | client CPU per lead |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r.leads:,} | {r.variant} | {r.baseline_mib:.1f} MiB | {r.peak_mib:.1f} MiB"
            f" | {r.growth_mib:.1f} MiB | {r.elapsed:.2f} s | {r.leads / r.elapsed:,.0f}"
            f" | {r.cpu * 1e6 / r.leads:.1f} µs |"
        )
    streams = sorted((r for r in results if r.variant == STREAM), key=lambda r: r.leads)
    small, large = streams[0], streams[-1]
    ratio = large.peak_mib / small.peak_mib
    verdict = "met" if ratio <= TARGET else "MISSED"
    growth = large.growth_mib / small.growth_mib if small.growth_mib > 0 else float("inf")
    lines += [
        "",
        f"iter_export_leads peak RSS {large.leads:,} / {small.leads:,} leads:"
        f" **{ratio:.2f}x** (target ≤ {TARGET}x: {verdict}); peak - imports:"
        f" {growth:.2f}x",
    ]
    return "\n".join(lines)


# -- The child's side --------------------------------------------------------------------------


async def _read(variant: str, base_url: str, api_key: str, campaign_id: str) -> Run:
    baseline = peak_kib()
    start, start_cpu = time.perf_counter(), time.process_time()
    if variant == RAW:
        headers = {"Authorization": aiohttp.encode_basic_auth("", api_key)}
        url = f"{base_url}/campaigns/{campaign_id}/export/leads?format=json"
        async with aiohttp.ClientSession(headers=headers) as session:
            async with session.get(url) as response:
                response.raise_for_status()
                body = await response.read()
            leads = len(json.loads(body))
            del body
    else:
        async with LemlistClient(
            api_key, base_url=base_url, rate_limit=contextlib.nullcontext()
        ) as client:
            if variant == EXPORT:
                leads = len(await client.campaigns.export_leads(campaign_id))
            else:
                leads = 0
                async for _ in client.campaigns.iter_export_leads(campaign_id):
                    leads += 1
    elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    return Run(variant, leads, baseline, peak_kib(), elapsed, cpu)


def _child() -> None:
    job = json.loads(sys.stdin.read())
    run = asyncio.run(_read(job["variant"], job["base_url"], job["api_key"], job["campaign_id"]))
    print(json.dumps(attrs.asdict(run)), flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == [_CHILD_FLAG]:
        _child()
    else:
        print(report(asyncio.run(main())))
