"""The task-queue recipes of ``docs/recipes``, run by their frameworks' own worker commands.

One `Queue` per framework: it starts two worker processes (arq: two ``arq``
commands; taskiq: ``taskiq worker --workers 2``, and ``taskiq scheduler`` for
the deferred retries; Celery: ``celery worker`` with a prefork pool of two),
sends jobs the way an application would, through the recipe module imported
in the test process, and waits for their outcome. Every worker writes its log
to a `WorkerLog`.

The recipes read their settings from the environment when imported, so
`import_recipe` imports one under the test's settings; the workers get the
same settings in theirs.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import importlib
import os
import pickle
import re
import signal
import sys
import time
import warnings
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar, Final

from arq import ArqRedis, create_pool
from arq.connections import RedisSettings
from arq.jobs import Job, JobStatus
from redis.asyncio import Redis

__all__ = [
    "QUEUES",
    "RECIPES",
    "ArqQueue",
    "CeleryQueue",
    "Queue",
    "TaskiqQueue",
    "WorkerLog",
    "eventually",
    "import_recipe",
]

ROOT: Final = Path(__file__).resolve().parent.parent
RECIPES: Final = ROOT / "docs" / "recipes"
#: Seconds a worker fleet gets to start (imports, pool, the hook) and to stop.
START_TIMEOUT: Final = 30.0
STOP_TIMEOUT: Final = 30.0
#: Seconds a job gets to finish, deferred retries included.
JOB_TIMEOUT: Final = 30.0
#: Seconds between two looks at a condition `eventually` waits for.
POLL: Final = 0.02

LIFECYCLE: Final = re.compile(r"lemlist client (opened|closed) in process (\d+)")


async def eventually(
    check: Callable[[], Awaitable[bool]], what: str, seconds: float = JOB_TIMEOUT
) -> None:
    """Wait until ``check()`` is true, looking every `POLL` seconds, for ``seconds`` at most.

    Raises:
        AssertionError: ``check()`` was still false after ``seconds``; names ``what``.
    """
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        await asyncio.sleep(POLL)


@contextlib.contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    sys.path.insert(0, str(RECIPES))
    try:
        yield
    finally:
        sys.path.remove(str(RECIPES))
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def import_recipe(name: str, env: Mapping[str, str]) -> ModuleType:
    """Import ``docs/recipes/<name>.py`` afresh, its settings read from ``env``."""
    sys.modules.pop(name, None)
    with _environment(env):
        return importlib.import_module(name)


class WorkerLog:
    """The lines a fleet of worker processes writes, as they come."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._changed = asyncio.Condition()

    async def read(self, stream: asyncio.StreamReader) -> None:
        """Append each line of ``stream`` until it ends."""
        async for raw in stream:
            async with self._changed:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self._changed.notify_all()

    async def wait_for(
        self, predicate: Callable[[list[str]], bool], what: str, seconds: float = JOB_TIMEOUT
    ) -> None:
        """Wait until ``predicate(lines)`` holds.

        Raises:
            AssertionError: It did not within ``seconds``; the message has the log's tail.
        """
        async with self._changed:
            try:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: predicate(self.lines)), seconds
                )
            except TimeoutError:
                tail = "\n".join(self.lines[-40:])
                raise AssertionError(f"not within {seconds} s: {what}\n{tail}") from None

    def lifecycle(self, event: str) -> list[int]:
        """The pids of the "lemlist client <event> in process <pid>" lines, in order."""
        return [
            int(match[2])
            for line in self.lines
            if (match := LIFECYCLE.search(line)) and match[1] == event
        ]

    def text(self) -> str:
        return "\n".join(self.lines)


class Queue(abc.ABC):
    """One framework's recipe, run by two worker processes against one Redis and the fake.

    Args:
        redis_url: The queue's Redis (its jobs, results and schedules).
        limiter_redis_url: The Redis of the shared rate limit, as the workers reach it.
        base_url: The fake lemlist's API root.
        api_key: The fake's key.
    """

    name: ClassVar[str]
    recipe: ClassVar[str]
    #: Worker processes that each open one lemlist client.
    processes: ClassVar[int] = 2

    def __init__(
        self, redis_url: str, limiter_redis_url: str, base_url: str, api_key: str
    ) -> None:
        self.redis_url = redis_url
        self.env = {
            "LEMLIST_API_KEY": api_key,
            "LEMLIST_BASE_URL": base_url,
            "REDIS_URL": redis_url,
            "LEMLIST_REDIS_URL": limiter_redis_url,
            # A Retry-After above half a second reaches the job as RateLimitError.
            "LEMLIST_MAX_RATE_LIMIT_WAIT": "0.5",
            "LEMLIST_RETRY_DELAY": "1",
            "LEMLIST_MAX_TRIES": "5",
        }
        self.module = import_recipe(self.recipe, self.env)
        self.log = WorkerLog()
        self._processes: list[asyncio.subprocess.Process] = []
        self._readers: list[asyncio.Task[None]] = []
        self._workers: set[int] = set()
        #: Each worker command's exit code, once `stop` has waited for them.
        self.exit_codes: list[int | None] = []

    def worker_env(self) -> dict[str, str]:
        path = os.pathsep.join(filter(None, [str(RECIPES), os.environ.get("PYTHONPATH")]))
        return {**os.environ, **self.env, "PYTHONPATH": path}

    async def spawn(self, *args: str, worker: bool = True) -> None:
        """Start ``python -m <args>`` in the recipes' folder, its output into `log`.

        ``worker=False`` for a helper process (taskiq's scheduler), whose exit
        code `exit_codes` leaves out.
        """
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", *args,
            cwd=RECIPES, env=self.worker_env(),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            # A group of its own: its children can be killed with it if it hangs.
            start_new_session=True,
        )  # fmt: skip
        assert process.stdout is not None
        self._processes.append(process)
        if worker:
            self._workers.add(process.pid)
        self._readers.append(asyncio.create_task(self.log.read(process.stdout)))

    def is_ready(self, lines: list[str]) -> bool:
        """Whether the log shows every worker process taking jobs, its client open."""
        return len(self.log.lifecycle("opened")) >= self.processes

    async def start(self) -> None:
        """Start the workers; return once each has opened its client and takes jobs."""
        await self.start_workers()
        await self.log.wait_for(
            self.is_ready, f"{self.processes} {self.name} worker processes ready", START_TIMEOUT
        )

    async def stop(self) -> None:
        """Stop every process as an operator would (SIGTERM), and wait until they exit.

        Raises:
            AssertionError: A process, or a child of one, was still running after
                `STOP_TIMEOUT`; its whole process group was killed.
        """
        processes, self._processes = self._processes, []
        readers, self._readers = self._readers, []
        if not processes:
            return  # Stopped already.
        for process in processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        # A child that outlives its parent keeps the output pipe open: the
        # readers end once every process of the group has exited.
        waits = [asyncio.ensure_future(p.wait()) for p in processes]
        _, pending = await asyncio.wait([*waits, *readers], timeout=STOP_TIMEOUT)
        hung = []
        if pending:
            for process in processes:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                    hung.append(process.pid)
            await asyncio.gather(*waits, *readers)
        self.exit_codes = [p.returncode for p in processes if p.pid in self._workers]
        await self.close_client()
        assert not hung, (
            f"{self.name}: still running {STOP_TIMEOUT} s after SIGTERM: {hung}\n"
            + "\n".join(self.log.lines[-30:])
        )

    @abc.abstractmethod
    async def start_workers(self) -> None:
        """Start the framework's processes, and what the test process sends jobs with."""

    @abc.abstractmethod
    async def close_client(self) -> None:
        """Close what the test process opened to send jobs."""

    @abc.abstractmethod
    async def export(self, campaign_id: str) -> Any:
        """Send ``export_campaign(campaign_id)``; return its handle."""

    @abc.abstractmethod
    async def sync(self, account_id: str) -> Any:
        """Send ``sync_account(account_id)``; return its handle (arq: None when refused)."""

    @abc.abstractmethod
    async def result(self, job: Any) -> Any:
        """The job's return value, once it is done."""

    @abc.abstractmethod
    async def deferred(self, job: Any) -> bool:
        """Whether the job failed a try and waits in the queue's store for a later one."""

    async def refused(self, job: Any) -> bool:
        """Whether a sync was refused: it returned None (taskiq, Celery)."""
        return await self.result(job) is None


class ArqQueue(Queue):
    name = "arq"
    recipe = "arq_worker"

    def __init__(self, *args: str) -> None:
        super().__init__(*args)
        self._syncs_ended_before: dict[Job, int] = {}

    pool: ArqRedis | None = None

    async def start_workers(self) -> None:
        with warnings.catch_warnings():
            # arq 0.28 passes redis-py's retry_on_timeout, deprecated since redis-py 6.0
            # (timeouts are retried by default now); the workers only print it.
            warnings.filterwarnings(
                "ignore", "Call to '__init__' .* 'retry_on_timeout'", DeprecationWarning
            )
            self.pool = await create_pool(RedisSettings.from_dsn(self.redis_url))
        for _ in range(self.processes):
            await self.spawn(
                "arq", "arq_worker.WorkerSettings", "--custom-log-dict", "arq_worker.LOG_CONFIG"
            )

    async def close_client(self) -> None:
        if self.pool is not None:
            await self.pool.aclose()

    def _pool(self) -> ArqRedis:
        assert self.pool is not None, "start() first"
        return self.pool

    async def export(self, campaign_id: str) -> Any:
        return await self.module.enqueue_export(self._pool(), campaign_id)

    async def sync(self, account_id: str) -> Any:
        job: Job | None = await self.module.enqueue_sync(self._pool(), account_id)
        if job is not None:
            self._syncs_ended_before[job] = len(self._sync_outcomes(job))
        return job

    def _sync_outcomes(self, job: Job) -> list[str]:
        """What arq logged as each end of this sync job id: its results, in order."""
        done = re.compile(rf"← {re.escape(job.job_id)}:sync_account ● (\S+)")
        return [match[1] for line in self.log.lines if (match := done.search(line))]

    async def result(self, job: Job) -> Any:
        if job not in self._syncs_ended_before:
            return await job.result(timeout=JOB_TIMEOUT, poll_delay=POLL)
        # The recipe keeps no result of a sync: arq logs it as the job ends.
        before = self._syncs_ended_before.pop(job)
        await self.log.wait_for(
            lambda _: len(self._sync_outcomes(job)) > before, f"{job.job_id} ended"
        )

        # arq logs the end before it removes the job: it is done once it is gone.
        async def gone() -> bool:
            return await job.status() is JobStatus.not_found

        await eventually(gone, f"{job.job_id} removed")
        return int(self._sync_outcomes(job)[before])

    async def deferred(self, job: Job) -> bool:
        return await job.status() is JobStatus.deferred

    async def refused(self, job: Any) -> bool:
        """arq refuses the job when it is sent: ``enqueue_job`` returns None."""
        return job is None


class TaskiqQueue(Queue):
    name = "taskiq"
    recipe = "taskiq_tasks"

    async def start(self) -> None:
        await super().start()

        # Redis hands a new message to the reader that has waited longest: with
        # both processes waiting, the first two jobs go one to each.
        async def both_reading() -> bool:
            async with Redis.from_url(self.redis_url) as redis:
                clients = await redis.client_list()
            blocked = [c for c in clients if c["cmd"] == "xreadgroup" and "b" in c["flags"]]
            return len(blocked) >= self.processes

        await eventually(both_reading, "every taskiq worker process waiting for a message")

    async def start_workers(self) -> None:
        await self.spawn(
            "taskiq", "worker", "taskiq_tasks:broker", "--workers", str(self.processes)
        )
        # Deferred retries are due to the second; the scheduler looks for new ones
        # every second (its default is a minute).
        # It handles no SIGTERM: it ends with -15, which is how it stops.
        await self.spawn(
            "taskiq", "scheduler", "taskiq_tasks:scheduler", "--update-interval", "1", worker=False
        )
        await self.module.broker.startup()

    async def close_client(self) -> None:
        await self.module.broker.shutdown()

    async def export(self, campaign_id: str) -> Any:
        return await self.module.export_campaign.kiq(campaign_id)

    async def sync(self, account_id: str) -> Any:
        return await self.module.sync_account.kiq(account_id)

    async def result(self, job: Any) -> Any:
        outcome = await job.wait_result(check_interval=POLL, timeout=JOB_TIMEOUT)
        if outcome.is_err:
            raise outcome.error
        return outcome.return_value

    async def deferred(self, job: Any) -> bool:
        """Whether the retry schedule source holds the job, to be sent again later."""
        async with Redis.from_url(self.redis_url) as redis:
            async for key in redis.scan_iter("lemlist-retry:data:*"):
                raw: Any = await redis.get(key)
                # The recipe's schedule source pickles what the test process wrote.
                if raw and pickle.loads(raw)["task_id"] == job.task_id:  # noqa: S301
                    return True
        return False


class CeleryQueue(Queue):
    name = "celery"
    recipe = "celery_tasks"

    def is_ready(self, lines: list[str]) -> bool:
        return super().is_ready(lines) and any(" ready." in line for line in lines)

    async def start_workers(self) -> None:
        await self.spawn(
            "celery", "-A", "celery_tasks", "worker",
            "--pool=prefork", f"--concurrency={self.processes}", "--loglevel=INFO",
            # Nothing to exchange with other workers: a faster start and stop.
            "--without-mingle", "--without-gossip", "--without-heartbeat",
        )  # fmt: skip

    async def close_client(self) -> None:
        await asyncio.to_thread(self.module.app.close)

    async def export(self, campaign_id: str) -> Any:
        return await asyncio.to_thread(self.module.export_campaign.delay, campaign_id)

    async def sync(self, account_id: str) -> Any:
        return await asyncio.to_thread(self.module.sync_account.delay, account_id)

    async def result(self, job: Any) -> Any:
        return await asyncio.to_thread(job.get, timeout=JOB_TIMEOUT, interval=POLL)

    async def deferred(self, job: Any) -> bool:
        state = await asyncio.to_thread(lambda: job.state)
        return bool(state == "RETRY")


QUEUES: Final[dict[str, type[Queue]]] = {
    queue.name: queue for queue in (ArqQueue, TaskiqQueue, CeleryQueue)
}
