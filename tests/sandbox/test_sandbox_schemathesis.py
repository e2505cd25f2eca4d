"""Property-based conformance of the sandbox to GHL's own OpenAPI files (schemathesis).

In-process (Starlette's TestClient), limited to the operations the sandbox implements in
conversations.json, contacts.json and phone-system.json, a few examples each.

Positive cases get real ids and the demo location patched in, so most of them reach the
2xx paths, whose bodies are validated against the spec. Responses the real API is known
to shape differently from its spec are mapped back first (the README's deviations list):
``GET /conversations/messages/{id}`` is wrapped in ``message``, the messages list is
nested in ``messages``. Negative (schema-violating) cases must never produce a 5xx.
"""

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx2
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance
from starlette.testclient import TestClient

from ghl_sms.sandbox import OAUTH_APP, Sandbox
from support.data import SPEC_DIR

SPECS = SPEC_DIR
OPERATIONS = {
    "conversations.json": [
        "send-a-new-message", "cancel-scheduled-message", "get-message", "get-messages",
        "search-conversation", "get-conversation", "update-conversation", "delete-conversation",
        "create-conversation", "upload-file-attachments", "update-message-status",
        # Not add-an-inbound-message: the spec requires conversationProviderId, and an
        # unknown provider id is a 500 in the real API too (ISSUE #6); the sandbox has no
        # provider apps. tests/sandbox/test_sandbox_provider_routes.py covers it.
    ],
    "contacts.json": [
        "get-contact", "update-contact", "delete-contact", "create-contact", "upsert-contact",
        "search-contacts-advanced", "get-duplicate-contact",
    ],
    "phone-system.json": ["active-numbers", "getNumberPoolList"],
    "oauth.json": ["get-access-token", "get-location-access-token", "get-installed-location"],
}  # fmt: skip
# Statuses the real API answers although these operations do not declare them (ghl-api.md
# §2.1): 403 (another location), 404 (unknown message), 422 (class-validator), 415/413.
UNDECLARED_BUT_REAL = {403, 404, 413, 415, 422}
CREATED = {201}  # POST /oauth/locationToken answers 201 live (README deviations)


def _string_custom_field_values(body: Any) -> Any:
    # Custom field values keep their type (list, number, object), as the webhook docs show;
    # the contacts spec types every value as a string.
    contact = body.get("contact") if isinstance(body, dict) else None
    if isinstance(contact, dict):
        for field in contact.get("customFields") or []:
            if not isinstance(field.get("value"), str | None):
                field["value"] = json.dumps(field["value"])
    return body


# Where the live API's body differs from the spec's (ghl-api.md §9), map it back first.
UNWRAP: dict[str, Callable[[Any], Any]] = {
    "get-message": lambda body: body["message"],
    "get-messages": lambda body: body["messages"],
    "get-contact": _string_custom_field_values,
    "update-contact": _string_custom_field_values,
    "create-contact": _string_custom_field_values,
    "upsert-contact": _string_custom_field_values,
}

sandbox = Sandbox(burst_limit=10**9, daily_limit=10**9)
AUTH = {"Authorization": f"Bearer {sandbox.token}", "Version": "2021-04-15"}
_sent = (
    TestClient(sandbox.app)
    .post(
        "/conversations/messages",
        headers=AUTH,
        json={"type": "SMS", "contactId": sandbox.seed_ids["reachable"], "message": "seed"},
    )
    .json()
)
# The agency's routes take a Company token (OAuth; ghl-api.md §1.1).
_code = (
    TestClient(sandbox.app)
    .get(
        "/oauth/chooselocation",
        params={"response_type": "code", "client_id": OAUTH_APP.client_id, "approve": "1",
                "redirect_uri": "http://127.0.0.1/callback"},
        follow_redirects=False,
    )
    .headers["location"]
    .split("code=")[1]
)  # fmt: skip
COMPANY_TOKEN = (
    TestClient(sandbox.app)
    .post(
        "/oauth/token",
        data={"client_id": OAUTH_APP.client_id, "client_secret": OAUTH_APP.client_secret,
              "grant_type": "authorization_code", "code": _code},
    )
    .json()["access_token"]
)  # fmt: skip
COMPANY_AUTH = {"Authorization": f"Bearer {COMPANY_TOKEN}", "Version": "2021-07-28"}
KNOWN_IDS = {
    "companyId": sandbox.agency_id,
    "appId": OAUTH_APP.app_id,
    "locationId": sandbox.location_id,
    "contactId": sandbox.seed_ids["reachable"],
    "conversationId": _sent["conversationId"],
    "messageId": _sent["messageId"],
    "id": _sent["messageId"],
}


def _spec(name: str) -> dict[str, Any]:
    """The spec file with the shared error DTOs inlined and one spec bug fixed: the search
    ``startAfterDate`` parameter has ``type: "any"``, which is not a JSON Schema type."""
    spec: dict[str, Any] = json.loads((SPECS / name).read_text(encoding="utf-8"))
    common = json.loads((SPECS.parent / "common" / "common-schemas.json").read_text("utf-8"))
    spec["components"]["schemas"].update(common["components"]["schemas"])
    text = json.dumps(spec).replace("../common/common-schemas.json#/", "#/")
    text = text.replace('"type": "any"', '"type": ["number", "array"]')
    patched: dict[str, Any] = json.loads(text)
    get_message = patched["paths"].get("/conversations/messages/{id}", {}).get("get")
    if get_message is not None:  # the spec forgets to declare {id} (ghl-api.md §3.3)
        get_message["parameters"].append(
            {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
        )
    return patched


def _load(name: str, mode: str) -> Any:
    config = SchemathesisConfig.from_dict(
        {
            "generation": {"mode": mode, "max-examples": 8},
            "phases": {"coverage": {"enabled": False}},
        }
    )
    schema = schemathesis.openapi.from_dict(_spec(name), config=config)
    schema.app = sandbox.app  # in-process, through schemathesis' own ASGI client
    return schema.include(operation_id=OPERATIONS[name])


def _patch_ids(case: Any) -> None:
    """Point a positive case at things that exist, so the 2xx paths get exercised."""
    for container in (case.path_parameters, case.query):
        if isinstance(container, dict):
            for key in container:
                if key in KNOWN_IDS:
                    container[key] = KNOWN_IDS[key]
    if isinstance(case.body, dict):
        for key in ("contactId", "locationId", "companyId"):
            if key in case.body:
                case.body[key] = KNOWN_IDS[key]
        if case.operation.definition.raw.get("operationId") == "send-a-new-message":
            case.body["type"] = "SMS"


def _call(case: Any) -> Any:
    if case.operation.path.startswith("/oauth/"):
        return case.call(headers=COMPANY_AUTH)
    return case.call(headers=AUTH)


def _as_spec_shows_it(case: Any, response: Any) -> Any:
    operation_id = case.operation.definition.raw.get("operationId", "")
    unwrap = UNWRAP.get(operation_id)
    created = operation_id == "get-location-access-token" and response.status_code == 201
    if created:  # 201 live (README deviations); the spec declares its body under 200
        unwrap = unwrap or (lambda body: body)
    if unwrap is None or response.status_code >= 300 and not created:
        return response
    flat = httpx2.Response(
        200 if created else response.status_code,
        headers={"content-type": "application/json"},
        content=json.dumps(unwrap(response.json())).encode(),
        request=httpx2.Request(response.request.method, response.request.url),
    )
    flat.elapsed = timedelta(seconds=response.elapsed)
    return flat


def _declared(case: Any) -> set[int]:
    return {int(code) for code in case.operation.definition.raw["responses"] if code.isdigit()}


conversations = _load("conversations.json", "positive")
contacts = _load("contacts.json", "positive")
phone_system = _load("phone-system.json", "positive")
oauth = _load("oauth.json", "positive")
fuzz_conversations = _load("conversations.json", "negative")
fuzz_contacts = _load("contacts.json", "negative")
fuzz_oauth = _load("oauth.json", "negative")

SETTINGS = settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _check_positive(case: Any) -> None:
    _patch_ids(case)
    response = _call(case)
    assert response.status_code < 500, response.content
    assert response.status_code in _declared(case) | UNDECLARED_BUT_REAL | CREATED, (
        response.status_code,
        response.content,
    )
    case.validate_response(
        _as_spec_shows_it(case, response),
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
    )


@conversations.parametrize()
@SETTINGS
def test_conversation_operations_conform_to_the_spec(case: Any) -> None:
    _check_positive(case)


@contacts.parametrize()
@SETTINGS
def test_contact_operations_conform_to_the_spec(case: Any) -> None:
    _check_positive(case)


@phone_system.parametrize()
@SETTINGS
def test_phone_system_operations_conform_to_the_spec(case: Any) -> None:
    _check_positive(case)


@fuzz_conversations.parametrize()
@SETTINGS
def test_malformed_conversation_requests_never_get_a_5xx(case: Any) -> None:
    response = _call(case)
    assert response.status_code < 500, response.content


@fuzz_contacts.parametrize()
@SETTINGS
def test_malformed_contact_requests_never_get_a_5xx(case: Any) -> None:
    response = _call(case)
    assert response.status_code < 500, response.content


@oauth.parametrize()
@SETTINGS
def test_oauth_operations_conform_to_the_spec(case: Any) -> None:
    _check_positive(case)


@fuzz_oauth.parametrize()
@SETTINGS
def test_malformed_oauth_requests_never_get_a_5xx(case: Any) -> None:
    response = _call(case)
    assert response.status_code < 500, response.content
