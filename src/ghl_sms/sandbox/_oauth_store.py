"""SQLite state of the agency side: companies, the marketplace app, its installs, and
the OAuth codes and tokens (tables from migration ``m002_agency_oauth``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ghl_sms.sandbox.store import SandboxStore

__all__ = ["AppRow", "CodeRow", "OAuthStore", "TokenRow"]

JsonDict = dict[str, Any]

OAUTH_TABLES = ("oauth_tokens", "oauth_codes", "app_installs", "oauth_apps", "companies")


@dataclass(frozen=True, slots=True)
class AppRow:
    client_id: str
    client_secret: str = field(repr=False)
    app_id: str
    version_id: str
    company_id: str
    data: JsonDict  # name, scopes, redirectUris

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(self.data.get("scopes") or ())

    @property
    def redirect_uris(self) -> tuple[str, ...]:
        return tuple(self.data.get("redirectUris") or ())


@dataclass(frozen=True, slots=True)
class CodeRow:
    code: str = field(repr=False)
    client_id: str
    company_id: str
    location_id: str | None
    redirect_uri: str
    scopes: str
    expires_at: float
    used: bool


@dataclass(frozen=True, slots=True)
class TokenRow:
    token: str = field(repr=False)
    kind: str  # "access" | "refresh"
    client_id: str
    user_type: str  # "Company" | "Location"
    company_id: str
    location_id: str | None
    scopes: str
    expires_at: float
    used: bool


class OAuthStore:
    """Queries over the sandbox connection; callers hold ``SandboxStore.transaction()``."""

    def __init__(self, store: SandboxStore) -> None:
        self.store = store

    @property
    def _conn(self) -> Any:
        return self.store.conn

    def wipe(self) -> None:
        with self.store.transaction():
            for table in OAUTH_TABLES:
                self._conn.execute(f"DELETE FROM {table}")  # fixed table names, not input

    # -- companies --------------------------------------------------------------------

    def insert_company(self, company: JsonDict) -> None:
        self._conn.execute(
            "INSERT INTO companies (id, data) VALUES (?, ?)", (company["id"], json.dumps(company))
        )

    def get_company(self, company_id: str) -> JsonDict | None:
        row = self._conn.execute(
            "SELECT data FROM companies WHERE id = ?", (company_id,)
        ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def list_companies(self) -> list[JsonDict]:
        rows = self._conn.execute("SELECT data FROM companies ORDER BY rowid").fetchall()
        return [dict(json.loads(row[0])) for row in rows]

    # -- apps and installs ------------------------------------------------------------

    def insert_app(self, app: AppRow) -> None:
        self._conn.execute(
            "INSERT INTO oauth_apps (client_id, client_secret, app_id, version_id, company_id,"
            " data) VALUES (?, ?, ?, ?, ?, ?)",
            (
                app.client_id,
                app.client_secret,
                app.app_id,
                app.version_id,
                app.company_id,
                json.dumps(app.data),
            ),
        )

    def _app(self, where: str, value: str) -> AppRow | None:
        row = self._conn.execute(
            "SELECT client_id, client_secret, app_id, version_id, company_id, data"
            f" FROM oauth_apps WHERE {where} = ?",  # where is one of two fixed column names
            (value,),
        ).fetchone()
        if row is None:
            return None
        return _app_row(row)

    def app_by_client(self, client_id: str) -> AppRow | None:
        return self._app("client_id", client_id)

    def app_by_id(self, app_id: str) -> AppRow | None:
        return self._app("app_id", app_id)

    def list_apps(self) -> list[AppRow]:
        rows = self._conn.execute(
            "SELECT client_id, client_secret, app_id, version_id, company_id, data"
            " FROM oauth_apps ORDER BY rowid"
        ).fetchall()
        return [_app_row(row) for row in rows]

    def install(self, app_id: str, location_id: str, company_id: str, at: float) -> None:
        self._conn.execute(
            "INSERT INTO app_installs (app_id, location_id, company_id, installed_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT(app_id, location_id) DO NOTHING",
            (app_id, location_id, company_id, at),
        )

    def uninstall(self, app_id: str, location_id: str) -> None:
        self._conn.execute(
            "DELETE FROM app_installs WHERE app_id = ? AND location_id = ?", (app_id, location_id)
        )

    def installs(self, app_id: str, company_id: str) -> dict[str, float]:
        """Location id -> installed at, in install order."""
        rows = self._conn.execute(
            "SELECT location_id, installed_at FROM app_installs"
            " WHERE app_id = ? AND company_id = ? ORDER BY rowid",
            (app_id, company_id),
        ).fetchall()
        return {str(r[0]): float(r[1]) for r in rows}

    def company_locations(self, company_id: str) -> list[JsonDict]:
        return [loc for loc in self.store.list_locations() if loc.get("companyId") == company_id]

    # -- codes ------------------------------------------------------------------------

    def insert_code(self, code: CodeRow) -> None:
        self._conn.execute(
            "INSERT INTO oauth_codes (code, client_id, company_id, location_id, redirect_uri,"
            " scopes, expires_at, used) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                code.code,
                code.client_id,
                code.company_id,
                code.location_id,
                code.redirect_uri,
                code.scopes,
                code.expires_at,
                int(code.used),
            ),
        )

    def get_code(self, code: str) -> CodeRow | None:
        row = self._conn.execute(
            "SELECT code, client_id, company_id, location_id, redirect_uri, scopes, expires_at,"
            " used FROM oauth_codes WHERE code = ?",
            (code,),
        ).fetchone()
        if row is None:
            return None
        return CodeRow(
            str(row[0]), str(row[1]), str(row[2]), row[3], str(row[4]), str(row[5]),
            float(row[6]), bool(row[7]),
        )  # fmt: skip

    def use_code(self, code: str) -> None:
        self._conn.execute("UPDATE oauth_codes SET used = 1 WHERE code = ?", (code,))

    # -- tokens -----------------------------------------------------------------------

    def insert_token(self, token: TokenRow) -> None:
        self._conn.execute(
            "INSERT INTO oauth_tokens (token, kind, client_id, user_type, company_id,"
            " location_id, scopes, expires_at, used) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                token.token,
                token.kind,
                token.client_id,
                token.user_type,
                token.company_id,
                token.location_id,
                token.scopes,
                token.expires_at,
                int(token.used),
            ),
        )

    def get_token(self, token: str) -> TokenRow | None:
        row = self._conn.execute(
            "SELECT token, kind, client_id, user_type, company_id, location_id, scopes,"
            " expires_at, used FROM oauth_tokens WHERE token = ?",
            (token,),
        ).fetchone()
        if row is None:
            return None
        return TokenRow(
            str(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]), row[5],
            str(row[6]), float(row[7]), bool(row[8]),
        )  # fmt: skip

    def use_token(self, token: str) -> None:
        self._conn.execute("UPDATE oauth_tokens SET used = 1 WHERE token = ?", (token,))

    def count_tokens(self, kind: str) -> int:
        row = self._conn.execute("SELECT COUNT(*) FROM oauth_tokens WHERE kind = ?", (kind,))
        return int(row.fetchone()[0])


def _app_row(row: tuple[Any, ...]) -> AppRow:
    return AppRow(
        str(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]), json.loads(row[5])
    )
