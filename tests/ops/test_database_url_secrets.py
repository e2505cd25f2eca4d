"""A database URL's password never leaves the library in an error: ``connect()`` (and so
``Ledger.open``) hides it in the URL it shows and in the driver's reason, for every
shape a password takes in a URL; ``redact_url``/``scrub_secrets`` are what the faces use."""

from __future__ import annotations

import pytest

from ghl_sms._clock import FakeClock
from ghl_sms.ops.errors import LedgerUnusable
from ghl_sms.ops.ledger import Ledger
from ghl_sms.ops.storage.sql import redact_url, scrub_secrets, url_passwords

SECRET = "S3CRETpw"

# Nothing listens on port 1 of the loopback: each fails at once, before or while connecting.
SHAPES = [
    f"postgresql://postgres:{SECRET}@127.0.0.1:1/x",
    f"postgresql://postgres:{SECRET}@[::1/x",  # libpq quotes the URL it can't parse
    f"postgresql://:{SECRET}@127.0.0.1:1/db",  # no user name
    f"postgresql://u:{SECRET[:3]}@{SECRET[3:]}/x@127.0.0.1:1/db",  # an unescaped @ and /
    f"postgresql://u:{SECRET[:3]}/{SECRET[3:]}@127.0.0.1:1/db",  # an unescaped /
    f"postgresql:///db?host=127.0.0.1&port=1&password={SECRET}",
    f"postgresql://u:{SECRET[:3]} {SECRET[3:]}@127.0.0.1:1/db",  # libpq quotes it alone
    f"postgresql://u:{SECRET[:3]}%zz{SECRET[3:]}@127.0.0.1:1/db",  # ... and so here
]


def _pieces() -> tuple[str, ...]:
    return (SECRET, SECRET[:3] + " ", SECRET[3:])


@pytest.mark.parametrize("url", SHAPES)
def test_connect_errors_never_hold_the_password(url: str) -> None:
    pytest.importorskip("psycopg")
    from ghl_sms.ops.storage.postgres import connect

    for opening in (connect, lambda u: Ledger.open(u, FakeClock(0))):
        with pytest.raises(LedgerUnusable) as failed:
            opening(url)
        message = str(failed.value)
        assert "database" in message and "***" in message, message
        assert not any(piece in message for piece in _pieces()), message


def test_a_url_with_two_at_signs_is_refused_before_connecting() -> None:
    pytest.importorskip("psycopg")
    from ghl_sms.ops.storage.postgres import connect

    with pytest.raises(LedgerUnusable, match="more than one @.*%40"):
        connect(f"postgresql://u:{SECRET[:3]}@{SECRET[3:]}@127.0.0.1:1/db")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"postgresql://u:{SECRET}@h:5432/db", "postgresql://u:***@h:5432/db"),
        (f"postgresql://:{SECRET}@h/db", "postgresql://:***@h/db"),
        (f"postgresql://u:{SECRET[:3]}@/{SECRET[3:]}@h/db", "postgresql://u:***@h/db"),
        (f"postgresql://u:{SECRET[:3]} {SECRET[3:]}@h/db", "postgresql://u:***@h/db"),
        (f"postgresql:///db?host=h&Password={SECRET}&x=1", "postgresql:///db?host=h&Password=***&x=1"),
        ("postgresql://sms@db.internal:5432/sms", "postgresql://sms@db.internal:5432/sms"),
    ],
)  # fmt: skip
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_scrub_secrets_hides_urls_in_text_and_known_secrets_anywhere() -> None:
    text = f'in URI: "postgresql://u:{SECRET}@[::1/x" and host={SECRET[3:]} password={SECRET}'
    scrubbed = scrub_secrets(text, url_passwords(f"postgresql://u:{SECRET}@h/x"))
    assert SECRET not in scrubbed and "postgresql://u:***@[::1/x" in scrubbed
    assert scrub_secrets("see https://example.com/a:b@c") == "see https://example.com/a:b@c"
    found = url_passwords(f"postgresql://u:a%20b@h/x?password={SECRET}")
    assert sorted(found) == sorted(["a%20b", "a b", SECRET])  # as written and decoded
