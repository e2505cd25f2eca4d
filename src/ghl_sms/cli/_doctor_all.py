"""``ghl-sms doctor --all``: the doctor's checks for every configured sub-account (each
profile, and each location the agency login reaches), as one table."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import anyio
import click

from ghl_sms._settings import Settings
from ghl_sms.accounts import AccountsError, SystemKeyring, TokenManager, TokenStore
from ghl_sms.cli._app import EXIT_FAILED, EXIT_USAGE, AppContext, CommandError, emit_json
from ghl_sms.cli._credentials import load_config, merged_environ, oauth_store_path
from ghl_sms.ghl import GhlError

__all__ = ["doctor_all"]


@dataclass
class _Target:
    name: str
    location_id: str
    source: str
    settings: Settings | None
    problem: str | None = None


@dataclass
class _Row:
    target: _Target
    status: str
    detail: str
    checks: list[Any]


def _targets(app: AppContext, settings: Settings, config: Path) -> list[_Target]:
    environ = merged_environ(app.environ, None)
    targets: list[_Target] = []
    if not settings.sandbox:
        vault = SystemKeyring()
        for profile in load_config(config).profiles.values():
            try:
                token = profile.resolve_token(environ, vault)
            except AccountsError as exc:
                targets.append(
                    _Target(profile.name, profile.location_id, profile.source, None, exc.message)
                )
                continue
            own = replace(settings, location_id=profile.location_id, token=token)
            targets.append(_Target(profile.name, profile.location_id, profile.source, own))
    store = TokenStore(oauth_store_path(settings))
    if store.exists():
        covered = {t.location_id for t in targets}
        for location_id, name in _installed(app, settings, store):
            if location_id not in covered:
                own = replace(settings, location_id=location_id, token=None, oauth_store=store.path)
                targets.append(_Target(name, location_id, "agency login", own))
    elif settings.sandbox:
        targets.append(_Target("sandbox", str(settings.location_id or "demo"), "sandbox", settings))
    return targets


def _installed(app: AppContext, settings: Settings, store: TokenStore) -> list[tuple[str, str]]:
    async def main() -> list[tuple[str, str]]:
        sandbox = app._sandbox(settings) if settings.sandbox else None
        transport = sandbox.transport() if sandbox is not None else app.http_transport
        try:
            async with TokenManager(store, clock=app.clock, transport=transport) as tokens:
                return [(loc.id, loc.name) for loc in await tokens.installed_locations()]
        finally:
            if sandbox is not None:
                sandbox.close()

    try:
        return anyio.run(main)
    except (AccountsError, GhlError) as exc:
        raise CommandError(
            f"The agency login's locations could not be listed: {exc.message}",
            EXIT_FAILED,
            hint=getattr(exc, "hint", None),
        ) from None


def _summary(checks: list[Any]) -> tuple[str, str]:
    for status in ("fail", "warn"):
        bad = [c for c in checks if c.status == status]
        if bad:
            more = f" (+{len(bad) - 1} more)" if len(bad) > 1 else ""
            return status, f"{bad[0].name}: {bad[0].detail}{more}"
    return "ok", "ready to text"


def doctor_all(app: AppContext, settings: Settings, *, config: Path, as_json: bool) -> None:
    from ghl_sms.mcp_server.doctor import check_ledger, diagnose

    targets = _targets(app, settings, config)
    if not targets:
        raise CommandError(
            "No sub-accounts are configured.",
            EXIT_USAGE,
            hint="Add profiles with `ghl-sms locations add`, or log in with `ghl-sms login`.",
        )

    async def main() -> list[_Row]:
        rows = []
        for target in targets:
            if target.settings is None:
                rows.append(_Row(target, "fail", f"token: {target.problem}", []))
                continue
            try:
                async with app.client(target.settings) as client:
                    checks = await diagnose(client)
            except (AccountsError, GhlError) as exc:
                rows.append(_Row(target, "fail", exc.message, []))
                continue
            status, detail = _summary(checks)
            rows.append(_Row(target, status, detail, checks))
        return rows

    rows = anyio.run(main)
    ledger = check_ledger(app.ledger_path(settings), app.clock)
    failed = [r for r in rows if r.status == "fail"] + ([ledger] if ledger.status == "fail" else [])
    if as_json:
        emit_json(
            {
                "ok": not failed,
                "locations": [
                    {
                        "name": r.target.name,
                        "location_id": r.target.location_id,
                        "source": r.target.source,
                        "status": r.status,
                        "detail": r.detail,
                        "checks": [c.as_json() for c in r.checks],
                    }
                    for r in rows
                ],
                "ledger": ledger.as_json(),
            }
        )
    else:
        _print(rows, ledger.status, ledger.detail)
    if failed:
        raise click.exceptions.Exit(EXIT_FAILED)


def _print(rows: list[_Row], ledger_status: str, ledger_detail: str) -> None:
    table = [("NAME", "LOCATION ID", "SOURCE", "RESULT", "")] + [
        (r.target.name, r.target.location_id, r.target.source, r.status.upper(), r.detail)
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for row in table:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        click.echo("  ".join([*cells, row[4]]).rstrip())
    click.echo(f"ledger: {ledger_status.upper()} {ledger_detail}")
    bad = sum(1 for r in rows if r.status == "fail")
    if bad:
        click.echo(
            f"{bad} of {len(rows)} sub-accounts failed: run `ghl-sms doctor --location NAME` "
            "for the checks and fixes of one."
        )
    else:
        click.echo(f"All {len(rows)} sub-accounts are ready.")
