"""A throwaway ``redis-server`` on loopback, for the Redis tests and the workers benchmark.

`RedisServer.start` runs Debian's ``redis-server`` on a free port with nothing
written to disk (``--save ''``, ``--appendonly no``, its working directory a
temporary one), waits until it answers ``PING``, and `stop` takes it down and
removes the directory. `running_redis_server` wraps both.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Final

__all__ = ["INSTALL_HINT", "RedisServer", "RedisServerError", "free_port", "running_redis_server"]

INSTALL_HINT: Final = (
    "install Debian's redis-server package: apt-get update && apt-get install -y redis-server"
)
#: Seconds for a fresh server to answer PING.
STARTUP_TIMEOUT: Final = 10.0
#: Seconds a server gets to exit after SIGTERM before it is killed.
STOP_TIMEOUT: Final = 5.0
#: Attempts, each on a new free port: another process may take the port between
#: the probe that found it free and the server binding it.
ATTEMPTS: Final = 3


class RedisServerError(RuntimeError):
    """``redis-server`` is missing or did not start."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """One ``redis-server`` process; build it with `start`."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        port: int,
        workdir: tempfile.TemporaryDirectory[str],
        log: IO[bytes],
    ) -> None:
        self.process = process
        self.port = port
        self._workdir = workdir
        self._log = log

    @property
    def url(self) -> str:
        """The server's URL for ``redis.asyncio.Redis.from_url``."""
        return f"redis://127.0.0.1:{self.port}/0"

    @classmethod
    def start(cls) -> RedisServer:
        """Start a server on a free port and wait until it answers PING.

        Raises:
            RedisServerError: ``redis-server`` is not installed or did not start;
                the message says how to install it.
        """
        executable = shutil.which("redis-server") or shutil.which(
            "redis-server", path="/usr/bin:/usr/sbin:/usr/local/bin"
        )
        if executable is None:
            raise RedisServerError(f"redis-server was not found: {INSTALL_HINT}")
        failures: list[str] = []
        for _ in range(ATTEMPTS):
            server = cls._launch(executable, free_port())
            try:
                server._wait_ready()
            except RedisServerError as exc:
                failures.append(str(exc))
                server.stop()
                continue
            return server
        raise RedisServerError(
            f"redis-server did not start ({'; '.join(failures)}); {INSTALL_HINT}"
        )

    @classmethod
    def _launch(cls, executable: str, port: int) -> RedisServer:
        workdir = tempfile.TemporaryDirectory(prefix="lemlist-redis-")
        log = Path(workdir.name, "redis.log").open("wb")  # noqa: SIM115 (closed by stop)
        # Loopback only, nothing saved, nothing to keep: a server for one run.
        args = [
            executable,
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", workdir.name,
            "--daemonize", "no",
        ]  # fmt: skip
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        return cls(process, port, workdir, log)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RedisServerError(
                    f"redis-server exited with code {self.process.returncode}: {self._log_tail()}"
                )
            if self.ping():
                return
            time.sleep(0.02)
        raise RedisServerError(
            f"redis-server did not answer PING within {STARTUP_TIMEOUT} s: {self._log_tail()}"
        )

    def ping(self) -> bool:
        """Whether the server answers PING right now."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL if it lingers) and remove its files."""
        try:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        finally:
            self._log.close()
            self._workdir.cleanup()

    def _log_tail(self) -> str:
        self._log.flush()
        text = Path(self._workdir.name, "redis.log").read_text(errors="replace")
        return " | ".join(text.strip().splitlines()[-3:]) or "(no output)"


@contextlib.contextmanager
def running_redis_server() -> Iterator[RedisServer]:
    """A `RedisServer` for the duration of a ``with`` block, stopped on the way out."""
    server = RedisServer.start()
    try:
        yield server
    finally:
        server.stop()
