"""Structuring cost per model, against ``json.loads`` of the same bytes.

For each model the SDK builds from a body, one payload as the fake serves it
(compact JSON, as ``FakeLemlistServer`` sends it; the server is only
constructed for its seeded data, never started):

* ``Lead``: a 500-lead page of Get Campaign Leads (``list[Lead]``);
* ``Campaign``: a 100-campaign page of Get Many Campaigns, in the spec's plain
  array shape (``list[Campaign]``; the v2 envelope holds the same array);
* ``ExportedLead``: 500 leads of Export Campaign Leads with 10 custom variables
  (``list[ExportedLead]``);
* ``CampaignStats``: one Get Campaign Stats body with 5 steps. The fake seeds
  1 to 4 steps per campaign, so this is a 4-step campaign's body (500 leads)
  with a fifth step appended, a copy of the fourth renumbered.

Timed with ``timeit`` (garbage collection off, its default), per payload:
``json.loads`` of the bytes; ``lemlist_async._converter.structure(payload,
into)`` on the parsed payload (what the pipeline runs after parsing); both
together. The fast path is checked to agree with the detailed converter on
each payload first. Each case is sized once (from ``Timer.autorange``) to
about ``SAMPLE`` seconds a timing, then every case of every model runs in turn,
``REPEATS`` times, the order rotating each time; the minimum per case is kept.
The target, per model, is ``structure`` within 2x of ``json.loads``.

`bench_model` has the ``Lead`` page alone, with more steps (detailed
validation, orjson); this one is the comparison across models.
"""

from __future__ import annotations

import asyncio
import copy
import json
import timeit
from collections.abc import Callable
from typing import Any, Final

import attrs

from lemlist_async import Campaign, CampaignStats, ExportedLead, Lead
from lemlist_async._converter import converter, structure
from lemlist_async.testing import FakeLemlistServer

REPEATS: Final = 15
#: Seconds each timing should last: long enough to swamp the timer, short
#: enough to keep the run near 20 s.
SAMPLE: Final = 0.1
TARGET: Final = 2.0
LEADS: Final = 500
CAMPAIGNS: Final = 100
CUSTOM_VARIABLES: Final = 10
STEPS: Final = 5

JSON: Final = "json.loads"
STRUCTURE: Final = "structure"
PIPELINE: Final = "json.loads + structure"
CASES: Final = (JSON, STRUCTURE, PIPELINE)


@attrs.frozen
class Payload:
    """One body: its model, what it is, its bytes, the type it structures into."""

    model: str
    description: str
    body: bytes
    into: Any
    items: int


@attrs.frozen
class Result:
    """Microseconds per payload of each case."""

    payload: Payload
    micros: dict[str, float]

    @property
    def ratio(self) -> float:
        return self.micros[STRUCTURE] / self.micros[JSON]


def _dumps(value: Any) -> bytes:
    """Compact JSON, as the fake sends it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _five_step_stats(fake: FakeLemlistServer) -> dict[str, Any]:
    """A seeded campaign's stats body with the most steps, extended to `STEPS` steps."""
    bodies = [fake.campaign_stats(cid) for cid in fake.campaign_ids]
    body = max(bodies, key=lambda b: len(b["steps"]))
    steps: list[dict[str, Any]] = body["steps"]
    while len(steps) < STEPS:
        step = copy.deepcopy(steps[-1])
        step["index"] += 1
        step["sequenceStep"] += 1
        steps.append(step)
    return body


def payloads() -> list[Payload]:
    """The four bodies, from the fake's seeded data."""
    leads_fake = FakeLemlistServer(
        seed=7,
        campaigns=20,
        leads_per_campaign=LEADS,
        custom_variables=CUSTOM_VARIABLES,
        rate_limit=None,
    )
    cid = leads_fake.campaign_ids[0]
    campaigns_fake = FakeLemlistServer(
        seed=8,
        campaigns=CAMPAIGNS,
        leads_per_campaign=0,
        campaigns_shape="array",
        rate_limit=None,
    )
    stats = _five_step_stats(leads_fake)
    return [
        Payload(
            "Lead",
            f"{LEADS}-lead page",
            _dumps(leads_fake.campaign_leads(cid)[::-1]),  # newest first, like the API
            list[Lead],
            LEADS,
        ),
        Payload(
            "Campaign",
            f"{CAMPAIGNS}-campaign page",
            _dumps(campaigns_fake.campaigns()),
            list[Campaign],
            CAMPAIGNS,
        ),
        Payload(
            "ExportedLead",
            f"{LEADS} exported leads, {CUSTOM_VARIABLES} custom variables",
            _dumps(leads_fake.exported_leads(cid)),
            list[ExportedLead],
            LEADS,
        ),
        Payload(
            "CampaignStats",
            f"stats body, {len(stats['steps'])} steps",
            _dumps(stats),
            CampaignStats,
            1,
        ),
    ]


def cases(payload: Payload) -> dict[str, Callable[[], object]]:
    """The timed callables of one payload, in report order."""
    body, into = payload.body, payload.into
    parsed = json.loads(body)
    fast = structure(parsed, into)
    if fast != converter.structure(parsed, into):
        raise RuntimeError(f"the fast and detailed converters disagree on {payload.model}")
    if isinstance(fast, list) and len(fast) != payload.items:
        raise RuntimeError(f"{payload.model}: {len(fast)} items, not {payload.items}")
    return {
        JSON: lambda: json.loads(body),
        STRUCTURE: lambda: structure(parsed, into),
        PIPELINE: lambda: structure(json.loads(body), into),
    }


def _number(timer: timeit.Timer) -> int:
    """Calls per timing for about `SAMPLE` seconds (autorange aims at 0.2 s)."""
    number, seconds = timer.autorange()
    return max(1, round(number * SAMPLE / seconds))


def measure(bodies: list[Payload], *, repeats: int = REPEATS) -> list[Result]:
    timers = {
        (i, name): timeit.Timer(fn)
        for i, payload in enumerate(bodies)
        for name, fn in cases(payload).items()
    }
    numbers = {key: _number(timer) for key, timer in timers.items()}
    best = dict.fromkeys(timers, float("inf"))
    order = list(timers)
    for _ in range(repeats):
        for key in order:
            seconds = timers[key].timeit(numbers[key]) / numbers[key]
            best[key] = min(best[key], seconds)
        order.append(order.pop(0))  # every case takes every position in turn
    return [
        Result(payload, {name: best[i, name] * 1e6 for name in CASES})
        for i, payload in enumerate(bodies)
    ]


async def main() -> list[Result]:
    # Synchronous work; async only so that run.py treats every benchmark alike.
    return measure(payloads())


def report(results: list[Result]) -> str:
    lines = [
        f"Structuring cost per model (timeit, min of {REPEATS} interleaved repeats;"
        " µs per payload)",
        "",
        "| model | payload | bytes | json.loads | structure | json.loads + structure"
        " | structure / json.loads | target ≤ 2x |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        verdict = "met" if r.ratio <= TARGET else "MISSED"
        lines.append(
            f"| {r.payload.model} | {r.payload.description} | {len(r.payload.body):,}"
            f" | {r.micros[JSON]:,.1f} | {r.micros[STRUCTURE]:,.1f}"
            f" | {r.micros[PIPELINE]:,.1f} | **{r.ratio:.2f}x** | {verdict} |"
        )
    missed = [r.payload.model for r in results if r.ratio > TARGET]
    lines += [
        "",
        "structure within 2x of json.loads: "
        + ("met for every model" if not missed else f"MISSED for {', '.join(missed)}"),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(asyncio.run(main())))
