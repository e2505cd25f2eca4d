"""The official Node SDK (@gohighlevel/api-client 3.1.0) as a second oracle.

One ``node`` process verifies a batch of deliveries with the SDK's own
``WebhookManager.verifyEd25519Signature`` and (deprecated) ``verifySignature``; its
verdicts must equal ours. Skipped unless Node and the pinned SDK are installed:

    npm ci --prefix tests/webhooks/node
"""

from __future__ import annotations

import base64
import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from ghl_sms.webhooks import ED25519_HEADER, RSA_HEADER, WebhookKeys, WebhookVerificationError
from ghl_sms.webhooks import verify_signature as verify
from ghl_sms.webhooks.signing import encode_event, event, sign_ed25519, sign_rsa
from webhooks.harness import KeyPairs

NODE_DIR = Path(__file__).parent / "node"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    NODE is None or not (NODE_DIR / "node_modules" / "@gohighlevel" / "api-client").is_dir(),
    reason="needs node and `npm ci --prefix tests/webhooks/node`",
)

NOW = 1_767_225_600.0


def node_verdicts(cases: list[dict[str, str]]) -> list[bool]:
    assert NODE is not None
    done = subprocess.run(
        [NODE, "verify.js"],
        cwd=NODE_DIR,
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    verdicts: list[bool] = json.loads(done.stdout)
    return verdicts


def ed25519_key_forms(keys: KeyPairs) -> list[str]:
    public = keys.ed25519.public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return [pem.decode(), raw.hex(), base64.b64encode(raw).decode(), base64.b64encode(der).decode()]


def rsa_pem(keys: KeyPairs) -> str:
    return (
        keys.rsa.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def our_verdict(case: dict[str, str], keys: WebhookKeys) -> bool:
    header = ED25519_HEADER if case["scheme"] == "ed25519" else RSA_HEADER
    try:
        verify(base64.b64decode(case["body"]), {header: case["signature"]}, keys)
    except WebhookVerificationError:
        return False
    return True


def flip(data: bytes, rng: random.Random) -> bytes:
    i = rng.randrange(len(data))
    return data[:i] + bytes([data[i] ^ rng.randrange(1, 256)]) + data[i + 1 :]


def test_the_node_sdk_and_we_reach_the_same_verdicts(
    ghl_keys: KeyPairs, forger_keys: KeyPairs
) -> None:
    rng = random.Random(0)
    cases: list[dict[str, str]] = []
    expected: list[bool] = []
    for n in range(60):
        text = "".join(rng.choice('STOPstop héllo 🛑 "\\\n') for _ in range(rng.randrange(80)))
        body = encode_event(event("InboundMessage", {"body": text}, now=NOW, webhook_id=f"w{n}"))
        mutation = ("none", "body", "signature", "key")[n % 4]
        signer = forger_keys if mutation == "key" else ghl_keys
        ed_sig = base64.b64decode(sign_ed25519(body, signer.ed25519))
        rsa_sig = base64.b64decode(sign_rsa(body, signer.rsa))
        if mutation == "body":
            body = flip(body, rng)
        elif mutation == "signature":
            ed_sig, rsa_sig = flip(ed_sig, rng), flip(rsa_sig, rng)
        raw = base64.b64encode(body).decode()
        for key in ed25519_key_forms(ghl_keys):
            sig = base64.b64encode(ed_sig).decode()
            cases.append({"scheme": "ed25519", "body": raw, "signature": sig, "key": key})
        cases.append(
            {
                "scheme": "rsa",
                "body": raw,
                "signature": base64.b64encode(rsa_sig).decode(),
                "key": rsa_pem(ghl_keys),
            }
        )
        expected += [mutation == "none"] * 5
    ours = [our_verdict(case, ghl_keys.public) for case in cases]
    assert ours == expected
    assert node_verdicts(cases) == ours


def test_the_node_sdk_verifies_the_raw_bytes_we_sign_not_a_reserialisation(
    ghl_keys: KeyPairs,
) -> None:
    # Spaced-out JSON: a verifier that re-serialised the parsed body would fail here.
    payload: dict[str, Any] = event("InboundMessage", {"body": "STOP"}, now=NOW)
    body = json.dumps(payload, indent=2).encode()
    case = {
        "scheme": "ed25519",
        "body": base64.b64encode(body).decode(),
        "signature": sign_ed25519(body, ghl_keys.ed25519),
        "key": ed25519_key_forms(ghl_keys)[0],
    }
    assert node_verdicts([case]) == [our_verdict(case, ghl_keys.public)] == [True]
