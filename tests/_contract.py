"""The contract test's machinery: lemlist's OpenAPI document, a recorder of what
an aiohttp session sends, and the check of one exchange against the document.

``test_contract`` holds what is particular to lemlist-async: the operations it
drives and the deviations from the document (``Deviation``), in one place.

The validator is openapi-core: it finds the operation (server, path, method)
and validates path, query and security parameters, the request body, and the
response body for its status and content type. Two checks it does not make are
made here: no query parameter the operation does not document, none sent twice.
"""

from __future__ import annotations

import ast
import copy
import json
import re
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Final

import aiohttp
import attrs
from multidict import CIMultiDict
from openapi_core import OpenAPI
from openapi_core.exceptions import OpenAPIError
from openapi_core.templating.paths.finders import APICallPathFinder
from openapi_core.testing import MockRequest, MockResponse
from yarl import URL

__all__ = [
    "SPEC_FILE",
    "Deviation",
    "Exchange",
    "Operation",
    "Recorder",
    "check",
    "check_all",
    "parameter_schema",
    "raw_spec",
    "replay",
    "response_schema",
    "sdk_operations",
    "template",
]

SPEC_FILE: Final = Path(__file__).parent / "data" / "lemlist-openapi-v2.json"
#: The document's server: its paths are relative to it, as the SDK's are to its base URL.
SPEC_SERVER: Final = URL("https://api.lemlist.com/api")

Operation = tuple[str, str]
"""An operation of the document: its lowercase method and its path template."""


# -- The document -------------------------------------------------------------------------


@cache
def raw_spec() -> dict[str, Any]:
    """lemlist's document, as the file has it."""
    with SPEC_FILE.open(encoding="utf-8") as file:
        spec: dict[str, Any] = json.load(file)
    return spec


@attrs.frozen
class Deviation:
    """A difference between lemlist's document and what lemlist does, which the SDK
    and the fake follow: ``patch`` replaces the document's node at ``pointer``
    (in memory; the file stays lemlist's)."""

    operation: Operation
    pointer: tuple[str | int, ...]
    patch: Callable[[Any], Any]
    reason: str


def parameter_schema(operation: Operation, name: str) -> tuple[str | int, ...]:
    """The pointer to the schema of an operation's parameter, found by name."""
    method, path = operation
    parameters = raw_spec()["paths"][path][method]["parameters"]
    index = next(i for i, p in enumerate(parameters) if p["name"] == name)
    return ("paths", path, method, "parameters", index, "schema")


def response_schema(operation: Operation, status: str, media_type: str) -> tuple[str, ...]:
    """The pointer to the schema of an operation's response body."""
    method, path = operation
    return ("paths", path, method, "responses", status, "content", media_type, "schema")


@cache
def _openapi(deviations: tuple[Deviation, ...]) -> OpenAPI:
    spec = copy.deepcopy(raw_spec())
    for deviation in deviations:
        *parents, last = deviation.pointer
        node: Any = spec
        for key in parents:
            node = node[key]
        node[last] = deviation.patch(node[last])
    return OpenAPI.from_dict(spec)


def _query_names(operation: Operation) -> set[str]:
    """The query parameters an operation documents, its path's included."""
    method, path = operation
    item = raw_spec()["paths"][path]
    parameters = [*item.get("parameters", []), *item[method].get("parameters", [])]
    return {p["name"] for p in parameters if p["in"] == "query"}


def template(path: str) -> str:
    """A path template with its parameters' names erased: ``/campaigns/{}/leads/``."""
    return re.sub(r"\{[^}]*\}", "{}", path)


# -- Recording what a session sends -------------------------------------------------------


@attrs.frozen
class Exchange:
    """One request as it was sent, and the server's answer to the same request."""

    method: str
    url: URL
    headers: CIMultiDict[str]
    body: bytes
    status: int
    response_status: int = 0
    response_type: str = ""
    response_body: bytes = b""

    def __str__(self) -> str:
        return f"{self.method} {self.url.path_qs}"


class Recorder:
    """An aiohttp trace: every request a session sends, as sent, and its status."""

    def __init__(self) -> None:
        self.sent: list[Exchange] = []
        self.config = aiohttp.TraceConfig()
        self.config.on_request_start.append(self._start)
        self.config.on_request_chunk_sent.append(self._chunk)
        self.config.on_request_end.append(self._end)

    async def _start(
        self, _: aiohttp.ClientSession, ctx: SimpleNamespace, __: aiohttp.TraceRequestStartParams
    ) -> None:
        ctx.body = bytearray()

    async def _chunk(
        self,
        _: aiohttp.ClientSession,
        ctx: SimpleNamespace,
        params: aiohttp.TraceRequestChunkSentParams,
    ) -> None:
        ctx.body.extend(params.chunk)

    async def _end(
        self, _: aiohttp.ClientSession, ctx: SimpleNamespace, params: aiohttp.TraceRequestEndParams
    ) -> None:
        info = params.response.request_info
        self.sent.append(
            Exchange(
                method=info.method,
                url=info.url,
                headers=CIMultiDict(info.headers),
                body=bytes(ctx.body),
                status=params.response.status,
            )
        )


async def replay(sent: Iterable[Exchange], origin: URL) -> list[Exchange]:
    """Each request sent again, in order, to a twin server at ``origin``, with its answer.

    The SDK reads (or streams) the bodies it gets, so they are not at hand; a
    twin of the server under test (the same seed, the same state) answers the
    same sequence of requests with the same bodies, writes included, so those
    are the ones checked. The exchanges keep the URL the SDK sent to.
    """
    exchanges = []
    async with aiohttp.ClientSession() as session:
        for exchange in sent:
            url = exchange.url
            twin = URL.build(
                scheme=origin.scheme,
                host=origin.raw_host or "",
                port=origin.port,
                path=url.raw_path,
                query_string=url.raw_query_string,
                encoded=True,
            )
            async with session.request(
                exchange.method, twin, headers=exchange.headers, data=exchange.body or None
            ) as response:
                exchanges.append(
                    attrs.evolve(
                        exchange,
                        response_status=response.status,
                        response_type=response.headers.get("Content-Type", ""),
                        response_body=await response.read(),
                    )
                )
    return exchanges


# -- Checking an exchange -----------------------------------------------------------------


@attrs.frozen
class Checked:
    """The operation an exchange is (``None``: none of the document's), and its faults."""

    operation: Operation | None
    errors: list[str]


def check(exchange: Exchange, base_url: URL, deviations: tuple[Deviation, ...]) -> Checked:
    """The differences between one exchange and the document, as messages.

    ``base_url`` is where the server under test serves what lemlist serves
    under the document's server URL.
    """
    openapi = _openapi(deviations)
    request, errors = _spec_request(exchange, base_url)
    try:
        found = APICallPathFinder(openapi.spec).find(
            request.method, f"{request.host_url}{request.path}"
        )
    except OpenAPIError as exc:
        return Checked(None, [*errors, f"{exchange}: no such operation: {exc!r}"])
    operation: Operation = (request.method, found.path_result.pattern)
    undocumented = set(exchange.url.query) - _query_names(operation)
    if undocumented:
        errors.append(f"{exchange}: undocumented query parameters {sorted(undocumented)}")
    errors.extend(
        f"{exchange}: request: {problem}"
        for problem in _problems(lambda: openapi.validate_request(request))
    )
    if exchange.response_status != exchange.status:
        errors.append(
            f"{exchange}: answered {exchange.status}, then {exchange.response_status} again"
        )
    if not 200 <= exchange.response_status < 300:
        errors.append(f"{exchange}: answered {exchange.response_status}, not a 2xx")
        return Checked(operation, errors)
    response = MockResponse(
        data=exchange.response_body,
        status_code=exchange.response_status,
        content_type=exchange.response_type,
    )
    errors.extend(
        f"{exchange}: response: {problem}"
        for problem in _problems(lambda: openapi.validate_response(request, response))
    )
    return Checked(operation, errors)


def check_all(
    exchanges: Iterable[Exchange], base_url: URL, deviations: tuple[Deviation, ...]
) -> dict[Operation | None, list[str]]:
    """Every exchange's faults, by operation (every operation met, faults or not)."""
    found: dict[Operation | None, list[str]] = {}
    for exchange in exchanges:
        checked = check(exchange, base_url, deviations)
        found.setdefault(checked.operation, []).extend(checked.errors)
    return found


def _spec_request(exchange: Exchange, base_url: URL) -> tuple[MockRequest, list[str]]:
    """The request as lemlist would get it: ``base_url`` becomes the document's server."""
    errors = []
    if exchange.url.origin() != base_url.origin() or not exchange.url.path.startswith(
        base_url.path + "/"
    ):
        errors.append(f"{exchange}: not under the base URL {base_url}")
    query = exchange.url.query
    errors.extend(
        f"{exchange}: query parameter {name!r} sent more than once"
        for name in dict.fromkeys(query)
        if len(query.getall(name)) > 1
    )
    request = MockRequest(
        host_url=str(SPEC_SERVER.origin()),
        method=exchange.method,
        path=SPEC_SERVER.path + exchange.url.path.removeprefix(base_url.path),
        args=dict(query),
        headers=dict(exchange.headers),
        data=exchange.body or None,
        content_type=exchange.headers.get("Content-Type", ""),
    )
    return request, errors


def _problems(validate: Callable[[], None]) -> Iterator[str]:
    """The validation error and its causes (openapi-core keeps the schema errors there)."""
    try:
        validate()
    except OpenAPIError as exc:
        details = [repr(exc)]
        cause = exc.__cause__
        while cause is not None:
            errors = getattr(cause, "schema_errors", ())
            for error in errors:
                details.append(f"  {error.json_path}: {error.message}")
                # oneOf and anyOf: why each alternative failed.
                details.extend(f"    {sub.json_path}: {sub.message}" for sub in error.context)
            if not errors:
                details.append(f"  {cause!r}")
            cause = cause.__cause__
        yield "\n".join(details)


# -- The SDK's operations, read from its source -------------------------------------------


def sdk_operations(package: Path) -> set[tuple[str, str]]:
    """Every ``Request[...](method=..., path=...)`` of the package whose method is a
    literal, as ``(method, template)`` with parameter names erased
    (`lemlist_async.testing` excluded)."""
    found = set()
    for source in package.rglob("*.py"):
        if "testing" in source.relative_to(package).parts:
            continue
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Subscript)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "Request"
            ):
                continue
            keywords = {k.arg: k.value for k in node.keywords}
            method, path = keywords.get("method"), keywords.get("path")
            if isinstance(method, ast.Constant) and path is not None:
                for literal in _literal_paths(path):
                    found.add((str(method.value).lower(), template(literal)))
    return found


def _literal_paths(node: ast.expr) -> list[str]:
    """The paths a ``path=`` expression can be: a literal, an f-string, or a choice of them."""
    if isinstance(node, ast.Constant):
        return [str(node.value)]
    if isinstance(node, ast.JoinedStr):
        return [
            "".join(
                str(part.value) if isinstance(part, ast.Constant) else "{}" for part in node.values
            )
        ]
    if isinstance(node, ast.IfExp):
        return [*_literal_paths(node.body), *_literal_paths(node.orelse)]
    raise AssertionError(f"a path the contract test cannot read: {ast.unparse(node)}")
