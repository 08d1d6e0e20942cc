"""Lead, LeadState and the converter, without I/O."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lemlist_async import (
    Campaign,
    CampaignReport,
    CampaignStats,
    ExportedLead,
    Lead,
    LeadState,
    converter,
)
from lemlist_async._converter import structure, validation_errors
from lemlist_async._fastpath import NotFast, compiled, list_structurer

WIRE_KEYS = {"_id", "contactId", "state"}

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
lead_payloads = st.fixed_dictionaries(
    {"_id": st.text(), "contactId": st.text(), "state": st.text()},
    optional={},
).flatmap(
    lambda known: st.dictionaries(
        st.text().filter(lambda k: k not in WIRE_KEYS), json_values, max_size=4
    ).map(lambda extra: {**extra, **known})
)


@given(lead_payloads)
def test_any_lead_payload_structures_and_round_trips(payload: dict[str, Any]) -> None:
    lead = converter.structure(payload, Lead)
    assert lead.id == payload["_id"]
    assert lead.contact_id == payload["contactId"]
    assert lead.state == payload["state"]
    assert isinstance(lead.state, LeadState)
    assert dict(lead.extra) == {k: v for k, v in payload.items() if k not in WIRE_KEYS}
    assert converter.unstructure(lead) == payload


def test_every_documented_state_is_a_known_member() -> None:
    documented = [
        "imported",
        "scanned",
        "skipped",
        "reviewed",
        "contacted",
        "hooked",
        "attracted",
        "warmed",
        "interested",
        "notInterested",
        "emailsBounced",
        "emailsUnsubscribed",
        "failed",
        "meetingBooked",
        "paused",
        "emailsSent",
        "emailsOpened",
        "emailsClicked",
        "emailsReplied",
        "emailsInterested",
        "emailsNotInterested",
        "emailsFailed",
        "opportunitiesDone",
        "aircallDone",
        "aircallInterested",
        "aircallNotInterested",
        "apiDone",
        "apiInterested",
        "apiNotInterested",
        "linkedinVisitDone",
        "linkedinVisitFailed",
        "linkedinInviteDone",
        "linkedinInviteAccepted",
        "linkedinInviteFailed",
        "linkedinSent",
        "linkedinOpened",
        "linkedinReplied",
        "linkedinInterested",
        "linkedinNotInterested",
        "linkedinSendFailed",
        "manualInterested",
        "manualNotInterested",
    ]
    assert {s.value for s in LeadState} == set(documented)
    assert all(LeadState(s).is_known for s in documented)


def test_unknown_state_is_kept_not_an_error() -> None:
    state = LeadState("linkedinVoiceNoteSent")
    assert isinstance(state, LeadState)
    assert state == "linkedinVoiceNoteSent"
    assert str(state) == "linkedinVoiceNoteSent"
    assert state.value == "linkedinVoiceNoteSent"
    assert not state.is_known
    assert LeadState("linkedinVoiceNoteSent") is state
    assert state not in list(LeadState)


def test_non_string_state_is_rejected() -> None:
    with pytest.raises(ValueError, match="is not a valid LeadState"):
        LeadState(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"_id": 5, "contactId": "c", "state": "scanned"}, "expected str @ $._id"),
        ({"_id": "l", "contactId": None, "state": "scanned"}, "expected str @ $.contactId"),
        ({"_id": "l", "contactId": "c", "state": None}, "@ $.state"),
        ({"_id": "l", "contactId": "c"}, "required field missing @ $.state"),
    ],
)
def test_strings_are_strict(payload: dict[str, Any], error: str) -> None:
    with pytest.raises(Exception) as caught:  # noqa: PT011 (checked below)
        converter.structure(payload, Lead)
    assert any(error in line for line in validation_errors(caught.value))


def test_lead_is_frozen_hashable_and_hides_extra_from_repr() -> None:
    lead = Lead(id="lea_1", contact_id="ctc_1", state=LeadState.SCANNED, extra={"email": "a@b"})
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        lead.id = "x"  # type: ignore[misc]
    assert hash(lead) == hash(attrs.evolve(lead, extra={}))
    assert "a@b" not in repr(lead)
    assert converter.unstructure(lead) == {
        "_id": "lea_1",
        "contactId": "ctc_1",
        "state": "scanned",
        "email": "a@b",
    }


@given(st.lists(lead_payloads, max_size=20))
def test_fast_path_and_converter_agree(payloads: list[dict[str, Any]]) -> None:
    assert structure(payloads, list[Lead]) == converter.structure(payloads, list[Lead])


def test_fast_path_is_compiled_for_lead_and_takes_only_the_common_case() -> None:
    compiled = list_structurer(Lead)
    assert compiled is not None
    common = [{"_id": "lea_1", "contactId": "ctc_1", "state": "scanned"}]
    (lead,) = compiled(common)
    assert lead == Lead(id="lea_1", contact_id="ctc_1", state=LeadState.SCANNED)
    assert lead.state is LeadState.SCANNED
    (rich,) = compiled([{"_id": "lea_1", "contactId": "ctc_1", "state": "x", "email": "a@b"}])
    assert rich.extra == {"email": "a@b"}
    for odd in (
        [{"_id": "lea_1", "contactId": "ctc_1"}],
        [{"_id": "lea_1", "contactId": 5, "state": "scanned"}],
        [{"_id": "lea_1", "contactId": "ctc_1", "stat": "scanned"}],
        ["not an object"],
    ):
        with pytest.raises(NotFast):
            compiled(odd)


def test_fast_path_refuses_models_it_cannot_fill_safely() -> None:
    @attrs.frozen
    class WithValidator:
        name: str = attrs.field(validator=attrs.validators.min_len(1))

    @attrs.frozen
    class WithFloat:
        ratio: float

    @attrs.frozen
    class WithList:
        names: list[str]

    @attrs.frozen(slots=False)
    class NotSlotted:
        name: str

    assert list_structurer(WithValidator) is None
    assert list_structurer(WithFloat) is None
    assert list_structurer(WithList) is None
    assert list_structurer(NotSlotted) is None
    assert list_structurer(dict) is None


def test_unstructured_leads_structure_back_without_json() -> None:
    leads = [
        Lead(id="lea_1", contact_id="ctc_1", state=LeadState.SCANNED),
        Lead(id="lea_2", contact_id="ctc_2", state=LeadState("brandNew"), extra={"x": 1}),
    ]
    raw = converter.unstructure(leads)
    assert [type(r["state"]) for r in raw] == [str, str]
    assert converter.structure(raw, list[Lead]) == leads
    assert structure(raw, list[Lead]) == leads


def test_unknown_states_take_bounded_memory() -> None:
    # A server may send any number of distinct strings: Enum's own value map
    # must not keep them, and the SDK's cache of them stays small.
    from lemlist_async._constants import UNKNOWN_STATE_CACHED_CHARS, UNKNOWN_STATES_CACHED
    from lemlist_async._models._base import _unknown

    _unknown_states = _unknown.get(LeadState, {})

    documented = len(LeadState.__members__)
    payload = [
        {"_id": f"lea_{i}", "contactId": "ctc_1", "state": f"brandNew{i}"}
        for i in range(UNKNOWN_STATES_CACHED * 4)
    ]
    leads = structure(payload, list[Lead])
    huge = LeadState("x" * (UNKNOWN_STATE_CACHED_CHARS * 100))
    assert [lead.state for lead in leads] == [p["state"] for p in payload]
    assert not any(lead.state.is_known for lead in leads)
    assert huge == "x" * (UNKNOWN_STATE_CACHED_CHARS * 100)
    assert len(LeadState._value2member_map_) == documented
    assert len(_unknown_states) <= UNKNOWN_STATES_CACHED
    assert all(len(state) <= UNKNOWN_STATE_CACHED_CHARS for state in _unknown_states)
    # Equal values stay equal, and compare equal to their strings, cached or not.
    assert LeadState("brandNew0") == LeadState("brandNew0") == "brandNew0"
    assert LeadState(huge) == huge


def _maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    # The right type most of the time, else any JSON value: the fast path must
    # agree with the converter on both, or step aside.
    return st.one_of(value, value, value, json_values)


_datetimes = st.datetimes(timezones=st.none() | st.just(dt.UTC)).map(
    lambda d: d.isoformat().replace("+00:00", "Z")
)
campaign_payloads = st.fixed_dictionaries(
    {"_id": _maybe(st.text())},
    optional={
        "name": _maybe(st.text()),
        "labels": _maybe(st.lists(st.text(), max_size=3)),
        "createdAt": _maybe(_datetimes),
        "status": _maybe(st.sampled_from(["running", "paused", "somethingNew"])),
        "hasError": _maybe(st.booleans()),
        "errors": _maybe(st.lists(st.text(), max_size=2)),
        "creator": _maybe(st.fixed_dictionaries({}, optional={"userId": _maybe(st.text())})),
        "senders": _maybe(
            st.lists(st.fixed_dictionaries({}, optional={"email": _maybe(st.text())}), max_size=2)
        ),
        "unknownMember": json_values,
    },
)
stats_payloads = st.fixed_dictionaries(
    {},
    optional={
        "nbLeads": _maybe(st.integers()),
        "steps": _maybe(
            st.lists(st.fixed_dictionaries({}, optional={"sent": _maybe(st.integers())}))
        ),
    },
)


def _outcome(fn: Any, payload: Any, into: Any) -> Any:
    try:
        return fn(payload, into)
    except Exception as error:  # noqa: BLE001 - compared by kind below
        return type(error)


@given(st.lists(campaign_payloads, max_size=5))
def test_fast_path_and_converter_agree_on_campaigns(payloads: list[dict[str, Any]]) -> None:
    fast = _outcome(structure, payloads, list[Campaign])
    slow = _outcome(converter.structure, payloads, list[Campaign])
    assert fast == slow or (isinstance(fast, type) and isinstance(slow, type))


@given(stats_payloads)
def test_fast_path_and_converter_agree_on_stats(payload: dict[str, Any]) -> None:
    fast = _outcome(structure, payload, CampaignStats)
    slow = _outcome(converter.structure, payload, CampaignStats)
    assert fast == slow or (isinstance(fast, type) and isinstance(slow, type))


def test_every_model_of_the_sdk_compiles() -> None:
    for model in (Lead, Campaign, CampaignStats, ExportedLead, CampaignReport):
        assert compiled(model) is not None, model
