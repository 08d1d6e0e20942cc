"""Page rules without I/O, and the pager over a scripted fetch: order, prefetch, early exit."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from lemlist_async import Page, Pager
from lemlist_async._pagination import OffsetPages

ENVELOPE = OffsetPages(100, items_key="campaigns", total_path=("pagination", "totalRecords"))


def test_offset_pages_first_query_keeps_the_filters() -> None:
    assert ENVELOPE.first({"status": "running"}) == {
        "status": "running",
        "offset": "0",
        "limit": "100",
    }


@pytest.mark.parametrize(
    ("offset", "got", "total", "following"),
    [
        (0, 100, None, "100"),  # A full page: ask for the next.
        (0, 99, None, None),  # A short page is the last.
        (0, 0, None, None),  # So is an empty one.
        (100, 100, 200, None),  # The total is reached.
        (100, 100, 250, "200"),
        (0, 100, 0, None),  # A total of 0 that disagrees with the page: stop.
    ],
)
def test_offset_pages_next_query(
    offset: int, got: int, total: int | None, following: str | None
) -> None:
    query = {"version": "v2", "offset": str(offset), "limit": "100"}
    after = ENVELOPE.after(query, got, total)
    if following is None:
        assert after is None
    else:
        assert after == {"version": "v2", "offset": following, "limit": "100"}


def test_offset_pages_read_the_array_and_the_envelope() -> None:
    assert ENVELOPE.split([{"_id": "cam_1"}]) == ([{"_id": "cam_1"}], None)
    envelope = {"campaigns": [{"_id": "cam_1"}], "pagination": {"totalRecords": 7}}
    assert ENVELOPE.split(envelope) == ([{"_id": "cam_1"}], 7)
    assert ENVELOPE.split({"campaigns": [], "pagination": {"totalRecords": "7"}}) == ([], None)
    assert ENVELOPE.split({"campaigns": []}) == ([], None)
    wrong: object
    for wrong in ({"data": []}, "text", 3, None):
        with pytest.raises(ValueError, match="expected"):
            ENVELOPE.split(wrong)
    with pytest.raises(ValueError, match="array"):
        OffsetPages(10).split({"campaigns": []})


def test_offset_pages_remaining_queries_from_the_total() -> None:
    first = ENVELOPE.first({})
    assert [q["offset"] for q in ENVELOPE.remaining(first, 350)] == ["100", "200", "300"]
    assert ENVELOPE.remaining(first, 100) == []


class Server:
    """A list of ``size`` items, served by offset; records what was asked and when."""

    def __init__(self, size: int, *, total: bool = True) -> None:
        self.size = size
        self.total = total
        self.asked: list[int] = []
        self.in_flight = 0
        self.most_in_flight = 0

    async def fetch(self, query: Mapping[str, str]) -> Page[int]:
        offset, limit = int(query["offset"]), int(query["limit"])
        self.asked.append(offset)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.1 if offset else 0.01)
        finally:
            self.in_flight -= 1
        items = list(range(offset, min(offset + limit, self.size)))
        return Page(items, offset, self.size if self.total else None)


def pager(server: Server, *, prefetch: int = 1, limit: int = 10) -> Pager[int]:
    return Pager(server.fetch, OffsetPages(limit), {}, prefetch=prefetch)


@pytest.mark.looptime
@pytest.mark.parametrize("prefetch", [1, 4])
@pytest.mark.parametrize("total", [True, False])
async def test_every_item_in_order_whatever_the_prefetch(prefetch: int, total: bool) -> None:
    server = Server(95, total=total)
    assert [item async for item in pager(server, prefetch=prefetch)] == list(range(95))
    assert sorted(server.asked) == list(range(0, 100, 10))
    assert server.most_in_flight == (prefetch if total else 1)


@pytest.mark.looptime
async def test_prefetch_runs_the_remaining_pages_together() -> None:
    loop = asyncio.get_running_loop()
    sequential, concurrent = Server(100), Server(100)
    start = loop.time()
    await pager(sequential).collect()
    one_by_one = loop.time() - start
    start = loop.time()
    await pager(concurrent, prefetch=9).collect()
    together = loop.time() - start
    assert one_by_one == pytest.approx(0.01 + 9 * 0.1)
    assert together == pytest.approx(0.01 + 0.1)


@pytest.mark.looptime
@pytest.mark.parametrize("prefetch", [1, 5])
async def test_breaking_out_sends_no_further_page(prefetch: int) -> None:
    server = Server(1000)
    async for item in pager(server, prefetch=prefetch):
        if item == 15:  # In the second page.
            break
    asked = list(server.asked)
    await asyncio.sleep(5)
    assert server.asked == asked
    assert server.in_flight == 0
    assert asked[:2] == [0, 10]
    assert len(asked) <= 1 + prefetch


@pytest.mark.looptime
async def test_a_kept_pager_stops_with_aclose() -> None:
    server = Server(1000)
    kept = pager(server, prefetch=5)
    async with kept:
        async for item in kept:
            if item == 15:
                break
    assert server.in_flight == 0
    asked = list(server.asked)
    await asyncio.sleep(5)
    assert server.asked == asked


@pytest.mark.looptime
async def test_pages_carry_offset_and_total_and_first_page_is_one_request() -> None:
    server = Server(25)
    pages = [page async for page in pager(server).pages()]
    assert [(p.offset, len(p.items), p.total) for p in pages] == [
        (0, 10, 25),
        (10, 10, 25),
        (20, 5, 25),
    ]
    server.asked.clear()
    first = await pager(server).first_page()
    assert (first.offset, first.items) == (0, list(range(10)))
    assert server.asked == [0]


@pytest.mark.looptime
async def test_a_failing_page_propagates_and_cancels_the_others() -> None:
    server = Server(1000)

    async def flaky(query: Mapping[str, str]) -> Page[int]:
        if query["offset"] == "20":
            raise RuntimeError("boom")
        return await server.fetch(query)

    with pytest.raises(RuntimeError, match="boom"):
        await Pager(flaky, OffsetPages(10), {}, prefetch=4).collect()
    assert server.in_flight == 0
