"""Run every benchmark and print its table: ``nox -s bench`` (or ``python benchmarks/run.py``).

``--only NAME`` runs one of them, e.g. ``python benchmarks/run.py --only overhead``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import bench_activities
import bench_export
import bench_fanout
import bench_import
import bench_memory
import bench_model
import bench_models
import bench_overhead
import bench_pages
import bench_ratelimit
import bench_sharing
import bench_sync
import bench_workers

#: Each benchmark by name, in the order they run; each returns its table.
BENCHMARKS: dict[str, Callable[[], str]] = {
    "ratelimit": lambda: bench_ratelimit.report(asyncio.run(bench_ratelimit.main())),
    "sharing": lambda: bench_sharing.report(asyncio.run(bench_sharing.main())),
    "overhead": lambda: bench_overhead.report(asyncio.run(bench_overhead.main())),
    "model": lambda: bench_model.report(asyncio.run(bench_model.main())),
    "models": lambda: bench_models.report(asyncio.run(bench_models.main())),
    "memory": lambda: bench_memory.report(asyncio.run(bench_memory.main())),
    "workers": bench_workers.run,
    "pages": lambda: bench_pages.report(asyncio.run(bench_pages.main())),
    "export": lambda: bench_export.report(asyncio.run(bench_export.main())),
    "fanout": lambda: bench_fanout.report(asyncio.run(bench_fanout.main())),
    "activities": lambda: bench_activities.report(asyncio.run(bench_activities.main())),
    "import": lambda: bench_import.report(asyncio.run(bench_import.main())),
    "sync": lambda: bench_sync.report(asyncio.run(bench_sync.main())),
}


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the benchmarks and print their tables.")
    parser.add_argument("--only", choices=list(BENCHMARKS), help="run this benchmark alone")
    args = parser.parse_args()
    names = [args.only] if args.only else list(BENCHMARKS)
    for i, name in enumerate(names):
        if i:
            print()
        print(BENCHMARKS[name](), flush=True)


if __name__ == "__main__":
    main()
