"""Write the small intersphinx inventories that docs/conf.py reads, with no network.

The documentation is built offline (nothing may be fetched at build time, and CI
cannot), so instead of downloading the full ``objects.inv`` of Python and aiohttp,
``docs/_inventories/`` ships these two small ones, in Sphinx's inventory format v2
(a four-line header, then zlib-compressed ``name domain:role priority uri dispname``
lines). They list the names the API reference links to, and a few that docstrings
are likely to name next; the URIs were copied from the real inventories (Python
3.11's and aiohttp 3.8's) and are relative to the base URLs in conf.py's
``intersphinx_mapping``.

A name the docs start to reference that is missing here fails ``nox -s docs``
(``-n``): add it to the table below and run::

    python docs/_inventories/make_inventories.py

``--check`` (run by ``nox -s docs``) fails if a committed file differs from what
this script writes.
"""

from __future__ import annotations

import sys
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name -> (domain:role, URI relative to https://docs.python.org/3/)
PYTHON: dict[str, tuple[str, str]] = {
    "None": ("py:data", "library/constants.html#None"),
    "bool": ("py:class", "library/functions.html#bool"),
    "bytes": ("py:class", "library/stdtypes.html#bytes"),
    "dict": ("py:class", "library/stdtypes.html#dict"),
    "float": ("py:class", "library/functions.html#float"),
    "frozenset": ("py:class", "library/stdtypes.html#frozenset"),
    "int": ("py:class", "library/functions.html#int"),
    "list": ("py:class", "library/stdtypes.html#list"),
    "object": ("py:class", "library/functions.html#object"),
    "set": ("py:class", "library/stdtypes.html#set"),
    "str": ("py:class", "library/stdtypes.html#str"),
    "tuple": ("py:class", "library/stdtypes.html#tuple"),
    "type": ("py:class", "library/functions.html#type"),
    "BaseException": ("py:exception", "library/exceptions.html#BaseException"),
    "BaseExceptionGroup": ("py:exception", "library/exceptions.html#BaseExceptionGroup"),
    "ConnectionError": ("py:exception", "library/exceptions.html#ConnectionError"),
    "Exception": ("py:exception", "library/exceptions.html#Exception"),
    "ExceptionGroup": ("py:exception", "library/exceptions.html#ExceptionGroup"),
    "KeyError": ("py:exception", "library/exceptions.html#KeyError"),
    "NotImplementedError": ("py:exception", "library/exceptions.html#NotImplementedError"),
    "OSError": ("py:exception", "library/exceptions.html#OSError"),
    "RuntimeError": ("py:exception", "library/exceptions.html#RuntimeError"),
    "StopAsyncIteration": ("py:exception", "library/exceptions.html#StopAsyncIteration"),
    "TimeoutError": ("py:exception", "library/exceptions.html#TimeoutError"),
    "TypeError": ("py:exception", "library/exceptions.html#TypeError"),
    "ValueError": ("py:exception", "library/exceptions.html#ValueError"),
    "asyncio.AbstractEventLoop": (
        "py:class",
        "library/asyncio-eventloop.html#asyncio.AbstractEventLoop",
    ),
    "asyncio.CancelledError": (
        "py:exception",
        "library/asyncio-exceptions.html#asyncio.CancelledError",
    ),
    "asyncio.Event": ("py:class", "library/asyncio-sync.html#asyncio.Event"),
    "asyncio.Semaphore": ("py:class", "library/asyncio-sync.html#asyncio.Semaphore"),
    "asyncio.Task": ("py:class", "library/asyncio-task.html#asyncio.Task"),
    "asyncio.TaskGroup": ("py:class", "library/asyncio-task.html#asyncio.TaskGroup"),
    "asyncio.create_task": ("py:function", "library/asyncio-task.html#asyncio.create_task"),
    "asyncio.gather": ("py:function", "library/asyncio-task.html#asyncio.gather"),
    "asyncio.run": ("py:function", "library/asyncio-runner.html#asyncio.run"),
    "asyncio.sleep": ("py:function", "library/asyncio-task.html#asyncio.sleep"),
    "asyncio.timeout": ("py:function", "library/asyncio-task.html#asyncio.timeout"),
    "asyncio.wait_for": ("py:function", "library/asyncio-task.html#asyncio.wait_for"),
    **{
        f"collections.abc.{name}": (
            "py:class",
            f"library/collections.abc.html#collections.abc.{name}",
        )
        for name in (
            "AsyncGenerator",
            "AsyncIterable",
            "AsyncIterator",
            "Awaitable",
            "Callable",
            "Coroutine",
            "Iterable",
            "Iterator",
            "Mapping",
            "MutableMapping",
            "Sequence",
        )
    },
    "contextlib.AbstractAsyncContextManager": (
        "py:class",
        "library/contextlib.html#contextlib.AbstractAsyncContextManager",
    ),
    "contextlib.AbstractContextManager": (
        "py:class",
        "library/contextlib.html#contextlib.AbstractContextManager",
    ),
    "contextlib.asynccontextmanager": (
        "py:function",
        "library/contextlib.html#contextlib.asynccontextmanager",
    ),
    "datetime.datetime": ("py:class", "library/datetime.html#datetime.datetime"),
    "datetime.timedelta": ("py:class", "library/datetime.html#datetime.timedelta"),
    "datetime.timezone": ("py:class", "library/datetime.html#datetime.timezone"),
    "enum.Enum": ("py:class", "library/enum.html#enum.Enum"),
    "enum.StrEnum": ("py:class", "library/enum.html#enum.StrEnum"),
    "logging.Logger": ("py:class", "library/logging.html#logging.Logger"),
    "os.PathLike": ("py:class", "library/os.html#os.PathLike"),
    "types.MappingProxyType": ("py:class", "library/types.html#types.MappingProxyType"),
    "types.TracebackType": ("py:class", "library/types.html#types.TracebackType"),
    "typing.Any": ("py:data", "library/typing.html#typing.Any"),
    "typing.ClassVar": ("py:data", "library/typing.html#typing.ClassVar"),
    "typing.Final": ("py:data", "library/typing.html#typing.Final"),
    "typing.Literal": ("py:data", "library/typing.html#typing.Literal"),
    "typing.Protocol": ("py:class", "library/typing.html#typing.Protocol"),
    "typing.Self": ("py:data", "library/typing.html#typing.Self"),
    "typing.TypeAlias": ("py:data", "library/typing.html#typing.TypeAlias"),
}

# aiohttp documents its names where users import them (``aiohttp.ClientSession``),
# while autodoc names a type in a signature after the module that defines it
# (``aiohttp.client.ClientSession``): both spellings lead to the same page.
_AIOHTTP_CLIENT = {
    # name: (domain:role, defining module)
    "ClientSession": ("py:class", "aiohttp.client"),
    "ClientTimeout": ("py:class", "aiohttp.client"),
    "ClientResponse": ("py:class", "aiohttp.client_reqrep"),
    "TCPConnector": ("py:class", "aiohttp.connector"),
    "ClientError": ("py:exception", "aiohttp.client_exceptions"),
    "ClientConnectionError": ("py:exception", "aiohttp.client_exceptions"),
    "ClientResponseError": ("py:exception", "aiohttp.client_exceptions"),
    "ServerTimeoutError": ("py:exception", "aiohttp.client_exceptions"),
}
# name -> (domain:role, URI relative to https://docs.aiohttp.org/en/stable/)
AIOHTTP: dict[str, tuple[str, str]] = {
    "aiohttp.web.Application": ("py:class", "web_reference.html#aiohttp.web.Application"),
}
for _name, (_role, _module) in _AIOHTTP_CLIENT.items():
    _uri = f"client_reference.html#aiohttp.{_name}"
    AIOHTTP[f"aiohttp.{_name}"] = (_role, _uri)
    AIOHTTP[f"{_module}.{_name}"] = (_role, _uri)

INVENTORIES = {
    "python.inv": ("Python", "3", PYTHON),
    "aiohttp.inv": ("aiohttp", "stable", AIOHTTP),
}


def render(project: str, version: str, entries: dict[str, tuple[str, str]]) -> bytes:
    """One inventory, in Sphinx's format v2; the same table always gives the same bytes."""
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        f"# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    # Priority 1 is Sphinx's for Python objects; "-" means "display the name".
    body = "".join(f"{name} {role} 1 {uri} -\n" for name, (role, uri) in sorted(entries.items()))
    return header.encode() + zlib.compress(body.encode(), 9)


def main(argv: list[str]) -> int:
    check = argv == ["--check"]
    if argv and not check:
        print(f"usage: {Path(__file__).name} [--check]", file=sys.stderr)
        return 2
    stale = []
    for filename, (project, version, entries) in INVENTORIES.items():
        path = HERE / filename
        data = render(project, version, entries)
        if check:
            if not path.exists() or path.read_bytes() != data:
                stale.append(filename)
        else:
            path.write_bytes(data)
            print(f"wrote {path} ({len(entries)} names)")
    if stale:
        print(
            f"docs/_inventories: {', '.join(stale)} out of date; "
            "run python docs/_inventories/make_inventories.py",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
