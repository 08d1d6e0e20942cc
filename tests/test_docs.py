"""Every ```python block of the documentation runs, against a FakeLemlistServer.

The pages are docs/*.md and README.md. Each page's python blocks run in order in
one namespace (a later block uses the names of an earlier one), like a script run
as ``__main__``, with:

- ``LEMLIST_API_KEY`` set to the fake's key, and ``LemlistClient``'s default
  ``base_url`` pointed at the fake, so that ``LemlistClient()`` talks to it;
- the names the examples take as given: ``client`` (an open ``LemlistClient``),
  ``campaign_ids`` (ids the fake serves), ``save``, ``log`` and ``done``;
- ``sys.argv`` holding the script name and those campaign ids.

A page runs in a thread of its own with its own event loop, while the fake
serves from the test's loop: a block may use top-level ``await`` (it is awaited
in the page's loop) or call ``asyncio.run(main())`` (no loop is running in that
thread between blocks), and ``sys.exit(0)`` ends a block like the end of a script.

An aiohttp application that a page leaves in its namespace is started and called
by a check registered in ``APP_CHECKS``; a page whose blocks define pytest tests
is also written out as a test module and run by pytest in a subprocess, with the
configuration from the page's ```toml block.

A block that is not meant to run is not a python block: it uses ```text,
```console or ```sh. Nothing here is skipped: a python block that cannot run
fails its page, and a failure names the page, the block and its line in the page.
"""

from __future__ import annotations

import ast
import asyncio
import builtins
import inspect
import logging
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

import lemlist_async
import lemlist_async.redis
import lemlist_async.testing
import lemlist_async.webhooks
from lemlist_async import CampaignLeads, Lead, LemlistClient
from lemlist_async.testing import FakeLemlistServer

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted([*DOCS.glob("*.md"), ROOT / "README.md"])

#: The campaign id the examples use when they spell one out.
EXAMPLE_CAMPAIGN_ID = "cam_A1B2C3D4E5F6G7H8I9"
#: The secret docs/webhooks.md reads from LEMLIST_WEBHOOK_SECRET.
WEBHOOK_SECRET = "docs-webhook-secret-0123456789"
#: Seconds any one block may take (the fake answers at once; nothing should wait long).
BLOCK_TIMEOUT = 60.0

FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
#: Languages that look like Python but that the harness would not run.
PYTHON_LOOKALIKES = frozenset({"py", "py3", "python3", "pycon", "ipython", "ipython3", "pytb"})
DIRECTIVE_WITH_PYTHON = re.compile(r"^\{(code|code-block|sourcecode|code-cell)\}\s*(py|python)")
RST_PYTHON = re.compile(r"\.\.\s+(code-block|code|sourcecode|doctest|testcode)::")


@dataclass(frozen=True)
class Block:
    """One fenced block of a page."""

    page: Path
    index: int  # among the page's python blocks; -1 for other languages
    language: str
    info: str
    line: int  # 1-based line of the block's first code line in the page
    code: str

    def where(self) -> str:
        return f"{relative(self.page)}, python block {self.index} (line {self.line})"


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def fenced_blocks(page: Path) -> list[Block]:
    """The page's fenced code blocks, in order (CommonMark's rules, enough of them)."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    python_index = 0
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening is None or (opening["fence"][0] == "`" and "`" in opening["info"]):
            i += 1
            continue
        indent, fence, info = len(opening["indent"]), opening["fence"], opening["info"].strip()
        closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not closing.match(lines[j]):
            line = lines[j]
            stripped = len(line) - len(line.lstrip(" "))
            body.append(line[min(indent, stripped) :])
            j += 1
        language = info.split(maxsplit=1)[0] if info else ""
        index = -1
        if language == "python":
            index, python_index = python_index, python_index + 1
        blocks.append(Block(page, index, language, info, i + 2, "\n".join(body) + "\n"))
        i = j + 1
    return blocks


def python_blocks(page: Path) -> list[Block]:
    return [block for block in fenced_blocks(page) if block.language == "python"]


def compile_block(block: Block) -> Any:
    """Compile a block so that tracebacks show the page and its line numbers."""
    tree = ast.parse(block.code, filename=str(block.page), mode="exec")
    ast.increment_lineno(tree, block.line - 1)
    return compile(tree, str(block.page), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def shown_tests(page: Path) -> list[str]:
    """The pytest test functions the page's python blocks define."""
    return [
        node.name
        for block in python_blocks(page)
        for node in ast.parse(block.code).body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    ]


RUNNABLE_PAGES = [page for page in PAGES if python_blocks(page)]
TEST_PAGES = [page for page in RUNNABLE_PAGES if shown_tests(page)]


# -- What the examples take as given ---------------------------------------------------


@dataclass
class Given:
    """The names a page's examples use without defining them, and what they recorded."""

    base_url: str
    api_key: str
    campaign_ids: list[str]
    saved: dict[str, list[Lead]] = field(default_factory=dict)

    def save(self, campaign_id: str, leads: list[Lead]) -> None:
        self.saved[campaign_id] = leads

    def names(self) -> dict[str, object]:
        return {
            "campaign_ids": list(self.campaign_ids),
            "save": self.save,
            "log": logging.getLogger("docs.example"),
            "done": lambda item: isinstance(item, CampaignLeads),
        }


def example_leads() -> list[dict[str, str]]:
    states = ["interested", "contacted", "scanned", "interested", "notInterested", "hooked"]
    return [
        {"_id": f"lea_EXAMPLE{n:012d}", "contactId": f"ctc_EXAMPLE{n:012d}", "state": state}
        for n, state in enumerate(states)
    ]


@pytest.fixture
async def fake() -> AsyncIterator[FakeLemlistServer]:
    # No rate limit: the pages' examples send a few dozen requests, in real time.
    async with FakeLemlistServer(
        seed=2718, campaigns=4, leads_per_campaign=(1, 40), rate_limit=None
    ) as server:
        server.add_campaign(EXAMPLE_CAMPAIGN_ID, example_leads())
        yield server


@contextmanager
def logging_restored() -> Iterator[None]:
    """Put the logging configuration back as it was (examples may configure it)."""
    root = logging.getLogger()
    sdk = logging.getLogger("lemlist_async")
    handlers, root_level, sdk_level = list(root.handlers), root.level, sdk.level
    try:
        yield
    finally:
        for handler in root.handlers:
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(root_level)
        sdk.setLevel(sdk_level)


@pytest.fixture
def given(fake: FakeLemlistServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Given]:
    given = Given(fake.base_url, fake.api_key, fake.campaign_ids)
    monkeypatch.setenv("LEMLIST_API_KEY", fake.api_key)
    monkeypatch.setenv("LEMLIST_WEBHOOK_SECRET", WEBHOOK_SECRET)
    defaults = LemlistClient.__init__.__kwdefaults__
    assert defaults is not None
    assert "base_url" in defaults, "LemlistClient's base_url is no longer keyword-only"
    monkeypatch.setitem(defaults, "base_url", fake.base_url)
    with logging_restored():
        yield given


# -- Web applications the pages define -------------------------------------------------

AppCheck = Callable[[web.Application, Given], Awaitable[None]]


async def check_interested_leads_app(app: web.Application, given: Given) -> None:
    """docs/fanout.md: GET /interested?campaign=...&campaign=..."""
    missing = "cam_DOES_NOT_EXIST"
    params = [("campaign", cid) for cid in given.campaign_ids] + [("campaign", missing)]
    async with TestClient(TestServer(app)) as http:
        response = await http.get("/interested", params=params)
        assert response.status == 200, await response.text()
        body = await response.json()
    assert set(body["leads"]) == set(given.campaign_ids)
    assert list(body["failed"]) == [missing]
    assert "Campaign not found" in body["failed"][missing]


class Records(logging.Handler):
    """The records a logger handles."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def check_webhook_app(app: web.Application, given: Given) -> None:
    """docs/webhooks.md: POST /lemlist, one delivery twice, then a forged one."""
    delivery = {"_id": "act_DOCS0000000001", "type": "emailsOpened", "leadId": "lea_DOCS0001"}
    example_log, captured = logging.getLogger("docs.example"), Records()
    level = example_log.level
    example_log.addHandler(captured)
    example_log.setLevel(logging.INFO)
    try:
        async with TestClient(TestServer(app)) as http:  # its cleanup drains the handler
            for secret, status in ((WEBHOOK_SECRET, 200), (WEBHOOK_SECRET, 200), ("guess", 401)):
                response = await http.post("/lemlist", json={**delivery, "secret": secret})
                assert response.status == status, await response.text()
    finally:
        example_log.removeHandler(captured)
        example_log.setLevel(level)
    handled = [record.getMessage() for record in captured.records]
    assert handled == ["lemlist emailsOpened: lead lea_DOCS0001, campaign None"]


#: (page, name of the application in the page's namespace) -> its check.
APP_CHECKS: dict[tuple[str, str], AppCheck] = {
    ("docs/fanout.md", "app"): check_interested_leads_app,
    ("docs/webhooks.md", "app"): check_webhook_app,
}


# -- Running a page ----------------------------------------------------------------------


def run_block(block: Block, namespace: dict[str, Any], runner: asyncio.Runner) -> None:
    code = compile_block(block)
    try:
        result = eval(code, namespace)  # noqa: S307 - the documentation's own examples
        if inspect.iscoroutine(result):  # top-level await
            runner.run(asyncio.wait_for(result, BLOCK_TIMEOUT))
    except SystemExit as exit_:
        # A script's sys.exit(0) ends it like falling off its end.
        if exit_.code not in (0, None):
            raise AssertionError(f"{block.where()}: sys.exit({exit_.code!r})") from exit_
    except BaseException as error:
        error.add_note(f"in {block.where()}")
        raise


def run_page(page: Path, given: Given) -> None:
    """Run the page's python blocks in order, in one namespace (in a thread of its own)."""
    namespace: dict[str, Any] = {
        "__name__": "__main__",
        "__file__": str(page),
        "__builtins__": builtins,
        **given.names(),
    }
    with asyncio.Runner() as runner:
        client = LemlistClient(given.api_key, base_url=given.base_url)
        namespace["client"] = runner.run(client.__aenter__())
        try:
            for block in python_blocks(page):
                run_block(block, namespace, runner)
            for name, value in list(namespace.items()):
                if isinstance(value, web.Application):
                    check = APP_CHECKS.get((relative(page), name))
                    assert check is not None, (
                        f"{relative(page)} defines the aiohttp application {name!r}: "
                        "add a check that calls it to APP_CHECKS in tests/test_docs.py"
                    )
                    runner.run(asyncio.wait_for(check(value, given), BLOCK_TIMEOUT))
        finally:
            runner.run(client.close())


@pytest.mark.parametrize("page", RUNNABLE_PAGES, ids=relative)
async def test_the_python_blocks_of_the_page_run(
    page: Path, given: Given, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", [str(page), *given.campaign_ids])
    await asyncio.to_thread(run_page, page, given)


# -- Pages that show pytest tests --------------------------------------------------------


def has_top_level_await(block: Block) -> bool:
    return bool(compile_block(block).co_flags & inspect.CO_COROUTINE)


def as_module(page: Path) -> str:
    """The page's python blocks as one module, each line at its line number in the page.

    Blocks with top-level ``await`` are left out: they are not module code (and
    they ran with the rest of the page).
    """
    lines = [""] * len(page.read_text(encoding="utf-8").splitlines())
    for block in python_blocks(page):
        if has_top_level_await(block):
            continue
        for offset, line in enumerate(block.code.splitlines()):
            lines[block.line - 1 + offset] = line
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("page", TEST_PAGES, ids=relative)
def test_the_tests_a_page_shows_pass_under_pytest(page: Path, tmp_path: Path) -> None:
    config = "".join(block.code for block in fenced_blocks(page) if block.language == "toml")
    assert "[tool.pytest" in config, f"{relative(page)} shows tests but no pytest configuration"
    tomllib.loads(config)
    (tmp_path / "pyproject.toml").write_text(config, encoding="utf-8")
    module = tmp_path / f"test_{page.stem.replace('-', '_')}.py"
    module.write_text(as_module(page), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "LEMLIST_"))}
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-W", "error", "-v"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, f"pytest on the tests of {relative(page)}:\n{output}"
    for name in shown_tests(page):
        assert re.search(rf"::{name} PASSED", output), f"{name} did not pass:\n{output}"
    assert re.search(rf"\b{len(shown_tests(page))} passed\b", output), output
    assert not re.search(r"\b\d+ (skipped|xfailed|deselected)\b", output), output


# -- The pages themselves ----------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=relative)
def test_every_code_block_says_whether_it_runs(page: Path) -> None:
    """A block runs only as ```python: a look-alike would silently be left out."""
    for block in fenced_blocks(page):
        where = f"{relative(page)} line {block.line}"
        assert block.language, f"{where}: name the block's language (```python, ```text…)"
        assert block.language not in PYTHON_LOOKALIKES, (
            f"{where}: ```{block.language} is not run; use ```python, or ```text if it "
            "is not code that can run"
        )
        assert not DIRECTIVE_WITH_PYTHON.match(block.info), (
            f"{where}: python in a directive is not run; use a plain ```python fence"
        )
        if block.language == "{eval-rst}":
            assert not RST_PYTHON.search(block.code), f"{where}: python in rST is not run"
        if block.language == "python":
            compile_block(block)  # a syntax error fails here, naming the line


#: Names every page may use without defining them (see `Given.names`), besides builtins.
GIVEN_NAMES = frozenset({"client", "campaign_ids", "save", "log", "done", "__name__", "__file__"})


def bound_names(tree: ast.AST) -> set[str]:
    """Every name a block binds, in any scope (enough to catch a missing import)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.split(".")[0])
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            names.add(node.name)
    return names


@pytest.mark.parametrize("page", RUNNABLE_PAGES, ids=relative)
def test_every_name_is_defined_before_its_block(page: Path) -> None:
    """A reader copies blocks in order: each name must come from an earlier line.

    Running the blocks does not show a name that is only reached on a path the
    run does not take, such as an ``except`` clause.
    """
    defined = set(GIVEN_NAMES) | set(dir(builtins))
    for block in python_blocks(page):
        tree = ast.parse(block.code)
        defined |= bound_names(tree)
        used = {
            node.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
        }
        assert not used - defined, f"{block.where()}: undefined {sorted(used - defined)}"


def test_the_harness_finds_the_examples() -> None:
    counts = {relative(page): len(python_blocks(page)) for page in PAGES}
    assert counts["README.md"] >= 2
    for name in ("quickstart", "configuration", "fanout", "errors", "testing"):
        assert counts[f"docs/{name}.md"] >= 2, counts
    assert TEST_PAGES == [DOCS / "testing.md"]


def test_every_page_is_in_the_table_of_contents() -> None:
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    toctree = re.search(r"```\{toctree\}\n(.*?)```", index, re.DOTALL)
    assert toctree is not None
    entries = {
        line.strip()
        for line in toctree.group(1).splitlines()
        if line.strip() and not line.lstrip().startswith(":")
    }
    pages = {page.stem for page in DOCS.glob("*.md")} - {"index"}
    assert entries == pages


def test_the_api_reference_documents_every_public_name() -> None:
    api = (DOCS / "api.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\.\. auto\w+:: ([\w.]+)$", api, re.MULTILINE))
    modules = (lemlist_async, lemlist_async.testing, lemlist_async.redis, lemlist_async.webhooks)
    for module in modules:
        for name in module.__all__:
            assert f"{module.__name__}.{name}" in documented, name


async def test_the_given_names_are_what_the_examples_expect(given: Given) -> None:
    """The harness's own promises: LemlistClient() reaches the fake with its key."""
    async with LemlistClient() as client:
        by_campaign = await client.get_leads_for_campaigns(given.campaign_ids)
        leads = await client.get_campaign_leads(EXAMPLE_CAMPAIGN_ID)
    assert set(by_campaign) == set(given.campaign_ids)
    assert leads[0].id == "lea_EXAMPLE000000000005"  # newest first
