"""One process of the two-process refresh test: it loads the agency login (whose token
it finds due for refresh), waits for "go" on stdin, then gets a location token and reads
its location through the API client.

    python tests/support/token_child.py STORE BASE_URL LOCATION_ID

Prints "ready", then one JSON line: when it got "go", the location's name, and a digest
of the agency token it ended with (never the token itself).
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

import anyio

from ghl_sms.accounts import TokenManager, TokenStore
from ghl_sms.ghl import GhlClient


async def main(store_path: str, base_url: str, location_id: str) -> None:
    async with TokenManager(TokenStore(Path(store_path))) as tokens:
        tokens.tokens()  # the stale login, as a long-running process would hold it
        print("ready", flush=True)
        sys.stdin.readline()
        go = time.time()
        await tokens.company_token()  # due for refresh in this process's (stale) view
        client = GhlClient(
            token_provider=tokens.provider(location_id), location_id=location_id, base_url=base_url
        )
        async with client:
            location = await client.get_location()
        agency = (await tokens.company_token()).encode()
    print(
        json.dumps({"go": go, "name": location.name, "agency": hashlib.sha256(agency).hexdigest()}),
        flush=True,
    )


if __name__ == "__main__":
    anyio.run(main, *sys.argv[1:4])
