"""This process's peak resident set size, for the benchmarks that measure memory.

``VmHWM`` from ``/proc/self/status``, not ``ru_maxrss``: Linux carries
``ru_maxrss`` over ``fork`` and ``exec``, so a child's starts at its parent's
peak (a benchmark process, after whatever ran before it in ``run.py``).
``VmHWM`` belongs to the process's own address space. Where there is no
``/proc``, ``ru_maxrss`` is used.
"""

from __future__ import annotations

import resource
import sys

__all__ = ["peak_kib"]


def peak_kib() -> int:
    """This process's peak RSS in KiB."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])  # "VmHWM:    41234 kB"
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS
