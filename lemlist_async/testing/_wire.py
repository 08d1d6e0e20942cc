"""Formats on the wire: text and JSON answers, JavaScript dates, seconds, query integers."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, Final

from aiohttp import web

from ._limits import EPSILON

_WEEKDAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS: Final = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
#: Longest digit string `query_int` reads: keeps ``int()`` away from huge inputs.
_MAX_DIGITS: Final = 10
#: The query booleans lemlist documents ("true" / "false").
_BOOLEANS: Final = {"true": True, "false": False}
#: `dumps`' encoder, made once: ``json.dumps`` with options makes one per call.
_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def text_response(
    status: int, text: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A text/plain answer, the form of almost every lemlist error body."""
    return web.Response(status=status, text=text, content_type="text/plain", headers=headers)


def json_response(value: Any, status: int = 200) -> web.Response:
    """A compact application/json answer of ``value``."""
    return json_bytes_response(dumps(value), status)


def json_bytes_response(body: bytes, status: int = 200) -> web.Response:
    """An application/json answer of an already serialized body."""
    return web.Response(status=status, body=body, content_type="application/json")


def dumps(value: Any) -> bytes:
    """Compact JSON, as an express server sends it."""
    return _ENCODER.encode(value).encode("utf-8")


def reason(status: int) -> str:
    """The reason phrase of ``status``, or ``"Status N"`` for an unregistered one."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:  # a status without a registered name, e.g. 599
        return f"Status {status}"


def query_int(raw: str | None, *, default: int, low: int, high: int | None = None) -> int | None:
    """A query value as an int in ``low..high``, ``default`` when absent, ``None`` if invalid."""
    if raw is None:
        return default
    # isascii(): str.isdigit() also accepts other scripts' digits, which int()
    # would take.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= _MAX_DIGITS):
        return None
    value = int(raw)
    if value < low or (high is not None and value > high):
        return None
    return value


def query_bool(raw: str) -> bool | None:
    """A query boolean, ``"true"`` or ``"false"``; ``None`` for any other text."""
    return _BOOLEANS.get(raw)


async def json_object(request: web.Request) -> dict[str, Any] | None:
    """The request's body as a JSON object; ``None`` when it is absent, not JSON,
    or JSON but not an object. A body over aiohttp's size limit raises its 413."""
    try:
        body = json.loads(await request.read())
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def format_seconds(seconds: float) -> str:
    """``Retry-After`` as a decimal string, rounded up to the millisecond.

    Rounding up means a client that waits exactly this long is admitted.
    """
    millis = math.ceil(max(0.0, seconds) * 1000 - EPSILON)
    return f"{max(0, millis) / 1000:.3f}"


def js_date_string(epoch_seconds: float) -> str:
    """JavaScript ``Date.prototype.toString()`` of an instant, in UTC.

    E.g. ``"Tue Feb 16 2021 09:02:42 GMT+0000 (Coordinated Universal Time)"``.
    JavaScript drops the milliseconds, hence the truncation. Names are spelled
    out rather than taken from ``strftime``, whose ``%a``/``%b`` follow the locale.
    """
    moment = datetime.fromtimestamp(math.floor(epoch_seconds), tz=UTC)
    return (
        f"{_WEEKDAYS[moment.weekday()]} {_MONTHS[moment.month - 1]} {moment.day:02d}"
        f" {moment.year:04d} {moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
        " GMT+0000 (Coordinated Universal Time)"
    )


def iso_z(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and ``Z``, as lemlist writes ``createdAt``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
