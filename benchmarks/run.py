"""Run every benchmark and print its table: ``nox -s bench`` (or ``python benchmarks/run.py``)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import bench_ratelimit


def main() -> None:
    print(bench_ratelimit.report(asyncio.run(bench_ratelimit.main())), flush=True)


if __name__ == "__main__":
    main()
