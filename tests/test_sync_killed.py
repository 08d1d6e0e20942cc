"""A sync process killed with SIGKILL at random points, then run again, ends as an
uninterrupted run: no duplicate row, no gap, on both stores.

Real processes on real time (a kill is what they are for), with the fake's
rate-limit window shortened to 0.2 s for the fake and the client alike.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from pathlib import Path

import pytest

from lemlist_async.testing import FakeLemlistServer

from ._sync_targets import Target, sqlite_target

pytestmark = pytest.mark.looptime(False)

REPO = Path(__file__).resolve().parent.parent
WINDOW = 0.2


@pytest.fixture(params=["sqlite", "postgres"])
def targets(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Target, Target]:
    if request.param == "sqlite":
        return sqlite_target(tmp_path, "killed.db"), sqlite_target(tmp_path, "whole.db")
    return (
        Target("postgres", request.getfixturevalue("postgres_dsn"), window=WINDOW),
        Target("postgres", request.getfixturevalue("postgres_dsn_2"), window=WINDOW),
    )


def url(target: Target) -> str:
    return f"sqlite:///{target.where}" if target.kind == "sqlite" else target.where


async def start(fake: FakeLemlistServer, target: Target) -> asyncio.subprocess.Process:
    env = dict(
        os.environ,
        LEMLIST_API_KEY=fake.api_key,
        LEMLIST_BASE_URL=fake.base_url,
        DATABASE=url(target),
        WINDOW=str(WINDOW),
    )
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests._sync_worker",
        cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def finish(process: asyncio.subprocess.Process) -> str:
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return out.decode().strip()


async def kill_at(
    process: asyncio.subprocess.Process, fake: FakeLemlistServer, count: int
) -> bool:
    """SIGKILL the process once the fake has seen ``count`` requests; False if it ended first.

    A run that resumes an earlier one has fewer requests left than a whole
    run: it may finish before the point drawn.
    """
    async with asyncio.timeout(60):
        # Polled: the fake has no hook on arrivals.
        while len(fake.requests) < count:
            if process.returncode is not None:
                return False
            await asyncio.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    await process.wait()
    assert process.returncode == -signal.SIGKILL
    return True


async def test_a_sync_killed_at_random_points_then_run_again_ends_whole(
    targets: tuple[Target, Target],
) -> None:
    killed, whole = targets
    async with FakeLemlistServer(
        seed=11, campaigns=8, leads_per_campaign=(0, 60), activities=1_500, window=WINDOW
    ) as fake:
        assert await finish(await start(fake, whole)) == "1 False"
        total = len(fake.requests)
        rng = random.Random(11)
        deaths = 0
        for _ in range(3):
            process = await start(fake, killed)
            if not await kill_at(process, fake, len(fake.requests) + rng.randint(1, total // 2)):
                assert await finish(process) == "1 True"
                break
            deaths += 1
        else:
            assert await finish(await start(fake, killed)) == "1 True"
    assert deaths >= 1
    assert await killed.dump() == await whole.dump()
