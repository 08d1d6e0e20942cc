"""Model cost: structuring one 500-lead page into ``list[Lead]``, against parsing its JSON.

The page is what ``FakeLemlistServer`` answers for a campaign of 500 leads and
``limit=500``: the leads newest first, serialized compactly, each with
``_id`` (``lea_`` and 17 letters or digits), ``contactId`` (``ctc_`` or
``con_``) and a ``state`` drawn from a realistic mix. The server is only
constructed for its seeded data, never started.

Timed with ``timeit`` (garbage collection off, as is its default), per page:

* ``json.loads`` of the page's bytes, the cost every client pays;
* ``lemlist_async._converter.structure(payload, list[Lead])``, the fast path
  the pipeline runs on the parsed payload;
* ``json.loads`` + ``structure``, the pipeline's whole decoding step;
* ``converter.structure`` with detailed validation, for information (the
  pipeline only falls back to it for a payload that does not fit);
* ``orjson.loads``, only when orjson is importable.

Each case is sized once (from ``Timer.autorange``) to about ``SAMPLE`` seconds
a timing, then the cases run in turn, ``REPEATS`` times, their order rotating
each time; the minimum per case is kept. The target is ``structure`` within 2x
of ``json.loads``.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import timeit
from collections.abc import Callable
from typing import Any, Final

import attrs

from lemlist_async import Lead
from lemlist_async._converter import converter, structure
from lemlist_async.testing import FakeLemlistServer

LEADS: Final = 500
REPEATS: Final = 15
#: Seconds each timing should last: long enough to swamp the timer, short
#: enough to keep the run near 10 s.
SAMPLE: Final = 0.1
TARGET: Final = 2.0

JSON: Final = "json.loads(bytes)"
STRUCTURE: Final = "structure(payload, list[Lead])"
PIPELINE: Final = "json.loads + structure"
DETAILED: Final = "converter.structure (detailed validation)"
ORJSON: Final = "orjson.loads(bytes)"


@attrs.frozen
class Result:
    """Microseconds per page of each case, in report order; the page's size; the repeats."""

    micros: dict[str, float]
    page_bytes: int
    repeats: int

    @property
    def ratio(self) -> float:
        return self.micros[STRUCTURE] / self.micros[JSON]


def page() -> bytes:
    """One 500-lead page, byte for byte as the fake server sends it."""
    fake = FakeLemlistServer(seed=7, campaigns=1, leads_per_campaign=LEADS, rate_limit=None)
    leads = fake.campaign_leads(fake.campaign_ids[0])[::-1]  # newest first, like the API
    return json.dumps(leads, separators=(",", ":")).encode("utf-8")


def _orjson_loads() -> Callable[[bytes], Any] | None:
    try:
        module = importlib.import_module("orjson")
    except ImportError:
        return None
    loads: Callable[[bytes], Any] = module.loads
    return loads


def cases(body: bytes) -> dict[str, Callable[[], object]]:
    """The timed callables, in report order."""
    payload = json.loads(body)
    into = list[Lead]
    checked: list[Lead] = structure(payload, into)
    if len(checked) != LEADS or checked != converter.structure(payload, into):
        raise RuntimeError("the fast and detailed converters disagree on the page")
    timed: dict[str, Callable[[], object]] = {
        JSON: lambda: json.loads(body),
        STRUCTURE: lambda: structure(payload, into),
        PIPELINE: lambda: structure(json.loads(body), into),
        DETAILED: lambda: converter.structure(payload, into),
    }
    orjson_loads = _orjson_loads()
    if orjson_loads is not None:
        if orjson_loads(body) != payload:
            raise RuntimeError("orjson and json disagree on the page")
        timed[ORJSON] = lambda: orjson_loads(body)
    return timed


def _number(timer: timeit.Timer) -> int:
    """Calls per timing for about `SAMPLE` seconds (autorange aims at 0.2 s)."""
    number, seconds = timer.autorange()
    return max(1, round(number * SAMPLE / seconds))


def measure(body: bytes, *, repeats: int = REPEATS) -> Result:
    timers = {name: timeit.Timer(fn) for name, fn in cases(body).items()}
    numbers = {name: _number(timer) for name, timer in timers.items()}
    best = dict.fromkeys(timers, float("inf"))
    order = list(timers)
    for _ in range(repeats):
        for name in order:
            seconds = timers[name].timeit(numbers[name]) / numbers[name]
            best[name] = min(best[name], seconds)
        order.append(order.pop(0))  # every case takes every position in turn
    return Result({name: s * 1e6 for name, s in best.items()}, len(body), repeats)


async def main() -> Result:
    # Synchronous work; async only so that run.py treats every benchmark alike.
    return measure(page())


def report(result: Result) -> str:
    base = result.micros[JSON]
    lines = [
        f"Model cost per {LEADS}-lead page ({result.page_bytes:,} bytes of JSON;"
        f" timeit, min of {result.repeats} interleaved repeats)",
        "",
        "| step | µs per page | ns per lead | / json.loads |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, micros in result.micros.items():
        lines.append(
            f"| {name} | {micros:,.1f} | {micros * 1000 / LEADS:,.0f} | {micros / base:.2f}x |"
        )
    verdict = "met" if result.ratio <= TARGET else "MISSED"
    lines += [
        "",
        f"structure / json.loads: **{result.ratio:.2f}x** (target ≤ {TARGET}x: {verdict})",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(asyncio.run(main())))
