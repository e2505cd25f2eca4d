"""A scratch PostgreSQL database for a benchmark: created, migrated, and dropped at the end.

from _scratch import add_url_argument, scratch_database

add_url_argument(parser)
with scratch_database(args.url) as url:
    ...
"""

from __future__ import annotations

import argparse
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

from ghl_sms.ops.storage.postgres import connect
from ghl_sms.ops.storage.schema import upgrade

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def add_url_argument(parser: argparse.ArgumentParser) -> None:
    """``--url``: the server to make the scratch database on (any database there)."""
    parser.add_argument(
        "--url",
        default=os.environ.get("GHL_SMS_BENCH_DATABASE_URL", DEFAULT_URL),
        help="a PostgreSQL database on the server to use (default: "
        "$GHL_SMS_BENCH_DATABASE_URL or %(default)s)",
    )


def database_url(url: str, name: str) -> str:
    """``url`` with its database replaced by ``name``."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@contextmanager
def scratch_database(url: str, prefix: str = "ghl_sms_bench") -> Iterator[str]:
    """A new database on ``url``'s server at ghl-sms's schema; dropped on the way out."""
    admin = connect(url)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        scratch = database_url(url, name)
        db = connect(scratch)
        upgrade(db)
        db.close()
        yield scratch
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
