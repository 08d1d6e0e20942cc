"""Transport failures, simulated at the aiohttp level with aioresponses."""

from __future__ import annotations

import re
from collections.abc import Iterator

import aiohttp
import pytest
from aioresponses import aioresponses

from lemlist_async import APIConnectionError, APITimeoutError, LemlistClient

BASE = "https://api.lemlist.test/api"
LEADS = re.compile(r"^https://api\.lemlist\.test/api/campaigns/.*$")


@pytest.fixture
def mocked() -> Iterator[aioresponses]:
    with aioresponses() as m:
        yield m


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (aiohttp.ClientConnectionError("connection refused"), APIConnectionError),
        (aiohttp.ServerDisconnectedError(), APIConnectionError),
        (aiohttp.ClientPayloadError("truncated"), APIConnectionError),
        (aiohttp.ServerTimeoutError("read timeout"), APITimeoutError),
        (TimeoutError(), APITimeoutError),
    ],
)
async def test_transport_failure_is_wrapped_with_cause(
    mocked: aioresponses, raised: Exception, expected: type[APIConnectionError]
) -> None:
    mocked.get(LEADS, exception=raised)
    async with LemlistClient("k", base_url=BASE, max_retries=0) as client:
        with pytest.raises(expected) as caught:
            await client.get_campaign_leads("cam_1")
    assert type(caught.value) is expected
    assert caught.value.__cause__ is raised
    assert caught.value.method == "GET"
    assert caught.value.url == f"{BASE}/campaigns/cam_1/leads/"


async def test_success_through_mocked_transport(mocked: aioresponses) -> None:
    mocked.get(LEADS, payload=[{"_id": "lea_1", "contactId": "ctc_1", "state": "scanned"}])
    async with LemlistClient("k", base_url=BASE) as client:
        (lead,) = await client.get_campaign_leads("cam_1", limit=10)
    assert lead.id == "lea_1"
