"""Print the leads of lemlist campaigns: python examples/quickstart.py CAMPAIGN_ID...

The key comes from the LEMLIST_API_KEY environment variable.
"""

from __future__ import annotations

import asyncio
import sys

from lemlist_async import LemlistClient, LemlistError


async def main(campaign_ids: list[str]) -> int:
    async with LemlistClient() as client:
        results = await asyncio.gather(
            *(client.get_campaign_leads(cid, limit=500) for cid in campaign_ids),
            return_exceptions=True,
        )
    failed = 0
    for campaign_id, result in zip(campaign_ids, results, strict=True):
        if isinstance(result, LemlistError):
            failed += 1
            print(f"{campaign_id}: {result}", file=sys.stderr)
        elif isinstance(result, BaseException):
            raise result
        else:
            for lead in result:
                print(campaign_id, lead.id, lead.contact_id, lead.state, sep="\t")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.exit(asyncio.run(main(sys.argv[1:])))
