"""Bulk sends: paced, durable, exactly once (``BulkEngine`` is where to start).

The engine is built from small parts that a cluster-wide version swaps, not rewrites:

- ``CampaignStore``: campaigns and recipient rows with a ``not_before`` (SQLite now);
- ``Budget``: claims under GHL's request limits and the carrier caps, decided by one pure
  function over sliding windows (in memory, or SQLite shared by processes);
- ``Leases`` + ``Dispatcher``: one pump per location (SQLite leases: one per machine's
  processes; a PostgreSQL lease makes it one per cluster).
"""

from ghl_sms.ops.bulk.budget import (
    Budget,
    BudgetPacer,
    CapReached,
    Limit,
    MemoryBudget,
    Rule,
    SqliteBudget,
    plan_reservation,
)
from ghl_sms.ops.bulk.config import Connector, EngineConfig
from ghl_sms.ops.bulk.dispatcher import (
    Dispatcher,
    HeldLease,
    InProcessDispatcher,
    LeaseInfo,
    Leases,
    MemoryLeases,
    Owner,
    PumpRunner,
    SqliteLeases,
)
from ghl_sms.ops.bulk.engine import (
    BulkEngine,
    CampaignNotFound,
    CampaignStateError,
    NoRecipients,
)
from ghl_sms.ops.bulk.guards import Guards
from ghl_sms.ops.bulk.models import (
    Campaign,
    CampaignProgress,
    CampaignSpec,
    CampaignState,
    CampaignStatus,
    Cancelled,
    Caps,
    Preview,
    PreviewSample,
    ReasonCount,
    Recipient,
    RecipientState,
    RunSummary,
    SkipReason,
)
from ghl_sms.ops.bulk.pump import Until
from ghl_sms.ops.bulk.sources import (
    ContactIdsSource,
    CsvSource,
    RecipientSource,
    SourceError,
    TagSource,
)
from ghl_sms.ops.bulk.store import CampaignStore, SqliteCampaignStore
from ghl_sms.ops.bulk.template import MissingFields, Template, TemplateError
from ghl_sms.rules.send_window import SendWindow

__all__ = [
    "Budget",
    "BudgetPacer",
    "BulkEngine",
    "Campaign",
    "CampaignNotFound",
    "CampaignProgress",
    "CampaignSpec",
    "CampaignState",
    "CampaignStateError",
    "CampaignStatus",
    "CampaignStore",
    "Cancelled",
    "CapReached",
    "Caps",
    "Connector",
    "ContactIdsSource",
    "CsvSource",
    "Dispatcher",
    "EngineConfig",
    "Guards",
    "HeldLease",
    "InProcessDispatcher",
    "LeaseInfo",
    "Leases",
    "Limit",
    "MemoryBudget",
    "MemoryLeases",
    "MissingFields",
    "NoRecipients",
    "Owner",
    "Preview",
    "PreviewSample",
    "PumpRunner",
    "ReasonCount",
    "Recipient",
    "RecipientSource",
    "RecipientState",
    "Rule",
    "RunSummary",
    "SendWindow",
    "SkipReason",
    "SourceError",
    "SqliteBudget",
    "SqliteCampaignStore",
    "SqliteLeases",
    "TagSource",
    "Template",
    "TemplateError",
    "Until",
    "plan_reservation",
]
