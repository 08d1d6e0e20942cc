"""Every public value pickles, deep-copies and compares by value, in one place.

Users hand models, results and errors across processes (a ``ProcessPoolExecutor``
returns them pickled), so each must come back equal to what was sent. The list
of samples is checked against ``__all__``: a new public value type that is not
sampled here fails the suite.
"""

from __future__ import annotations

import copy
import datetime as dt
import enum
import pickle
from typing import Any

import attrs
import pytest

import lemlist_async
import lemlist_async.redis
import lemlist_async.sync
import lemlist_async.testing
from lemlist_async import (
    AmbiguousWriteError,
    APIConnectionError,
    APITimeoutError,
    Campaign,
    CampaignCreator,
    CampaignLeads,
    CampaignReport,
    CampaignSender,
    CampaignStats,
    CampaignStatsBatch,
    CampaignStatus,
    ClientClosedError,
    EmailStatus,
    ExportedLead,
    FanOutError,
    InvalidCampaignIdError,
    Lead,
    LeadState,
    LemlistError,
    OpenStrEnum,
    Outcome,
    Page,
    RateLimitInfo,
    ResponseTooLargeError,
    ResponseValidationError,
    ServerError,
    StepStats,
    converter,
)
from lemlist_async._errors import error_for_response
from lemlist_async._models import Extra
from lemlist_async.redis import RateLimiterUnavailableError, RedisCalls
from lemlist_async.sync import AccountMismatchError, StreamProgress, SyncError, SyncReport


def _lead(index: int, **extra: Any) -> Lead:
    payload = {"_id": f"lea_{index}", "contactId": f"ctc_{index}", "state": "scanned", **extra}
    return converter.structure(payload, Lead)


def _samples() -> list[object]:
    not_found = error_for_response(
        404, method="GET", url="u", body="Campaign not found", headers={"X-A": "1"}
    )
    statuses = [
        error_for_response(status, method="GET", url="u", body="words", headers={})
        for status in (400, 401, 402, 403, 405, 409)
    ]
    limited = error_for_response(
        429, method="GET", url="u", body="Too many", headers={"Retry-After": "2"}, retry_after=2.0
    )
    plain = _lead(1)
    rich = _lead(2, email="a@b.c", custom={"nested": [1, 2]})
    campaign = converter.structure(
        {
            "_id": "cam_1",
            "name": "Q4",
            "labels": ["a"],
            "createdAt": "2026-01-01T10:00:00.000Z",
            "status": "running",
            "hasError": False,
            "creator": {"userId": "usr_1"},
            "senders": [{"id": "usr_1", "email": "a@b.c"}],
            "somethingNew": {"x": 1},
        },
        Campaign,
    )
    stats = converter.structure({"nbLeads": 3, "steps": [{"index": 0, "sent": 2}]}, CampaignStats)
    return [
        plain,
        rich,
        Lead(id="lea_3", contact_id="ctc_3", state=LeadState.INTERESTED, extra={"k": "v"}),
        LeadState.SCANNED,
        LeadState("aStateNobodyDocumented"),
        Extra({"k": [1]}),
        RateLimitInfo(
            limit=20, remaining=0, reset=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), retry_after=1.5
        ),
        CampaignLeads("cam_1", [plain, rich], None),
        CampaignLeads("cam_2", None, not_found),
        not_found,
        *statuses,
        limited,
        ServerError("boom", status=503, method="GET", url="u", body="boom"),
        APIConnectionError("refused", method="GET", url="u"),
        APITimeoutError("slow", method="GET", url="u"),
        ResponseValidationError("bad", status=200, method="GET", url="u", body="x", errors=["e"]),
        ResponseTooLargeError("big", status=200, method="GET", url="u", limit=10),
        AmbiguousWriteError("maybe", method="POST", url="u", status=None),
        ClientClosedError("closed"),
        LemlistError("the root"),
        InvalidCampaignIdError("empty"),
        FanOutError("1 of 2 campaigns failed", {"cam_x": not_found}, {"cam_y": [plain, rich]}),
        RateLimiterUnavailableError("redis is away"),
        RedisCalls(acquire=4, granted=2, reserved=1, queued=1, complete=4, handed=1),
        SyncError("newer schema"),
        AccountMismatchError(expected="tea_1", actual="tea_2"),
        StreamProgress("leads", fetched=10, written=3, deleted=1, done=True),
        SyncReport(
            run_id=2,
            team_id="tea_1",
            full=False,
            resumed=True,
            streams=(StreamProgress("team", 1, 0, 0, True),),
        ),
        error_for_response(
            409, method="POST", url="u", body='{"error":"E","message":"m"}', headers={}
        ),
        campaign,
        CampaignStatus.RUNNING,
        CampaignStatus("aStatusNobodyDocumented"),
        converter.structure({"userId": "usr_1", "userEmail": "a@b.c"}, CampaignCreator),
        converter.structure({"id": "usr_1", "email": "a@b.c"}, CampaignSender),
        stats,
        converter.structure({"index": 0, "sent": 3, "taskType": "email"}, StepStats),
        CampaignStatsBatch(results={"cam_1": stats}, errors={"cam_2": LemlistError("no")}),
        converter.structure(
            {"_id": "cam_1", "totalCount": 3, "createdAt": "2026-01-01T00:00:00Z"}, CampaignReport
        ),
        converter.structure(
            {"_id": "lea_1", "email": "a@b.c", "emailStatus": "risky", "Birthday": "1 May"},
            ExportedLead,
        ),
        EmailStatus.DELIVERABLE,
        Page([campaign], offset=0, total=1),
        Outcome("cam_1", [plain], None),
        *_more_models(),
        Outcome(campaign, None, not_found),
    ]


def _more_models() -> list[object]:
    from lemlist_async import (
        Activity,
        ActivityType,
        LeadDetails,
        LeadInCampaign,
        Sender,
        Team,
        TeamCredits,
        Unsubscribe,
        UnsubscribeSource,
        Webhook,
    )

    team = {
        "_id": "tea_1",
        "name": "T",
        "users": [{"userId": "usr_1", "email": "a@b.c"}],
        "invitedUsers": [{"email": "x@y.z", "invitedAt": "2026-01-01T00:00:00Z"}],
        "slackWebhook": {"url": "https://hooks.example/SECRET", "failCounter": 0},
        "hooks": [{"_id": "hoo_1", "type": "emailsOpened"}],
    }
    found = converter.structure(
        {"_id": "lea_1", "campaign": {"id": "cam_1"}, "enrichment": {"emailStatus": "ok"}},
        LeadInCampaign,
    )
    structured = converter.structure(team, Team)
    credits = converter.structure(
        {"credits": 3, "details": {"remaining": {"total": 3}}}, TeamCredits
    )
    sender = converter.structure({"userId": "usr_1", "campaigns": [{"_id": "cam_1"}]}, Sender)
    assert structured.users
    assert structured.invited_users
    assert credits.details
    assert sender.campaigns
    return [
        converter.structure({"_id": "act_1", "type": "emailsOpened", "Day": "1 May"}, Activity),
        ActivityType.EMAILS_OPENED,
        found,
        found.campaign,
        found.enrichment,
        converter.structure({"_id": "lea_1", "email": "a@b.c"}, LeadDetails),
        structured,
        structured.users[0],
        structured.invited_users[0],
        structured.slack_webhook,
        credits,
        credits.details,
        credits.details.remaining,
        sender,
        sender.campaigns[0],
        converter.structure({"_id": "hoo_1", "targetUrl": "https://x", "type": "new"}, Webhook),
        converter.structure({"_id": "uns_1", "value": "a@b.c", "source": "api"}, Unsubscribe),
        UnsubscribeSource.BOUNCED,
        *_write_values(),
        *_testing_values(),
    ]


def _write_values() -> list[object]:
    from lemlist_async import (
        AmbiguousWriteError,
        CampaignState,
        ImportResult,
        ImportStatus,
        InvalidLeadError,
        LeadDetails,
        NewLead,
    )

    lead = NewLead(email="a@b.c", first_name="Ada", variables={"size": 50, "vip": True})
    created = converter.structure({"_id": "lea_1", "email": "a@b.c"}, LeadDetails)
    ambiguous = AmbiguousWriteError(
        "the write may or may not have been applied", method="POST", url="/x", status=502
    )
    return [
        lead,
        converter.structure({"_id": "cam_1", "state": "running"}, CampaignState),
        ImportStatus.AMBIGUOUS,
        ImportResult(index=0, email="a@b.c", status=ImportStatus.CREATED, lead=created),
        ImportResult(index=1, email="a@b.c", status=ImportStatus.AMBIGUOUS, error=ambiguous),
        InvalidLeadError("lead 2: email must not be empty"),
    ]


def _testing_values() -> list[object]:
    from lemlist_async.testing import Delivery, RecordedRequest

    return [
        Delivery(
            hook_id="hoo_1", url="http://127.0.0.1:1/h", event_type="paused", activity_id="a"
        ),
        Delivery(
            hook_id="hoo_2", url="https://x", event_type="t", activity_id="b", error="refused"
        ),
        RecordedRequest(
            time=1.5,
            method="POST",
            path="/api/hooks",
            raw_path="/api/hooks",
            query={"isFirst": "true"},
            status=200,
            campaign_id=None,
            authenticated=True,
            json={"targetUrl": "http://127.0.0.1:1/h"},
            applied=True,
        ),
    ]


SAMPLES = _samples()


def _value_types() -> set[type]:
    found: set[type] = set()
    for module in (lemlist_async, lemlist_async.redis, lemlist_async.sync, lemlist_async.testing):
        for name in module.__all__:
            obj = getattr(module, name)
            if not isinstance(obj, type):
                continue
            if obj is OpenStrEnum:  # The base of the enums below, with no value of its own.
                continue
            if issubclass(obj, BaseException | enum.Enum) or attrs.has(obj):
                found.add(obj)
    return found


def test_every_public_value_type_is_sampled() -> None:
    sampled = {type(sample) for sample in SAMPLES}
    assert _value_types() - sampled == set()


@pytest.mark.parametrize("value", SAMPLES, ids=lambda v: type(v).__name__)
def test_pickles_and_compares_by_value(value: object) -> None:
    clone = pickle.loads(pickle.dumps(value))  # noqa: S301 - our own bytes
    assert type(clone) is type(value)
    assert clone == value
    assert not clone != value  # noqa: SIM202 - __ne__ too, not only __eq__
    if isinstance(value, BaseException):
        assert str(clone) == str(value)
        assert hash(clone) == hash(value)


@pytest.mark.parametrize("value", SAMPLES, ids=lambda v: type(v).__name__)
def test_deep_copies_and_compares_by_value(value: object) -> None:
    clone = copy.deepcopy(value)
    assert type(clone) is type(value)
    assert clone == value


def test_values_that_differ_compare_unequal() -> None:
    a = ServerError("boom", status=503, method="GET", url="u", body="boom")
    b = ServerError("boom", status=502, method="GET", url="u", body="boom")
    assert a != b
    assert _lead(1) != _lead(1, email="x")
    assert APIConnectionError("x", method="GET", url="u") != APITimeoutError(
        "x", method="GET", url="u"
    )


def test_extra_is_read_only_and_equals_a_dict() -> None:
    lead = _lead(1, email="a@b.c")
    assert lead.extra == {"email": "a@b.c"}
    with pytest.raises(TypeError):
        lead.extra["email"] = "other"  # type: ignore[index]
    assert _lead(2).extra == {}


def test_fan_out_error_survives_a_process_boundary_with_its_results() -> None:
    error = next(s for s in SAMPLES if isinstance(s, FanOutError))
    clone = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert clone.results == error.results
    assert clone.errors_by_campaign == error.errors_by_campaign
    assert list(clone.exceptions) == list(error.exceptions)
