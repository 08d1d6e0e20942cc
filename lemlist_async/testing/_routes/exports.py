"""``GET /api/campaigns/{campaignId}/export/leads``: Export Campaign Leads.

https://developer.lemlist.com/api-reference/endpoints/campaigns/export-campaign-leads :
every lead of the campaign in one body, no paging, ``format`` json or csv
(default csv), ``state`` ``all`` (default) or a comma-separated list of states.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from typing import Any, Final

from aiohttp import web

from lemlist_async.testing._lemlist import (
    CAMPAIGN_NOT_FOUND_BODY,
    DOCUMENTED_STATES,
    EXPORT_ALL_STATES,
    EXPORT_DEFAULT_FORMAT,
    EXPORT_FORMATS,
    bad_param,
)
from lemlist_async.testing._store import EXPORT_FIELDS, EXPORT_TAIL, STORE
from lemlist_async.testing._wire import dumps, text_response

routes = web.RouteTableDef()

#: Rows serialized per write: big exports stream in chunks of about 100 kB,
#: so 100,000 leads never become one bytes object in the server.
_ROWS_PER_CHUNK: Final = 500


@routes.get("/api/campaigns/{campaignId}/export/leads")
async def export_campaign_leads(request: web.Request) -> web.StreamResponse:
    """Every lead of the campaign, oldest first, as CSV (default) or JSON.

    Each lead is the spec's export object (``emailStatus`` ... ``icebreaker``,
    ``jobTitle`` in JSON only), then the campaign's custom variables as extra
    keys or columns, then ``lastState``, ``status`` and ``_id``. The CSV header
    is the spec example's: `EXPORT_FIELDS`, the variables, `EXPORT_TAIL`.

    400 ``Bad params (invalid state parameter)`` for a state lemlist does not
    document, ``... format ...`` for a format other than json or csv (neither
    body is documented for this route: they are the fake's, in lemlist's
    style); 404 ``Campaign not found``.
    """
    states: frozenset[str] | None = None
    raw_state = request.query.get("state", EXPORT_ALL_STATES)
    if raw_state != EXPORT_ALL_STATES:
        states = frozenset(raw_state.split(","))
        if not states <= DOCUMENTED_STATES:
            return text_response(400, bad_param("state"))
    export_format = request.query.get("format", EXPORT_DEFAULT_FORMAT)
    if export_format not in EXPORT_FORMATS:
        return text_response(400, bad_param("format"))
    campaign = request.app[STORE].campaigns.get(request.match_info["campaignId"])
    if campaign is None:
        return text_response(404, CAMPAIGN_NOT_FOUND_BODY)

    rows = campaign.export_rows(states)
    response = web.StreamResponse()
    if export_format == "json":
        response.content_type = "application/json"
        chunks = _json_chunks(rows)
    else:
        response.content_type = "text/csv"
        header = (*EXPORT_FIELDS, *campaign.variables, *EXPORT_TAIL)
        chunks = _csv_chunks(header, rows)
    response.charset = "utf-8"
    await response.prepare(request)
    for chunk in chunks:
        await response.write(chunk)
    await response.write_eof()
    return response


def _json_chunks(rows: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    """A JSON array, written a batch of rows at a time."""
    opening = b"["
    for batch in _batches(rows):
        # A batch's array without its brackets: its rows, comma-separated, in one call.
        yield opening + dumps(batch)[1:-1]
        opening = b","
    yield b"]" if opening == b"," else b"[]"


def _csv_chunks(header: tuple[str, ...], rows: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    """A header row, then the rows; fields that need it are quoted (RFC 4180)."""
    buffer = io.StringIO()
    # extrasaction: the JSON-only fields (jobTitle) are not CSV columns.
    writer = csv.DictWriter(buffer, header, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for batch in _batches(rows):
        writer.writerows(batch)
        yield buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():  # no rows: the header alone
        yield buffer.getvalue().encode("utf-8")


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    while batch := list(itertools.islice(rows, _ROWS_PER_CHUNK)):
        yield batch
