"""A TCP proxy on loopback that a test can cut, to take a Redis away from one client only.

Workers reach the Redis of the shared rate limit through `TcpProxy`, and their
queue through the real address: `cut` makes that Redis unreachable for the
limiter alone (every open connection is closed, every new one is closed as soon
as it is accepted) while the queue goes on; `restore` brings it back.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType

__all__ = ["TcpProxy"]

#: Bytes copied per read.
CHUNK = 65536


class TcpProxy:
    """Forwards every connection made to `port` to ``127.0.0.1:<upstream>``.

    Use it as an async context manager in the event loop that serves it.

    Attributes:
        refused: Connections closed on arrival because the proxy was cut.
    """

    def __init__(self, upstream: int) -> None:
        self._upstream = upstream
        self._server: asyncio.Server | None = None
        self._cut = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.refused = 0

    @property
    def port(self) -> int:
        """The port it listens on."""
        if self._server is None:
            raise RuntimeError("TcpProxy is not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def url(self, db: int = 0) -> str:
        """A Redis URL that reaches the upstream through the proxy."""
        return f"redis://127.0.0.1:{self.port}/{db}"

    async def __aenter__(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        server, self._server = self._server, None
        self._close_all()
        if server is not None:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if server is not None:
            await server.wait_closed()

    def cut(self) -> None:
        """Close every connection, and every new one on arrival, until `restore`."""
        self._cut = True
        self._close_all()

    def restore(self) -> None:
        """Forward new connections again."""
        self._cut = False

    def _close_all(self) -> None:
        for writer in list(self._writers):
            writer.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            self.refused += 1
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._upstream)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        pipes = [
            asyncio.create_task(self._pipe(reader, up_writer)),
            asyncio.create_task(self._pipe(up_reader, writer)),
        ]
        self._tasks.update(pipes)
        try:
            await asyncio.gather(*pipes, return_exceptions=True)
        finally:
            self._tasks.difference_update(pipes)
            self._writers -= {writer, up_writer}
            for side in (writer, up_writer):
                side.close()
                with contextlib.suppress(OSError):
                    await side.wait_closed()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(CHUNK):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            # Either side's end ends the pair: the client sees Redis go away.
            writer.close()
