"""Peak memory of a fan-out: streaming 200 and 2,000 campaigns of 500 leads each.

A consumer that counts each campaign's leads and drops them should need the
same memory for 2,000 campaigns as for 200: the stream keeps at most its
``concurrency`` fetches in flight and nothing of a campaign once it is handed
over. This checks that the client's peak does not grow with the number of
campaigns.

A rate-limit-free ``FakeLemlistServer`` with 2,000 campaigns of 500 leads runs
in a process of its own (`_server_process`), so its data and cached bodies are
not counted. Each measurement runs in a fresh child process (this file, run
with ``--child``): it reads the job on stdin, notes its peak RSS once its
imports are done, streams the campaigns with
``client.stream_campaign_leads(ids, limit=500)`` (``rate_limit`` lifted with
``contextlib.nullcontext()``, default concurrency), counting leads, and prints
its peak RSS and the count. The two sizes alternate for ``ROUNDS`` rounds
against the same server; the median per size is reported, with the ratio of the
2,000-campaign peak to the 200-campaign one (close to 1 when memory does not
grow with the campaign count).

The peak is ``VmHWM`` from ``/proc/self/status``, not ``ru_maxrss``: Linux
carries ``ru_maxrss`` over ``fork`` and ``exec``, so a child's starts at its
parent's peak (here, this benchmark process after whatever ran before it in
``run.py``). ``VmHWM`` belongs to the child's own address space. Where there
is no ``/proc``, ``ru_maxrss`` is used.
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

import attrs
from _rss import peak_kib
from _server_process import ServerInfo, server_process

from lemlist_async import LemlistClient

SIZES: Final = (200, 2000)
LEADS: Final = 500
ROUNDS: Final = 3
#: Seconds one child gets before it is killed.
CHILD_TIMEOUT: Final = 120.0
_CHILD_FLAG: Final = "--child"
#: This file, run with `_CHILD_FLAG` in each child.
_SCRIPT: Final = str(Path(__file__).resolve())


@attrs.frozen
class Run:
    """One child's measurement; sizes in KiB."""

    campaigns: int
    leads: int
    baseline_kib: int
    peak_kib: int
    elapsed: float


@attrs.frozen
class Size:
    """The median of the runs of one size."""

    campaigns: int
    leads: int
    baseline_mib: float
    peak_mib: float
    elapsed: float

    @classmethod
    def of(cls, runs: list[Run]) -> Size:
        return cls(
            campaigns=runs[0].campaigns,
            leads=runs[0].leads,
            baseline_mib=statistics.median(r.baseline_kib for r in runs) / 1024,
            peak_mib=statistics.median(r.peak_kib for r in runs) / 1024,
            elapsed=statistics.median(r.elapsed for r in runs),
        )


# -- The parent's side -----------------------------------------------------------------------


async def measure_in_child(server: ServerInfo, campaigns: int) -> Run:
    """Stream the first ``campaigns`` campaigns of ``server`` in a fresh process."""
    job = {
        "base_url": server.base_url,
        "api_key": server.api_key,
        "campaign_ids": server.campaign_ids[:campaigns],
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
        raise RuntimeError(f"the child for {campaigns} campaigns exited with {process.returncode}")
    run = Run(**json.loads(out))
    if run.leads != campaigns * LEADS:
        expected = campaigns * LEADS
        raise RuntimeError(f"{campaigns} campaigns gave {run.leads} leads, not {expected}")
    return run


async def main(sizes: tuple[int, ...] = SIZES, rounds: int = ROUNDS) -> list[Size]:
    async with server_process(campaigns=max(sizes), leads_per_campaign=LEADS, seed=3) as server:
        runs: dict[int, list[Run]] = {n: [] for n in sizes}
        order = list(sizes)
        for _ in range(rounds):
            for n in order:
                runs[n].append(await measure_in_child(server, n))
            order.reverse()
    return [Size.of(runs[n]) for n in sizes]


def report(sizes: list[Size]) -> str:
    lines = [
        f"Peak RSS of a fan-out, {LEADS} leads per campaign counted and dropped (rate limit"
        " lifted, default concurrency, fresh process per run, server in its own process;"
        " medians)",
        "",
        "| campaigns | leads counted | RSS after imports | peak RSS | peak - imports | elapsed |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for size in sizes:
        lines.append(
            f"| {size.campaigns:,} | {size.leads:,} | {size.baseline_mib:.1f} MiB"
            f" | {size.peak_mib:.1f} MiB | {size.peak_mib - size.baseline_mib:.1f} MiB"
            f" | {size.elapsed:.2f} s |"
        )
    small, large = sizes[0], sizes[-1]
    lines += [
        "",
        f"peak RSS {large.campaigns:,} / {small.campaigns:,} campaigns:"
        f" **{large.peak_mib / small.peak_mib:.2f}x** (close to 1: memory does not grow"
        " with the campaign count)",
    ]
    return "\n".join(lines)


# -- The child's side --------------------------------------------------------------------------


async def _stream(base_url: str, api_key: str, campaign_ids: list[str]) -> Run:
    baseline = peak_kib()
    start = time.perf_counter()
    leads = 0
    async with LemlistClient(
        api_key, base_url=base_url, rate_limit=contextlib.nullcontext()
    ) as client:
        stream = client.stream_campaign_leads(campaign_ids, limit=LEADS)
        async with stream:
            async for item in stream:
                if item.error is not None:
                    raise item.error
                assert item.leads is not None
                leads += len(item.leads)
    elapsed = time.perf_counter() - start
    return Run(len(campaign_ids), leads, baseline, peak_kib(), elapsed)


def _child() -> None:
    job = json.loads(sys.stdin.read())
    run = asyncio.run(_stream(job["base_url"], job["api_key"], job["campaign_ids"]))
    print(json.dumps(attrs.asdict(run)), flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == [_CHILD_FLAG]:
        _child()
    else:
        print(report(asyncio.run(main())))
