"""Shared fixtures: a loopback lemlist server, a client bound to it, and a shim.

Also real servers on loopback: Redis, and PostgreSQL with a fresh database per test.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import SimpleNamespace
from typing import Any

import aioresponses.core
import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestServer
from yarl import URL

from lemlist_async import LemlistClient

from ._postgres_server import LocalPostgres, PostgresServerError
from ._redis_server import RedisServer, RedisServerError


def _patch_aioresponses() -> None:
    """Let aioresponses 0.7.9 build responses on aiohttp >= 3.14.

    aiohttp 3.14 added a required ``stream_writer`` argument to
    ``ClientResponse.__init__``, which aioresponses does not pass:
    https://github.com/pnuckowski/aioresponses/issues/289 (fix proposed in PR #288).
    Remove this shim once a fixed aioresponses is released.
    """
    params = inspect.signature(ClientResponse.__init__).parameters
    if (
        "stream_writer" not in params or aioresponses.core.ClientResponse is not ClientResponse  # type: ignore[attr-defined]
    ):
        return

    class _CompatClientResponse(ClientResponse):
        def __init__(self, method: str, url: URL, **kwargs: Any) -> None:
            # A response built after its request was sent only reads output_size.
            kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
            super().__init__(method, url, **kwargs)

    aioresponses.core.ClientResponse = _CompatClientResponse  # type: ignore[attr-defined]


_patch_aioresponses()


@pytest.fixture(autouse=True)
def _no_implicit_event_loop(request: pytest.FixtureRequest) -> None:
    """Keep looptime's hook from creating, and leaking, an event loop for a sync test.

    looptime 0.9 calls ``policy.get_event_loop()`` around every test; on Python
    3.11, before any loop was ever set, that creates a loop nobody closes, and its
    ResourceWarning fails a later test at random. So "no loop" is set explicitly.
    """
    # From 3.14 on, get_event_loop() no longer creates a loop, and the policy is deprecated.
    if sys.version_info < (3, 14) and not inspect.iscoroutinefunction(request.function):
        asyncio.get_event_loop_policy().set_event_loop(None)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Recorded:
    """What the scripted server saw of one request."""

    def __init__(self, request: web.Request, body: bytes = b"") -> None:
        self.time = asyncio.get_running_loop().time()
        self.body = body
        self.method = request.method
        self.raw_path = request.raw_path
        self.path = request.path
        self.match_info = dict(request.match_info)
        self.query = dict(request.query)
        self.headers = dict(request.headers)


class ScriptedServer:
    """A real aiohttp server on loopback that answers what each test scripts.

    ``answers`` is consumed in order; when it runs out, ``default`` answers.
    Every request is recorded in ``requests``.
    """

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.answers: list[web.StreamResponse | Handler] = []
        self.default: Callable[
            [web.Request], web.StreamResponse | Awaitable[web.StreamResponse]
        ] = lambda _: web.json_response(
            [{"_id": "lea_1", "contactId": "ctc_1", "state": "scanned"}]
        )
        self.app = web.Application()
        self.app.router.add_route("*", "/api/{tail:.*}", self._handle)
        self.server = TestServer(self.app, host="127.0.0.1")

    @property
    def base_url(self) -> str:
        return str(self.server.make_url("/api"))

    def answer(
        self,
        status: int = 200,
        body: str | bytes = b"",
        *,
        content_type: str = "text/plain",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.answers.append(
            web.Response(status=status, body=body, content_type=content_type, headers=headers)
        )

    def answer_json(self, payload: object, status: int = 200) -> None:
        self.answers.append(web.json_response(payload, status=status))

    def answer_with(self, handler: Handler) -> None:
        self.answers.append(handler)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(Recorded(request, await request.read()))
        if not self.answers:
            result = self.default(request)
            return await result if inspect.isawaitable(result) else result
        scripted = self.answers.pop(0)
        if isinstance(scripted, web.StreamResponse):
            return scripted
        return await scripted(request)


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    scripted = ScriptedServer()
    await scripted.server.start_server()
    yield scripted
    await scripted.server.close()


SENTINEL_KEY = "sk-SENTINEL-0123456789abcdef"


@pytest.fixture
async def client(server: ScriptedServer) -> AsyncIterator[LemlistClient]:
    async with LemlistClient(SENTINEL_KEY, base_url=server.base_url, max_retries=0) as c:
        yield c


@pytest.fixture
async def close_redis_limiters(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """Closes every ``RedisRateLimiter`` the test built, while its loop still runs.

    A limiter that had to wait keeps a subscription open until ``aclose``; a
    test that does not close it would leave the connection to the end of the
    loop, after the test's Redis client is closed.
    """
    from lemlist_async.redis import RedisRateLimiter  # Only the Redis tests need redis-py.

    made: list[RedisRateLimiter] = []
    init = RedisRateLimiter.__init__

    def tracked(self: RedisRateLimiter, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(RedisRateLimiter, "__init__", tracked)
    yield
    for limiter in made:
        await limiter.aclose()


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    """One server for the module. Missing or broken, it fails the tests: never a skip."""
    problem = ""
    try:
        server = RedisServer.start()
    except RedisServerError as exc:
        problem = str(exc)
    if problem:
        pytest.fail(f"these tests need a real redis-server: {problem}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[LocalPostgres]:
    """One server for the run: initdb, most of the time a start takes, runs once.

    Missing or broken, it fails the tests: never a skip.
    """
    problem = ""
    try:
        server = LocalPostgres.start()
    except PostgresServerError as exc:
        problem = str(exc)
    if problem:
        pytest.fail(f"these tests need a real PostgreSQL server: {problem}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def postgres_dsn(postgres_server: LocalPostgres) -> AsyncIterator[str]:
    """The DSN of a new, empty database of its own for the test, dropped after it.

    The drop ends any session the test left connected to it, e.g. a pool it did
    not close, which a plain DROP DATABASE would refuse.
    """
    async with _database(postgres_server) as dsn:
        yield dsn


@pytest.fixture
async def postgres_dsn_2(postgres_server: LocalPostgres) -> AsyncIterator[str]:
    """A second database like `postgres_dsn`'s, for a test that compares two."""
    async with _database(postgres_server) as dsn:
        yield dsn


@contextlib.asynccontextmanager
async def _database(server: LocalPostgres) -> AsyncIterator[str]:
    name = f"test_{uuid.uuid4().hex}"
    dsn = await server.create_database(name)
    try:
        yield dsn
    finally:
        await server.drop_database(name)
