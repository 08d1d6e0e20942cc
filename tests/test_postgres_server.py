"""The PostgreSQL server the tests run against, and the fixtures built on it.

``postgres_server`` is one real server for the run; ``postgres_dsn`` a database
of the test's own on it. These tests prove what later tests rely on: queries
run through asyncpg, every test starts from an empty database that no other
test sees, and a server, stopped or failed, leaves no process and no files.
"""

from __future__ import annotations

import os
import signal
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest

from . import _postgres_server
from ._postgres_server import LocalPostgres, PostgresServerError, find_bindir, is_running

#: The databases the parametrized test below got, in the order it ran.
SEEN: list[str] = []


@pytest.fixture
async def conn(postgres_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(postgres_dsn)
    try:
        yield connection
    finally:
        await connection.close()


async def test_a_query_runs_through_asyncpg(conn: asyncpg.Connection, postgres_dsn: str) -> None:
    version = await conn.fetchval("SELECT version()")
    assert version.startswith("PostgreSQL ")
    assert await conn.fetchval("SELECT current_database()") == urlsplit(postgres_dsn).path[1:]


async def test_the_server_listens_on_loopback_and_keeps_nothing_durable(
    conn: asyncpg.Connection,
) -> None:
    settings = {
        name: await conn.fetchval(f"SHOW {name}")
        for name in ("listen_addresses", "fsync", "synchronous_commit", "full_page_writes")
    }
    assert settings == {
        "listen_addresses": "127.0.0.1",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
    }
    assert str(await conn.fetchval("SELECT inet_server_addr()")) == "127.0.0.1"
    assert await conn.fetchval("SHOW server_encoding") == "UTF8"


@pytest.mark.parametrize("turn", [1, 2])
async def test_each_test_gets_an_empty_database_of_its_own(
    conn: asyncpg.Connection, turn: int
) -> None:
    name = await conn.fetchval("SELECT current_database()")
    assert name not in SEEN
    tables = await conn.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    )
    assert tables == []
    # The earlier turn's database was dropped when it ended.
    left = await conn.fetch("SELECT datname FROM pg_database WHERE datname = any($1)", SEEN)
    assert left == []
    # Something for the next turn not to find.
    await conn.execute("CREATE TABLE kept (turn int)")
    await conn.execute("INSERT INTO kept VALUES ($1)", turn)
    SEEN.append(name)


async def test_dropping_a_database_ends_the_sessions_still_on_it(
    postgres_server: LocalPostgres,
) -> None:
    dsn = await postgres_server.create_database("left_open")
    leaked = await asyncpg.connect(dsn)
    try:
        backend = leaked.get_server_pid()
        await postgres_server.drop_database("left_open")
        assert leaked.is_closed()
        assert not is_running(backend)
    finally:
        await leaked.close()
    admin = await asyncpg.connect(postgres_server.dsn)
    try:
        assert (
            await admin.fetchval("SELECT count(*) FROM pg_database WHERE datname = 'left_open'")
            == 0
        )
    finally:
        await admin.close()


async def test_a_stopped_server_leaves_no_process_and_no_files() -> None:
    server = LocalPostgres.start()
    try:
        # A session left open: the stop must not wait for it.
        leaked = await asyncpg.connect(server.dsn)
        processes = server.processes()
        assert leaked.get_server_pid() in processes
        assert all(is_running(pid) for pid in processes)
        assert (server.workdir / "data" / "PG_VERSION").is_file()
    finally:
        server.stop()
    await leaked.close()
    # 0: the postmaster finished its fast shutdown; it was not killed.
    assert server.process.returncode == 0
    assert [pid for pid in processes if is_running(pid)] == []
    assert not server.workdir.exists()


async def test_a_server_that_ignores_the_shutdown_is_killed_with_its_processes() -> None:
    server = LocalPostgres.start()
    try:
        leaked = await asyncpg.connect(server.dsn)
        processes = server.processes()
        assert leaked.get_server_pid() in processes
        # A stopped postmaster cannot act on SIGINT; its backends run on.
        os.kill(server.pid, signal.SIGSTOP)
    finally:
        server.stop(timeout=0.2)
    leaked.terminate()
    assert server.process.returncode == -signal.SIGKILL
    assert [pid for pid in processes if is_running(pid)] == []
    assert not server.workdir.exists()


def test_a_server_that_fails_to_start_says_why_and_leaves_no_files(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[Path] = []
    mkdtemp = tempfile.mkdtemp

    def recorded(*args: Any, **kwargs: Any) -> str:
        made.append(Path(mkdtemp(*args, **kwargs)))
        return str(made[-1])

    monkeypatch.setattr(tempfile, "mkdtemp", recorded)
    broken = {**_postgres_server.SETTINGS, "shared_buffers": "-1"}
    monkeypatch.setattr(_postgres_server, "SETTINGS", broken)
    with pytest.raises(PostgresServerError) as caught:
        LocalPostgres.start()
    # The server's own words, from its log.
    assert "shared_buffers" in str(caught.value)
    assert "apt-get install -y postgresql" in str(caught.value)
    assert len(made) == 1
    assert not made[0].exists()


def test_missing_binaries_fail_with_the_line_that_installs_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(_postgres_server, "DEBIAN_BINDIRS", str(tmp_path / "*" / "bin"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PostgresServerError, match=r"apt-get install -y postgresql"):
        find_bindir()


def test_the_newest_installed_version_is_found_first(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for version in ("9.6", "13", "17", "16"):
        bindir = tmp_path / version / "bin"
        bindir.mkdir(parents=True)
        for name in ("initdb", "postgres"):
            (bindir / name).touch(mode=0o755)
    monkeypatch.setattr(_postgres_server, "DEBIAN_BINDIRS", str(tmp_path / "*" / "bin"))
    assert find_bindir() == tmp_path / "17" / "bin"
