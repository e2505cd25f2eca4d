"""The hints name what to fix where the token and location id came from: GHL_TOKEN and
GHL_LOCATION_ID, or a profile of the config file (which the face says: no env reads)."""

from __future__ import annotations

import pytest

from ghl_sms.ghl import AuthenticationError, GhlError, PermissionDeniedError
from ghl_sms.ops.hints import Credentials, hint_for

OTHER = "The token does not have access to this location."


def _error(cls: type[GhlError], message: str) -> GhlError:
    return cls(message, status_code=403, method="GET", path="/x", messages=[message])


@pytest.mark.parametrize(
    ("cls", "message"),
    [
        (PermissionDeniedError, OTHER),
        (PermissionDeniedError, "Forbidden"),
        (AuthenticationError, "Unauthorized"),
    ],
)
def test_a_profile_is_named_instead_of_the_environment(cls: type[GhlError], message: str) -> None:
    error = _error(cls, message)
    classic = hint_for(error) or ""
    assert "GHL_LOCATION_ID" in classic or "GHL_TOKEN" in classic
    assert "profile" not in classic
    profiled = hint_for(error, Credentials(profile="downtown")) or ""
    assert "profile downtown" in profiled
    assert "GHL_LOCATION_ID" not in profiled and "GHL_TOKEN" not in profiled


def test_the_way_to_pick_another_sub_account_is_the_faces() -> None:
    error = _error(PermissionDeniedError, OTHER)
    cli = hint_for(error, Credentials(profile="downtown")) or ""
    assert "--location" in cli
    mcp = hint_for(error, Credentials(profile="downtown", pick="the location argument")) or ""
    assert "the location argument" in mcp and "--location" not in mcp
    # Without a profile (GHL_TOKEN and GHL_LOCATION_ID) the words are as before.
    assert hint_for(error, Credentials()) == hint_for(error)
