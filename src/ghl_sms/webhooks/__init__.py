"""Receiving GHL webhooks: verification, the Starlette receiver, and what events do.

``ghl_sms.webhooks.signing`` signs deliveries with your own keys, for tests.
"""

from ghl_sms.webhooks._dispatch import (
    Dispatcher,
    OptOutHook,
    OptOutNotice,
    WebhookEvent,
)
from ghl_sms.webhooks._processor import Processor
from ghl_sms.webhooks._verify import (
    DEFAULT_TOLERANCE,
    ED25519_HEADER,
    RSA_HEADER,
    Reason,
    Scheme,
    VerifiedWebhook,
    WebhookKeys,
    WebhookVerificationError,
    ghl_rsa_public_key,
    load_ed25519_public_key,
    load_rsa_public_key,
    verify_signature,
    verify_webhook,
)
from ghl_sms.webhooks.app import DEFAULT_MAX_BODY_BYTES, WEBHOOK_PATH, create_app

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_TOLERANCE",
    "ED25519_HEADER",
    "RSA_HEADER",
    "WEBHOOK_PATH",
    "Dispatcher",
    "OptOutHook",
    "OptOutNotice",
    "Processor",
    "Reason",
    "Scheme",
    "VerifiedWebhook",
    "WebhookEvent",
    "WebhookKeys",
    "WebhookVerificationError",
    "create_app",
    "ghl_rsa_public_key",
    "load_ed25519_public_key",
    "load_rsa_public_key",
    "verify_signature",
    "verify_webhook",
]
