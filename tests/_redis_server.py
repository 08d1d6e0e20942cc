"""A throwaway ``redis-server``, or Redis Cluster, on loopback for the Redis tests and benchmark.

`RedisServer.start` runs Debian's ``redis-server`` on a free port with nothing
written to disk (``--save ''``, ``--appendonly no``, its working directory a
temporary one), waits until it answers ``PING``, and `stop` takes it down and
removes the directory. `running_redis_server` wraps both.

`LocalRedisCluster.start` runs three such servers in cluster mode and joins them
with ``redis-cli --cluster create`` (no replicas: each node is the primary of a
third of the 16384 slots), then waits until every node reports
``cluster_state:ok``; `stop` stops every node by its pid. `running_redis_cluster`
wraps both.
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

__all__ = [
    "CLUSTER_INSTALL_HINT",
    "INSTALL_HINT",
    "LocalRedisCluster",
    "RedisServer",
    "RedisServerError",
    "free_cluster_port",
    "free_port",
    "running_redis_cluster",
    "running_redis_server",
]

INSTALL_HINT: Final = (
    "install Debian's redis-server package: apt-get update && apt-get install -y redis-server"
)
#: A cluster also needs redis-cli, which Debian ships in redis-tools.
CLUSTER_INSTALL_HINT: Final = (
    "install Debian's redis-server and redis-tools packages: "
    "apt-get update && apt-get install -y redis-server redis-tools"
)
#: Seconds for a fresh server to answer PING.
STARTUP_TIMEOUT: Final = 10.0
#: Seconds a server gets to exit after SIGTERM before it is killed.
STOP_TIMEOUT: Final = 5.0
#: Seconds for ``redis-cli --cluster create`` to assign the slots and for every
#: node to report ``cluster_state:ok``, each.
CLUSTER_TIMEOUT: Final = 20.0
#: Nodes of the local cluster: the fewest ``redis-cli --cluster create`` accepts.
CLUSTER_NODES: Final = 3
#: A node's options on top of `RedisServer`'s. ``nodes.conf`` is written in the
#: node's ``--dir``, a temporary one. A node gossips with a peer it has not heard
#: from for half the node timeout: at the default 15 s, ``redis-cli --cluster
#: create`` waited 1 to 8 s for the nodes to agree; at 1 s it is a steady 1 s
#: (measured). The cost, a node that stalls for a second being reported as
#: failing, cannot arise on loopback unless a test freezes a node, which none does.
CLUSTER_OPTIONS: Final = (
    "--cluster-enabled", "yes",
    "--cluster-config-file", "nodes.conf",
    "--cluster-node-timeout", "1000",
)  # fmt: skip
#: A cluster node also listens on its port + 10000, for the cluster bus.
BUS_OFFSET: Final = 10000
#: Attempts, each on a new free port: another process may take the port between
#: the probe that found it free and the server binding it.
ATTEMPTS: Final = 3


class RedisServerError(RuntimeError):
    """``redis-server`` (or, for a cluster, ``redis-cli``) is missing or did not start."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_cluster_port(taken: frozenset[int] = frozenset()) -> int:
    """A port for a cluster node: it and its bus port (+10000) free, neither in ``taken``.

    The kernel picks ports for outgoing connections from the same range, so the
    pair is only free at the time of asking; `LocalRedisCluster.start` retries.
    """
    for _ in range(100):
        port = free_port()
        bus = port + BUS_OFFSET
        if bus <= 65535 and not {port, bus} & taken and _is_free(bus):
            return port
    raise RedisServerError("found no free pair of ports (port, port + 10000) on 127.0.0.1")


def _executable(name: str, hint: str) -> str:
    # Debian puts redis-server in /usr/bin; a PATH without it should not hide it.
    found = shutil.which(name) or shutil.which(name, path="/usr/bin:/usr/sbin:/usr/local/bin")
    if found is None:
        raise RedisServerError(f"{name} was not found: {hint}")
    return found


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
        executable = _executable("redis-server", INSTALL_HINT)
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
    def _launch(cls, executable: str, port: int, *extra: str) -> RedisServer:
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
            *extra,
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


def _command(port: int, *words: str) -> bytes:
    """One command's raw reply from the server on ``port`` (b"" when it does not answer).

    Enough of RESP for the replies read here: a simple string, an error, or one
    bulk string, which is read until its announced length has arrived.
    """
    request = f"*{len(words)}\r\n".encode() + b"".join(
        f"${len(word.encode())}\r\n{word}\r\n".encode() for word in words
    )
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as conn:
            conn.sendall(request)
            reply = b""
            while b"\r\n" not in reply:
                chunk = conn.recv(65536)
                if not chunk:
                    return reply
                reply += chunk
            if not reply.startswith(b"$"):
                return reply
            header, _, body = reply.partition(b"\r\n")
            size = int(header[1:])
            while len(body) < size + 2:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                body += chunk
            return body[:size]
    except (OSError, ValueError):
        return b""


class LocalRedisCluster:
    """A Redis Cluster of three primaries on loopback; build it with `start`.

    Each node is a `RedisServer` in cluster mode, with nothing persisted (its
    ``nodes.conf`` lives in the node's temporary directory) and the cluster bus
    on its port + 10000, on 127.0.0.1 as well.
    """

    def __init__(self, nodes: list[RedisServer]) -> None:
        self.nodes = nodes

    @property
    def ports(self) -> list[int]:
        return [node.port for node in self.nodes]

    @property
    def url(self) -> str:
        """A node's URL for ``redis.asyncio.cluster.RedisCluster.from_url``.

        Any node will do: the client asks it for the cluster's layout.
        """
        return self.nodes[0].url

    @classmethod
    def start(cls) -> LocalRedisCluster:
        """Start three nodes, join them into one cluster, and wait until it is ``ok``.

        Raises:
            RedisServerError: ``redis-server`` or ``redis-cli`` is not installed,
                or the cluster did not form; the message says how to install them.
        """
        server = _executable("redis-server", CLUSTER_INSTALL_HINT)
        cli = _executable("redis-cli", CLUSTER_INSTALL_HINT)
        failures: list[str] = []
        for _ in range(ATTEMPTS):
            nodes: list[RedisServer] = []
            try:
                taken: set[int] = set()
                for _ in range(CLUSTER_NODES):
                    port = free_cluster_port(frozenset(taken))
                    taken |= {port, port + BUS_OFFSET}
                    nodes.append(RedisServer._launch(server, port, *CLUSTER_OPTIONS))
                cluster = cls(nodes)
                for node in nodes:
                    node._wait_ready()
                cluster._create(cli)
                cluster._wait_ok()
            except RedisServerError as exc:
                failures.append(str(exc))
                cls(nodes).stop()
                continue
            except BaseException:
                cls(nodes).stop()
                raise
            return cluster
        raise RedisServerError(
            f"the Redis Cluster did not start ({'; '.join(failures)}); {CLUSTER_INSTALL_HINT}"
        )

    def _create(self, cli: str) -> None:
        args = [
            cli, "--cluster", "create",
            *(f"127.0.0.1:{port}" for port in self.ports),
            "--cluster-replicas", "0",
            "--cluster-yes",
        ]  # fmt: skip
        try:
            done = subprocess.run(args, capture_output=True, timeout=CLUSTER_TIMEOUT, check=False)
        except subprocess.TimeoutExpired as exc:
            raise RedisServerError(
                f"redis-cli --cluster create did not finish within {CLUSTER_TIMEOUT} s"
            ) from exc
        if done.returncode != 0:
            output = (done.stdout + done.stderr).decode(errors="replace").strip().splitlines()
            raise RedisServerError(
                f"redis-cli --cluster create failed with code {done.returncode}: "
                + " | ".join(output[-3:])
            )

    def _wait_ok(self) -> None:
        # redis-cli returns once the nodes agree on the configuration; each node
        # declares the cluster ok only once it sees every slot served, which is
        # what a client needs before its first command.
        deadline = time.monotonic() + CLUSTER_TIMEOUT
        waiting = list(self.nodes)
        while waiting:
            waiting = [node for node in waiting if not self._is_ok(node)]
            if not waiting:
                return
            if time.monotonic() >= deadline:
                states = {node.port: self.info(node).get("cluster_state") for node in waiting}
                raise RedisServerError(
                    f"cluster_state not ok within {CLUSTER_TIMEOUT} s on nodes {states}"
                )
            for node in waiting:
                if node.process.poll() is not None:
                    raise RedisServerError(
                        f"cluster node on port {node.port} exited with code "
                        f"{node.process.returncode}: {node._log_tail()}"
                    )
            time.sleep(0.02)

    def _is_ok(self, node: RedisServer) -> bool:
        info = self.info(node)
        return (
            info.get("cluster_state") == "ok"
            and info.get("cluster_known_nodes") == str(len(self.nodes))
            and info.get("cluster_slots_ok") == "16384"
        )

    @staticmethod
    def info(node: RedisServer) -> dict[str, str]:
        """The node's ``CLUSTER INFO``, as fields (empty when it does not answer)."""
        text = _command(node.port, "CLUSTER", "INFO").decode(errors="replace")
        fields = (line.partition(":") for line in text.splitlines())
        return {name: value.strip() for name, sep, value in fields if sep}

    def stop(self) -> None:
        """Stop every node (each by its pid) and remove their files, even if one fails."""
        errors: list[BaseException] = []
        for node in self.nodes:
            try:
                node.stop()
            except BaseException as exc:  # noqa: BLE001 (the others are still stopped)
                errors.append(exc)
        if errors:
            raise errors[0]


@contextlib.contextmanager
def running_redis_cluster() -> Iterator[LocalRedisCluster]:
    """A `LocalRedisCluster` for the duration of a ``with`` block, stopped on the way out."""
    cluster = LocalRedisCluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
