"""``client.activities``: what happened in the team's campaigns, page by page.

https://developer.lemlist.com/api-reference/endpoints/activities/get-many-activities
"""

from __future__ import annotations

import builtins
import datetime as dt

from lemlist_async._constants import ACTIVITIES_PAGE_MAX
from lemlist_async._models import Activity, ActivityType
from lemlist_async._pagination import Pager, PinnedOffsetPages
from lemlist_async._params import check_count, check_datetime, check_range, check_text
from lemlist_async._request import Request

from ._base import Resource

__all__ = ["Activities"]


class Activities(Resource):
    """Activities. Reached as ``client.activities``."""

    def list(
        self,
        *,
        type: str | ActivityType | None = None,
        campaign_id: str | None = None,
        lead_id: str | None = None,
        is_first: bool | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        page_size: int = ACTIVITIES_PAGE_MAX,
        start: int = 0,
    ) -> Pager[Activity]:
        """Every activity that matches, page by page, newest first.

        ``GET /activities?version=v2&offset=&limit=``

        lemlist pages activities by offset over a list that grows at its head:
        an activity created during the walk would shift every later page. So,
        unless ``until`` is given, the walk is pinned to the moment of its first
        request (``maxDate``), and an activity already on the page before is
        dropped should the pages still shift.

        Args:
            type: Only activities of this type (an open set: ``emailsOpened``...).
            campaign_id: Only this campaign's.
            lead_id: Only this lead's.
            is_first: Only the first (True) or only the later (False) activity of
                each type per lead.
            since: Only activities created at or after this aware datetime.
            until: Only activities created at or before this aware datetime.
            page_size: Activities per request, from 1 to 100.
            start: Skip this many activities: resumes a walk at a page's offset
                (``Page.offset``) saved with a window pinned by ``since`` and
                ``until``; the offsets of an unpinned walk shift as activities
                arrive.

        Returns:
            A ``Pager`` of ``Activity``; nothing is sent until it is read.

        Raises:
            ValueError, TypeError: A bad argument; raised here.
        """
        query = {"version": "v2"}
        if type is not None:
            query["type"] = check_text(type, "type")
        if campaign_id is not None:
            query["campaignId"] = check_text(campaign_id, "campaign_id")
        if lead_id is not None:
            query["leadId"] = check_text(lead_id, "lead_id")
        if is_first is not None:
            if not isinstance(is_first, bool):
                raise TypeError(f"is_first must be a bool, not {builtins.type(is_first).__name__}")
            query["isFirst"] = "true" if is_first else "false"
        if since is not None:
            query["minDate"] = check_datetime(since, "since")
        if until is not None:
            query["maxDate"] = check_datetime(until, "until")
        if since is not None and until is not None and since > until:
            raise ValueError(f"since must not be after until, got {since} > {until}")
        size = check_range(page_size, "page_size", 1, ACTIVITIES_PAGE_MAX)
        skip = check_count(start, "start", minimum=0)
        request = Request[builtins.list[Activity]](
            method="GET", path="/activities", into=builtins.list[Activity], query=query
        )
        return self._paginate(request, PinnedOffsetPages(size, start=skip))
