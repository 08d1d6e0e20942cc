"""Tests of the command line: its pure parts in-process, the real thing in a subprocess.

The subprocess tests run ``python -m lemlist_async`` against a `FakeLemlistServer`
served by the test's own event loop: the test awaits ``proc.communicate()`` while
the server keeps answering. They run in real time (looptime cannot reach into a
subprocess), so the fake has no rate limit, or fewer than 20 campaigns. The key
goes to the subprocess through ``env=`` only, and every run asserts that it
never shows in stdout or stderr.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lemlist_async import Lead, LeadState, WindowRateLimiter, converter
from lemlist_async._cli import main
from lemlist_async._cli._base import (
    EXIT_BROKEN_PIPE,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    exit_status,
    plural,
)
from lemlist_async._cli._console import (
    Console,
    ProgressLine,
    rate_limit_waiting,
    render_count,
    render_progress,
)
from lemlist_async._cli._inputs import collect_ids, key_option, parse_ids, read_api_key
from lemlist_async._cli._options import state_warning
from lemlist_async._cli._output import AtomicOutput, jsonl_line
from lemlist_async._cli.leads import CSV_FIELDS, csv_row, lead_record, make_writer
from lemlist_async._constants import API_KEY_ENV_VAR
from lemlist_async._version import __version__
from lemlist_async.testing import FakeLemlistServer

from .conftest import ScriptedServer

KEY = "sk-cli-SENTINEL-7c41d0e9"
WIRE_ORDER = ["campaignId", "_id", "contactId", "state"]


# -- Pure parts ------------------------------------------------------------------------


def test_parse_ids_skips_blanks_and_comments() -> None:
    text = "# campaigns to export\ncam_A\n\n  cam_B  \ncam_C # the big one\n   # indented\n"
    assert parse_ids(io.StringIO(text)) == ["cam_A", "cam_B", "cam_C"]


@given(
    st.lists(
        st.text(
            alphabet=st.characters(blacklist_characters="#", blacklist_categories=("Cc", "Zs")),
            min_size=1,
        ).filter(lambda s: s.strip() == s and len(s.splitlines()) == 1),
        max_size=20,
    )
)
def test_parse_ids_keeps_every_id_in_order(ids: list[str]) -> None:
    lines = [line for campaign_id in ids for line in ("# note", "", f"{campaign_id}  # why")]
    assert parse_ids(lines) == ids


def test_collect_ids_from_arguments_stdin_and_file(tmp_path: Path) -> None:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("# from the file\ncam_F1\ncam_F2\n", encoding="utf-8")
    stdin = io.StringIO("cam_S1\n# skipped\ncam_S2\n")
    ids = collect_ids(["cam_A", "-", "cam_B", "-"], str(ids_file), stdin)
    # stdin is read once, where the first "-" is; the file comes last.
    assert ids == ["cam_A", "cam_S1", "cam_S2", "cam_B", "cam_F1", "cam_F2"]


def test_collect_ids_reads_stdin_for_an_ids_file_of_dash() -> None:
    assert collect_ids([], "-", io.StringIO("cam_1\ncam_2\n")) == ["cam_1", "cam_2"]


def test_collect_ids_refuses_nothing_and_an_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no campaign ids"):
        collect_ids([], None, io.StringIO(""))
    with pytest.raises(UsageError, match="no campaign ids"):
        collect_ids(["-"], None, io.StringIO("# only a comment\n\n"))
    with pytest.raises(UsageError, match=r"cannot read --ids-file .*No such file"):
        collect_ids([], str(tmp_path / "missing.txt"), io.StringIO(""))


def test_collect_ids_refuses_ids_that_are_not_text(tmp_path: Path) -> None:
    # A surrogateescape read of bytes that are not UTF-8 (argv, or stdin in the
    # C locale) gives lone surrogates; no URL can carry them.
    with pytest.raises(UsageError) as caught:
        collect_ids(["cam_1", "cam_\udcff"], None, io.StringIO(""))
    message = str(caught.value)
    assert "campaign id 'cam_\\udcff' is not valid UTF-8" in message
    message.encode("utf-8")  # the message itself can be printed
    # A stdin that decodes strictly (a UTF-8 locale) fails on the read instead.
    stdin = io.TextIOWrapper(io.BytesIO(b"cam_1\ncam_\xff\n"), encoding="utf-8")
    with pytest.raises(UsageError, match="cannot read the campaign ids on stdin: not UTF-8"):
        collect_ids(["-"], None, stdin)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_bytes(b"cam_\xff\n")
    with pytest.raises(UsageError, match=r"cannot read --ids-file .*: not UTF-8"):
        collect_ids([], str(ids_file), io.StringIO(""))


def test_read_api_key_from_the_environment() -> None:
    assert read_api_key({API_KEY_ENV_VAR: f"  {KEY}\n"}, None) == KEY


def test_read_api_key_file_wins_over_the_environment(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(f"  {KEY}  \nsecond line is ignored\n", encoding="utf-8")
    assert read_api_key({API_KEY_ENV_VAR: "another"}, str(key_file)) == KEY


@pytest.mark.parametrize("environ", [{}, {API_KEY_ENV_VAR: "   "}])
def test_read_api_key_without_a_key_says_how_to_give_one(environ: dict[str, str]) -> None:
    with pytest.raises(UsageError) as caught:
        read_api_key(environ, None)
    message = str(caught.value)
    assert API_KEY_ENV_VAR in message
    assert "--key-file" in message


def test_read_api_key_file_errors_never_echo_the_path(tmp_path: Path) -> None:
    # Someone may type the key where the path goes.
    with pytest.raises(UsageError) as caught:
        read_api_key({}, KEY)
    assert KEY not in str(caught.value)
    assert "No such file" in str(caught.value)
    empty = tmp_path / KEY
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(UsageError, match="empty") as caught:
        read_api_key({}, str(empty))
    assert KEY not in str(caught.value)


def test_read_api_key_file_strips_a_bom_and_crlf(tmp_path: Path) -> None:
    # As Windows' Notepad saves "UTF-8 with BOM", with CRLF line endings.
    key_file = tmp_path / "key"
    key_file.write_bytes(b"\xef\xbb\xbf " + KEY.encode() + b" \r\nsecond line\r\n")
    assert read_api_key({}, str(key_file)) == KEY


@pytest.mark.parametrize(
    "content",
    [
        # PowerShell 5's `echo KEY > file`: UTF-16 with a BOM.
        b"\xff\xfe" + f"{KEY}\r\n".encode("utf-16-le"),
        # Latin-1, with a byte that is not UTF-8 inside the key.
        KEY.encode() + b"\xe9\n",
    ],
)
def test_read_api_key_file_not_utf8_is_clear_and_never_echoes_it(
    tmp_path: Path, content: bytes
) -> None:
    key_file = tmp_path / "key"
    key_file.write_bytes(content)
    with pytest.raises(UsageError) as caught:
        read_api_key({}, str(key_file))
    message = str(caught.value)
    assert message.startswith("cannot read the --key-file: not UTF-8 text")
    assert "save it as UTF-8" in message
    assert KEY not in message
    assert "0x" not in message  # no byte of it either
    assert str(key_file) not in message


def lead(payload: dict[str, Any]) -> Lead:
    result: Lead = converter.structure(payload, Lead)
    return result


def test_lead_record_puts_the_campaign_first_and_keeps_extra_members() -> None:
    record = lead_record(
        "cam_1",
        lead({"email": "a@b.c", "_id": "lea_1", "contactId": "ctc_1", "state": "hooked"}),
    )
    assert list(record) == [*WIRE_ORDER, "email"]
    assert record == {
        "campaignId": "cam_1",
        "_id": "lea_1",
        "contactId": "ctc_1",
        "state": "hooked",
        "email": "a@b.c",
    }
    assert type(record["state"]) is str


def test_lead_record_extra_members_never_override_the_campaign_id() -> None:
    payload = {"_id": "lea_1", "contactId": "ctc_1", "state": "x", "campaignId": "cam_other"}
    assert lead_record("cam_1", lead(payload))["campaignId"] == "cam_1"


def test_jsonl_line_is_one_line_of_utf8_json() -> None:
    record = lead_record(
        "cam_1", lead({"_id": "lea_1", "contactId": "ctc_1", "state": "new", "note": "é\nü"})
    )
    line = jsonl_line(record)
    assert "\n" not in line
    assert "é" in line  # not \u00e9
    assert json.loads(line) == record


def strict_utf8() -> io.TextIOWrapper:
    """A text stream that, like a real file or pipe, refuses what is not UTF-8."""
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", newline="")


def written(stream: io.TextIOWrapper) -> str:
    stream.flush()
    buffer = stream.buffer
    assert isinstance(buffer, io.BytesIO)
    return buffer.getvalue().decode("utf-8")


# What a surrogateescape read of the bytes b"\xff" gives, or JSON's "\udcff".
LONE = "\udcff"


def test_jsonl_escapes_lone_surrogates_and_round_trips() -> None:
    record = lead_record(
        f"cam_{LONE}",
        lead({"_id": f"lea_{LONE}", "contactId": "ctc_1", "state": "new", "note": "é\ud83d"}),
    )
    stream = strict_utf8()
    stream.write(jsonl_line(record) + "\n")
    line = written(stream)
    assert '"_id":"lea_\\udcff"' in line  # JSON's own escape, valid JSON
    assert "é" in line  # everything else stays as it is
    assert json.loads(line) == record


def test_csv_writes_lone_surrogates_backslash_escaped() -> None:
    stream = strict_utf8()
    write = make_writer("csv", stream)
    write(f"cam_{LONE}", [lead({"_id": f"lea_{LONE}", "contactId": "ctc_é", "state": "new"})])
    assert written(stream).splitlines()[1] == "cam_\\udcff,lea_\\udcff,ctc_é,new"


def test_csv_rows_have_the_four_columns_only() -> None:
    stream = io.StringIO()
    write = make_writer("csv", stream)
    write(
        "cam_1",
        [
            lead({"_id": "lea_1", "contactId": "ctc_1", "state": "hooked", "email": "a@b.c"}),
            lead({"_id": "lea_2", "contactId": "con_2", "state": "paused"}),
        ],
    )
    assert stream.getvalue() == (
        "campaignId,_id,contactId,state\ncam_1,lea_1,ctc_1,hooked\ncam_1,lea_2,con_2,paused\n"
    )
    assert csv_row(lead_record("c", lead({"_id": "a", "contactId": "b", "state": "s"}))) == [
        "c",
        "a",
        "b",
        "s",
    ]
    assert tuple(next(csv.reader(io.StringIO(stream.getvalue())))) == CSV_FIELDS


@pytest.mark.parametrize("state", ["interested", "notInterested", "linkedinSendFailed"])
def test_a_documented_state_has_no_warning(state: str) -> None:
    assert state_warning(state) is None


@pytest.mark.parametrize(
    ("state", "suggestion"),
    [("intrested", "interested"), ("notinterested", "notInterested"), ("Paused", "paused")],
)
def test_an_unknown_state_close_to_a_known_one_suggests_it(state: str, suggestion: str) -> None:
    assert state_warning(state) == (
        f"warning: {state!r} is not a lead state lemlist documents "
        f"(did you mean {suggestion!r}?); it is sent as given"
    )


def test_an_unknown_state_far_from_any_lists_some_known_ones() -> None:
    warning = state_warning("xyzzy")
    assert warning is not None
    assert warning.startswith("warning: 'xyzzy' is not a lead state lemlist documents (such as")
    assert "'interested'" in warning
    assert warning.endswith("; it is sent as given")


def test_state_warning_makes_no_lead_state_pseudo_member() -> None:
    # LeadState("x") would cache a pseudo-member for every unknown name typed.
    before = dict(LeadState._value2member_map_)
    state_warning("notAStateAtAll-9f3e")
    assert LeadState._value2member_map_ == before


def test_exit_status_is_zero_only_when_nothing_failed() -> None:
    assert exit_status(failed=0) == EXIT_OK == 0
    assert exit_status(failed=1) == EXIT_FAILED == 1
    assert exit_status(failed=200) == 1


def test_render_progress() -> None:
    assert render_progress(37, 200, 9120, 4.06, waiting=False) == (
        "37/200 campaigns, 9,120 leads, 4.1 s"
    )
    assert render_progress(3, None, 0, 0.0, waiting=True) == (
        "3/? campaigns, 0 leads, 0.0 s, waiting for the rate limit"
    )


def test_render_progress_counts_with_separators_and_the_right_number() -> None:
    assert render_progress(1, 1, 1, 0.5, waiting=False) == "1/1 campaign, 1 lead, 0.5 s"
    assert render_progress(1200, 2000, 58490, 61.0, waiting=False) == (
        "1,200/2,000 campaigns, 58,490 leads, 61.0 s"
    )


def test_plural() -> None:
    assert plural(1, "campaign") == "1 campaign"
    assert plural(0, "lead") == "0 leads"
    assert plural(2, "lead") == "2 leads"
    assert plural(58490, "lead") == "58,490 leads"
    assert plural(1, "activity") == "1 activity"
    assert plural(2, "activity") == "2 activities"
    assert plural(2, "day") == "2 days"  # a vowel before the y: a plain s


def test_render_count() -> None:
    assert render_count(1, "activity", 0.5, waiting=False) == "1 activity, 0.5 s"
    assert render_count(1234, "activity", 4.06, waiting=True) == (
        "1,234 activities, 4.1 s, waiting for the rate limit"
    )


async def test_rate_limit_waiting_reads_the_limiter() -> None:
    loop = asyncio.get_running_loop()
    assert not rate_limit_waiting(None, loop.time())
    limiter = WindowRateLimiter(1, 0.05)
    assert not rate_limit_waiting(limiter, loop.time())
    async with limiter:
        queued = asyncio.create_task(limiter.__aenter__())
        await asyncio.sleep(0)
        assert rate_limit_waiting(limiter, loop.time())  # someone waits for a slot
    await queued
    await limiter.__aexit__(None, None, None)
    assert not rate_limit_waiting(limiter, loop.time())
    limiter.pause(0.05)  # as after a 429
    assert rate_limit_waiting(limiter, loop.time())
    assert not rate_limit_waiting(limiter, loop.time() + 0.1)


class ClosedPipe(io.StringIO):
    """A stream whose reader went away: every write and flush raises BrokenPipeError."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


def test_console_on_a_closed_stderr_stays_quiet() -> None:
    # Nobody is left to read it; the run itself must go on.
    console = Console(ClosedPipe())
    console.status("1/3 campaigns")
    console.line("lemlist-async: campaign cam_1: 404")
    console.clear()
    console.flush()


def test_a_closed_stdout_ends_the_demo_quietly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # `lemlist-async demo | head -0`: the summary cannot be written.
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["demo", "--campaigns", "2"]) == EXIT_BROKEN_PIPE == 141
    assert capsys.readouterr().err == ""


def test_console_redraws_in_place_and_wipes_before_a_line() -> None:
    stream = io.StringIO()
    console = Console(stream)
    console.status("1/3 campaigns")
    console.status("2/3")
    console.line("error: one\ntwo")
    console.clear()  # nothing shown: no-op
    drawn = "\r1/3 campaigns\r2/3          "  # spaces over the longer previous text
    wiped = "\r" + " " * 13 + "\r"  # before the permanent line
    assert stream.getvalue() == drawn + wiped + "error: one two\n"


async def test_progress_line_draws_about_ten_times_a_second_and_clears() -> None:
    stream = io.StringIO()
    console = Console(stream)
    with ProgressLine(console, lambda: None, total=2) as progress:
        progress.on_progress(1, 2)
        progress.leads = 1500
        await asyncio.sleep(0.45)
    text = stream.getvalue()
    draws = re.findall(r"\r(\d+/2 campaigns[^\r]*)", text)
    assert 2 <= len(draws) <= 6  # 5 on time; fewer on a loaded machine, never more
    assert draws[-1].startswith("1/2 campaigns, 1,500 leads")
    assert re.search(r"\r +\r$", text)  # wiped at the end


async def test_progress_line_disabled_draws_nothing() -> None:
    stream = io.StringIO()
    with ProgressLine(Console(stream), lambda: None, enabled=False):
        await asyncio.sleep(0.15)
    assert stream.getvalue() == ""


@pytest.fixture
def umask() -> Iterator[int]:
    mask = os.umask(0o022)
    yield 0o022
    os.umask(mask)


def test_atomic_output_appears_only_on_commit(tmp_path: Path, umask: int) -> None:
    target = tmp_path / "out.jsonl"
    output = AtomicOutput(str(target))
    output.stream.write("record\n")
    assert not target.exists()
    output.commit()
    assert target.read_text(encoding="utf-8") == "record\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]
    if os.name == "posix":
        assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_atomic_output_keeps_a_partial_file_and_leaves_the_target(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("previous run\n", encoding="utf-8")
    output = AtomicOutput(str(target))
    output.stream.write("fetched\n")
    partial = output.keep_partial()
    assert partial == f"{target}.partial"
    assert target.read_text(encoding="utf-8") == "previous run\n"
    assert Path(partial).read_text(encoding="utf-8") == "fetched\n"
    discarded = AtomicOutput(str(target))
    discarded.discard()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl", "out.jsonl.partial"]


def test_atomic_output_refuses_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot write --output"):
        AtomicOutput(str(tmp_path / "no" / "such" / "dir.jsonl"))


# -- main() in-process: parsing and usage errors ---------------------------------------


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"lemlist-async {__version__}\n"


@pytest.mark.parametrize("command", [[], ["leads"], ["demo"]])
def test_help_has_examples_and_says_why_there_is_no_key_option(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "examples:" in out
    assert "lemlist-async" in out
    if command != ["demo"]:
        assert "process list" in out
        assert "--api-key" not in out


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == EXIT_USAGE
    assert "required" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["leads", "cam_1"], ["demo"], []])
@pytest.mark.parametrize("option", ["--api-key", "--key", "--token"])
@pytest.mark.parametrize("joined", [True, False])
def test_a_key_option_is_refused_without_echoing_it(
    command: list[str], option: str, joined: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [f"{option}={KEY}"] if joined else [option, KEY]
    assert main([*command, *argv]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"no {option} option" in err
    assert "process list" in err
    assert KEY not in err


@pytest.mark.parametrize("command", [["leads", "cam_1"], ["demo"], []])
@pytest.mark.parametrize(
    "option",
    [
        "--apiKey",
        "--API-KEY",
        "--lemlist-api-key",
        "--lemlist_api_key",
        "--auth-token",
        "--client-secret",
        "--secret",
        "--private-key",
        "-apikey",
    ],
)
@pytest.mark.parametrize("joined", [True, False])
def test_any_key_like_option_is_refused_without_echoing_it(
    command: list[str], option: str, joined: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    # Not only the spellings the parser knows: argparse's own "unrecognized
    # arguments" error would print the value of any other one.
    argv = [f"{option}={KEY}"] if joined else [option, KEY]
    assert main([*command, *argv]) == EXIT_USAGE
    captured = capsys.readouterr()
    assert KEY not in captured.out
    assert KEY not in captured.err
    assert f"no {option} option" in captured.err
    assert API_KEY_ENV_VAR in captured.err
    assert "--key-file" in captured.err


def test_key_option_names_the_option_and_never_the_value() -> None:
    assert key_option(f"--lemlist-api-key={KEY}") == "--lemlist-api-key"
    assert key_option("--API_KEY") == "--API_KEY"
    assert key_option("--key") == "--key"
    assert key_option("--bearer-Token") == "--bearer-Token"
    for word in ("--key-file", "-", "--", "-v", "cam_key", "apikey", "--state"):
        assert key_option(word) is None


@pytest.mark.parametrize("option", ["--key-file", "--monkey-file", "--keys"])
def test_options_that_only_look_like_key_options_are_left_to_argparse(
    option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", option, "x"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "unrecognized arguments" in err
    assert "process list" not in err


def test_options_are_not_abbreviated(capsys: pytest.CaptureFixture[str]) -> None:
    # `--key-f KEY` must not silently become --key-file.
    assert main(["leads", "cam_1", "--key-f", "x"]) == EXIT_USAGE
    assert "unrecognized" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--limit", "0"], "argument --limit: expected an integer from 1 to 500, got 0"),
        (["--limit", "many"], "argument --limit: expected an integer from 1 to 500, got 'many'"),
        (["--concurrency", "0"], "argument --concurrency: expected an integer of at least 1"),
        (["--state", " "], "argument --state: must not be empty"),
        (["--format", "xml"], "argument --format: invalid choice"),
        (["--base-url", "ftp://x"], "argument --base-url: base_url must be an absolute"),
    ],
)
def test_bad_options_are_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["leads", "cam_1", *argv]) == EXIT_USAGE
    assert message in capsys.readouterr().err


def test_a_missing_key_is_one_line_in_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(API_KEY_ENV_VAR, raising=False)
    assert main(["leads", "cam_1"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("lemlist-async leads: error: no API key")
    assert err.count("\n") == 1


def test_an_output_that_is_a_directory_is_refused_before_any_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(API_KEY_ENV_VAR, KEY)
    # An unroutable base URL: reaching the network would fail differently.
    argv = ["leads", "cam_1", "-o", str(tmp_path), "--base-url", "https://192.0.2.1/api"]
    assert main(argv) == EXIT_USAGE
    assert "is a directory" in capsys.readouterr().err
    assert files_in(tmp_path) == []


def test_the_demo_refuses_zero_campaigns(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--campaigns", "0"]) == EXIT_USAGE
    assert "argument --campaigns" in capsys.readouterr().err


def test_importing_the_sdk_does_not_load_the_cli() -> None:
    code = (
        "import sys, lemlist_async; a = 'lemlist_async._cli' in sys.modules; "
        "import lemlist_async._cli; b = 'lemlist_async.testing' in sys.modules; print(a, b)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    # Neither the CLI on `import lemlist_async`, nor the fake server on the CLI's import.
    assert out.split() == ["False", "False"]


# -- The real thing, in a subprocess -----------------------------------------------------


class Run(NamedTuple):
    code: int
    stdout: str
    stderr: str


def child_env(key: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != API_KEY_ENV_VAR}
    if key is not None:
        env[API_KEY_ENV_VAR] = key
    # The CLI must run clean with warnings as errors, like the suite.
    env["PYTHONWARNINGS"] = "error"
    return env


def assert_clean(run: Run, *secrets: str) -> None:
    for secret in (KEY, *secrets):
        assert secret not in run.stdout
        assert secret not in run.stderr
    assert "Traceback" not in run.stderr
    assert "Exception ignored" not in run.stderr


async def cli(
    *args: str,
    key: str | None = KEY,
    stdin: str | bytes | None = None,
    cwd: Path | None = None,
) -> Run:
    """Run ``python -m lemlist_async *args`` while this loop keeps serving the fake."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "lemlist_async",
        *args,
        stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(key),
        cwd=cwd,
    )
    out, err = await asyncio.wait_for(
        proc.communicate(stdin.encode() if isinstance(stdin, str) else stdin), timeout=60
    )
    assert proc.returncode is not None
    run = Run(proc.returncode, out.decode("utf-8"), err.decode("utf-8"))
    assert_clean(run, *([] if key is None else [key]))
    return run


@pytest.fixture
async def fake() -> AsyncIterator[FakeLemlistServer]:
    async with FakeLemlistServer(
        seed=11, campaigns=4, leads_per_campaign=(1, 40), api_key=KEY, rate_limit=None
    ) as server:
        yield server


def expected(
    fake: FakeLemlistServer, campaign_id: str, *, state: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The records of a campaign as the CLI should write them: newest first."""
    leads = [
        lead
        for lead in reversed(fake.campaign_leads(campaign_id))
        if state is None or lead["state"] == state
    ]
    return [{"campaignId": campaign_id, **lead} for lead in leads[:limit]]


def by_campaign(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        grouped.setdefault(record["campaignId"], []).append(record)
    return grouped


def files_in(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


async def test_leads_to_stdout_as_jsonl(fake: FakeLemlistServer) -> None:
    ids = fake.campaign_ids
    run = await cli("leads", *ids, "--base-url", fake.base_url)
    assert run.code == 0, run.stderr
    assert run.stderr == ""  # not a terminal: no progress line, nothing to say
    records = jsonl(run.stdout)
    assert by_campaign(records) == {cid: expected(fake, cid) for cid in ids}
    assert list(records[0]) == WIRE_ORDER
    assert fake.count(200) == len(ids)


async def test_leads_as_csv_with_state_and_limit(fake: FakeLemlistServer) -> None:
    ids = fake.campaign_ids
    run = await cli(
        "leads", *ids, "--format", "csv", "--state", "contacted", "--limit", "3",
        "--base-url", fake.base_url,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "campaignId,_id,contactId,state"
    rows = [dict(zip(CSV_FIELDS, row, strict=True)) for row in csv.reader(lines[1:])]
    wanted = {cid: expected(fake, cid, state="contacted", limit=3) for cid in ids}
    assert by_campaign(rows) == {cid: want for cid, want in wanted.items() if want}
    assert all(r.query == {"state": "contacted", "limit": "3"} for r in fake.requests)
    assert run.stderr == ""  # a documented state: no warning


async def test_an_unknown_state_is_sent_with_a_warning(fake: FakeLemlistServer) -> None:
    ids = fake.campaign_ids
    run = await cli("leads", *ids, "--state", "intrested", "--base-url", fake.base_url)
    # Sent as given (lemlist may know states the SDK does not); the fake, like
    # lemlist, refuses it with its own words, which the run reports.
    assert run.code == 1
    assert run.stderr.startswith(
        "lemlist-async leads: warning: 'intrested' is not a lead state lemlist documents "
        "(did you mean 'interested'?); it is sent as given\n"
    )
    assert "400 Bad params (invalid state parameter)" in run.stderr
    assert [r.query["state"] for r in fake.requests] == ["intrested"] * len(ids)


async def test_leads_to_an_output_file(fake: FakeLemlistServer, tmp_path: Path) -> None:
    ids = fake.campaign_ids
    target = tmp_path / "leads.jsonl"
    run = await cli("leads", *ids, "-o", str(target), "--base-url", fake.base_url)
    assert run.code == 0, run.stderr
    assert run.stdout == ""
    records = jsonl(target.read_text(encoding="utf-8"))
    assert by_campaign(records) == {cid: expected(fake, cid) for cid in ids}
    assert files_in(tmp_path) == ["leads.jsonl"]  # no temporary left


async def test_ids_from_a_file(fake: FakeLemlistServer, tmp_path: Path) -> None:
    first, *rest = fake.campaign_ids
    ids_file = tmp_path / "campaigns.txt"
    ids_file.write_text(
        "# campaigns to export\n\n" + "".join(f"{cid}   # a comment\n" for cid in rest),
        encoding="utf-8",
    )
    run = await cli("leads", first, "--ids-file", str(ids_file), "--base-url", fake.base_url)
    assert run.code == 0, run.stderr
    assert set(by_campaign(jsonl(run.stdout))) == set(fake.campaign_ids)


async def test_an_id_that_is_not_utf8_is_refused_before_any_request(
    fake: FakeLemlistServer,
) -> None:
    run = await cli("leads", "-", "--base-url", fake.base_url, stdin=b"cam_\xff\n")
    assert run.code == EXIT_USAGE
    assert run.stderr.startswith("lemlist-async leads: error: campaign id 'cam_")
    assert fake.requests == []


async def test_ids_from_stdin(fake: FakeLemlistServer) -> None:
    first, *rest = fake.campaign_ids
    stdin = "# from a pipe\n" + "\n".join(rest) + f"\n{first}\n"  # a duplicate, fetched once
    run = await cli("leads", first, "-", "--base-url", fake.base_url, stdin=stdin)
    assert run.code == 0, run.stderr
    assert set(by_campaign(jsonl(run.stdout))) == set(fake.campaign_ids)
    assert len(fake.requests) == len(fake.campaign_ids)


@pytest.mark.parametrize("output_format", ["jsonl", "csv"])
async def test_a_lead_with_a_lone_surrogate_is_written_escaped(
    server: ScriptedServer, output_format: str
) -> None:
    # JSON may carry "\udcff" alone; Python decodes it to a lone surrogate,
    # which no UTF-8 stream accepts as it is.
    server.answer_json([{"_id": f"lea_{LONE}", "contactId": "ctc_1", "state": "new"}])
    run = await cli("leads", "cam_1", "--format", output_format, "--base-url", server.base_url)
    assert run.code == 0, run.stderr
    assert run.stderr == ""
    if output_format == "jsonl":
        assert jsonl(run.stdout) == [
            {"campaignId": "cam_1", "_id": f"lea_{LONE}", "contactId": "ctc_1", "state": "new"}
        ]
    else:
        assert run.stdout.splitlines()[1] == "cam_1,lea_\\udcff,ctc_1,new"


async def test_a_failing_campaign_is_reported_and_the_others_still_written(
    fake: FakeLemlistServer,
) -> None:
    good = fake.campaign_ids[:2]
    run = await cli("leads", good[0], "cam_doesNotExist", good[1], "--base-url", fake.base_url)
    assert run.code == 1
    assert by_campaign(jsonl(run.stdout)) == {cid: expected(fake, cid) for cid in good}
    lines = run.stderr.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(
        "lemlist-async: campaign cam_doesNotExist: 404 Campaign not found (GET http://127.0.0.1:"
    )
    assert lines[1] == "lemlist-async: 1 of 3 campaigns failed"


async def test_a_failing_campaign_leaves_the_output_file_and_keeps_a_partial_one(
    fake: FakeLemlistServer, tmp_path: Path
) -> None:
    good = fake.campaign_ids[0]
    target = tmp_path / "leads.csv"
    target.write_text("a previous export\n", encoding="utf-8")
    run = await cli(
        "leads", good, "cam_doesNotExist", "--format", "csv", "-o", str(target),
        "--base-url", fake.base_url,
    )  # fmt: skip
    assert run.code == 1
    assert target.read_text(encoding="utf-8") == "a previous export\n"
    partial = tmp_path / "leads.csv.partial"
    rows = list(csv.reader(partial.read_text(encoding="utf-8").splitlines()))
    assert rows[0] == list(CSV_FIELDS)
    assert len(rows) - 1 == len(expected(fake, good))
    count = len(expected(fake, good))
    fetched = f"the {count} lead fetched is" if count == 1 else f"the {count} leads fetched are"
    assert f"'{target}' was not written; {fetched} in '{partial}'" in run.stderr
    assert files_in(tmp_path) == ["leads.csv", "leads.csv.partial"]


async def test_a_missing_key_is_a_clear_one_line_message(fake: FakeLemlistServer) -> None:
    run = await cli("leads", *fake.campaign_ids, "--base-url", fake.base_url, key=None)
    assert run.code == EXIT_USAGE
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1
    assert run.stderr.startswith("lemlist-async leads: error: no API key: set LEMLIST_API_KEY")
    assert "--key-file" in run.stderr
    assert fake.requests == []


@pytest.mark.parametrize("env_key", [None, "a-stale-key-from-the-environment"])
async def test_key_file(fake: FakeLemlistServer, tmp_path: Path, env_key: str | None) -> None:
    key_file = tmp_path / "lemlist.key"
    key_file.write_text(f"{KEY}\n", encoding="utf-8")
    ids = fake.campaign_ids
    run = await cli(
        "leads", *ids, "--key-file", str(key_file), "--base-url", fake.base_url, key=env_key
    )
    assert run.code == 0, run.stderr
    assert set(by_campaign(jsonl(run.stdout))) == set(ids)


async def test_a_key_file_with_a_bom_and_crlf_is_accepted(
    fake: FakeLemlistServer, tmp_path: Path
) -> None:
    key_file = tmp_path / "lemlist.key"
    key_file.write_bytes(b"\xef\xbb\xbf" + KEY.encode() + b"\r\n")
    ids = fake.campaign_ids
    run = await cli("leads", *ids, "--key-file", str(key_file), "--base-url", fake.base_url)
    assert run.code == 0, run.stderr
    assert set(by_campaign(jsonl(run.stdout))) == set(ids)


@pytest.mark.parametrize("limit", ["0", "501", "ten"])
async def test_a_bad_limit_is_refused_before_any_request(
    fake: FakeLemlistServer, limit: str
) -> None:
    run = await cli("leads", *fake.campaign_ids, "--limit", limit, "--base-url", fake.base_url)
    assert run.code == EXIT_USAGE
    assert "argument --limit: expected an integer from 1 to 500" in run.stderr
    assert fake.requests == []


async def test_plain_http_to_another_host_is_refused() -> None:
    run = await cli("leads", "cam_1", "--base-url", "http://api.lemlist.example/api")
    assert run.code == EXIT_USAGE
    assert "plain http to a non-loopback host" in run.stderr
    assert "clear text" in run.stderr


async def test_a_refused_key_stops_the_run(fake: FakeLemlistServer) -> None:
    wrong = "sk-WRONG-key-3b9f"
    run = await cli("leads", *fake.campaign_ids, "--base-url", fake.base_url, key=wrong)
    assert run.code == 1
    assert run.stdout == ""
    assert "401 The authentication you supplied is incorrect" in run.stderr
    assert "lemlist refused the API key; stopped" in run.stderr
    assert run.stderr.rstrip().endswith(f"4 of {len(fake.campaign_ids)} campaigns failed")


async def test_messages_say_one_campaign_not_one_campaigns(fake: FakeLemlistServer) -> None:
    wrong = "sk-WRONG-key-3b9f"
    ids = fake.campaign_ids[:2]
    run = await cli("leads", *ids, "--base-url", fake.base_url, "--concurrency", "1", key=wrong)
    assert run.code == 1
    assert "lemlist refused the API key; stopped, 1 campaign not fetched" in run.stderr
    assert run.stderr.rstrip().endswith("2 of 2 campaigns failed")
    run = await cli("leads", "cam_doesNotExist", "--base-url", fake.base_url)
    assert run.stderr.rstrip().endswith("1 of 1 campaign failed")


async def test_verbose_logs_retries_and_never_the_key(fake: FakeLemlistServer) -> None:
    fake.fail_next(503)
    run = await cli("leads", fake.campaign_ids[0], "-v", "--base-url", fake.base_url)
    assert run.code == 0, run.stderr
    assert "INFO lemlist_async" in run.stderr
    assert "answered 503; retry 1 of 4" in run.stderr
    assert "fetching the leads of 1 campaign from" in run.stderr
    assert len(jsonl(run.stdout)) == len(expected(fake, fake.campaign_ids[0]))


async def test_a_closed_stdout_ends_quietly() -> None:
    async with FakeLemlistServer(
        seed=3, campaigns=10, leads_per_campaign=500, api_key=KEY, rate_limit=None
    ) as fake:
        read_end, write_end = os.pipe()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "lemlist_async", "leads", *fake.campaign_ids,
            "--limit", "500", "--base-url", fake.base_url,
            stdout=write_end, stderr=subprocess.PIPE, env=child_env(KEY),
        )  # fmt: skip
        os.close(write_end)
        loop = asyncio.get_running_loop()
        # Like `| head -c 1000`: read a little, then go away.
        first = await loop.run_in_executor(None, os.read, read_end, 1000)
        os.close(read_end)
        _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert first.startswith(b'{"campaignId":')
    # As a Unix tool killed by SIGPIPE reports it, and nothing said.
    assert proc.returncode == EXIT_BROKEN_PIPE
    assert err == b""


async def run_with_terminal_stderr(*args: str) -> tuple[int, str, str | None]:
    """Run the CLI with stderr on a pseudo-terminal when there is one (else a pipe).

    Returns the exit code, stdout, and what the terminal received (None without one).
    """
    try:
        import pty
    except ImportError:  # pragma: no cover - Windows
        run = await cli(*args)
        return run.code, run.stdout, None
    loop = asyncio.get_running_loop()
    master, slave = pty.openpty()
    received: list[bytes] = []
    closed = loop.create_future()

    def on_readable() -> None:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the last holder of the terminal's other end is gone
            data = b""
        if data:
            received.append(data)
            return
        loop.remove_reader(master)
        if not closed.done():
            closed.set_result(None)

    loop.add_reader(master, on_readable)
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "lemlist_async", *args,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave, env=child_env(None),
        )  # fmt: skip
        os.close(slave)
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
        await asyncio.wait_for(closed, timeout=10)
    finally:
        loop.remove_reader(master)
        os.close(master)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), b"".join(received).decode()


async def test_demo_with_its_progress_line() -> None:
    code, out, terminal = await run_with_terminal_stderr("demo", "--campaigns", "25")
    assert code == 0, (out, terminal)
    summary = dict(line.split(": ", 1) for line in out.splitlines())
    assert summary["campaigns fetched"] == "25 of 25"
    assert re.fullmatch(r"\d{1,3}(,\d{3})+", summary["leads"])  # as the progress line has it
    assert summary["requests the server received"] == "25"
    assert summary["429 responses"] == "0"
    assert summary["most requests in any 2 s window"] == "20 (limit 20)"
    assert summary["theoretical minimum"].startswith("2.03 s = 2 s x (ceil(25/20) - 1)")
    elapsed = float(summary["elapsed"].removesuffix(" s"))
    assert 2.03 <= elapsed < 10
    assert float(summary["elapsed / minimum"]) >= 1
    if terminal is None:  # pragma: no cover - no pseudo-terminal
        return
    draws = re.findall(r"\r(\d+/25 campaigns, [\d,]+ leads, [\d.]+ s[^\r]*)", terminal)
    assert draws, terminal
    assert len(draws) <= 10 * elapsed + 3  # at most ~10 redraws a second
    assert any(d.endswith(", waiting for the rate limit") for d in draws)
    assert re.search(r"\r +\r$", terminal)  # wiped at the end
    assert "Traceback" not in terminal
