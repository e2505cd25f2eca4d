"""Which sub-account a command talks to, and with which token.

``--location`` takes a profile name or a location id. A name picks that profile; an id
picks the profile for it, else a location token of the agency login, else GHL_TOKEN.
Without ``--location``: GHL_LOCATION_ID (with GHL_TOKEN, exactly as before profiles
existed), else the config's default profile (or its only one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ghl_sms._settings import Secret
from ghl_sms.accounts._errors import AccountsError
from ghl_sms.accounts._profiles import AccountsConfig, Profile
from ghl_sms.accounts._store import TokenStore
from ghl_sms.accounts._vault import Vault

__all__ = ["Credentials", "resolve_credentials"]


@dataclass(frozen=True)
class Credentials:
    """Where a command's requests go: a location id and a token, or the agency login."""

    location_id: str | None
    token: Secret | None = None
    oauth: bool = False
    """The token is a location token of the agency login (``TokenManager``)."""
    profile: str | None = None
    source: str = "GHL_TOKEN"
    """For people: ``GHL_TOKEN``, ``profile NAME`` or ``agency login``."""


def _from_profile(profile: Profile, environ: Mapping[str, str], vault: Vault | None) -> Credentials:
    return Credentials(
        location_id=profile.location_id,
        token=profile.resolve_token(environ, vault),
        profile=profile.name,
        source=f"profile {profile.name}",
    )


def resolve_credentials(
    wanted: str | None,
    *,
    env_location: str | None,
    env_token: Secret | None,
    load_config: Callable[[], AccountsConfig],
    store: TokenStore | None,
    environ: Mapping[str, str],
    vault: Vault | None,
) -> Credentials:
    """The credentials for ``wanted`` (a ``--location`` value: name or id, or None).

    The config file is read only when it can matter, so the classic GHL_TOKEN +
    GHL_LOCATION_ID setup never touches it.
    """
    wanted = wanted.strip() if wanted else None
    if not wanted:
        if env_location:
            if env_token:
                return Credentials(location_id=env_location, token=env_token)
            wanted = env_location
        else:
            return _default(load_config(), env_token, store, environ, vault)
    config = load_config()
    profile = config.find(wanted)
    if profile is not None:
        return _from_profile(profile, environ, vault)
    if store is not None and store.exists():
        return Credentials(location_id=wanted, oauth=True, source="agency login")
    if env_token:
        return Credentials(location_id=wanted, token=env_token)
    if config.profiles:
        raise config.unknown(wanted)
    return Credentials(location_id=wanted)  # the caller says that no token is set


def _default(
    config: AccountsConfig,
    env_token: Secret | None,
    store: TokenStore | None,
    environ: Mapping[str, str],
    vault: Vault | None,
) -> Credentials:
    profile = config.default_profile()
    if profile is not None:
        return _from_profile(profile, environ, vault)
    if len(config.profiles) > 1:
        raise AccountsError(
            f"{len(config.profiles)} sub-accounts are configured ({', '.join(config.profiles)}) "
            "and none is the default.",
            hint="Pass --location NAME, or set one with `ghl-sms locations default NAME`.",
        )
    if env_token is None and store is not None and store.exists():
        raise AccountsError(
            "Which sub-account? The agency login reaches several.",
            hint="Pass --location ID (`ghl-sms locations` lists them), or set GHL_LOCATION_ID.",
        )
    return Credentials(location_id=None, token=env_token)
