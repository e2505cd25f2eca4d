"""tests/support/bulk_child.py (a campaign in a process of its own, on the SQLite ledger)
with the request budget given on the command line instead of its fast default:

    python tests/scale/embedded_child.py BURST WINDOW LEDGER URL TOKEN LOCATION send CSV TEXT
    python tests/scale/embedded_child.py BURST WINDOW LEDGER URL TOKEN LOCATION resume ID
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ghl_sms.ghl import RateLimits
from support import bulk_child

if __name__ == "__main__":
    burst, window, *rest = sys.argv[1:]
    bulk_child.FAST = RateLimits(burst=int(burst), window=float(window))
    anyio.run(bulk_child.main, rest)
