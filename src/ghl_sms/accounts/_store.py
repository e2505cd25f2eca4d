"""The agency login on disk: the OAuth app, the agency (Company) token pair and the
cached location tokens, in one JSON file with mode 0600, and a lock file beside it.

Every change is a read-modify-write under the lock (``TokenStore.locked``), so two
processes never lose each other's writes nor burn the same refresh token.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ghl_sms._settings import Secret
from ghl_sms.accounts._errors import AccountsError, LoginRequired
from ghl_sms.accounts._files import FileLock, check_private, write_private

__all__ = ["CachedToken", "CompanyLogin", "OAuthApp", "StoredTokens", "TokenStore"]

_FORMAT = 1


@dataclass(frozen=True)
class OAuthApp:
    """The marketplace app the agency installed."""

    client_id: str
    client_secret: Secret
    base_url: str
    app_id: str | None = None


@dataclass(frozen=True)
class CachedToken:
    """A location token and when to stop using it (``renew_at``, shortly before it expires)."""

    access_token: Secret
    expires_at: float
    renew_at: float
    scope: str = ""


@dataclass(frozen=True)
class CompanyLogin:
    """The agency's token pair. ``refresh_token`` rotates on every refresh."""

    company_id: str
    access_token: Secret
    refresh_token: Secret
    expires_at: float
    renew_at: float
    scope: str = ""
    approved_locations: tuple[str, ...] = ()
    user_type: str = "Company"


@dataclass(frozen=True)
class StoredTokens:
    app: OAuthApp
    company: CompanyLogin
    locations: Mapping[str, CachedToken] = field(default_factory=dict)

    def with_company(self, company: CompanyLogin) -> StoredTokens:
        return replace(self, company=company)

    def with_location(self, location_id: str, token: CachedToken) -> StoredTokens:
        return replace(self, locations={**self.locations, location_id: token})

    def without_location(self, location_id: str) -> StoredTokens:
        rest = {k: v for k, v in self.locations.items() if k != location_id}
        return replace(self, locations=rest)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "app": {
                "client_id": self.app.client_id,
                "client_secret": self.app.client_secret.reveal(),
                "base_url": self.app.base_url,
                "app_id": self.app.app_id,
            },
            "company": {
                "company_id": self.company.company_id,
                "access_token": self.company.access_token.reveal(),
                "refresh_token": self.company.refresh_token.reveal(),
                "expires_at": self.company.expires_at,
                "renew_at": self.company.renew_at,
                "scope": self.company.scope,
                "approved_locations": list(self.company.approved_locations),
                "user_type": self.company.user_type,
            },
            "locations": {
                location_id: {
                    "access_token": cached.access_token.reveal(),
                    "expires_at": cached.expires_at,
                    "renew_at": cached.renew_at,
                    "scope": cached.scope,
                }
                for location_id, cached in self.locations.items()
            },
        }

    @classmethod
    def from_json(cls, data: Any) -> StoredTokens:
        app = data["app"]
        company = data["company"]
        return cls(
            app=OAuthApp(
                client_id=str(app["client_id"]),
                client_secret=Secret(str(app["client_secret"])),
                base_url=str(app["base_url"]),
                app_id=app.get("app_id"),
            ),
            company=CompanyLogin(
                company_id=str(company["company_id"]),
                access_token=Secret(str(company["access_token"])),
                refresh_token=Secret(str(company["refresh_token"])),
                expires_at=float(company["expires_at"]),
                renew_at=float(company["renew_at"]),
                scope=str(company.get("scope", "")),
                approved_locations=tuple(company.get("approved_locations", ())),
                user_type=str(company.get("user_type", "Company")),
            ),
            locations={
                str(location_id): CachedToken(
                    access_token=Secret(str(cached["access_token"])),
                    expires_at=float(cached["expires_at"]),
                    renew_at=float(cached["renew_at"]),
                    scope=str(cached.get("scope", "")),
                )
                for location_id, cached in data.get("locations", {}).items()
            },
        )


class TokenStore:
    """The JSON file of one agency login (``oauth.json`` in the data dir)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = FileLock(path.with_name(path.name + ".lock"))

    def __repr__(self) -> str:
        return f"TokenStore({str(self.path)!r})"

    def exists(self) -> bool:
        return self.path.exists()

    def load(self) -> StoredTokens:
        """The stored login; ``LoginRequired`` when there is none."""
        if not self.path.exists():
            raise LoginRequired(
                f"Not logged in to an agency app ({self.path} does not exist).",
                hint="Run `ghl-sms login` (or use a sub-account profile: `ghl-sms locations add`).",
            )
        check_private(self.path, "the agency's OAuth tokens")
        try:
            return StoredTokens.from_json(json.loads(self.path.read_bytes()))
        except OSError as exc:
            raise AccountsError(f"Cannot read {self.path}: {exc.strerror or exc}.") from None
        except (ValueError, KeyError, TypeError, AttributeError):
            # Never quote the file: it is full of secrets.
            raise LoginRequired(
                f"The agency login in {self.path} is damaged.",
                hint="Run `ghl-sms login` again.",
            ) from None

    def save(self, tokens: StoredTokens) -> None:
        """Replace the file atomically (call it under ``lock`` after re-reading)."""
        write_private(self.path, json.dumps(tokens.to_json(), indent=2).encode("utf-8"))

    def clear(self) -> None:
        with self.lock:
            self.path.unlink(missing_ok=True)
