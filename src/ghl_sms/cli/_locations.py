"""``ghl-sms locations``: the sub-accounts this install can text from: profiles of
Private Integration Tokens in the config file, and the agency login's installed
locations, side by side; ``add``, ``remove`` and ``default`` edit the profiles."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import anyio
import click

from ghl_sms._settings import Secret, Settings, check_token
from ghl_sms.accounts import (
    AccountsConfig,
    Profile,
    SystemKeyring,
    TokenManager,
    TokenStore,
    check_profile_name,
)
from ghl_sms.cli._app import EXIT_USAGE, AppContext, CommandError, emit_json
from ghl_sms.cli._credentials import (
    accounts_errors,
    config_path,
    load_config,
    merged_environ,
    oauth_store_path,
)
from ghl_sms.ghl import GhlError

__all__ = ["locations"]

_ENV_VAR = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_CONFIG = click.option(
    "--config",
    "config_option",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Sub-accounts config file (default: $GHL_SMS_CONFIG or ~/.config/ghl-sms/config.toml).",
)


def _config_file(app: AppContext, option: Path | None) -> Path:
    return config_path(merged_environ(app.environ, None), option)


@click.group(invoke_without_command=True)
@_CONFIG
@click.option("--sandbox", is_flag=True, help="List the embedded sandbox's agency login.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def locations(ctx: click.Context, config_option: Path | None, sandbox: bool, as_json: bool) -> None:
    """The sub-accounts you can text from: profiles and the agency login's locations.

    A profile is a sub-account's location id and its Private Integration Token, kept in
    the config file (mode 0600). After `ghl-sms login`, the agency app's installed
    locations are listed too. Any command takes `--location NAME|ID` to pick one.

    \b
    Examples:
      ghl-sms locations add downtown --location ve9EPM428h8vShlRW1KT   (asks for the token)
      ghl-sms locations default downtown
      ghl-sms send --location downtown --to +15551234567 "Hi"
    """
    app = ctx.ensure_object(AppContext)
    if ctx.invoked_subcommand is not None:
        return
    path = _config_file(app, config_option)
    config = load_config(path)
    settings = app.settings(sandbox=sandbox or None)
    agency = _agency(app, settings)
    if as_json:
        emit_json(
            {
                "config": str(path),
                "default": config.default,
                "profiles": [_profile_json(p, config.default) for p in config.profiles.values()],
                "agency": agency,
            }
        )
        return
    _print_table(path, config, agency)


def _profile_json(profile: Profile, default: str | None) -> dict[str, Any]:
    return {
        "name": profile.name,
        "location_id": profile.location_id,
        "source": profile.source,
        "default": profile.name == default,
    }


def _agency(app: AppContext, settings: Settings) -> dict[str, Any] | None:
    """The agency login's installed locations (None when not logged in)."""
    store = TokenStore(oauth_store_path(settings))
    if not store.exists():
        return None

    async def main() -> dict[str, Any]:
        sandbox = None
        transport = app.http_transport
        try:
            if settings.sandbox:
                sandbox = app._sandbox(settings)
                transport = sandbox.transport()
            async with TokenManager(store, clock=app.clock, transport=transport) as tokens:
                company = tokens.tokens().company.company_id
                try:
                    found = await tokens.installed_locations()
                except (GhlError, OSError) as exc:
                    message = exc.message if isinstance(exc, GhlError) else str(exc)
                    return {"company_id": company, "locations": [], "error": message}
            rows = [{"id": loc.id, "name": loc.name, "address": loc.address} for loc in found]
            return {"company_id": company, "locations": rows, "error": None}
        finally:
            if sandbox is not None:
                sandbox.close()

    with accounts_errors():
        return anyio.run(main)


def _print_table(path: Path, config: AccountsConfig, agency: dict[str, Any] | None) -> None:
    rows: list[tuple[str, str, str, str]] = [
        (p.name, p.location_id, p.source, "*" if p.name == config.default else "")
        for p in config.profiles.values()
    ]
    if agency is not None:
        rows += [(loc["name"], loc["id"], "agency login", "") for loc in agency["locations"]]
    if not rows:
        click.echo(f"No sub-accounts yet (config: {path}, not logged in to an agency app).")
        click.echo(
            "Add one: `ghl-sms locations add NAME --location ID`, or `ghl-sms login` for "
            "an agency app."
        )
        return
    header = ("NAME", "LOCATION ID", "SOURCE", "DEFAULT")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    for row in [header, *rows]:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + row[3])
    count = len(config.profiles)
    click.echo(f"{count} profile{'' if count == 1 else 's'} in {path}")
    if agency is not None:
        if agency["error"]:
            click.echo(
                f"Agency {agency['company_id']}: could not list its locations: {agency['error']}"
            )
        else:
            count = len(agency["locations"])
            click.echo(
                f"Agency {agency['company_id']}: {count} installed location"
                f"{'' if count == 1 else 's'}; pick one with --location ID."
            )


def _read_token(name: str) -> str:
    """The token from a hidden prompt, or the first line of standard input when it is a
    pipe (never from the command line, where `ps` and the shell history would see it)."""
    stream = sys.stdin
    if stream.isatty():
        raw = click.prompt(
            f"Private Integration Token for {name} (pit-..., not shown)",
            hide_input=True,
            prompt_suffix=": ",
            err=True,
        )
    else:
        raw = stream.readline()
    try:
        token = check_token(str(raw), "The token")
    except ValueError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    if not token:
        raise CommandError(
            "No token was given.",
            EXIT_USAGE,
            hint="Type or pipe the sub-account's Private Integration Token "
            "(e.g. `pass show ghl/downtown | ghl-sms locations add ...`), or use --token-env VAR.",
        )
    return token


@locations.command("add")
@click.argument("name")
@click.option("--location", "location_id", required=True, help="The sub-account's location id.")
@click.option(
    "--token-env",
    metavar="VAR",
    help="Read the token from this environment variable at run time (nothing stored).",
)
@click.option("--keyring", "use_keyring", is_flag=True, help="Keep the token in the OS keyring.")
@click.option("--default", "make_default", is_flag=True, help="Make it the default sub-account.")
@click.option("--replace", is_flag=True, help="Replace a profile of the same name.")
@_CONFIG
@click.pass_obj
def add(
    app: AppContext,
    name: str,
    location_id: str,
    token_env: str | None,
    use_keyring: bool,
    make_default: bool,
    replace: bool,
    config_option: Path | None,
) -> None:
    """Add a sub-account profile; the token is read from a hidden prompt or stdin.

    \b
    Examples:
      ghl-sms locations add downtown --location ve9EPM428h8vShlRW1KT
      printf '%s\\n' "$PIT" | ghl-sms locations add downtown --location ve9EPM428h8vShlRW1KT
      ghl-sms locations add uptown --location ... --token-env GHL_TOKEN_UPTOWN
    """
    if token_env and use_keyring:
        raise CommandError("--token-env and --keyring were both given; pick one.", EXIT_USAGE)
    with accounts_errors():
        name = check_profile_name(name)
        location_id = location_id.strip()
        if not location_id or any(c.isspace() for c in location_id):
            raise CommandError("--location must be a location id (no spaces).", EXIT_USAGE)
        path = _config_file(app, config_option)
        config = load_config(path)
        if name in config.profiles and not replace:
            raise CommandError(
                f"A sub-account named {name!r} already exists in {path}.",
                EXIT_USAGE,
                hint="Pass --replace to change it, or choose another name.",
            )
        if token_env:
            if not _ENV_VAR.fullmatch(token_env.strip()):
                raise CommandError(
                    f"--token-env {token_env!r} is not an environment variable name.", EXIT_USAGE
                )
            profile = Profile(name, location_id, token_env=token_env.strip())
        elif use_keyring:
            SystemKeyring().set(name, _read_token(name))
            profile = Profile(name, location_id, token_keyring=True)
        else:
            profile = Profile(name, location_id, token=Secret(_read_token(name)))
        config = config.with_profile(profile)
        if make_default or len(config.profiles) == 1:
            config = config.with_default(name)
        config.save()
    where = {"config": f"in {path}", "keyring": "in the OS keyring"}.get(
        profile.source, f"from ${token_env}"
    )
    click.echo(
        f"Added {name} (location {location_id}), token {where}"
        f"{'; it is the default' if config.default == name else ''}."
    )
    click.echo(f"Check it: ghl-sms doctor --location {name}")


@locations.command("remove")
@click.argument("name")
@_CONFIG
@click.pass_obj
def remove(app: AppContext, name: str, config_option: Path | None) -> None:
    """Remove a sub-account profile (and its token from the keyring, if it was there)."""
    path = _config_file(app, config_option)
    with accounts_errors():
        config = load_config(path)
        profile = config.profiles.get(name)
        config.without(name).save()
        if profile is not None and profile.token_keyring:
            SystemKeyring().delete(name)
    click.echo(f"Removed {name}.")


@locations.command("default")
@click.argument("name")
@_CONFIG
@click.pass_obj
def default(app: AppContext, name: str, config_option: Path | None) -> None:
    """Make NAME the sub-account commands use without --location."""
    path = _config_file(app, config_option)
    with accounts_errors():
        load_config(path).with_default(name).save()
    click.echo(f"{name} is the default sub-account.")
