"""Test keys and a receiver per test (see ``harness``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from webhooks.harness import KeyPairs, Receiver, key_pairs, make_receiver


@pytest.fixture(scope="session")
def ghl_keys() -> KeyPairs:
    """What GHL signs with (in these tests)."""
    return key_pairs()


@pytest.fixture(scope="session")
def forger_keys() -> KeyPairs:
    """Someone else's keys: well-formed signatures that must not be trusted."""
    return key_pairs()


@pytest.fixture
def receiver(ghl_keys: KeyPairs) -> Iterator[Receiver]:
    r = make_receiver(ghl_keys)
    yield r
    r.ledger.close()
