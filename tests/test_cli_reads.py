"""Tests of the commands ``activities`` and ``team``, and of ``leads --all-campaigns``.

``activities`` and ``team`` run in a subprocess (see ``tests/test_cli.py``)
against ``ReadRoutes``: a small aiohttp server defined here that answers
lemlist's ``GET /api/activities`` (a JSON array, paged by offset and limit),
``GET /api/team``, ``/api/team/credits`` and ``/api/team/senders``. It stands
in for ``FakeLemlistServer`` until the fake serves these routes itself.
``leads --all-campaigns`` runs against ``FakeLemlistServer``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from lemlist_async import ActivityType
from lemlist_async._cli import main
from lemlist_async._cli._options import iso_datetime
from lemlist_async._cli.activities import ACTIVITY_CSV_FIELDS, type_warning
from lemlist_async._cli.team import secret_member, without_secrets
from lemlist_async._constants import API_KEY_ENV_VAR
from lemlist_async.testing import FakeLemlistServer

from .test_cli import KEY, by_campaign, cli, expected, files_in, jsonl, run_with_terminal_stderr

#: Secrets the team body carries; none may ever be printed.
SLACK_URL: Final = "https://hooks.slack.com/services/T0/B0/SLACK-SECRET-93f1"
TEAM_API_KEY: Final = "team-api-key-SECRET-5be2"
HOOK_URL: Final = "https://example.test/hook?token=HOOK-SECRET-0c7d"
SECRETS: Final = (SLACK_URL, "SLACK-SECRET", TEAM_API_KEY, "HOOK-SECRET", "NESTED-SECRET")
TYPES: Final = ("emailsSent", "emailsOpened", "emailsClicked", "emailsReplied")
START: Final = dt.datetime(2024, 5, 31, 12, tzinfo=dt.UTC)

CREDITS: Final = {"credits": 10, "details": {"remaining": {"total": 10}}}
SENDERS: Final = [
    {
        "userId": "usr_1",
        "campaigns": [
            {"_id": "cam_1", "name": "X", "status": "running", "sendingChannels": ["email"]}
        ],
    }
]


def activity_payload(index: int) -> dict[str, Any]:
    """An activity as Get Many Activities lists it: newest first, with a lead's fields."""
    created = START - dt.timedelta(hours=index)
    return {
        "_id": f"act_{index:03d}",
        "type": TYPES[index % len(TYPES)],
        "createdAt": created.isoformat().replace("+00:00", "Z"),
        "campaignId": f"cam_{index % 3}",
        "leadId": f"lea_{index % 7}",
        "sequenceStep": index % 4,
        "email": f"lead{index}@example.test",  # undeclared: JSON Lines only
        "Birthday": f"{index % 28 + 1} May",
    }


def team_payload() -> dict[str, Any]:
    """Get Team's body (v2), with the secrets lemlist may send."""
    return {
        "_id": "tea_1",
        "name": "ACME",
        "userIds": ["usr_1"],
        "createdBy": "usr_1",
        "slackWebhook": {"url": SLACK_URL, "failCounter": 0},
        "apiKey": TEAM_API_KEY,
        "hooks": [{"_id": "hoo_1", "targetUrl": HOOK_URL, "type": "emailsOpened"}],
        "users": [{"userId": "usr_1", "name": "Ann Smith", "email": "ann@acme.test"}],
        "integrations": {"crm": {"access_token": "NESTED-SECRET", "name": "hubspot"}},
    }


class ReadRoutes:
    """lemlist's activities and team, served on loopback.

    ``GET /api/activities`` requires ``version=v2``, keeps the activities of
    ``type`` created from ``minDate`` to ``maxDate``, and pages them by
    ``offset``/``limit`` as a plain JSON array; ``fail_offsets`` makes it answer
    403 at those offsets. ``/api/team`` (``version=v2`` required) answers
    ``team_payload()``, or 403 when ``team_fails`` (with a secret in the body).
    Every request's path and query are kept.
    """

    def __init__(self, activities: int = 250) -> None:
        self.activities = [activity_payload(i) for i in range(activities)]
        # Created after the walk starts: the pinned maxDate must leave it out.
        self.future = {
            **activity_payload(0),
            "_id": "act_future",
            "createdAt": "2999-01-01T00:00:00Z",
        }
        self.fail_offsets: set[int] = set()
        self.team_fails = False
        self.requests: list[tuple[str, dict[str, str]]] = []
        app = web.Application()
        app.router.add_get("/api/activities", self._activities)
        app.router.add_get("/api/team", self._team)
        app.router.add_get("/api/team/credits", self._credits)
        app.router.add_get("/api/team/senders", self._senders)
        self.server = TestServer(app, host="127.0.0.1")

    @property
    def base_url(self) -> str:
        return str(self.server.make_url("/api"))

    def queries(self, path: str) -> list[dict[str, str]]:
        return [query for seen, query in self.requests if seen == path]

    async def _activities(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.requests.append((request.path, query))
        if query.get("version") != "v2":
            return web.json_response({"message": "version=v2 is required"}, status=400)
        offset, limit = int(query["offset"]), int(query["limit"])
        if offset in self.fail_offsets:
            return web.json_response({"message": "Forbidden"}, status=403)
        low = dt.datetime.fromisoformat(query.get("minDate", "0001-01-01T00:00:00Z"))
        high = dt.datetime.fromisoformat(query.get("maxDate", "9999-12-31T00:00:00Z"))
        chosen = [
            a
            for a in [self.future, *self.activities]
            if low <= dt.datetime.fromisoformat(a["createdAt"]) <= high
            and query.get("type") in (None, a["type"])
        ]
        return web.json_response(chosen[offset : offset + limit])

    async def _team(self, request: web.Request) -> web.Response:
        self.requests.append((request.path, dict(request.query)))
        if self.team_fails:
            return web.json_response({"message": "no", "apiKey": TEAM_API_KEY}, status=403)
        assert request.query["version"] == "v2"
        return web.json_response(team_payload())

    async def _credits(self, request: web.Request) -> web.Response:
        self.requests.append((request.path, dict(request.query)))
        return web.json_response(CREDITS)

    async def _senders(self, request: web.Request) -> web.Response:
        self.requests.append((request.path, dict(request.query)))
        return web.json_response(SENDERS)


@pytest.fixture
async def routes() -> AsyncIterator[ReadRoutes]:
    served = ReadRoutes()
    await served.server.start_server()
    yield served
    await served.server.close()


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


# -- Dates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2024-05-01", dt.datetime(2024, 5, 1, tzinfo=dt.UTC)),  # a date: midnight UTC
        ("2024-05-01T09:30", dt.datetime(2024, 5, 1, 9, 30, tzinfo=dt.UTC)),  # no offset: UTC
        ("2024-05-01T09:30:00Z", dt.datetime(2024, 5, 1, 9, 30, tzinfo=dt.UTC)),
        (" 2024-05-01T11:30:00+02:00 ", dt.datetime(2024, 5, 1, 9, 30, tzinfo=dt.UTC)),
    ],
)
def test_iso_datetime_is_always_aware(text: str, moment: dt.datetime) -> None:
    parsed = iso_datetime(text)
    assert parsed.utcoffset() is not None
    assert parsed == moment


@pytest.mark.parametrize(
    "text", ["", "yesterday", "2024-13-01", "2024-05-01T25:00", "0001-01-01T00:00+01:00"]
)
def test_iso_datetime_refuses_what_is_not_a_moment(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="expected an ISO 8601 date"):
        iso_datetime(text)


@pytest.mark.parametrize("option", ["--since", "--until"])
def test_a_bad_date_is_a_usage_error(option: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["activities", option, "2024-02-30"]) == 2
    err = capsys.readouterr().err
    assert f"argument {option}: expected an ISO 8601 date or date and time" in err
    assert "got '2024-02-30'" in err


def test_since_after_until_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["activities", "--since", "2024-05-02", "--until", "2024-05-01T23:59Z"]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        "lemlist-async activities: error: --since 2024-05-02T00:00:00+00:00 is after "
        "--until 2024-05-01T23:59:00+00:00\n"
    )


def test_first_and_not_first_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["activities", "--first", "--not-first"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


# -- activities --------------------------------------------------------------------------


async def test_activities_as_jsonl_pinned_to_the_first_request(routes: ReadRoutes) -> None:
    run = await cli("activities", "--base-url", routes.base_url)
    assert run.code == 0, run.stderr
    assert run.stderr == ""
    records = jsonl(run.stdout)
    # Every member, the undeclared ones too; the activity created since is left out.
    assert records == routes.activities
    assert list(records[0])[:2] == ["_id", "type"]
    queries = routes.queries("/api/activities")
    assert [(q["offset"], q["limit"], q["version"]) for q in queries] == [
        ("0", "100", "v2"),
        ("100", "100", "v2"),
        ("200", "100", "v2"),
    ]
    pins = {q["maxDate"] for q in queries}  # one moment, on every page
    assert len(pins) == 1
    pin = pins.pop()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", pin)
    assert abs(dt.datetime.fromisoformat(pin) - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    assert all(set(q) == {"version", "offset", "limit", "maxDate"} for q in queries)


async def test_activities_filters_reach_the_query(routes: ReadRoutes) -> None:
    run = await cli(
        "activities", "--type", "emailsOpened", "--campaign", "cam_1", "--lead", "lea_2",
        "--first", "--since", "2024-05-30", "--until", "2024-05-31T10:00:00+02:00",
        "--base-url", routes.base_url,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    assert run.stderr == ""  # a documented type: no warning
    assert routes.queries("/api/activities") == [
        {
            "version": "v2", "type": "emailsOpened", "campaignId": "cam_1", "leadId": "lea_2",
            "isFirst": "true", "minDate": "2024-05-30T00:00:00.000Z",
            "maxDate": "2024-05-31T08:00:00.000Z", "offset": "0", "limit": "100",
        }
    ]  # fmt: skip
    assert {r["type"] for r in jsonl(run.stdout)} == {"emailsOpened"}
    run = await cli("activities", "--not-first", "--base-url", routes.base_url)
    assert run.code == 0, run.stderr
    assert routes.queries("/api/activities")[-1]["isFirst"] == "false"


async def test_activities_as_csv_to_a_file(routes: ReadRoutes, tmp_path: Path) -> None:
    target = tmp_path / "activities.csv"
    run = await cli(
        "activities", "--format", "csv", "-o", str(target), "--base-url", routes.base_url
    )
    assert run.code == 0, run.stderr
    assert run.stdout == ""
    rows = list(csv.reader(target.read_text(encoding="utf-8").splitlines()))
    assert rows[0] == list(ACTIVITY_CSV_FIELDS)
    assert ",".join(rows[0]) == "_id,type,createdAt,campaignId,leadId,sequenceStep"
    assert rows[1:3] == [
        ["act_000", "emailsSent", "2024-05-31T12:00:00Z", "cam_0", "lea_0", "0"],
        ["act_001", "emailsOpened", "2024-05-31T11:00:00Z", "cam_1", "lea_1", "1"],
    ]
    assert len(rows) == 1 + len(routes.activities)  # extra members are not columns
    assert files_in(tmp_path) == ["activities.csv"]


async def test_an_unknown_type_is_sent_with_a_warning(routes: ReadRoutes) -> None:
    run = await cli("activities", "--type", "emailOpened", "--base-url", routes.base_url)
    assert run.code == 0, run.stderr
    assert run.stderr == (
        "lemlist-async activities: warning: 'emailOpened' is not an activity type lemlist "
        "documents (did you mean 'emailsOpened'?); it is sent as given\n"
    )
    assert [q["type"] for q in routes.queries("/api/activities")] == ["emailOpened"]


def test_type_warning_makes_no_activity_type_pseudo_member() -> None:
    members = dict(ActivityType._value2member_map_)
    assert type_warning("emailsReplied") is None
    warning = type_warning("zzz-never-a-type")
    assert warning is not None
    assert "(such as 'emailsSent'" in warning
    assert ActivityType._value2member_map_ == members


async def test_a_list_that_fails_midway_keeps_a_partial_file(
    routes: ReadRoutes, tmp_path: Path
) -> None:
    routes.fail_offsets.add(200)
    target = tmp_path / "activities.jsonl"
    run = await cli("activities", "-o", str(target), "--base-url", routes.base_url)
    assert run.code == 1
    lines = run.stderr.splitlines()
    assert lines[0].startswith("lemlist-async activities: error: 403 Forbidden")
    partial = tmp_path / "activities.jsonl.partial"
    assert lines[1] == (
        f"lemlist-async: '{target}' was not written; the 200 activities fetched are in '{partial}'"
    )
    assert jsonl(partial.read_text(encoding="utf-8")) == routes.activities[:200]


async def test_activities_progress_line_on_a_terminal(routes: ReadRoutes, tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(KEY, encoding="utf-8")
    code, out, terminal = await run_with_terminal_stderr(
        "activities", "--key-file", str(key_file), "--base-url", routes.base_url
    )
    assert code == 0, terminal
    assert len(out.splitlines()) == len(routes.activities)
    if terminal is None:  # pragma: no cover - no pseudo-terminal
        return
    assert re.search(r"\r\d[\d,]* activit(y|ies), [\d.]+ s", terminal), terminal
    assert terminal.endswith("lemlist-async: 250 activities\r\n")  # after the wipe


# -- team --------------------------------------------------------------------------------


def test_secret_members_by_name() -> None:
    for name in ("apiKey", "api_key", "API-KEY", "accessToken", "client_secret", "slackWebhook"):
        assert secret_member(name), name
    for name in ("name", "keyword", "url", "users"):
        assert not secret_member(name), name
    nested = {"a": [{"refresh-token": "x", "b": 1}], "slackWebhook": {"url": "y"}, "c": (2,)}
    assert without_secrets(nested) == {"a": [{"b": 1}], "c": [2]}


async def test_team_as_json_without_secrets(routes: ReadRoutes) -> None:
    run = await cli("team", "--base-url", routes.base_url)
    assert run.code == 0, run.stderr
    assert run.stderr == ""
    assert_no_secret(run.stdout, run.stderr)
    document = json.loads(run.stdout)
    assert list(document) == ["team", "credits", "senders"]
    team = document["team"]
    assert team["_id"] == "tea_1"
    assert team["users"] == [{"userId": "usr_1", "name": "Ann Smith", "email": "ann@acme.test"}]
    assert team["hooks"] == [{"_id": "hoo_1", "type": "emailsOpened"}]
    assert team["integrations"] == {"crm": {"name": "hubspot"}}  # an extra member, filtered
    assert "slackWebhook" not in team
    assert "apiKey" not in team
    assert document["credits"] == CREDITS
    assert document["senders"] == SENDERS
    assert routes.requests == [
        ("/api/team", {"version": "v2"}),
        ("/api/team/credits", {}),
        ("/api/team/senders", {}),
    ]


async def test_team_as_text_without_secrets(routes: ReadRoutes) -> None:
    run = await cli("team", "--format", "text", "--base-url", routes.base_url)
    assert run.code == 0, run.stderr
    assert_no_secret(run.stdout, run.stderr)
    assert run.stdout == (
        "team: ACME (tea_1), 1 user\n"
        "credits: 10, 10 left\n"
        "senders: 1\n"
        "  Ann Smith (usr_1): 1 campaign\n"
        "    X (running)\n"
    )


async def test_a_team_that_fails_prints_no_secret(routes: ReadRoutes) -> None:
    routes.team_fails = True
    run = await cli("team", "--base-url", routes.base_url)
    assert run.code == 1
    assert run.stdout == ""
    assert run.stderr.startswith("lemlist-async team: error: 403")
    assert_no_secret(run.stdout, run.stderr)


# -- leads --all-campaigns ---------------------------------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeLemlistServer]:
    # Seed 11 with 8 campaigns: 3 running, 5 in other statuses.
    async with FakeLemlistServer(
        seed=11, campaigns=8, leads_per_campaign=(1, 10), api_key=KEY, rate_limit=None
    ) as server:
        yield server


async def test_leads_of_all_campaigns_of_a_status(fake: FakeLemlistServer) -> None:
    running = [c["_id"] for c in fake.campaigns() if c["status"] == "running"]
    assert 0 < len(running) < len(fake.campaigns())
    run = await cli("leads", "--all-campaigns", "--status", "running", "--base-url", fake.base_url)
    assert run.code == 0, run.stderr
    assert run.stderr == ""  # a documented status: no warning
    assert by_campaign(jsonl(run.stdout)) == {cid: expected(fake, cid) for cid in running}
    lists = [r.query for r in fake.requests if r.path == "/api/campaigns"]
    assert lists
    assert all(q["status"] == "running" for q in lists)
    fetched = {r.campaign_id for r in fake.requests if r.path != "/api/campaigns"}
    assert fetched == set(running)  # only those campaigns were read


async def test_leads_of_every_campaign(fake: FakeLemlistServer) -> None:
    run = await cli("leads", "--all-campaigns", "--format", "csv", "--base-url", fake.base_url)
    assert run.code == 0, run.stderr
    rows = list(csv.reader(run.stdout.splitlines()))
    assert {row[0] for row in rows[1:]} == {c["_id"] for c in fake.campaigns()}
    assert all("status" not in r.query for r in fake.requests)


async def test_an_unknown_status_warns_and_a_failed_list_exits_1(fake: FakeLemlistServer) -> None:
    run = await cli("leads", "--all-campaigns", "--status", "runing", "--base-url", fake.base_url)
    # Sent as given; the fake, like lemlist, refuses it: the list fails.
    assert run.code == 1
    lines = run.stderr.splitlines()
    assert lines[0] == (
        "lemlist-async leads: warning: 'runing' is not a campaign status lemlist documents "
        "(did you mean 'running'?); it is sent as given"
    )
    assert lines[1].startswith("lemlist-async: cannot list the campaigns: 400")
    assert [r.query.get("status") for r in fake.requests] == ["runing"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--all-campaigns", "cam_1"], "--all-campaigns reads every campaign from lemlist"),
        (["--all-campaigns", "-"], "--all-campaigns reads every campaign from lemlist"),
        (["--all-campaigns", "--ids-file", "ids.txt"], "give no campaign ids"),
        (["cam_1", "--status", "running"], "--status goes with --all-campaigns only"),
        (["--status", "running"], "--status goes with --all-campaigns only"),
    ],
)
def test_all_campaigns_combinations_are_usage_errors(
    argv: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(API_KEY_ENV_VAR, KEY)
    assert main(["leads", *argv, "--base-url", "https://192.0.2.1/api"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lemlist-async leads: error: ")
    assert message in err
