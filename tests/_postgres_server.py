"""A throwaway PostgreSQL server on loopback for the tests that need a real one.

`LocalPostgres.start` finds Debian's server binaries (the newest major version
first), runs ``initdb`` in a temporary directory, starts ``postgres`` on a free
port of 127.0.0.1 with its unix socket in that directory, and returns once the
server accepts connections; `stop` takes it down by its pid and removes the
directory. `running_postgres` wraps both.

Nothing it holds outlives the run, so durability is off (``fsync``,
``synchronous_commit``, ``full_page_writes``): a crash can only lose a cluster
that is thrown away anyway.

``initdb`` and ``postgres`` refuse to run as root. As root, both run as the
``postgres`` user that Debian's package creates, and the directory is that
user's. They are started with ``setpriv``, which execs the command rather than
forking it as ``runuser`` does, so the pid of the process started here is the
postmaster's own.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Final
from urllib.parse import quote

from ._redis_server import free_port

__all__ = [
    "INSTALL_HINT",
    "LocalPostgres",
    "PostgresServerError",
    "find_bindir",
    "is_running",
    "running_postgres",
]

INSTALL_HINT: Final = (
    "install Debian's postgresql package: apt-get update && apt-get install -y postgresql"
)
#: The superuser initdb creates; with ``trust`` authentication it needs no password.
SUPERUSER: Final = "postgres"
#: Whom initdb and postgres run as when this process is root.
SERVER_USER: Final = "postgres"
#: Where Debian installs each major version's server binaries.
DEBIAN_BINDIRS: Final = "/usr/lib/postgresql/*/bin"
#: Seconds for initdb to write a new cluster (about 0.7 s, measured).
INITDB_TIMEOUT: Final = 60.0
#: Seconds for a fresh server to accept connections.
STARTUP_TIMEOUT: Final = 30.0
#: Seconds the server gets to exit after the shutdown signal before it is killed.
STOP_TIMEOUT: Final = 10.0
#: Attempts, each on a new free port: another process may take the port between
#: the probe that found it free and the server binding it.
ATTEMPTS: Final = 3
#: Server settings on top of initdb's defaults.
SETTINGS: Final = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}
#: Lines of the server's log quoted in an error.
LOG_TAIL: Final = 5


class PostgresServerError(RuntimeError):
    """PostgreSQL's binaries are missing, or initdb or the server failed."""


def _version(bindir: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/15/bin: the version is the name of bin's parent.
    try:
        return tuple(int(part) for part in bindir.parent.name.split("."))
    except ValueError:
        return ()


def find_bindir() -> Path:
    """The directory of ``initdb`` and ``postgres``: Debian's newest, else the ones on PATH.

    Raises:
        PostgresServerError: neither is installed; the message says how to install them.
    """
    debian = sorted(
        (Path(found) for found in glob.glob(DEBIAN_BINDIRS)), key=_version, reverse=True
    )
    # Debian puts only wrappers on PATH; other systems put the binaries themselves there.
    on_path = shutil.which("initdb")
    candidates = [*debian, *([Path(on_path).resolve().parent] if on_path else [])]
    for bindir in candidates:
        if all(os.access(bindir / name, os.X_OK) for name in ("initdb", "postgres")):
            return bindir
    raise PostgresServerError(f"PostgreSQL's initdb and postgres were not found: {INSTALL_HINT}")


def _server_user() -> pwd.struct_passwd | None:
    """The user to run the server as: None to run it as this process's own."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise PostgresServerError(
            f"running as root, PostgreSQL needs an unprivileged user {SERVER_USER!r}, "
            f"which Debian's package creates: {INSTALL_HINT}"
        ) from None


def _as_user(user: pwd.struct_passwd | None, args: list[str]) -> list[str]:
    if user is None:
        return args
    setpriv = shutil.which("setpriv") or shutil.which("setpriv", path="/usr/bin:/bin")
    if setpriv is None:
        raise PostgresServerError("running as root needs setpriv (Debian's util-linux) to drop it")
    return [
        setpriv,
        f"--reuid={user.pw_uid}",
        f"--regid={user.pw_gid}",
        # Root's supplementary groups would otherwise stay with the server.
        "--clear-groups",
        "--",
        *args,
    ]


def _tail(text: str) -> str:
    return " | ".join(text.strip().splitlines()[-LOG_TAIL:]) or "(no output)"


def is_running(pid: int) -> bool:
    """Whether process ``pid`` exists and has not exited (a zombie has)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state follows the command's name, which is in parentheses and may hold any.
    return stat.rpartition(")")[2].split()[0] != "Z"


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # Exited since the listing.
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _identifier(name: str) -> str:
    """``name`` quoted as an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


class LocalPostgres:
    """One PostgreSQL server (a postmaster and its cluster); build it with `start`."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        port: int,
        workdir: Path,
        log: IO[bytes],
    ) -> None:
        self.process = process
        self.port = port
        self.workdir = workdir
        self._log = log

    @property
    def pid(self) -> int:
        """The postmaster's pid."""
        return self.process.pid

    @property
    def dsn(self) -> str:
        """The DSN of the ``postgres`` database, as the superuser, for ``asyncpg.connect``."""
        return self.dsn_for("postgres")

    def dsn_for(self, database: str) -> str:
        """The DSN of another database of this server, as the superuser."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{quote(database, safe='')}"

    def processes(self) -> list[int]:
        """The pids of the postmaster and of every process it runs right now."""
        return [self.pid, *_children(self.pid)]

    @property
    def _datadir(self) -> Path:
        return self.workdir / "data"

    @staticmethod
    def _logfile(workdir: Path, port: int) -> Path:
        # One per attempt, so that an error quotes its own attempt's lines.
        return workdir / f"postgres-{port}.log"

    @classmethod
    def start(cls) -> LocalPostgres:
        """Create a cluster, start its server on a free port, and wait until it is ready.

        Raises:
            PostgresServerError: PostgreSQL is not installed, or initdb or the server
                failed; the message quotes its output and says how to install it.
        """
        bindir = find_bindir()
        user = _server_user()
        workdir = Path(tempfile.mkdtemp(prefix="lemlist-pg-"))
        try:
            if user is not None:
                os.chown(workdir, user.pw_uid, user.pw_gid)
            cls._initdb(bindir, workdir, user)
            failure = ""
            for _ in range(ATTEMPTS):
                server = cls._launch(bindir, workdir, user, free_port())
                try:
                    server._wait_ready()
                except BaseException as exc:
                    server._halt()
                    if not isinstance(exc, PostgresServerError):
                        raise
                    failure = str(exc)
                    continue
                return server
            raise PostgresServerError(
                f"postgres did not start in {ATTEMPTS} attempts, each on a new port "
                f"(the last: {failure}); {INSTALL_HINT}"
            )
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise

    @staticmethod
    def _initdb(bindir: Path, workdir: Path, user: pwd.struct_passwd | None) -> None:
        args = [
            str(bindir / "initdb"),
            "--pgdata", str(workdir / "data"),
            "--username", SUPERUSER,
            "--auth", "trust",
            "--encoding", "UTF8",
            # The C locale: the same sorting and messages whatever the machine's locale.
            "--no-locale",
            # Nothing to flush to disk for a cluster that is thrown away.
            "--no-sync",
        ]  # fmt: skip
        try:
            # cwd: the server user may not be allowed into this process's directory.
            done = subprocess.run(
                _as_user(user, args),
                capture_output=True,
                cwd=workdir,
                timeout=INITDB_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise PostgresServerError(
                f"initdb did not finish within {INITDB_TIMEOUT} s; {INSTALL_HINT}"
            ) from exc
        if done.returncode != 0:
            output = (done.stdout + done.stderr).decode(errors="replace")
            raise PostgresServerError(
                f"initdb failed with code {done.returncode}: {_tail(output)}; {INSTALL_HINT}"
            )

    @classmethod
    def _launch(
        cls, bindir: Path, workdir: Path, user: pwd.struct_passwd | None, port: int
    ) -> LocalPostgres:
        args = [
            str(bindir / "postgres"),
            "-D", str(workdir / "data"),
            "-p", str(port),
            # The socket beside the cluster: Debian's /var/run/postgresql may not
            # exist, and would be shared with any other server on the port.
            "-k", str(workdir),
            *(arg for name, value in SETTINGS.items() for arg in ("-c", f"{name}={value}")),
        ]  # fmt: skip
        log = cls._logfile(workdir, port).open("wb")
        try:
            # A session of its own: a Ctrl-C of the test run reaches only the tests,
            # whose teardown (dropping their databases) still finds the server up,
            # and which then stop it themselves.
            process = subprocess.Popen(
                _as_user(user, args),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=workdir,
                start_new_session=True,
            )
        except BaseException:
            log.close()
            raise
        return cls(process, port, workdir, log)

    def _wait_ready(self) -> None:
        # What pg_ctl -w waits for: the postmaster marks its pid file "ready"
        # once recovery is over and connections are accepted. Polled more often
        # than pg_ctl's 0.1 s, since a start is about that long.
        pidfile = self._datadir / "postmaster.pid"
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise PostgresServerError(
                    f"postgres exited with code {self.process.returncode}: {self._log_tail()}"
                )
            with contextlib.suppress(OSError):
                lines = pidfile.read_text().splitlines()
                # Line 1 is the pid (a killed attempt's file may still be there);
                # line 8 the status, once the postmaster has one.
                if len(lines) >= 8 and lines[0] == str(self.pid) and lines[7].strip() == "ready":
                    return
            time.sleep(0.01)
        raise PostgresServerError(
            f"postgres was not ready within {STARTUP_TIMEOUT} s: {self._log_tail()}"
        )

    def _halt(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the postmaster, by its pid, and wait for it; keep the cluster's files."""
        try:
            if self.process.poll() is None:
                # SIGINT is the fast shutdown: it ends open sessions. SIGTERM, the
                # smart one, would wait for every client, e.g. a pool a test leaked.
                self.process.send_signal(signal.SIGINT)
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self._kill()
        finally:
            self._log.close()

    def _kill(self) -> None:
        # Each child of the postmaster leads a process group of its own, so
        # killing the postmaster's group would spare them; and once it is dead
        # they are no longer its children, so they are listed first.
        children = _children(self.pid)
        self.process.kill()
        self.process.wait()
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        # Init reaps them; the port and the files are theirs until then.
        deadline = time.monotonic() + STOP_TIMEOUT
        while any(is_running(child) for child in children) and time.monotonic() < deadline:
            time.sleep(0.01)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the server and remove its files.

        The postmaster gets a fast shutdown, and ``timeout`` seconds to finish it;
        past that it and its processes are killed (SIGKILL).
        """
        try:
            self._halt(timeout)
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _log_tail(self) -> str:
        try:
            text = self._logfile(self.workdir, self.port).read_text(errors="replace")
        except OSError:
            return "(no log)"
        return _tail(text)

    async def create_database(self, name: str) -> str:
        """Create an empty database called ``name``; returns its DSN."""
        import asyncpg  # Only the tests of a Postgres store need asyncpg.

        conn = await asyncpg.connect(self.dsn)
        try:
            await conn.execute(f"CREATE DATABASE {_identifier(name)}")
        finally:
            await conn.close()
        return self.dsn_for(name)

    async def drop_database(self, name: str) -> None:
        """Drop the database ``name`` if it exists, ending any session still connected to it."""
        import asyncpg

        conn = await asyncpg.connect(self.dsn)
        try:
            await conn.execute(f"DROP DATABASE IF EXISTS {_identifier(name)} WITH (FORCE)")
        finally:
            await conn.close()


@contextlib.contextmanager
def running_postgres() -> Iterator[LocalPostgres]:
    """A `LocalPostgres` for the duration of a ``with`` block, stopped on the way out."""
    server = LocalPostgres.start()
    try:
        yield server
    finally:
        server.stop()
