"""ghl-sms: text through GoHighLevel, safely.

The public surface, for scripts::

    from ghl_sms import GhlClient, Ledger, SendRequest, SmsService, SystemClock

The GHL client and its errors live in ``ghl_sms.ghl``, the pure SMS rules in
``ghl_sms.rules``, the operations and the ledger in ``ghl_sms.ops``, the emulator in
``ghl_sms.sandbox``.
"""

from typing import TYPE_CHECKING

from ghl_sms._lazy import lazy_exports

__version__ = "0.1.0"

# Imported on first use: `ghl-sms --help` and the MCP server start without them.
if TYPE_CHECKING:
    from ghl_sms._clock import Clock, FakeClock, SystemClock
    from ghl_sms.ghl import GhlClient, GhlError
    from ghl_sms.ops.ledger import Ledger
    from ghl_sms.ops.service import SendRequest, ServiceConfig, SmsService
else:
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "ghl_sms._clock": ("Clock", "FakeClock", "SystemClock"),
            "ghl_sms.ghl": ("GhlClient", "GhlError"),
            "ghl_sms.ops.ledger": ("Ledger",),
            "ghl_sms.ops.service": ("SendRequest", "ServiceConfig", "SmsService"),
        },
    )

__all__ = [
    "Clock",
    "FakeClock",
    "GhlClient",
    "GhlError",
    "Ledger",
    "SendRequest",
    "ServiceConfig",
    "SmsService",
    "SystemClock",
    "__version__",
]
