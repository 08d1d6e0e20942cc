"""``lemlist-async sync``: a run in a subprocess against the fake, its lines and exit codes."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from lemlist_async._cli.sync import parse_streams, render_stream
from lemlist_async.sync import StreamProgress
from lemlist_async.testing import FakeLemlistServer

from .test_cli import KEY, cli

pytestmark = pytest.mark.looptime(False)


def small() -> FakeLemlistServer:
    # Few requests: the command paces them at lemlist's real 20 per 2 s.
    return FakeLemlistServer(
        seed=12, campaigns=3, leads_per_campaign=(1, 20), activities=150, unsubscribes=30,
        api_key=KEY, rate_limit=None,
    )  # fmt: skip


async def test_a_run_copies_the_account_and_prints_a_line_per_stream(tmp_path: Path) -> None:
    database = tmp_path / "lemlist.db"
    async with small() as fake:
        run = await cli("sync", f"sqlite:///{database}", "--base-url", fake.base_url)
        again = await cli("sync", f"sqlite:///{database}", "--base-url", fake.base_url)

    assert run.code == 0, run.stderr
    lines = run.stderr.splitlines()
    streams = [line.split(":")[0] for line in lines[:-1]]
    assert sorted(streams) == sorted(
        ["team", "users", "campaigns", "senders", "hooks", "unsubscribes", "activities", "leads"]
    )
    assert lines[-1].startswith("run 1 (full) of team ")
    assert run.stdout == ""
    with contextlib.closing(sqlite3.connect(database)) as db:
        (campaigns,) = db.execute("SELECT count(*) FROM lemlist_campaigns").fetchone()
        (activities,) = db.execute("SELECT count(*) FROM lemlist_activities").fetchone()
    assert campaigns == 3
    assert activities == 150
    assert again.code == 0, again.stderr
    assert again.stderr.splitlines()[-1].startswith("run 2 (incremental) of team ")
    assert "activities: 0 read, 0 written, 0 deleted" in again.stderr


async def test_another_team_s_database_is_refused(tmp_path: Path) -> None:
    database = tmp_path / "lemlist.db"
    async with small() as fake:
        await cli(
            "sync", f"sqlite:///{database}", "--base-url", fake.base_url, "--streams", "team"
        )
    async with FakeLemlistServer(seed=13, campaigns=1, api_key=KEY, rate_limit=None) as other:
        run = await cli("sync", f"sqlite:///{database}", "--base-url", other.base_url)
    assert run.code == 1
    assert "this database holds team" in run.stderr
    assert "sync that team into another database" in run.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["mysql://me:pa55word@db/x"], "sqlite:///"),
        (["sqlite:///x.db", "--streams", "deals"], "expected stream names"),
        (["sqlite:///x.db", "--concurrency", "0"], "--concurrency"),
    ],
)
async def test_usage_errors_send_nothing(args: list[str], message: str, tmp_path: Path) -> None:
    run = await cli("sync", *args, "--base-url", "http://127.0.0.1:9/api", cwd=tmp_path)
    assert run.code == 2
    assert message in run.stderr
    assert "pa55word" not in run.stderr


def test_stream_names_and_lines() -> None:
    assert parse_streams("campaigns, leads") == ["campaigns", "leads"]
    line = render_stream(StreamProgress("leads", 1234, 12, 1, done=True), 4.06)
    assert line == "leads: 1,234 read, 12 written, 1 deleted, 4.1 s"
    assert render_stream(StreamProgress("leads"), 0).endswith(" ...")
