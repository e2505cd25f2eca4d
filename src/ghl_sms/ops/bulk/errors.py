"""The bulk engine's own refusals (``BulkEngine``); each says what to do next."""

from __future__ import annotations

from ghl_sms.ops.errors import OpsError, UsageError

__all__ = ["CampaignNotFound", "CampaignStateError", "NoRecipients"]


class CampaignNotFound(OpsError):
    """No campaign with this id in this store: like any unknown id, a failure (the CLI
    exits 1), not a usage error."""


class CampaignStateError(UsageError):
    """The campaign can't do that in its current state (resume a completed one...)."""


class NoRecipients(UsageError):
    """The source gave nobody to text (an unknown tag, an empty list): nothing is created."""
