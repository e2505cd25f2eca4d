"""Where the CLI finds credentials: the config file of sub-account profiles, the agency
login's token store, and ``--location NAME|ID`` resolved against both (and GHL_TOKEN)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from ghl_sms._settings import Settings, read_env_file
from ghl_sms.accounts import (
    AccountsConfig,
    AccountsError,
    SystemKeyring,
    TokenStore,
    default_config_path,
    resolve_credentials,
)
from ghl_sms.cli._errors import EXIT_USAGE, CommandError

__all__ = [
    "accounts_error",
    "accounts_errors",
    "config_path",
    "load_config",
    "merged_environ",
    "oauth_store_path",
    "resolve_settings",
]


def accounts_error(error: AccountsError) -> CommandError:
    return CommandError(error.message, EXIT_USAGE, hint=error.hint, name="config")


@contextmanager
def accounts_errors() -> Iterator[None]:
    """An ``AccountsError`` raised inside (a bad config, keyring or token store) becomes
    the CLI's usage error that says what to fix."""
    try:
        yield
    except AccountsError as exc:
        raise accounts_error(exc) from None


def merged_environ(environ: Mapping[str, str], env_file: Path | None) -> dict[str, str]:
    """The environment over the .env file (the environment wins), as settings read it."""
    try:
        from_file = read_env_file(env_file or Path(".env"), required=env_file is not None)
    except ValueError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    return {**from_file, **environ}


def config_path(environ: Mapping[str, str], option: Path | None) -> Path:
    """--config, else $GHL_SMS_CONFIG, else the XDG config dir's ghl-sms/config.toml."""
    return option.expanduser() if option is not None else default_config_path(environ)


def load_config(path: Path) -> AccountsConfig:
    with accounts_errors():
        return AccountsConfig.load(path)


def oauth_store_path(settings: Settings) -> Path:
    """The agency login's token store; the sandbox's agency has its own."""
    name = "sandbox-oauth.json" if settings.sandbox else "oauth.json"
    return settings.data_dir / name


def resolve_settings(
    settings: Settings,
    *,
    wanted: str | None,
    environ: Mapping[str, str],
    config: Path,
) -> Settings:
    """``settings`` with the location id and token that ``--location`` (or the defaults)
    pick. With --sandbox, only a sandbox agency login can change the location."""
    store = TokenStore(oauth_store_path(settings))
    if settings.sandbox:
        if not wanted:
            return settings
        if not store.exists():
            raise CommandError(
                "--sandbox and --location were both given; the embedded sandbox has its own "
                "location and address.",
                EXIT_USAGE,
                hint="Leave out --location to use the sandbox, or --sandbox to use GHL (or "
                "log in to the sandbox's agency with `ghl-sms login --sandbox` to pick one of "
                "its sub-accounts).",
            )
        return replace(settings, location_id=wanted.strip(), oauth_store=store.path)
    with accounts_errors():
        found = resolve_credentials(
            wanted,
            env_location=settings.location_id,
            env_token=settings.token,
            load_config=lambda: load_config(config),
            store=store,
            environ=environ,
            vault=SystemKeyring(),
        )
    return replace(
        settings,
        location_id=found.location_id,
        token=found.token,
        profile=found.profile,
        oauth_store=store.path if found.oauth else None,
    )
