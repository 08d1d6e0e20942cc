"""Tests of the commands ``campaigns`` and ``export``, and of ``--rate-limit``.

``campaigns`` and ``export`` run in a subprocess (see ``tests/test_cli.py``)
against ``CampaignRoutes``: a small aiohttp server defined here that answers
lemlist's ``GET /api/campaigns`` (the v2 envelope, paged by offset and limit)
and ``GET /api/campaigns/{id}/export/leads`` (a JSON array of leads). It stands
in for ``FakeLemlistServer`` until the fake serves these routes itself.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

import pytest

from lemlist_async import LemlistClient, WindowRateLimiter
from lemlist_async._cli import _options, main
from lemlist_async._constants import API_KEY_ENV_VAR

from .conftest import ScriptedServer
from .test_cli import KEY, jsonl

# -- --rate-limit ------------------------------------------------------------------------


class SpyClient(LemlistClient):
    """A LemlistClient that records its limiter's limit when it closes."""

    limits: list[int | None] = []  # noqa: RUF012 - reset by the fixture

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        limiter = self.limiter
        SpyClient.limits.append(limiter.limit if isinstance(limiter, WindowRateLimiter) else None)
        await super().__aexit__(exc_type, exc, tb)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> type[SpyClient]:
    monkeypatch.setattr(SpyClient, "limits", [])
    monkeypatch.setattr(_options, "LemlistClient", SpyClient)
    monkeypatch.setenv(API_KEY_ENV_VAR, KEY)
    return SpyClient


async def run_main(*argv: str) -> int:
    """``main(argv)`` in a thread (it runs its own event loop) while this loop serves."""
    return await asyncio.to_thread(main, list(argv))


@pytest.mark.parametrize(("option", "limit"), [([], 20), (["--rate-limit", "5"], 5)])
async def test_rate_limit_reaches_the_client_of_leads(
    server: ScriptedServer,
    spy: type[SpyClient],
    option: list[str],
    limit: int,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = await run_main("leads", "cam_1", *option, "--base-url", server.base_url)
    assert code == 0, capsys.readouterr().err
    assert spy.limits == [limit]
    assert jsonl(capsys.readouterr().out)[0]["campaignId"] == "cam_1"


@pytest.mark.parametrize("value", ["0", "21", "many"])
def test_a_rate_limit_out_of_range_is_a_usage_error(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["leads", "cam_1", "--rate-limit", value]) == 2
    assert "argument --rate-limit: expected an integer from 1 to 20" in capsys.readouterr().err
