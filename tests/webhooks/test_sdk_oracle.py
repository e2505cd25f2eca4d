"""The official Python SDK (gohighlevel-api-client 3.0.0) as an independent oracle.

We sign with our own test keys and verify with both our code and the SDK's own
verification code paths (``WebhookManager.verify_ed25519_signature``,
``verify_signature`` and the ``subscribe()`` middleware): they must agree.
The SDK is imported only here (it brings httpx and takes ~2 s to import).
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from highlevel.logging import Logger
from highlevel.webhook import WebhookManager
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from ghl_sms.webhooks import (
    ED25519_HEADER,
    RSA_HEADER,
    WebhookKeys,
    WebhookVerificationError,
    verify_signature,
)
from ghl_sms.webhooks.signing import encode_event, event, sign_ed25519, sign_rsa
from webhooks.harness import KeyPairs

NOW = 1_767_225_600.0

# The SDK prints to stdout unless its logger is silenced.
SDK = WebhookManager(Logger("none"), None, None)


def ours(body: bytes, headers: dict[str, str], keys: WebhookKeys) -> bool:
    try:
        verify_signature(body, headers, keys)
    except WebhookVerificationError:
        return False
    return True


def pem(key: Any) -> str:
    return str(
        key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
    )


def raw_forms(keys: KeyPairs) -> list[str]:
    """The Ed25519 public key as the SDK accepts it: PEM, hex and base64 of the raw bytes."""
    public = keys.ed25519.public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return [pem(public), raw.hex(), base64.b64encode(raw).decode()]


REALISTIC = [
    event(
        "InboundMessage",
        {"body": "STOP 🛑 — ¿no más?", "messageId": "m1", "contactId": "c1",
         "messageType": "SMS", "from": "+14155550100", "attachments": []},
        now=NOW, webhook_id="w1",
    ),
    event(
        "OutboundMessage",
        {"messageId": "m2", "status": "failed", "error": {"code": "30007", "message": "x"},
         "messageType": "SMS", "messageTypeId": 2, "messageTypeString": "TYPE_SMS"},
        now=NOW, webhook_id="w2",
    ),
    event(
        "ContactDndUpdate",
        {"id": "c1", "dnd": True, "dndSettings": {"SMS": {"status": "permanent", "code": "103"}}},
        now=NOW, webhook_id="w3",
    ),
    event(
        "ConversationUnreadUpdate",
        {"id": "cv1", "unreadCount": 3, "inbox": True, "starred": False, "deleted": False},
        now=NOW, webhook_id="w4",
    ),
    event(
        "InboundMessage",
        {"messageType": "Email", "body": "<div>" + "Hello, world! " * 2000 + "</div>"},
        now=NOW, webhook_id="w5",
    ),
]  # fmt: skip


@pytest.mark.parametrize("payload", REALISTIC, ids=[p["webhookId"] for p in REALISTIC])
def test_the_sdk_and_we_accept_the_same_ed25519_signatures(
    ghl_keys: KeyPairs, payload: dict[str, Any]
) -> None:
    body = encode_event(payload)
    signature = sign_ed25519(body, ghl_keys.ed25519)
    assert ours(body, {ED25519_HEADER: signature}, ghl_keys.public)
    for key in raw_forms(ghl_keys):
        assert SDK.verify_ed25519_signature(body.decode(), signature, key), key


@pytest.mark.parametrize("payload", REALISTIC, ids=[p["webhookId"] for p in REALISTIC])
def test_the_sdk_and_we_accept_the_same_rsa_signatures(
    ghl_keys: KeyPairs, payload: dict[str, Any]
) -> None:
    body = encode_event(payload)
    signature = sign_rsa(body, ghl_keys.rsa)
    assert ours(body, {RSA_HEADER: signature}, ghl_keys.public)
    assert SDK.verify_signature(body.decode(), signature, pem(ghl_keys.rsa.public_key()))


@settings(max_examples=75, deadline=None)
@given(
    text=st.text(max_size=300),
    mutation=st.sampled_from(["none", "body", "signature", "key"]),
    data=st.data(),
)
def test_the_sdk_and_we_agree_on_every_delivery_whatever_was_changed(
    ghl_keys: KeyPairs, forger_keys: KeyPairs, text: str, mutation: str, data: st.DataObject
) -> None:
    body = encode_event(event("InboundMessage", {"body": text}, now=NOW, webhook_id="w"))
    ed_sig = base64.b64decode(sign_ed25519(body, ghl_keys.ed25519))
    rsa_sig = base64.b64decode(sign_rsa(body, ghl_keys.rsa))
    keys = ghl_keys
    if mutation == "body":
        i = data.draw(st.integers(0, len(body) - 1))
        body = body[:i] + bytes([body[i] ^ data.draw(st.integers(1, 255))]) + body[i + 1 :]
    elif mutation == "signature":
        i, mask = data.draw(st.integers(0, 63)), data.draw(st.integers(1, 255))
        ed_sig = ed_sig[:i] + bytes([ed_sig[i] ^ mask]) + ed_sig[i + 1 :]
        rsa_sig = rsa_sig[:i] + bytes([rsa_sig[i] ^ mask]) + rsa_sig[i + 1 :]
    elif mutation == "key":
        keys = forger_keys
    ed_b64, rsa_b64 = base64.b64encode(ed_sig).decode(), base64.b64encode(rsa_sig).decode()
    # The SDK verifies over text: the raw bytes decoded (invalid UTF-8 replaced).
    text_body = body.decode("utf-8", errors="replace")

    ed_ours = ours(body, {ED25519_HEADER: ed_b64}, keys.public)
    ed_sdk = SDK.verify_ed25519_signature(text_body, ed_b64, raw_forms(keys)[1])
    rsa_ours = ours(body, {RSA_HEADER: rsa_b64}, keys.public)
    rsa_sdk = SDK.verify_signature(text_body, rsa_b64, pem(keys.rsa.public_key()))
    expected = mutation == "none"
    assert (ed_ours, ed_sdk, rsa_ours, rsa_sdk) == (expected,) * 4


@pytest.fixture
def sdk_env(ghl_keys: KeyPairs, monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment the SDK's middleware reads its keys and app id from."""
    monkeypatch.setenv("CLIENT_ID", "65f0c0ffee0000000000test-abcdef")
    monkeypatch.setenv("WEBHOOK_SIGNATURE_PUBLIC_KEY", raw_forms(ghl_keys)[0])
    monkeypatch.setenv("WEBHOOK_PUBLIC_KEY", pem(ghl_keys.rsa.public_key()))


async def sdk_middleware_verdict(body: bytes, headers: dict[str, str]) -> tuple[Any, Any]:
    """Run the SDK's own ``subscribe()`` middleware on a request; (valid?, scheme)."""
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/webhooks/ghl",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    request = Request(scope, receive)
    await SDK.subscribe()(request)
    return request.state.is_signature_valid, request.state.signature_type


@pytest.mark.anyio
@pytest.mark.usefixtures("sdk_env")
@pytest.mark.parametrize(
    ("signed_with", "tamper", "expected"),
    [
        (("ed25519", "rsa"), False, (True, "ed25519")),
        (("rsa",), False, (True, "rsa")),
        (("ed25519",), True, (False, "ed25519")),
        (("rsa",), True, (False, "rsa")),
    ],
)
async def test_the_sdk_middleware_reaches_our_verdict_and_scheme(
    ghl_keys: KeyPairs, signed_with: tuple[str, ...], tamper: bool, expected: tuple[bool, str]
) -> None:
    body = encode_event(REALISTIC[0])
    headers = {"content-type": "application/json"}
    if "ed25519" in signed_with:
        headers[ED25519_HEADER] = sign_ed25519(body, ghl_keys.ed25519)
    if "rsa" in signed_with:
        headers[RSA_HEADER] = sign_rsa(body, ghl_keys.rsa)
    if tamper:
        body = body.replace(b"STOP", b"STAY")
    assert await sdk_middleware_verdict(body, headers) == expected
    try:
        ours_verdict: tuple[bool, str] = (True, verify_signature(body, headers, ghl_keys.public))
    except WebhookVerificationError:
        ours_verdict = (False, expected[1])
    assert ours_verdict == expected


def test_we_refuse_junk_around_a_valid_signature_which_the_sdk_lets_through(
    ghl_keys: KeyPairs,
) -> None:
    # The SDK decodes base64 leniently (non-alphabet characters are dropped); we don't.
    body = encode_event(REALISTIC[0])
    padded = "!" + sign_ed25519(body, ghl_keys.ed25519)
    assert SDK.verify_ed25519_signature(body.decode(), padded, raw_forms(ghl_keys)[1])
    assert not ours(body, {ED25519_HEADER: padded}, ghl_keys.public)
