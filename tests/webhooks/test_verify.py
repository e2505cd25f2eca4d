"""Verification as pure functions: signatures over raw bytes, then JSON, then the window."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings
from hypothesis import strategies as st

from ghl_sms.ghl import ConfigError, GhlError
from ghl_sms.webhooks import (
    ED25519_HEADER,
    RSA_HEADER,
    WebhookKeys,
    WebhookVerificationError,
    ghl_rsa_public_key,
    load_ed25519_public_key,
    load_rsa_public_key,
    verify_signature,
    verify_webhook,
)
from ghl_sms.webhooks.signing import encode_event, event, iso_timestamp, sign_ed25519, sign_rsa
from support.data import GHL_WEBHOOK_RSA_PEM
from webhooks.harness import KeyPairs

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def body_at(moment: float, **fields: object) -> bytes:
    return encode_event(
        event("InboundMessage", {"body": "hi", **fields}, now=moment, webhook_id="w1")
    )


def reason_of(raw: bytes, headers: dict[str, str], keys: WebhookKeys, now: float = NOW) -> str:
    with pytest.raises(WebhookVerificationError) as info:
        verify_webhook(raw, headers, keys=keys, now=now)
    return info.value.reason


# --- signatures -------------------------------------------------------------------------


def test_an_ed25519_signed_body_verifies_as_ed25519(ghl_keys: KeyPairs) -> None:
    raw = body_at(NOW)
    headers = {ED25519_HEADER: sign_ed25519(raw, ghl_keys.ed25519)}
    assert verify_signature(raw, headers, ghl_keys.public) == "ed25519"


def test_an_rsa_signed_body_verifies_as_rsa(ghl_keys: KeyPairs) -> None:
    raw = body_at(NOW)
    headers = {RSA_HEADER: sign_rsa(raw, ghl_keys.rsa)}
    assert verify_signature(raw, headers, ghl_keys.public) == "rsa"


def test_header_names_match_whatever_their_case(ghl_keys: KeyPairs) -> None:
    raw = body_at(NOW)
    headers = {"X-GHL-Signature": sign_ed25519(raw, ghl_keys.ed25519)}
    assert verify_signature(raw, headers, ghl_keys.public) == "ed25519"


def test_ed25519_decides_when_both_headers_come(ghl_keys: KeyPairs) -> None:
    raw = body_at(NOW)
    good_rsa = sign_rsa(raw, ghl_keys.rsa)
    bad_ed = sign_ed25519(raw + b" ", ghl_keys.ed25519)
    headers = {ED25519_HEADER: bad_ed, RSA_HEADER: good_rsa}
    with pytest.raises(WebhookVerificationError) as info:
        verify_signature(raw, headers, ghl_keys.public)
    assert info.value.reason == "bad_signature"


def test_the_rsa_header_counts_when_no_ed25519_key_is_configured(ghl_keys: KeyPairs) -> None:
    raw = body_at(NOW)
    headers = {
        ED25519_HEADER: sign_ed25519(raw, ghl_keys.ed25519),
        RSA_HEADER: sign_rsa(raw, ghl_keys.rsa),
    }
    assert verify_signature(raw, headers, WebhookKeys(rsa=(ghl_keys.rsa.public_key(),))) == "rsa"


@pytest.mark.parametrize("scheme", ["ed25519", "rsa"])
def test_a_tampered_body_is_a_bad_signature(ghl_keys: KeyPairs, scheme: str) -> None:
    raw = body_at(NOW, body="hi")
    headers = (
        {ED25519_HEADER: sign_ed25519(raw, ghl_keys.ed25519)}
        if scheme == "ed25519"
        else {RSA_HEADER: sign_rsa(raw, ghl_keys.rsa)}
    )
    tampered = raw.replace(b'"hi"', b'"STOP"')
    assert reason_of(tampered, headers, ghl_keys.public) == "bad_signature"


@pytest.mark.parametrize("scheme", ["ed25519", "rsa"])
def test_a_signature_by_another_key_is_a_bad_signature(
    ghl_keys: KeyPairs, forger_keys: KeyPairs, scheme: str
) -> None:
    raw = body_at(NOW)
    headers = (
        {ED25519_HEADER: sign_ed25519(raw, forger_keys.ed25519)}
        if scheme == "ed25519"
        else {RSA_HEADER: sign_rsa(raw, forger_keys.rsa)}
    )
    assert reason_of(raw, headers, ghl_keys.public) == "bad_signature"


@pytest.mark.parametrize(
    "value",
    ["not base64!", "", "  ", base64.b64encode(b"short").decode(), "A" * 87 + "="],
    ids=["junk", "empty", "blank", "too-short", "wrong-length"],
)
def test_garbage_in_the_ed25519_header_is_refused(ghl_keys: KeyPairs, value: str) -> None:
    raw = body_at(NOW)
    reason = reason_of(raw, {ED25519_HEADER: value}, ghl_keys.public)
    assert reason == ("missing_signature" if not value.strip() else "bad_signature")


def test_an_unsigned_delivery_is_a_missing_signature(ghl_keys: KeyPairs) -> None:
    assert reason_of(body_at(NOW), {}, ghl_keys.public) == "missing_signature"


def test_an_ed25519_header_without_a_key_for_it_is_a_missing_signature(ghl_keys: KeyPairs) -> None:
    raw = body_at(NOW)
    headers = {ED25519_HEADER: sign_ed25519(raw, ghl_keys.ed25519)}
    keys = WebhookKeys(rsa=(ghl_keys.rsa.public_key(),))
    assert reason_of(raw, headers, keys) == "missing_signature"


def test_with_rsa_switched_off_an_rsa_only_delivery_is_refused(ghl_keys: KeyPairs) -> None:
    raw = body_at(NOW)
    keys = WebhookKeys(ed25519=(ghl_keys.ed25519.public_key(),))
    assert reason_of(raw, {RSA_HEADER: sign_rsa(raw, ghl_keys.rsa)}, keys) == "missing_signature"


def test_any_of_several_keys_may_vouch_during_a_rotation(
    ghl_keys: KeyPairs, forger_keys: KeyPairs
) -> None:
    raw = body_at(NOW)
    keys = WebhookKeys(ed25519=(forger_keys.ed25519.public_key(), ghl_keys.ed25519.public_key()))
    headers = {ED25519_HEADER: sign_ed25519(raw, ghl_keys.ed25519)}
    assert verify_signature(raw, headers, keys) == "ed25519"


def test_the_error_is_a_ghl_error_with_a_reason(ghl_keys: KeyPairs) -> None:
    with pytest.raises(GhlError) as info:
        verify_signature(b"{}", {}, ghl_keys.public)
    assert isinstance(info.value, WebhookVerificationError)
    assert info.value.reason == "missing_signature"


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_flipped_byte_of_a_signed_body_fails_both_schemes(
    ghl_keys: KeyPairs, data: st.DataObject
) -> None:
    raw = body_at(NOW, body=data.draw(st.text(max_size=200), label="text"))
    headers = {
        ED25519_HEADER: sign_ed25519(raw, ghl_keys.ed25519),
        RSA_HEADER: sign_rsa(raw, ghl_keys.rsa),
    }
    position = data.draw(st.integers(0, len(raw) - 1), label="position")
    mask = data.draw(st.integers(1, 255), label="mask")
    flipped = bytearray(raw)
    flipped[position] ^= mask
    for keys in (
        WebhookKeys(ed25519=(ghl_keys.ed25519.public_key(),)),
        WebhookKeys(rsa=(ghl_keys.rsa.public_key(),)),
    ):
        assert verify_signature(raw, headers, keys)
        with pytest.raises(WebhookVerificationError) as info:
            verify_signature(bytes(flipped), headers, keys)
        assert info.value.reason == "bad_signature"


# --- after the signature: JSON and the window -------------------------------------------


def test_a_fresh_delivery_yields_its_event(ghl_keys: KeyPairs) -> None:
    raw = body_at(NOW - 10)
    verified = verify_webhook(
        raw, {ED25519_HEADER: sign_ed25519(raw, ghl_keys.ed25519)}, keys=ghl_keys.public, now=NOW
    )
    assert (verified.scheme, verified.event_type, verified.webhook_id, verified.dedupe_key) == (
        "ed25519",
        "InboundMessage",
        "w1",
        "w1",
    )
    assert verified.timestamp == NOW - 10
    assert verified.location_id == "ve9EPM428h8vShlRW1KT"
    assert verified.payload["body"] == "hi"


@pytest.mark.parametrize("offset", [-301.0, 301.0, -86_400.0])
def test_a_timestamp_outside_five_minutes_is_stale(ghl_keys: KeyPairs, offset: float) -> None:
    raw = body_at(NOW + offset)
    headers = {RSA_HEADER: sign_rsa(raw, ghl_keys.rsa)}
    assert reason_of(raw, headers, ghl_keys.public) == "stale"


@pytest.mark.parametrize("offset", [-300.0, 0.0, 300.0])
def test_a_timestamp_within_five_minutes_either_way_is_fresh(
    ghl_keys: KeyPairs, offset: float
) -> None:
    raw = body_at(NOW + offset)
    headers = {RSA_HEADER: sign_rsa(raw, ghl_keys.rsa)}
    assert verify_webhook(raw, headers, keys=ghl_keys.public, now=NOW).scheme == "rsa"


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1, 2]",
        b"\xff\xfe{}",
        b'{"type": "InboundMessage"}',
        b'{"type": "InboundMessage", "timestamp": "yesterday"}',
        b'{"timestamp": "2026-01-01T00:00:00Z"}',
        b'{"type": "X", "timestamp": 1e999}',
    ],
    ids=["text", "array", "not-utf8", "no-timestamp", "bad-timestamp", "no-type", "inf"],
)
def test_a_signed_body_that_is_no_event_is_malformed(ghl_keys: KeyPairs, raw: bytes) -> None:
    headers = {ED25519_HEADER: sign_ed25519(raw, ghl_keys.ed25519)}
    assert reason_of(raw, headers, ghl_keys.public) == "malformed"


def test_the_signature_is_checked_before_the_body_is_parsed(ghl_keys: KeyPairs) -> None:
    assert reason_of(b"not json", {ED25519_HEADER: "A" * 88}, ghl_keys.public) == "bad_signature"


@pytest.mark.parametrize(
    "value",
    [
        iso_timestamp(NOW),
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00+00:00",
        "2026-01-01T00:00:00",
        int(NOW * 1000),
        str(int(NOW * 1000)),
        NOW,
    ],
)
def test_timestamps_come_as_iso_or_epoch(ghl_keys: KeyPairs, value: object) -> None:
    raw = encode_event({"type": "X", "timestamp": value})
    headers = {ED25519_HEADER: sign_ed25519(raw, ghl_keys.ed25519)}
    assert verify_webhook(raw, headers, keys=ghl_keys.public, now=NOW).timestamp == NOW


def test_an_id_less_delivery_is_deduplicated_by_its_body(ghl_keys: KeyPairs) -> None:
    raw = encode_event({"type": "X", "timestamp": iso_timestamp(NOW)})
    headers = {ED25519_HEADER: sign_ed25519(raw, ghl_keys.ed25519)}
    verified = verify_webhook(raw, headers, keys=ghl_keys.public, now=NOW)
    assert verified.webhook_id is None and verified.dedupe_key.startswith("sha256:")


# --- keys -------------------------------------------------------------------------------


def test_ed25519_keys_load_from_pem_hex_base64_and_der(ghl_keys: KeyPairs) -> None:
    public = ghl_keys.ed25519.public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    forms: list[str | bytes] = [
        pem,
        pem.decode(),
        raw.hex(),
        raw.hex().upper(),
        base64.b64encode(raw).decode(),
        base64.b64encode(der).decode(),
        f"  {raw.hex()}\n",
    ]
    for form in forms:
        loaded = load_ed25519_public_key(form)
        assert (
            loaded.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw) == raw
        ), form


@pytest.mark.parametrize(
    "text", ["", "abc", "00" * 31, base64.b64encode(b"x" * 33).decode(), "-----BEGIN nonsense"]
)
def test_an_unusable_ed25519_key_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError):
        load_ed25519_public_key(text)


def test_an_rsa_key_where_ed25519_is_expected_is_a_config_error(ghl_keys: KeyPairs) -> None:
    pem = ghl_keys.rsa.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(ConfigError):
        load_ed25519_public_key(pem)
    ed_pem = ghl_keys.ed25519.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(ConfigError):
        load_rsa_public_key(ed_pem)
    with pytest.raises(ConfigError):
        load_rsa_public_key("not a key")


def test_the_shipped_ghl_key_is_ghls_published_4096_bit_key() -> None:
    key = ghl_rsa_public_key()
    assert key.key_size == 4096
    published = load_rsa_public_key(GHL_WEBHOOK_RSA_PEM.read_bytes())
    assert key.public_numbers() == published.public_numbers()


def test_loading_keys_defaults_rsa_to_ghls_key() -> None:
    keys = WebhookKeys.load()
    assert keys.ed25519 == ()
    assert [k.public_numbers() for k in keys.rsa] == [ghl_rsa_public_key().public_numbers()]
    assert not WebhookKeys.load(rsa=())
