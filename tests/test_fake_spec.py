"""The fake's 2xx bodies against the response schemas of lemlist's OpenAPI document.

jsonschema is not a dependency of the project, so `check` is a small validator
of the keywords these schemas use (``type``, ``properties``, ``items``,
``enum``, ``format``, ``$ref``, ``additionalProperties``). `SPEC` is an extract
of https://developer.lemlist.com/api-reference/openapi/v2.json (descriptions and
examples dropped); `test_the_extract_is_the_spec` compares it with a full copy
of the document when one is at hand.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urlsplit

import aiohttp
import pytest

from lemlist_async.testing import FakeLemlistServer

from .test_fake_server import auth, fetch

SPEC: Final[dict[str, Any]] = json.loads(
    """
{"responses": {"/leads/{email}": {"type": "array", "items": {"type": "object", "properties":
{"_id": {"type": "string"}, "updatedAt": {"type": "string", "format": "date-time"},
"isPaused": {"type": "boolean"}, "state": {"type": "string"}, "status": {"type": "string"},
"personalized": {"type": "boolean"}, "source": {"type": "string"}, "variables": {"type":
"object", "additionalProperties": true}, "contactId": {"type": "string"}, "enrichment":
{"type": "object", "properties": {"emailStatus": {"type": "string"}}}, "campaign": {"type":
"object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "status":
{"type": "string"}}}, "sendingUser": {"type": "object", "additionalProperties": true}}}},
"/leads": {"type": "object", "properties": {"email": {"type": "string", "format": "email"},
"firstName": {"type": "string"}, "lastName": {"type": "string"}, "companyName": {"type":
"string"}, "jobTitle": {"type": "string"}, "companyDomain": {"type": "string"}, "_id":
{"type": "string"}, "isPaused": {"type": "boolean"}, "campaignId": {"type": "string"},
"contactId": {"type": "string"}, "emailStatus": {"type": "string"}}}, "/activities":
{"type": "array", "items": {"$ref": "#/components/schemas/Activity"}}, "/team": {"$ref":
"#/components/schemas/Team"}, "/team/credits": {"$ref": "#/components/schemas/Credits"},
"/team/senders": {"type": "array", "items": {"type": "object", "properties": {"userId":
{"type": "string"}, "campaigns": {"type": "array", "items": {"type": "object", "properties":
{"_id": {"type": "string"}, "name": {"type": "string"}, "status": {"type": "string"},
"sendingChannels": {"type": "array", "items": {"type": "string"}}}}}}}}, "/hooks": {"type":
"array", "items": {"$ref": "#/components/schemas/Webhook"}}, "/v2/unsubscribes/variables":
{"type": "array", "items": {"$ref": "#/components/schemas/UnsubscribedVariable"}}},
"components": {"Activity": {"type": "object", "properties": {"_id": {"type": "string"},
"type": {"type": "string"}, "leadId": {"type": "string"}, "campaignId": {"type": "string"},
"sequenceId": {"type": "string"}, "stepId": {"type": "string"}, "sequenceStep": {"type":
"number"}, "totalSequenceStep": {"type": "number"}, "createdAt": {"type": "string",
"format": "date-time"}}}, "Credits": {"type": "object", "properties": {"credits": {"type":
"integer"}, "details": {"type": "object", "properties": {"remaining": {"type": "object",
"properties": {"total": {"type": "integer"}, "freemium": {"type": "integer"},
"subscription": {"type": "integer"}, "gifted": {"type": "integer"}, "paid": {"type":
"integer"}}}}}}}, "Webhook": {"type": "object", "properties": {"_id": {"type": "string"},
"targetUrl": {"type": "string", "format": "uri"}, "type": {"type": "string", "enum":
["contacted", "hooked", "attracted", "warmed", "interested", "notInterested", "emailsSent",
"emailsOpened", "emailsClicked", "emailsReplied", "emailsBounced", "emailsFailed",
"emailsInterested", "emailsNotInterested", "emailsUnsubscribed", "linkedinSent",
"linkedinOpened", "linkedinReplied", "linkedinInterested", "linkedinNotInterested",
"linkedinSendFailed", "linkedinVisitDone", "linkedinVisitFailed", "linkedinFollowDone",
"linkedinFollowFailed", "linkedinFollowSkipped", "linkedinInviteDone",
"linkedinInviteFailed", "linkedinInviteAccepted", "linkedinEndorseDone",
"linkedinEndorseFailed", "linkedinEndorseSkipped", "linkedinVoiceNoteDone",
"linkedinVoiceNoteFailed", "linkedinLikeLastPostDone", "linkedinLikeLastPostNoPost",
"linkedinLikeLastPostFailed", "linkedinWithdrawInvitationDone",
"linkedinWithdrawInvitationFailed", "whatsappMessageSent", "whatsappMessageDelivered",
"whatsappMessageOpened", "whatsappReplied", "whatsappMessageFailed", "smsSent",
"smsDelivered", "smsReplied", "smsFailed", "aircallCreated", "aircallEnded", "aircallDone",
"aircallInterested", "aircallNotInterested", "apiDone", "apiInterested", "apiNotInterested",
"apiFailed", "manualInterested", "manualNotInterested", "paused", "resumed", "stopped",
"campaignComplete", "customDomainErrors", "connectionIssue", "sendLimitReached",
"lemwarmPaused", "annotated", "enrichmentDone", "enrichmentError", "callRecordingDone",
"callTranscriptDone", "inboxLabelUpdated", "signalRegistered",
"deliverabilityAlertTriggered"]}, "campaignId": {"type": "string"}, "createdAt": {"type":
"string", "format": "date-time"}, "zapId": {"type": "integer"}}}, "UnsubscribedVariable":
{"type": "object", "properties": {"_id": {"type": "string"}, "value": {"type": "string"},
"source": {"type": "string", "enum": ["api", "bounced", "lead", "user", "abuse"]},
"createdAt": {"type": "string", "format": "date-time"}}}, "Team": {"type": "object",
"properties": {"_id": {"type": "string"}, "name": {"type": "string"}, "userIds": {"type":
"array", "items": {"type": "string"}}, "createdBy": {"type": "string"}, "createdAt":
{"type": "string", "format": "date-time"}, "hooks": {"type": "array", "items": {"$ref":
"#/components/schemas/Webhook"}}, "beta": {"type": "array", "items": {"type": "string"}},
"slackWebhook": {"type": "object", "properties": {"url": {"type": "string", "format":
"uri"}, "failCounter": {"type": "integer"}}}, "invitedUsers": {"type": "array", "items":
{"type": "object", "properties": {"email": {"type": "string", "format": "email"}, "role":
{"type": "string"}, "invitedBy": {"type": "string"}, "invitedAt": {"type": "string",
"format": "date-time"}}}}, "agency": {"type": "string"}, "pictureId": {"type": "string"},
"customDomain": {"type": "string"}, "users": {"type": "array", "items": {"type": "object",
"properties": {"userId": {"type": "string"}, "name": {"type": "string"}, "email": {"type":
"string", "format": "email"}, "role": {"type": "string"}}}}}}}}
"""
)
#: lemlist's OpenAPI document, as the tests' data holds it.
_FULL_SPEC: Final = Path(__file__).parent / "data" / "lemlist-openapi-v2.json"
_TYPES: Final[dict[str, tuple[type, ...]]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def check(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """What is wrong with ``value`` against ``schema`` (empty: it is valid)."""
    if "$ref" in schema:
        schema = SPEC["components"][schema["$ref"].rsplit("/", 1)[1]]
    errors: list[str] = []
    expected = schema.get("type")
    if expected is not None:
        is_bool = isinstance(value, bool)
        if not isinstance(value, _TYPES[expected]) or (is_bool and expected != "boolean"):
            return [f"{where}: {value!r} is not of type {expected}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} is not one of the enum")
    if isinstance(value, str) and not _has_format(value, schema.get("format")):
        errors.append(f"{where}: {value!r} is not a {schema['format']}")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for key, item in value.items():
            if key in properties:
                errors += check(item, properties[key], f"{where}.{key}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{where}: unexpected {key!r}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            errors += check(item, schema["items"], f"{where}[{index}]")
    return errors


def assert_matches_spec(body: Any, path: str) -> None:
    """Assert that ``body`` is a valid 200 answer of ``GET {path}`` (a spec path)."""
    errors = check(body, SPEC["responses"][path])
    assert not errors, errors[:10]


def _has_format(value: str, kind: str | None) -> bool:
    if kind == "date-time":
        try:
            return datetime.fromisoformat(value).tzinfo is not None
        except ValueError:
            return False
    if kind == "email":
        local, at, domain = value.rpartition("@")
        return bool(at and local and "." in domain)
    if kind == "uri":
        parts = urlsplit(value)
        return bool(parts.scheme and parts.netloc)
    return True


def test_the_extract_is_the_spec() -> None:
    full = _strip(json.loads(_FULL_SPEC.read_text(encoding="utf-8")))
    for path, schema in SPEC["responses"].items():
        content = full["paths"][path]["get"]["responses"]["200"]["content"]
        assert content["application/json"]["schema"] == schema, path
    for name, schema in SPEC["components"].items():
        assert full["components"]["schemas"][name] == schema, name


def _strip(value: Any) -> Any:
    """``value`` without descriptions and examples (but with properties of those names)."""
    if isinstance(value, list):
        return [_strip(item) for item in value]
    if not isinstance(value, dict):
        return value
    return {
        key: {name: _strip(v) for name, v in item.items()} if key == "properties" else _strip(item)
        for key, item in value.items()
        if key not in ("description", "example", "examples")
    }


def test_the_validator_finds_what_is_wrong() -> None:
    assert (
        check([{"_id": "uns_1", "source": "api"}], SPEC["responses"]["/v2/unsubscribes/variables"])
        == []
    )
    wrong = [{"_id": 1, "source": "nobody", "createdAt": "yesterday"}]
    errors = check(wrong, SPEC["responses"]["/v2/unsubscribes/variables"])
    assert len(errors) == 3
    assert check({"credits": True}, SPEC["components"]["Credits"]) != []
    assert check({"hooks": [{"targetUrl": "not a url"}]}, SPEC["components"]["Team"]) != []


@pytest.fixture
async def fake() -> AsyncIterator[FakeLemlistServer]:
    async with FakeLemlistServer(seed=31, campaigns=6, activities=400, hooks=3) as server:
        yield server


async def test_every_new_route_answers_the_spec(fake: FakeLemlistServer) -> None:
    email = fake.shared_lead_emails()[0]
    lead_id = fake.leads_by_email(email)[0]["_id"]
    calls = [
        ("/leads/{email}", f"/leads/{quote(email, safe='')}", {}),
        ("/leads", "/leads", {"email": email, "version": "v2"}),
        ("/leads", "/leads", {"id": lead_id}),
        ("/activities", "/activities", {"version": "v2"}),
        ("/activities", "/activities", {"version": "v2", "offset": "300"}),
        ("/team", "/team", {"version": "v2"}),
        ("/team", "/team", {}),
        ("/team/credits", "/team/credits", {}),
        ("/team/senders", "/team/senders", {}),
        ("/team/senders", "/team/senders", {"state": "running"}),
        ("/hooks", "/hooks", {}),
        ("/v2/unsubscribes/variables", "/v2/unsubscribes/variables", {"limit": "100"}),
    ]
    async with aiohttp.ClientSession(headers=auth(fake.api_key)) as session:
        for spec_path, path, params in calls:
            answer = await fetch(session, fake.base_url + path, params)
            assert answer.status == 200, (path, answer.text)
            assert answer.headers["Content-Type"].startswith("application/json")
            body = answer.json()
            assert body, path  # something to check
            assert_matches_spec(body, spec_path)


def test_the_accessors_answer_the_spec() -> None:
    fake = FakeLemlistServer(seed=32, campaigns=4, activities=300, hooks=(1, 3))
    assert_matches_spec(fake.activities(), "/activities")
    assert_matches_spec(fake.add_activities(5), "/activities")
    assert_matches_spec(fake.team(), "/team")
    assert_matches_spec(fake.team_credits(), "/team/credits")
    assert_matches_spec(fake.team_senders(), "/team/senders")
    assert_matches_spec(fake.hooks(), "/hooks")
    assert_matches_spec(fake.unsubscribes(), "/v2/unsubscribes/variables")
    for email in fake.shared_lead_emails():
        assert_matches_spec(fake.leads_by_email(email), "/leads/{email}")
        assert_matches_spec(fake.lead(email=email), "/leads")
