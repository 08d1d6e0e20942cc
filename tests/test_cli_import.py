"""Tests of ``lemlist-async import``: the command run in a subprocess against loopback.

Most run against ``ImportRoutes``, a small aiohttp server defined here that
answers lemlist's ``GET /api/campaigns/{id}/export/leads`` (a JSON array of the
campaign's leads) and ``POST /api/campaigns/{id}/leads/`` (the lead created,
added to the campaign), checks the key, and keeps every create's body and
query: it can also refuse a lead with words that quote its email, refuse the
key midway and hold a create until the test lets it go. The last test runs the
command against ``FakeLemlistServer``, with a create whose answer is lost.
Each run sends fewer than 20 requests, so that none waits for the rate limit
in real time.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from lemlist_async._cli._base import UsageError
from lemlist_async._cli.imports import LeadRows, Tally, input_format, render_import
from lemlist_async._errors import InvalidLeadError
from lemlist_async._models import ImportResult, ImportStatus
from lemlist_async.testing import FakeLemlistServer

from .test_cli import (
    KEY,
    Run,
    assert_clean,
    child_env,
    cli,
    files_in,
    jsonl,
    run_with_terminal_stderr,
)

CAMPAIGN = "cam_IMPORT0000000001"
#: An email the campaign already has (in every form lemlist may have stored it).
PRESENT = "Already@Example.test"
#: An email lemlist refuses, with words that quote it (as lemlist's may).
REFUSED = "refused@example.test"
#: An email whose first two creates are answered 502 without being applied.
FLAKY = "flaky@example.test"
#: An email whose create is held until ``ImportRoutes.release`` is set.
HELD = "held@example.test"


class ImportRoutes:
    """lemlist's export and create routes for one campaign, on loopback.

    ``leads[campaign_id]`` are the campaign's leads; an unknown campaign is a
    404 ``Campaign not found``. A create adds the lead (its body as sent, plus
    an ``_id``) and answers it; the email ``REFUSED`` is a 400 that names it,
    ``FLAKY``'s first two creates a 502 (not applied), and ``HELD``'s create sets
    ``holding`` and waits for ``release``. ``GET /api/leads/{email}`` finds no
    lead ("Lead not found"). Any other key than ``KEY`` is a 401; after
    ``refuse_key_after`` creates, every request is.
    """

    def __init__(self) -> None:
        self.leads: dict[str, list[dict[str, Any]]] = {
            CAMPAIGN: [{"_id": "lea_old", "email": PRESENT.lower(), "firstName": "Old"}]
        }
        self.creates: list[tuple[dict[str, Any], dict[str, str]]] = []
        self.exports = 0
        self.refuse_key_after: int | None = None
        self.attempts: list[str] = []
        self.lookups: list[str] = []
        self.holding = asyncio.Event()
        self.release = asyncio.Event()
        app = web.Application()
        app.router.add_get("/api/leads/{email}", self._find)
        app.router.add_get("/api/campaigns/{campaign_id}/export/leads", self._export)
        app.router.add_post("/api/campaigns/{campaign_id}/leads/", self._create)
        self.server = TestServer(app, host="127.0.0.1")

    @property
    def base_url(self) -> str:
        return str(self.server.make_url("/api"))

    def created(self) -> list[dict[str, Any]]:
        """The bodies of the creates, by email."""
        return sorted((body for body, _ in self.creates), key=lambda body: body["email"])

    def _refused(self, request: web.Request) -> bool:
        refused = self.refuse_key_after is not None and len(self.creates) >= self.refuse_key_after
        return refused or request.headers.get("Authorization") != aiohttp.encode_basic_auth(
            "", KEY
        )

    async def _export(self, request: web.Request) -> web.Response:
        self.exports += 1
        if self._refused(request):
            return web.Response(status=401, text="Unauthorized")
        assert request.query["format"] == "json"
        leads = self.leads.get(request.match_info["campaign_id"])
        if leads is None:
            return web.Response(status=404, text="Campaign not found")
        return web.json_response(leads)

    async def _create(self, request: web.Request) -> web.Response:
        if self._refused(request):
            return web.Response(status=401, text="Unauthorized")
        leads = self.leads.get(request.match_info["campaign_id"])
        if leads is None:
            return web.Response(status=404, text="Campaign not found")
        body = await request.json()
        self.attempts.append(body["email"])
        if body["email"] == FLAKY and self.attempts.count(FLAKY) <= 2:
            return web.Response(status=502, text="Bad Gateway")
        if body["email"] == HELD:
            self.holding.set()
            await self.release.wait()
        if body["email"] == REFUSED:
            return web.Response(status=400, text=f"Invalid email {REFUSED}")
        self.creates.append((body, dict(request.query)))
        lead = {"_id": f"lea_{len(self.creates)}", **body}
        leads.append(lead)
        return web.json_response(lead)

    async def _find(self, request: web.Request) -> web.Response:
        self.lookups.append(request.match_info["email"])
        return web.Response(status=404, text="Lead not found")


@pytest.fixture
async def routes() -> AsyncIterator[ImportRoutes]:
    served = ImportRoutes()
    await served.server.start_server()
    yield served
    served.release.set()
    await served.server.close()


def by_index(text: str) -> list[dict[str, Any]]:
    return sorted(jsonl(text), key=lambda record: record["index"])


def assert_no_personal_data(stderr: str, *values: str) -> None:
    for value in ("@", *values):
        assert value not in stderr, stderr


# -- CSV ---------------------------------------------------------------------------------

CSV_TEXT = (
    "\ufeffemail,firstName, last_name ,companySize,Birthday\r\n"
    "ann@example.test,Ann,Lee,50,1 May\r\n"
    f"{PRESENT},Old,,,\r\n"
    '"bob@example.test","Bob, Jr.",,,\r\n'
    "\r\n"
    ",NoEmail,Person,10,\r\n"
    "ANN@example.test,Ann again,,,\r\n"
)


async def test_csv_import_creates_new_leads_with_their_variables(
    routes: ImportRoutes, tmp_path: Path
) -> None:
    source = tmp_path / "leads.csv"
    source.write_bytes(CSV_TEXT.encode("utf-8"))  # with a BOM, CRLF line ends
    results = tmp_path / "results.jsonl"
    run = await cli(
        "import", CAMPAIGN, str(source), "--results", str(results), "--base-url", routes.base_url
    )
    assert run.code == 1  # the row without an email failed
    # Documented fields by wire or Python name (header names stripped), the rest
    # custom variables; empty cells left out.
    assert routes.created() == [
        {
            "email": "ann@example.test",
            "firstName": "Ann",
            "lastName": "Lee",
            "companySize": "50",
            "Birthday": "1 May",
        },
        {"email": "bob@example.test", "firstName": "Bob, Jr."},
    ]
    assert all(query == {} for _, query in routes.creates)  # no --deduplicate
    assert routes.exports == 1
    assert run.stdout == ""
    assert run.stderr == (
        "lemlist-async: lead 3: failed: a lead needs an email\n"
        f"lemlist-async: imported 5 leads into {CAMPAIGN}: 2 created, 1 already present, "
        f"1 duplicate in the file, 1 failed, 0 ambiguous, written to {str(results)!r}\n"
    )
    records = by_index(results.read_text(encoding="utf-8"))
    ids = {body["email"]: f"lea_{n}" for n, (body, _) in enumerate(routes.creates, start=1)}
    assert records == [
        {
            "index": 0,
            "email": "ann@example.test",
            "status": "created",
            "leadId": ids["ann@example.test"],
            "error": None,
        },
        {"index": 1, "email": PRESENT, "status": "present", "leadId": None, "error": None},
        {
            "index": 2,
            "email": "bob@example.test",
            "status": "created",
            "leadId": ids["bob@example.test"],
            "error": None,
        },
        {
            "index": 3,
            "email": None,
            "status": "failed",
            "leadId": None,
            "error": "InvalidLeadError: lead 3: a lead needs an email",
        },
        {
            "index": 4,
            "email": "ANN@example.test",
            "status": "duplicate",
            "leadId": None,
            "error": None,
        },
    ]
    assert files_in(tmp_path) == ["leads.csv", "results.jsonl"]


async def test_running_the_same_file_again_creates_nothing_twice(
    routes: ImportRoutes, tmp_path: Path
) -> None:
    source = tmp_path / "leads.csv"
    source.write_text("email,firstName\na@example.test,A\nb@example.test,B\n", encoding="utf-8")
    first = await cli("import", CAMPAIGN, str(source), "--base-url", routes.base_url)
    assert first.code == 0, first.stderr
    assert first.stderr.endswith("2 created, 0 already present, 0 duplicates in the file, "
                                 "0 failed, 0 ambiguous\n")  # fmt: skip
    again = await cli("import", CAMPAIGN, str(source), "--base-url", routes.base_url)
    assert again.code == 0, again.stderr
    assert again.stderr == (
        f"lemlist-async: imported 2 leads into {CAMPAIGN}: 0 created, 2 already present, "
        "0 duplicates in the file, 0 failed, 0 ambiguous\n"
    )
    assert [body["email"] for body in routes.created()] == ["a@example.test", "b@example.test"]
    assert routes.exports == 2


async def test_deduplicate_reaches_lemlist(routes: ImportRoutes, tmp_path: Path) -> None:
    source = tmp_path / "leads.csv"
    source.write_text("email\nd@example.test\n", encoding="utf-8")
    run = await cli(
        "import", CAMPAIGN, str(source), "--deduplicate", "--base-url", routes.base_url
    )
    assert run.code == 0, run.stderr
    assert routes.creates == [({"email": "d@example.test"}, {"deduplicate": "true"})]


async def test_a_csv_row_with_more_cells_than_the_header_fails_alone(
    routes: ImportRoutes, tmp_path: Path
) -> None:
    source = tmp_path / "leads.csv"
    source.write_text("email\ne1@example.test\ne2@example.test,extra\n", encoding="utf-8")
    run = await cli("import", CAMPAIGN, str(source), "--base-url", routes.base_url)
    assert run.code == 1
    assert run.stderr.startswith(
        "lemlist-async: lead 1: failed: line 3 has more cells than the header\n"
    )
    assert [body["email"] for body in routes.created()] == ["e1@example.test"]


# -- JSON Lines --------------------------------------------------------------------------


async def test_jsonl_import_with_lines_that_are_not_leads(
    routes: ImportRoutes, tmp_path: Path
) -> None:
    lines = [
        json.dumps({"email": "j1@example.test", "first_name": "J", "seats": 3, "vip": True}),
        "",
        "{not json",
        "[1, 2]",
        json.dumps({"email": "j2@example.test", "companyName": "ACME", "note": ""}),
        "   ",
        json.dumps({"email": "j3@example.test", "tags": ["a", "b"]}),
    ]
    source = tmp_path / "leads.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    results = tmp_path / "out.jsonl"
    run = await cli(
        "import", CAMPAIGN, str(source), "--results", str(results), "--base-url", routes.base_url
    )
    assert run.code == 1
    assert routes.created() == [
        {"email": "j1@example.test", "firstName": "J", "seats": "3", "vip": "true"},
        {"email": "j2@example.test", "companyName": "ACME"},
    ]
    records = by_index(results.read_text(encoding="utf-8"))
    assert [(r["index"], r["status"], r["error"]) for r in records] == [
        (0, "created", None),
        (1, "failed", "InvalidLeadError: lead 1: line 3 is not JSON"),
        (2, "failed", "InvalidLeadError: lead 2: line 4 is not a JSON object"),
        (3, "created", None),
        (4, "failed", "InvalidLeadError: lead 4: variable 'tags' must be a str, int, float "
                      "or bool, not list"),
    ]  # fmt: skip
    assert records[4]["email"] == "j3@example.test"
    failures = sorted(run.stderr.splitlines()[:-1])
    assert failures == [
        "lemlist-async: lead 1: failed: line 3 is not JSON",
        "lemlist-async: lead 2: failed: line 4 is not a JSON object",
        "lemlist-async: lead 4: failed: variable 'tags' must be a str, int, float or bool, "
        "not list",
    ]
    assert run.stderr.splitlines()[-1] == (
        f"lemlist-async: imported 5 leads into {CAMPAIGN}: 2 created, 0 already present, "
        f"0 duplicates in the file, 3 failed, 0 ambiguous, written to {str(results)!r}"
    )
    assert_no_personal_data(run.stderr)


async def test_bytes_that_are_not_utf8_fail_their_line_only(
    routes: ImportRoutes, tmp_path: Path
) -> None:
    source = tmp_path / "leads.jsonl"
    source.write_bytes(
        b'{"email": "u1@example.test"}\n{"email": "caf\xe9@example.test"}\n'
        b'{"email": "u2@example.test"}\n'
    )
    run = await cli("import", CAMPAIGN, str(source), "--base-url", routes.base_url)
    assert run.code == 1
    assert run.stderr.startswith("lemlist-async: lead 1: failed: line 2 is not UTF-8 text\n")
    assert [body["email"] for body in routes.created()] == ["u1@example.test", "u2@example.test"]


async def test_stdin_needs_a_format_and_then_is_read(routes: ImportRoutes) -> None:
    text = '{"email": "s1@example.test", "Source": "stdin"}\n'
    run = await cli("import", CAMPAIGN, "-", "--base-url", routes.base_url, stdin=text)
    assert run.code == 2
    assert run.stderr == (
        "lemlist-async import: error: reading the leads from stdin needs --format csv "
        "or --format jsonl\n"
    )
    assert routes.exports == 0
    run = await cli(
        "import", CAMPAIGN, "-", "--format", "jsonl", "--results", "-",
        "--base-url", routes.base_url, stdin=text,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    assert routes.created() == [{"email": "s1@example.test", "Source": "stdin"}]
    assert jsonl(run.stdout) == [
        {"index": 0, "email": "s1@example.test", "status": "created", "leadId": "lea_1",
         "error": None},
    ]  # fmt: skip


async def test_csv_on_stdin_with_a_bom(routes: ImportRoutes) -> None:
    run = await cli(
        "import", CAMPAIGN, "-", "--format", "csv", "--base-url", routes.base_url,
        stdin="\ufeffemail,Team\r\nc1@example.test,Blue\r\n",
    )  # fmt: skip
    assert run.code == 0, run.stderr
    assert routes.created() == [{"email": "c1@example.test", "Team": "Blue"}]


# -- Failures ----------------------------------------------------------------------------


async def test_a_csv_that_breaks_midway_imports_what_came_before(
    routes: ImportRoutes, tmp_path: Path
) -> None:
    source = tmp_path / "leads.csv"
    huge = "x" * 200_000  # past the csv module's field limit: the reader cannot go on
    source.write_text(
        f"email,note\nm1@example.test,a\nm2@example.test,{huge}\nm3@example.test,c\n", "utf-8"
    )
    results = tmp_path / "results.jsonl"
    run = await cli(
        "import", CAMPAIGN, str(source), "--results", str(results),
        "--base-url", routes.base_url,
    )  # fmt: skip
    assert run.code == 1
    assert [body["email"] for body in routes.created()] == ["m1@example.test"]
    partial = str(results) + ".partial"
    assert run.stderr == (
        f"lemlist-async: {str(results)!r} was not written; the 1 result so far is in "
        f"{partial!r}\n"
        f"lemlist-async: imported 1 lead into {CAMPAIGN}: 1 created, 0 already present, "
        "0 duplicates in the file, 0 failed, 0 ambiguous\n"
        f"lemlist-async import: error: stopped reading {str(source)!r} after line 2: "
        "field larger than field limit (131072); the leads after it were not imported\n"
    )
    assert files_in(tmp_path) == ["leads.csv", "results.jsonl.partial"]


async def test_an_unknown_campaign_is_one_line_and_exit_1(
    routes: ImportRoutes, tmp_path: Path
) -> None:
    source = tmp_path / "leads.csv"
    source.write_text("email\nx@example.test\n", encoding="utf-8")
    results = tmp_path / "results.jsonl"
    run = await cli(
        "import", "cam_NOPE", str(source), "--results", str(results),
        "--base-url", routes.base_url,
    )  # fmt: skip
    assert run.code == 1
    lines = run.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("lemlist-async: campaign cam_NOPE: 404 Campaign not found")
    assert routes.creates == []
    assert files_in(tmp_path) == ["leads.csv"]  # no results file, no .partial


async def test_a_refused_key_is_one_line_and_exit_1(routes: ImportRoutes, tmp_path: Path) -> None:
    source = tmp_path / "leads.csv"
    source.write_text("email\nx@example.test\n", encoding="utf-8")
    run = await cli(
        "import", CAMPAIGN, str(source), "--base-url", routes.base_url, key="sk-wrong-key-0000"
    )
    assert run.code == 1
    lines = run.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("lemlist-async: lemlist refused the API key: 401 Unauthorized")
    assert routes.creates == []


async def test_a_key_refused_midway_stops_and_keeps_partial_results(
    routes: ImportRoutes, tmp_path: Path
) -> None:
    routes.refuse_key_after = 1
    source = tmp_path / "leads.jsonl"
    source.write_text(
        "".join(json.dumps({"email": f"k{i}@example.test"}) + "\n" for i in range(6)),
        encoding="utf-8",
    )
    results = tmp_path / "results.jsonl"
    run = await cli(
        "import", CAMPAIGN, str(source), "--results", str(results), "--concurrency", "1",
        "--base-url", routes.base_url,
    )  # fmt: skip
    assert run.code == 1
    assert len(routes.creates) == 1
    assert "lemlist-async: lemlist refused the API key; stopped\n" in run.stderr
    assert f"the 2 results so far are in {str(results) + '.partial'!r}" in run.stderr
    assert files_in(tmp_path) == ["leads.jsonl", "results.jsonl.partial"]
    partial = by_index((tmp_path / "results.jsonl.partial").read_text(encoding="utf-8"))
    assert [r["status"] for r in partial] == ["created", "failed"]
    assert partial[1]["error"].startswith("AuthenticationError: 401 Unauthorized")


async def test_no_email_on_stderr_unless_verbose(routes: ImportRoutes, tmp_path: Path) -> None:
    source = tmp_path / "leads.csv"
    source.write_text(f"email,firstName\n{REFUSED},Zed\nok@example.test,Ok\n", encoding="utf-8")
    run = await cli("import", CAMPAIGN, str(source), "--base-url", routes.base_url)
    assert run.code == 1
    assert run.stderr.startswith("lemlist-async: lead 0: failed (BadRequestError 400)\n")
    assert_no_personal_data(run.stderr, "Zed", "Ok")
    verbose = await cli(
        "import", CAMPAIGN, str(source), "--verbose", "--base-url", routes.base_url
    )
    assert verbose.code == 1
    assert f"lemlist-async: lead 0: failed: BadRequestError: 400 Invalid email {REFUSED}" in (
        verbose.stderr
    )


async def test_an_ambiguous_create_is_reconciled_unless_told_not_to(
    routes: ImportRoutes, tmp_path: Path
) -> None:
    source = tmp_path / "leads.csv"
    source.write_text(f"email\n{FLAKY}\n", encoding="utf-8")
    results = tmp_path / "results.jsonl"
    run = await cli(
        "import", CAMPAIGN, str(source), "--no-reconcile", "--results", str(results),
        "--base-url", routes.base_url,
    )  # fmt: skip
    assert run.code == 1
    assert routes.attempts == [FLAKY]  # sent once, never again blindly
    assert routes.lookups == []
    assert run.stderr.startswith(
        "lemlist-async: lead 0: ambiguous: AmbiguousWriteError: the write may or may not "
        "have been applied (answered 502); it was not sent again (POST "
    )
    assert run.stderr.endswith(
        "0 created, 0 already present, 0 duplicates in the file, 0 failed, 1 ambiguous, "
        f"written to {str(results)!r}\n"
    )
    [record] = jsonl(results.read_text(encoding="utf-8"))
    assert record["status"] == "ambiguous"
    assert record["error"].startswith("AmbiguousWriteError: ")
    assert_no_personal_data(run.stderr)
    # By default, after a 502 the lead is looked up: proven absent, it is sent once more.
    again = await cli("import", CAMPAIGN, str(source), "--base-url", routes.base_url)
    assert again.code == 0, again.stderr
    assert routes.attempts == [FLAKY, FLAKY, FLAKY]
    assert routes.lookups == [FLAKY]
    assert routes.created() == [{"email": FLAKY}]


async def test_an_interrupted_import_keeps_its_results_and_sums_up(
    routes: ImportRoutes, tmp_path: Path
) -> None:
    source = tmp_path / "leads.csv"
    source.write_text(f"email\nfirst@example.test\n{HELD}\nlast@example.test\n", "utf-8")
    results = tmp_path / "results.jsonl"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "lemlist_async", "import", CAMPAIGN, str(source),
        "--results", str(results), "--concurrency", "1", "--base-url", routes.base_url,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=child_env(KEY),
    )  # fmt: skip
    try:
        await asyncio.wait_for(routes.holding.wait(), timeout=60)
        proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    finally:
        if proc.returncode is None:  # pragma: no cover - only when the test fails
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    run = Run(proc.returncode, out.decode(), err.decode())
    assert_clean(run)
    assert run.code == 130
    partial = str(results) + ".partial"
    assert run.stderr == (
        "lemlist-async: interrupted after 1 lead: 1 created, 0 already present, "
        "0 duplicates in the file, 0 failed, 0 ambiguous\n"
        f"lemlist-async: {str(results)!r} was not written; the 1 result so far is in "
        f"{partial!r}\n"
        "lemlist-async: interrupted\n"
    )
    assert files_in(tmp_path) == ["leads.csv", "results.jsonl.partial"]
    [record] = jsonl((tmp_path / "results.jsonl.partial").read_text(encoding="utf-8"))
    assert (record["email"], record["status"]) == ("first@example.test", "created")
    assert routes.attempts == ["first@example.test", HELD]  # the last was never sent


async def test_import_draws_its_progress_line_on_a_terminal(
    routes: ImportRoutes, tmp_path: Path
) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(KEY, encoding="utf-8")
    source = tmp_path / "leads.csv"
    source.write_text("email\np1@example.test\np2@example.test\n", encoding="utf-8")
    code, out, terminal = await run_with_terminal_stderr(
        "import", CAMPAIGN, str(source), "--key-file", str(key_file),
        "--base-url", routes.base_url,
    )  # fmt: skip
    assert code == 0, terminal
    assert out == ""
    if terminal is None:  # pragma: no cover - no pseudo-terminal
        return
    assert KEY not in terminal
    assert "@" not in terminal
    drawn = r"\r0 leads: 0 created, 0 present, 0 duplicates, 0 failed, 0 ambiguous, [\d.]+ s"
    assert re.search(drawn, terminal)  # drawn at the start
    assert terminal.endswith(
        f"\rlemlist-async: imported 2 leads into {CAMPAIGN}: 2 created, 0 already present, "
        "0 duplicates in the file, 0 failed, 0 ambiguous\r\n"
    )  # wiped, then the summary


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("leads.txt", "email\n", "cannot tell the format of"),
        ("missing.csv", None, "cannot read"),
        ("leads.csv", "Email,firstName\nx@example.test,X\n", "the CSV header has no 'email'"),
    ],
    ids=["extension", "missing", "no-email-column"],
)
async def test_usage_errors_before_any_request(
    routes: ImportRoutes, tmp_path: Path, name: str, content: str | None, message: str
) -> None:
    source = tmp_path / name
    if content is not None:
        source.write_text(content, encoding="utf-8")
    run = await cli("import", CAMPAIGN, str(source), "--base-url", routes.base_url)
    assert run.code == 2
    assert run.stderr.startswith(f"lemlist-async import: error: {message}")
    assert routes.exports == 0


# -- Pure parts --------------------------------------------------------------------------


def test_input_format() -> None:
    assert input_format("a.CSV", None) == "csv"
    assert input_format("a.ndjson", None) == "jsonl"
    assert input_format("a.txt", "csv") == "csv"
    assert input_format("-", "jsonl") == "jsonl"
    with pytest.raises(UsageError, match="needs --format"):
        input_format("-", None)


def test_lead_rows_are_read_lazily() -> None:
    stream = io.StringIO("email\n" + "".join(f"l{i}@example.test\n" for i in range(1000)))
    rows = iter(LeadRows(stream, "csv"))
    assert next(rows) == {"email": "l0@example.test"}
    assert stream.tell() < len(stream.getvalue())  # the rest is not read yet


def test_a_json_escape_that_no_text_can_hold_fails_its_line() -> None:
    rows = LeadRows(io.StringIO('{"email": "x@example.test", "v": "\\udcff"}\n'), "jsonl")
    assert list(rows) == [{}]
    assert rows.problems == {0: "line 1 is not valid text"}


def test_explain_replaces_the_error_of_a_line_that_was_not_a_lead() -> None:
    rows = LeadRows(io.StringIO("{}\nnope\n"), "jsonl")
    assert list(rows) == [{}, {}]
    failed = ImportResult(index=1, email=None, status=ImportStatus.FAILED)
    assert rows.explain(failed).error == InvalidLeadError("lead 1: line 2 is not JSON")
    first = ImportResult(index=0, email=None, status=ImportStatus.FAILED)
    assert rows.explain(first) is first  # a real {}: add_many's own error stays


def test_tally_summary_and_progress_text() -> None:
    tally = Tally()
    for status, count in [(ImportStatus.CREATED, 1234), (ImportStatus.DUPLICATE, 1)]:
        tally.counts[status] += count
    assert tally.summary() == (
        "1,234 created, 0 already present, 1 duplicate in the file, 0 failed, 0 ambiguous"
    )
    assert tally.problems == 0
    assert render_import(tally, 4.06, waiting=True) == (
        "1,235 leads: 1,234 created, 0 present, 1 duplicate, 0 failed, 0 ambiguous, 4.1 s, "
        "waiting for the rate limit"
    )


# -- Against the fake lemlist ------------------------------------------------------------


async def test_import_against_the_fake_lemlist_with_a_lost_answer(tmp_path: Path) -> None:
    # FakeLemlistServer is one coherent lemlist: the leads created show in its
    # export, a create whose answer is lost is found by the look-up, and a
    # second run on the same file finds every lead present.
    async with FakeLemlistServer(
        seed=23, campaigns=2, leads_per_campaign=3, api_key=KEY, rate_limit=None
    ) as fake:
        campaign_id = fake.campaign_ids[0]
        existing = fake.exported_leads(campaign_id)[0]["email"]
        lines = [
            {"email": "new1@example.test", "firstName": "Nia", "seats": 3},
            {"email": existing.upper(), "firstName": "Someone else"},
            {"email": "new2@example.test", "company_name": "ACME", "Region": "EU"},
            {"email": "NEW1@example.test"},
        ]
        source = tmp_path / "leads.jsonl"
        source.write_text("".join(json.dumps(line) + "\n" for line in lines), "utf-8")
        fake.fail_after_apply(1, status=502)  # the first create is applied, its answer lost
        run = await cli("import", campaign_id, str(source), "--base-url", fake.base_url)
        assert run.code == 0, run.stderr
        assert run.stderr == (
            f"lemlist-async: imported 4 leads into {campaign_id}: 2 created, 1 already present, "
            "1 duplicate in the file, 0 failed, 0 ambiguous\n"
        )
        assert_no_personal_data(run.stderr)
        exported = {lead["email"]: lead for lead in fake.exported_leads(campaign_id)}
        assert len(exported) == 5  # 3 seeded + 2 created, none twice
        assert exported["new1@example.test"]["firstName"] == "Nia"
        assert exported["new1@example.test"]["seats"] == "3"  # a JSON number, sent as text
        assert exported["new2@example.test"]["companyName"] == "ACME"
        assert exported["new2@example.test"]["Region"] == "EU"
        posts = [r for r in fake.requests if r.method == "POST"]
        assert len(posts) == 2  # the lost answer was looked up, not sent again
        again = await cli("import", campaign_id, str(source), "--base-url", fake.base_url)
        assert again.code == 0, again.stderr
        assert "0 created, 3 already present, 1 duplicate in the file" in again.stderr
        assert len([r for r in fake.requests if r.method == "POST"]) == 2
        assert len(fake.exported_leads(campaign_id)) == 5
