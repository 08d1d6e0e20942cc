"""``client.campaigns``: every read of lemlist's campaigns, and starting and pausing one.

https://developer.lemlist.com/api-reference/endpoints/campaigns
"""

from __future__ import annotations

import asyncio
import builtins
import datetime as dt
import json
from collections.abc import AsyncGenerator, Iterable, Sequence
from typing import Any, Final

import attrs
import ijson

from lemlist_async._constants import (
    CAMPAIGNS_PAGE_MAX,
    EXPORT_MAX_RESPONSE_SIZE,
    LEADS_LIMIT_MAX,
    REPORTS_IDS_PER_REQUEST,
    STATS_BATCH_MAX,
)
from lemlist_async._converter import structure, validation_errors
from lemlist_async._errors import LemlistError, ResponseValidationError
from lemlist_async._models import (
    Campaign,
    CampaignReport,
    CampaignState,
    CampaignStats,
    CampaignStatsBatch,
    CampaignStatus,
    ExportedLead,
    Lead,
    LeadState,
    wire,
)
from lemlist_async._pagination import OffsetPages, Pager
from lemlist_async._params import (
    check_choice,
    check_count,
    check_datetime,
    check_ids,
    check_limit,
    check_range,
    check_state,
    check_text,
    path_segment,
)
from lemlist_async._request import Request

from ._base import Resource

__all__ = ["Campaigns"]

#: The stats routes' channels, and their A/B variants.
_CHANNELS: Final = ("email", "linkedin", "others")
_AB_VARIANTS: Final = ("A", "B")
_SORT_ORDERS: Final = ("asc", "desc")


class Campaigns(Resource):
    """Campaigns: list, get, their leads, their export, their statistics and reports.

    Reached as ``client.campaigns``; every call goes through the client's rate
    limiter and retry policy.
    """

    def list(
        self,
        *,
        status: str | CampaignStatus | None = None,
        created_by: str | None = None,
        sort_order: str | None = None,
        page_size: int = CAMPAIGNS_PAGE_MAX,
        prefetch: int = 1,
    ) -> Pager[Campaign]:
        """Every campaign of the team, page by page, in creation order.

        ``GET /campaigns?version=v2&offset=&limit=``
        https://developer.lemlist.com/api-reference/endpoints/campaigns/get-many-campaigns

        ::

            async for campaign in client.campaigns.list(status="running"):
                print(campaign.id, campaign.name)

        Both answers lemlist gives are read: the documented array, and the v2
        envelope ``{"campaigns": [...], "pagination": {...}}``. Only ``offset`` is
        sent, never ``page`` with it (their combination is undocumented).

        Args:
            status: Only campaigns in this status (an open set: ``running``,
                ``draft``, ``archived``, ``ended``, ``paused``, ``errors``...).
            created_by: Only campaigns created by this user id (``usr_...``).
            sort_order: ``"asc"`` (lemlist's default: oldest first) or ``"desc"``.
            page_size: Campaigns per request, from 1 to 100.
            prefetch: Page requests in flight at most. Above 1, once the first
                page tells the total, the next pages are requested together
                (still through the rate limiter); items keep the server's order.

        Returns:
            A ``Pager``: ``async for`` over it, ``await pager.collect()``, or
            ``pager.pages()``. Nothing is sent until it is read.

        Raises:
            ValueError, TypeError: A bad argument; raised here, before anything is sent.
        """
        query = {"version": "v2", "sortBy": "createdAt"}
        if status is not None:
            query["status"] = check_text(status, "status")
        if created_by is not None:
            query["createdBy"] = check_text(created_by, "created_by")
        if sort_order is not None:
            query["sortOrder"] = check_choice(sort_order, "sort_order", _SORT_ORDERS)
        size = check_range(page_size, "page_size", 1, CAMPAIGNS_PAGE_MAX)
        width = check_count(prefetch, "prefetch", minimum=1)
        rule = OffsetPages(size, items_key="campaigns", total_path=("pagination", "totalRecords"))
        request = Request[builtins.list[Campaign]](
            method="GET", path="/campaigns", into=builtins.list[Campaign], query=query
        )
        return self._paginate(request, rule, prefetch=width)

    async def start(self, campaign_id: str) -> CampaignState:
        """Start (or resume) a campaign.

        ``POST /campaigns/{campaignId}/start``
        https://developer.lemlist.com/api-reference/endpoints/campaigns/start-campaign

        A target state: sending it again changes nothing, so it is retried like a read.

        Args:
            campaign_id: The campaign's id.

        Returns:
            The campaign's id and its state (``running``).

        Raises:
            ValueError, TypeError: A bad id; nothing was sent.
            NotFoundError: No such campaign ("Campaign not found").
            LemlistError: Any other failure, as for every call.
        """
        segment = path_segment(campaign_id, "campaign_id")
        return await self._send(
            Request[CampaignState](
                method="POST", path=f"/campaigns/{segment}/start", into=CampaignState
            )
        )

    async def pause(self, campaign_id: str) -> CampaignState:
        """Pause a campaign.

        ``POST /campaigns/{campaignId}/pause``
        https://developer.lemlist.com/api-reference/endpoints/campaigns/pause-campaign

        A target state: sending it again changes nothing, so it is retried like a read.

        Args:
            campaign_id: The campaign's id.

        Returns:
            The campaign's id and its state (``paused``).

        Raises:
            ValueError, TypeError: A bad id; nothing was sent.
            NotFoundError: No such campaign ("Campaign not found").
            LemlistError: Any other failure, as for every call.
        """
        segment = path_segment(campaign_id, "campaign_id")
        return await self._send(
            Request[CampaignState](
                method="POST", path=f"/campaigns/{segment}/pause", into=CampaignState
            )
        )

    async def get(self, campaign_id: str) -> Campaign:
        """One campaign.

        ``GET /campaigns/{campaignId}``
        https://developer.lemlist.com/api-reference/endpoints/campaigns/get-campaign

        Args:
            campaign_id: The campaign's id.

        Returns:
            The campaign.

        Raises:
            ValueError, TypeError: A bad id; nothing was sent.
            NotFoundError: No such campaign ("Campaign not found").
            BadRequestError: A campaign of another team ("Bad team").
            LemlistError: Any other failure, as for every call (see the errors page).
        """
        segment = path_segment(campaign_id, "campaign_id")
        return await self._send(
            Request[Campaign](method="GET", path=f"/campaigns/{segment}", into=Campaign)
        )

    def _leads_request(
        self, campaign_id: str, state: str | LeadState | None, limit: int | None
    ) -> Request[builtins.list[Lead]]:
        segment = path_segment(campaign_id, "campaign_id")
        query: dict[str, str] = {}
        if (state_value := check_state(state)) is not None:
            query["state"] = state_value
        if (limit_value := check_limit(limit)) is not None:
            query["limit"] = limit_value
        return Request[builtins.list[Lead]](
            method="GET",
            path=f"/campaigns/{segment}/leads/",
            into=builtins.list[Lead],
            query=query,
            max_items=LEADS_LIMIT_MAX if limit is None else limit,
        )

    async def leads(
        self, campaign_id: str, *, state: str | LeadState | None = None, limit: int | None = None
    ) -> builtins.list[Lead]:
        """A campaign's leads, newest first: at most 500, with no way to page further.

        ``GET /campaigns/{campaignId}/leads/``
        https://developer.lemlist.com/api-reference/endpoints/leads/get-campaign-leads

        For every lead of a larger campaign, use ``export_leads`` or
        ``iter_export_leads``.

        Args:
            campaign_id: The campaign's id.
            state: Only leads in this state.
            limit: At most this many leads, from 1 to 500; lemlist's default is 100.

        Returns:
            The leads, as lemlist ordered them.

        Raises:
            ValueError, TypeError: A bad argument; nothing was sent.
            NotFoundError: No such campaign.
            BadRequestError: Bad parameters (a state lemlist does not know), or a
                campaign of another team.
            LemlistError: Any other failure, as for every call.
        """
        return await self._send(self._leads_request(campaign_id, state, limit))

    def _export_request(
        self, campaign_id: str, states: Iterable[str | LeadState] | None
    ) -> Request[builtins.list[ExportedLead]]:
        segment = path_segment(campaign_id, "campaign_id")
        # lemlist's default format is CSV: JSON is always asked for.
        query = {"format": "json"}
        if states is not None:
            if isinstance(states, str):
                raise TypeError("states must be an iterable of states, not one str")
            chosen = [check_state(state) for state in states]
            if not chosen:
                raise ValueError("states must hold at least one state; pass None for all")
            query["state"] = ",".join(str(state) for state in chosen)
        return Request[builtins.list[ExportedLead]](
            method="GET",
            path=f"/campaigns/{segment}/export/leads",
            into=builtins.list[ExportedLead],
            query=query,
            max_response_size=EXPORT_MAX_RESPONSE_SIZE,
        )

    async def export_leads(
        self, campaign_id: str, *, states: Iterable[str | LeadState] | None = None
    ) -> builtins.list[ExportedLead]:
        """Every lead of a campaign, with its data and custom variables, in one body.

        ``GET /campaigns/{campaignId}/export/leads?format=json``
        https://developer.lemlist.com/api-reference/endpoints/campaigns/export-campaign-leads

        The whole body is read, then structured: fast, and its memory grows with
        the campaign. ``iter_export_leads`` streams the same leads in bounded memory.

        Args:
            campaign_id: The campaign's id.
            states: Only leads in these states (lemlist's default: all).

        Returns:
            The leads; each one's custom variables are in ``lead.variables``.

        Raises:
            ValueError, TypeError: A bad argument; nothing was sent.
            NotFoundError: No such campaign.
            ResponseTooLargeError: The body is past 1 GiB.
            LemlistError: Any other failure, as for every call.
        """
        return await self._send(self._export_request(campaign_id, states))

    async def iter_export_leads(
        self, campaign_id: str, *, states: Iterable[str | LeadState] | None = None
    ) -> AsyncGenerator[ExportedLead, None]:
        """Every lead of a campaign, streamed: each is yielded as its bytes arrive.

        The same request as ``export_leads``, parsed incrementally (ijson reads
        aiohttp's stream), so memory stays flat whatever the campaign's size.
        A lead that does not fit raises ``ResponseValidationError`` with its path.

        Args:
            campaign_id: The campaign's id.
            states: Only leads in these states (lemlist's default: all).

        Yields:
            The leads, in the server's order. Leaving the loop early, close the
            generator (``contextlib.aclosing``) to release the response at once.

        Raises:
            ValueError, TypeError: A bad argument, at the first iteration.
            LemlistError: As ``export_leads``; a body cut short raises
                ``APIConnectionError`` (the leads already yielded stand).
        """
        request = self._export_request(campaign_id, states)
        async with self._stream(request) as response:
            index = 0
            try:
                async for item in ijson.items_async(response.content, "item", use_float=True):
                    yield _exported(item, index, request, str(response.url))
                    index += 1
            except ijson.JSONError as exc:
                raise ResponseValidationError(
                    f"the export body is not a JSON array of leads: {exc}",
                    status=response.status,
                    method=request.method,
                    url=str(response.url),
                    body="",
                ) from exc

    async def stats(
        self,
        campaign_id: str,
        *,
        start: dt.datetime,
        end: dt.datetime,
        send_user: str | None = None,
        ab: str | None = None,
        channels: Sequence[str] | None = None,
    ) -> CampaignStats:
        """A campaign's figures between two instants.

        ``GET /v2/campaigns/{campaignId}/stats``
        https://developer.lemlist.com/api-reference/endpoints/campaigns/get-campaign-stats

        Args:
            campaign_id: The campaign's id.
            start: The period's start, an aware datetime (sent as ISO 8601, UTC).
            end: The period's end, an aware datetime.
            send_user: Only this sender: ``"usr_...|email"``, as lemlist wants it.
            ab: Only the A or the B variant of an A/B test.
            channels: Only these channels: ``email``, ``linkedin``, ``others``.

        Returns:
            The figures.

        Raises:
            ValueError, TypeError: A bad argument; nothing was sent.
            NotFoundError: No such campaign.
            BadRequestError: Parameters lemlist refused.
            LemlistError: Any other failure, as for every call.
        """
        segment = path_segment(campaign_id, "campaign_id")
        query = _stats_filters(start, end, send_user, ab, channels)
        if "channels" in query:
            # A JSON array in a query parameter, as lemlist documents it.
            query["channels"] = json.dumps(query["channels"].split(","))
        return await self._send(
            Request[CampaignStats](
                method="GET",
                path=f"/v2/campaigns/{segment}/stats",
                into=CampaignStats,
                query=query,
            )
        )

    async def stats_many(
        self,
        campaign_ids: Iterable[str],
        *,
        start: dt.datetime,
        end: dt.datetime,
        send_user: str | None = None,
        ab: str | None = None,
        channels: Sequence[str] | None = None,
    ) -> CampaignStatsBatch:
        """The figures of many campaigns, 100 per request, failures kept per campaign.

        ``POST /v2/campaigns/stats/batch``: a read sent as POST, so retried like one.
        https://developer.lemlist.com/api-reference/endpoints/campaigns/get-batch-campaign-stats

        lemlist answers a batch with 200 and lists the campaigns it could not
        count apart; a request that fails as a whole fails its campaigns. Both
        land in ``errors``: nothing is lost, and nothing raises for one campaign.

        Args:
            campaign_ids: The campaigns (duplicates are asked for once).
            start, end, send_user, ab, channels: As for ``stats``.

        Returns:
            ``results`` and ``errors``, each by campaign id.

        Raises:
            ValueError, TypeError: A bad argument; nothing was sent.
            ClientClosedError: The client was closed.
        """
        ids = check_ids(campaign_ids, "campaign_ids")
        filters = _stats_filters(start, end, send_user, ab, channels)
        body: dict[str, Any] = {
            "startDate": filters["startDate"],
            "endDate": filters["endDate"],
        }
        if "sendUser" in filters:
            body["sendUser"] = filters["sendUser"]
        if "ABSelected" in filters:
            body["ABSelected"] = filters["ABSelected"]
        if "channels" in filters:
            body["channels"] = filters["channels"].split(",")
        chunks = [ids[i : i + STATS_BATCH_MAX] for i in range(0, len(ids), STATS_BATCH_MAX)]
        answers = await asyncio.gather(
            *(self._stats_chunk(chunk, body) for chunk in chunks), return_exceptions=True
        )
        results: dict[str, CampaignStats] = {}
        errors: dict[str, LemlistError] = {}
        for chunk, answer in zip(chunks, answers, strict=True):
            if isinstance(answer, LemlistError):
                errors.update(dict.fromkeys(chunk, answer))
            elif isinstance(answer, BaseException):
                raise answer
            else:
                for item in answer.results:
                    results[item.campaign_id] = item.stats()
                for failed in answer.errors:
                    errors[failed.campaign_id] = LemlistError(failed.message())
        return CampaignStatsBatch(results=results, errors=errors)

    async def _stats_chunk(self, chunk: builtins.list[str], body: dict[str, Any]) -> _BatchAnswer:
        return await self._send(
            Request[_BatchAnswer](
                method="POST",
                path="/v2/campaigns/stats/batch",
                into=_BatchAnswer,
                json={"campaignIds": chunk, **body},
            )
        )

    async def reports(self, campaign_ids: Iterable[str]) -> builtins.list[CampaignReport]:
        """The reports of many campaigns.

        ``GET /campaigns/reports?campaignIds=``
        https://developer.lemlist.com/api-reference/endpoints/campaigns/get-campaign-reports

        The ids travel in the URL, so they are sent 100 per request (lemlist
        documents no bound; proxies refuse long URLs), together, through the
        rate limiter.

        Args:
            campaign_ids: The campaigns (duplicates are asked for once).

        Returns:
            The reports, in the order of the ids' requests and of lemlist's answers.

        Raises:
            ValueError, TypeError: A bad argument; nothing was sent.
            BadRequestError: A campaign of another team ("Bad team").
            LemlistError: Any other failure, as for every call.
        """
        ids = check_ids(campaign_ids, "campaign_ids")
        step = REPORTS_IDS_PER_REQUEST
        pages = await asyncio.gather(
            *(
                self._send(
                    Request[builtins.list[CampaignReport]](
                        method="GET",
                        path="/campaigns/reports",
                        into=builtins.list[CampaignReport],
                        query={"campaignIds": ",".join(ids[i : i + step])},
                    )
                )
                for i in range(0, len(ids), step)
            )
        )
        return [report for page in pages for report in page]


def _stats_filters(
    start: dt.datetime,
    end: dt.datetime,
    send_user: str | None,
    ab: str | None,
    channels: Sequence[str] | None,
) -> dict[str, str]:
    """The stats routes' filters, checked, as query strings (channels comma-joined)."""
    query = {"startDate": check_datetime(start, "start"), "endDate": check_datetime(end, "end")}
    if start > end:
        raise ValueError(f"start must not be after end, got {start} > {end}")
    if send_user is not None:
        query["sendUser"] = check_text(send_user, "send_user")
    if ab is not None:
        query["ABSelected"] = check_choice(ab, "ab", _AB_VARIANTS)
    if channels is not None:
        if isinstance(channels, str):
            raise TypeError("channels must be a sequence of channels, not one str")
        chosen = [check_choice(channel, "each channel", _CHANNELS) for channel in channels]
        if not chosen:
            raise ValueError("channels must hold at least one channel; pass None for all")
        query["channels"] = ",".join(chosen)
    return query


def _exported(item: Any, index: int, request: Request[Any], url: str) -> ExportedLead:
    try:
        lead: ExportedLead = structure(item, ExportedLead)
    except Exception as exc:
        errors = [line.replace("@ $", f"@ $[{index}]", 1) for line in validation_errors(exc)]
        raise ResponseValidationError(
            "an exported lead does not fit the model",
            status=200,
            method=request.method,
            url=url,
            body=json.dumps(item, default=str)[:2000],
            errors=errors,
        ) from exc
    return lead


@attrs.frozen(kw_only=True)
class _StatsResult(CampaignStats):
    """One campaign of a batch answer: its figures, and its id."""

    campaign_id: str = attrs.field(metadata=wire("campaignId"))

    def stats(self) -> CampaignStats:
        fields = {f.name: getattr(self, f.name) for f in attrs.fields(CampaignStats)}
        return CampaignStats(**fields)


@attrs.frozen
class _StatsFailure:
    """One campaign lemlist could not count, in a batch answer."""

    campaign_id: str = attrs.field(metadata=wire("campaignId"))
    error: Any = None

    def message(self) -> str:
        if isinstance(self.error, str):
            return self.error
        if isinstance(self.error, dict) and isinstance(self.error.get("message"), str):
            return str(self.error["message"])
        return json.dumps(self.error)


@attrs.frozen
class _BatchAnswer:
    """Get Batch Campaign Stats' 200: successes and failures, side by side."""

    results: tuple[_StatsResult, ...] = ()
    errors: tuple[_StatsFailure, ...] = ()
