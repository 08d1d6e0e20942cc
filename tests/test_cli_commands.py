"""Tests of the commands ``campaigns`` and ``export``, and of ``--rate-limit``.

``campaigns`` and ``export`` run in a subprocess (see ``tests/test_cli.py``)
against ``CampaignRoutes``: a small aiohttp server defined here that answers
lemlist's ``GET /api/campaigns`` (the v2 envelope, paged by offset and limit)
and ``GET /api/campaigns/{id}/export/leads`` (a JSON array of leads). It stands
in for ``FakeLemlistServer`` until the fake serves these routes itself.
"""

from __future__ import annotations

import asyncio
import csv
import re
from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from lemlist_async import LemlistClient, WindowRateLimiter
from lemlist_async._cli import _options, main
from lemlist_async._cli.campaigns import CAMPAIGN_CSV_FIELDS
from lemlist_async._cli.export import EXPORT_CSV_FIELDS
from lemlist_async._constants import API_KEY_ENV_VAR
from lemlist_async.testing import FakeLemlistServer

from .conftest import ScriptedServer
from .test_cli import KEY, cli, files_in, jsonl, run_with_terminal_stderr

STATUSES = ("running", "paused", "draft")


def campaign_payload(index: int) -> dict[str, Any]:
    """A campaign as lemlist's Get Many Campaigns (v2) lists it."""
    return {
        "_id": f"cam_{index:03d}",
        "name": f'Campaign {index}, "quoted"',
        "labels": ["q3", "eu"] if index % 2 else [],
        "createdAt": f"2024-01-{index % 28 + 1:02d}T03:04:05Z",
        "createdBy": "usr_1",
        "status": STATUSES[index % 3],
        "teamId": "tea_1",
        "hasError": False,
        "somethingNew": {"nested": index},  # undeclared: kept in JSON Lines
    }


def lead_payload(campaign_id: str, index: int) -> dict[str, Any]:
    """A lead as Export Campaign Leads (format=json) sends it, custom variable included."""
    lead: dict[str, Any] = {
        "_id": f"lea_{campaign_id}_{index}",
        "email": f"lead{index}@{campaign_id}.test",
        "firstName": f"Ann {index}",
        "companyName": "ACME, Inc.",
        "lastState": "interested" if index % 2 else "contacted",
        "Birthday": f"{index + 1} May",
    }
    if index == 0:
        lead["lastName"] = "Smith"
    return lead


class CampaignRoutes:
    """lemlist's campaign list and lead export, served on loopback.

    ``GET /api/campaigns`` pages ``campaigns`` by ``offset``/``limit`` in the v2
    envelope (filtered by ``status``); ``GET /api/campaigns/{id}/export/leads``
    answers ``leads[id]`` as a JSON array (filtered by the comma-separated
    ``state``), or 404 for an id it does not know. ``fail_offsets`` makes the
    list answer 403 at those offsets. Every request's path and query are kept.
    """

    def __init__(self, campaigns: int = 150, leads_per_campaign: int = 3) -> None:
        self.campaigns = [campaign_payload(i) for i in range(campaigns)]
        self.leads = {
            c["_id"]: [lead_payload(c["_id"], j) for j in range(leads_per_campaign)]
            for c in self.campaigns
        }
        self.fail_offsets: set[int] = set()
        self.requests: list[tuple[str, dict[str, str]]] = []
        app = web.Application()
        app.router.add_get("/api/campaigns", self._list)
        app.router.add_get("/api/campaigns/{campaign_id}/export/leads", self._export)
        self.server = TestServer(app, host="127.0.0.1")

    @property
    def base_url(self) -> str:
        return str(self.server.make_url("/api"))

    def of_status(self, status: str) -> list[dict[str, Any]]:
        return [c for c in self.campaigns if c["status"] == status]

    async def _list(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.requests.append((request.path, query))
        offset, limit = int(query["offset"]), int(query["limit"])
        if offset in self.fail_offsets:
            return web.json_response({"message": "Forbidden"}, status=403)
        chosen = [c for c in self.campaigns if query.get("status") in (None, c["status"])]
        return web.json_response(
            {
                "campaigns": chosen[offset : offset + limit],
                "pagination": {"totalRecords": len(chosen)},
            }
        )

    async def _export(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.requests.append((request.path, query))
        assert query["format"] == "json"
        leads = self.leads.get(request.match_info["campaign_id"])
        if leads is None:
            return web.Response(status=404, text="Campaign not found")
        states = query["state"].split(",") if "state" in query else None
        return web.json_response([x for x in leads if states is None or x["lastState"] in states])


@pytest.fixture
async def routes() -> AsyncIterator[CampaignRoutes]:
    served = CampaignRoutes()
    await served.server.start_server()
    yield served
    await served.server.close()


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(text.splitlines()))


# -- campaigns ---------------------------------------------------------------------------


async def test_campaigns_lists_every_page_as_jsonl(routes: CampaignRoutes) -> None:
    run = await cli("campaigns", "--base-url", routes.base_url)
    assert run.code == 0, run.stderr
    assert run.stderr == ""
    assert jsonl(run.stdout) == routes.campaigns  # every member, the undeclared one too
    assert next(iter(jsonl(run.stdout)[0])) == "_id"  # declared members first
    assert [(q["offset"], q["limit"], q["version"]) for _, q in routes.requests] == [
        ("0", "100", "v2"),
        ("100", "100", "v2"),
    ]


async def test_campaigns_as_csv(routes: CampaignRoutes, tmp_path: Path) -> None:
    target = tmp_path / "campaigns.csv"
    run = await cli(
        "campaigns", "--format", "csv", "-o", str(target), "--base-url", routes.base_url
    )
    assert run.code == 0, run.stderr
    assert run.stdout == ""
    rows = csv_rows(target.read_text(encoding="utf-8"))
    assert rows[0] == list(CAMPAIGN_CSV_FIELDS)
    assert ",".join(rows[0]) == "_id,name,status,createdAt,createdBy,teamId,labels"
    assert rows[1:3] == [
        ["cam_000", 'Campaign 0, "quoted"', "running", "2024-01-01T03:04:05Z", "usr_1",
         "tea_1", ""],
        ["cam_001", 'Campaign 1, "quoted"', "paused", "2024-01-02T03:04:05Z", "usr_1",
         "tea_1", "q3;eu"],
    ]  # fmt: skip
    assert len(rows) == 1 + len(routes.campaigns)
    assert files_in(tmp_path) == ["campaigns.csv"]


async def test_campaigns_by_status_prints_ids(routes: CampaignRoutes) -> None:
    run = await cli("campaigns", "--status", "running", "--ids", "--base-url", routes.base_url)
    assert run.code == 0, run.stderr
    assert run.stderr == ""  # a documented status: no warning
    assert run.stdout.splitlines() == [c["_id"] for c in routes.of_status("running")]
    assert {q["status"] for _, q in routes.requests} == {"running"}


async def test_an_unknown_status_is_sent_with_a_warning(routes: CampaignRoutes) -> None:
    run = await cli("campaigns", "--status", "Runing", "--ids", "--base-url", routes.base_url)
    assert run.code == 0, run.stderr
    assert run.stderr == (
        "lemlist-async campaigns: warning: 'Runing' is not a campaign status lemlist "
        "documents (did you mean 'running'?); it is sent as given\n"
    )
    assert [q["status"] for _, q in routes.requests] == ["Runing"]
    run = await cli("campaigns", "--status", "zzz", "--ids", "--base-url", routes.base_url)
    assert "(such as 'running', 'paused', 'draft', 'ended', 'archived', 'errors')" in run.stderr


def test_ids_and_format_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["campaigns", "--ids", "--format", "csv"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


async def test_a_list_that_fails_midway_keeps_a_partial_file(
    routes: CampaignRoutes, tmp_path: Path
) -> None:
    routes.fail_offsets.add(100)
    target = tmp_path / "campaigns.jsonl"
    run = await cli("campaigns", "-o", str(target), "--base-url", routes.base_url)
    assert run.code == 1
    lines = run.stderr.splitlines()
    assert lines[0].startswith("lemlist-async campaigns: error: 403 Forbidden")
    partial = tmp_path / "campaigns.jsonl.partial"
    assert lines[1] == (
        f"lemlist-async: '{target}' was not written; the 100 campaigns fetched are in '{partial}'"
    )
    assert jsonl(partial.read_text(encoding="utf-8")) == routes.campaigns[:100]
    assert files_in(tmp_path) == ["campaigns.jsonl.partial"]


# -- export ------------------------------------------------------------------------------


def exported(routes: CampaignRoutes, campaign_id: str) -> list[dict[str, Any]]:
    return [{"campaignId": campaign_id, **lead} for lead in routes.leads[campaign_id]]


async def test_the_pipe_from_campaigns_to_export(routes: CampaignRoutes) -> None:
    listed = await cli("campaigns", "--status", "running", "--ids", "--base-url", routes.base_url)
    assert listed.code == 0, listed.stderr
    run = await cli("export", "-", "--base-url", routes.base_url, stdin=listed.stdout)
    assert run.code == 0, run.stderr
    assert run.stderr == ""
    running = [c["_id"] for c in routes.of_status("running")]
    records = jsonl(run.stdout)
    # Campaign after campaign, in the order given, each lead as lemlist sent it.
    assert records == [record for cid in running for record in exported(routes, cid)]
    assert list(records[0]) == [
        "campaignId", "_id", "email", "firstName", "lastName", "companyName", "lastState",
        "Birthday",
    ]  # fmt: skip
    exports = [path for path, _ in routes.requests if path.endswith("/export/leads")]
    assert exports == [f"/api/campaigns/{cid}/export/leads" for cid in running]


async def test_export_as_csv_with_states(routes: CampaignRoutes) -> None:
    ids = ["cam_000", "cam_001"]
    run = await cli(
        "export", *ids, "--state", "interested", "--state", "contacted", "--format", "csv",
        "--base-url", routes.base_url,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    rows = csv_rows(run.stdout)
    assert rows[0] == list(EXPORT_CSV_FIELDS)
    assert (
        ",".join(rows[0]) == "campaignId,_id,email,firstName,lastName,companyName,lastState,status"
    )
    assert rows[1] == [
        "cam_000", "lea_cam_000_0", "lead0@cam_000.test", "Ann 0", "Smith", "ACME, Inc.",
        "contacted", "",
    ]  # fmt: skip
    assert [row[1] for row in rows[1:]] == [
        lead["_id"] for cid in ids for lead in routes.leads[cid]
    ]  # custom variables (Birthday) are not columns
    assert {q["state"] for _, q in routes.requests} == {"interested,contacted"}


async def test_export_warns_about_an_unknown_state(routes: CampaignRoutes) -> None:
    run = await cli("export", "cam_000", "--state", "intrested", "--base-url", routes.base_url)
    assert run.code == 0, run.stderr
    assert run.stderr.startswith(
        "lemlist-async export: warning: 'intrested' is not a lead state lemlist documents "
        "(did you mean 'interested'?)"
    )
    assert [q["state"] for _, q in routes.requests] == ["intrested"]
    assert run.stdout == ""  # no lead in that state


async def test_a_failed_campaign_is_reported_and_the_others_exported(
    routes: CampaignRoutes, tmp_path: Path
) -> None:
    target = tmp_path / "leads.jsonl"
    target.write_text("a previous export\n", encoding="utf-8")
    ids = ["cam_000", "cam_missing", "cam_002", "cam_000"]  # a duplicate, exported once
    run = await cli("export", *ids, "-o", str(target), "--base-url", routes.base_url)
    assert run.code == 1
    lines = run.stderr.splitlines()
    assert lines[0].startswith("lemlist-async: campaign cam_missing: 404 Campaign not found")
    partial = tmp_path / "leads.jsonl.partial"
    assert (
        lines[1]
        == f"lemlist-async: '{target}' was not written; the 6 leads fetched are in '{partial}'"
    )
    assert lines[2] == "lemlist-async: 1 of 3 campaigns failed"
    assert len(lines) == 3
    assert target.read_text(encoding="utf-8") == "a previous export\n"
    records = jsonl(partial.read_text(encoding="utf-8"))
    assert records == exported(routes, "cam_000") + exported(routes, "cam_002")
    assert files_in(tmp_path) == ["leads.jsonl", "leads.jsonl.partial"]


async def test_export_ids_from_a_file_and_arguments(
    routes: CampaignRoutes, tmp_path: Path
) -> None:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("# running\ncam_003  # the third\n\n", encoding="utf-8")
    run = await cli(
        "export", "cam_001", "--ids-file", str(ids_file), "--base-url", routes.base_url
    )
    assert run.code == 0, run.stderr
    assert jsonl(run.stdout) == exported(routes, "cam_001") + exported(routes, "cam_003")


async def test_export_draws_its_progress_line_on_a_terminal(
    routes: CampaignRoutes, tmp_path: Path
) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(KEY, encoding="utf-8")
    ids = ["cam_000", "cam_001", "cam_002"]
    code, out, terminal = await run_with_terminal_stderr(
        "export", *ids, "--key-file", str(key_file), "--base-url", routes.base_url
    )
    assert code == 0, terminal
    assert len(jsonl(out)) == 9
    if terminal is None:  # pragma: no cover - no pseudo-terminal
        return
    assert KEY not in terminal
    assert re.search(r"\r0/3 campaigns, 0 leads, [\d.]+ s", terminal)  # drawn at the start
    assert terminal.endswith("lemlist-async: 3 campaigns, 9 leads\r\n")  # wiped, then the total


async def test_export_without_ids_is_a_usage_error(routes: CampaignRoutes) -> None:
    run = await cli("export", "-", "--base-url", routes.base_url, stdin="")
    assert run.code == 2
    assert run.stderr.startswith("lemlist-async export: error: no campaign ids")
    assert routes.requests == []


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


@pytest.mark.parametrize(
    "argv", [["campaigns", "--ids"], ["export", "cam_000"]], ids=["campaigns", "export"]
)
async def test_rate_limit_reaches_the_client_of_campaigns_and_export(
    routes: CampaignRoutes,
    spy: type[SpyClient],
    argv: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = await run_main(*argv, "--rate-limit", "3", "--base-url", routes.base_url)
    assert code == 0, capsys.readouterr().err
    assert spy.limits == [3]
    assert capsys.readouterr().out.startswith(("cam_000\n", '{"campaignId":"cam_000"'))


async def test_the_pipe_against_the_fake_lemlist() -> None:
    # The same pipe against FakeLemlistServer, whose data is one coherent lemlist.
    async with FakeLemlistServer(
        seed=31, campaigns=12, leads_per_campaign=(1, 30), custom_variables=3, api_key=KEY
    ) as fake:
        listed = await cli(
            "campaigns", "--status", "running", "--ids", "--base-url", fake.base_url
        )
        assert listed.code == 0, listed.stderr
        run = await cli("export", "-", "--base-url", fake.base_url, stdin=listed.stdout)
        assert run.code == 0, run.stderr
        running = [c["_id"] for c in fake.campaigns() if c["status"] == "running"]
        assert listed.stdout.split() == running
        records = jsonl(run.stdout)
        assert records == [
            {"campaignId": cid, **lead} for cid in running for lead in fake.exported_leads(cid)
        ]
        assert fake.count(429) == 0
