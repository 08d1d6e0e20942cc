"""A process that syncs the fake's account into a database, for the tests to kill.

Run as ``python -m tests._sync_worker`` with ``LEMLIST_API_KEY``,
``LEMLIST_BASE_URL``, ``DATABASE`` (a ``sqlite:///`` or ``postgresql://`` URL)
and ``WINDOW`` (the fake's rate-limit window, in seconds) in the environment.
It prints the run's number and whether it resumed one, once done.
"""

from __future__ import annotations

import asyncio
import os

from lemlist_async import LemlistClient, WindowRateLimiter
from lemlist_async.sync import open_store, sync_account


async def main() -> None:
    limiter = WindowRateLimiter(20, float(os.environ["WINDOW"]))
    async with (
        LemlistClient(base_url=os.environ["LEMLIST_BASE_URL"], rate_limit=limiter) as client,
        open_store(os.environ["DATABASE"]) as store,
    ):
        report = await sync_account(client, store)
    print(report.run_id, report.resumed, flush=True)


if __name__ == "__main__":
    asyncio.run(main())
