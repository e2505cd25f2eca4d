"""Profiles of Private Integration Tokens: named sub-accounts in a TOML file.

::

    default = "downtown"

    [locations.downtown]
    location_id = "ve9EPM428h8vShlRW1KT"
    token = "pit-..."                 # or: token_env = "GHL_TOKEN_DOWNTOWN"
                                      # or: token_keyring = true

The file is written atomically with mode 0600, and refused when it holds a token and
others may read it. Paths and environment values are passed in: nothing here reads the
environment.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomli_w

from ghl_sms._settings import Secret, check_token
from ghl_sms.accounts._errors import AccountsError
from ghl_sms.accounts._files import check_private, write_private
from ghl_sms.accounts._vault import Vault

__all__ = ["AccountsConfig", "Profile", "check_profile_name", "default_config_path"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_ENV_VAR = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PROFILE_KEYS = frozenset({"location_id", "token", "token_env", "token_keyring"})


def default_config_path(environ: Mapping[str, str]) -> Path:
    """``$GHL_SMS_CONFIG``, else ``$XDG_CONFIG_HOME/ghl-sms/config.toml``, else
    ``~/.config/ghl-sms/config.toml`` (``environ`` is handed in by the entry point)."""
    if environ.get("GHL_SMS_CONFIG", "").strip():
        return Path(environ["GHL_SMS_CONFIG"].strip()).expanduser()
    base = environ.get("XDG_CONFIG_HOME", "").strip() or str(
        Path(environ.get("HOME") or str(Path.home())) / ".config"
    )
    return Path(base).expanduser() / "ghl-sms" / "config.toml"


def check_profile_name(name: str) -> str:
    name = name.strip()
    if not _NAME.fullmatch(name):
        raise AccountsError(
            f"{name!r} cannot name a sub-account: use letters, digits, '-', '_' or '.', "
            "starting with a letter or digit (at most 64).",
        )
    return name


@dataclass(frozen=True)
class Profile:
    """One sub-account: its location id and where its token is."""

    name: str
    location_id: str
    token: Secret | None = None
    token_env: str | None = None
    token_keyring: bool = False

    @property
    def source(self) -> str:
        """Where the token is, for listings: ``config``, ``env VAR`` or ``keyring``."""
        if self.token_env:
            return f"env {self.token_env}"
        if self.token_keyring:
            return "keyring"
        return "config"

    def resolve_token(self, environ: Mapping[str, str], vault: Vault | None) -> Secret:
        """The token itself, from wherever the profile keeps it."""
        if self.token is not None:
            return self.token
        if self.token_env:
            raw = environ.get(self.token_env, "")
            if not raw.strip():
                raise AccountsError(
                    f"Sub-account {self.name!r} takes its token from ${self.token_env}, "
                    "which is not set.",
                    hint=f"Set {self.token_env} (in the environment or a .env file).",
                )
            return Secret(_checked(raw, f"${self.token_env} (sub-account {self.name!r})"))
        if self.token_keyring:
            if vault is None:
                raise AccountsError(f"Sub-account {self.name!r} needs the OS keyring.")
            stored = vault.get(self.name)
            if not stored:
                raise AccountsError(
                    f"The OS keyring has no token for sub-account {self.name!r}.",
                    hint=f"Add it again: `ghl-sms locations add {self.name} --location "
                    f"{self.location_id} --keyring`.",
                )
            return Secret(_checked(stored, f"The keyring's token for {self.name!r}"))
        raise AccountsError(f"Sub-account {self.name!r} has no token.")

    def to_toml(self) -> dict[str, Any]:
        table: dict[str, Any] = {"location_id": self.location_id}
        if self.token is not None:
            table["token"] = self.token.reveal()
        if self.token_env:
            table["token_env"] = self.token_env
        if self.token_keyring:
            table["token_keyring"] = True
        return table


def _checked(token: str, source: str) -> str:
    try:
        return check_token(token, source)
    except ValueError as exc:
        raise AccountsError(str(exc)) from None


@dataclass(frozen=True)
class AccountsConfig:
    """The config file's sub-accounts; change it with the ``with_*`` methods and ``save``."""

    path: Path
    profiles: Mapping[str, Profile] = field(default_factory=dict)
    default: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Top-level keys this version does not know, kept as they were."""

    def __repr__(self) -> str:
        names = ", ".join(self.profiles)
        return (
            f"AccountsConfig(path={str(self.path)!r}, profiles=[{names}], default={self.default!r})"
        )

    @classmethod
    def load(cls, path: Path) -> AccountsConfig:
        """The file at ``path``; empty when there is none."""
        if not path.exists():
            return cls(path=path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise AccountsError(f"Cannot read {path}: {exc.strerror or exc}.") from None
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            # tomllib's text names the line, never a value.
            raise AccountsError(
                f"{path} is not valid TOML ({exc}).",
                hint="Fix the file, or move it aside and add the sub-accounts again with "
                "`ghl-sms locations add`.",
            ) from None
        tables = data.get("locations", {})
        if not isinstance(tables, dict):
            raise AccountsError(f"In {path}, `locations` must be a table of sub-accounts.")
        if any(isinstance(t, dict) and "token" in t for t in tables.values()):
            check_private(path, "GHL tokens")
        profiles = {name: _profile(path, name, table) for name, table in tables.items()}
        default = data.get("default")
        if default is not None and (not isinstance(default, str) or default not in profiles):
            raise AccountsError(
                f"In {path}, default = {default!r} names no sub-account in [locations].",
                hint="Set it with `ghl-sms locations default NAME`.",
            )
        extra = {k: v for k, v in data.items() if k not in ("locations", "default")}
        return cls(path=path, profiles=profiles, default=default, extra=extra)

    def save(self) -> None:
        data: dict[str, Any] = dict(self.extra)
        if self.default is not None:
            data["default"] = self.default
        data["locations"] = {name: p.to_toml() for name, p in self.profiles.items()}
        text = "# ghl-sms sub-accounts; edit with `ghl-sms locations`. Keep this file private.\n"
        write_private(self.path, (text + tomli_w.dumps(data)).encode("utf-8"))

    def find(self, name_or_id: str) -> Profile | None:
        """The profile of that name, else the one for that location id."""
        wanted = name_or_id.strip()
        if wanted in self.profiles:
            return self.profiles[wanted]
        by_id = [p for p in self.profiles.values() if p.location_id == wanted]
        return by_id[0] if by_id else None

    def default_profile(self) -> Profile | None:
        """The default one, or the only one."""
        if self.default is not None:
            return self.profiles[self.default]
        if len(self.profiles) == 1:
            return next(iter(self.profiles.values()))
        return None

    def with_profile(self, profile: Profile) -> AccountsConfig:
        profiles = {**self.profiles, profile.name: profile}
        return replace(self, profiles=profiles)

    def without(self, name: str) -> AccountsConfig:
        if name not in self.profiles:
            raise self.unknown(name)
        profiles = {k: v for k, v in self.profiles.items() if k != name}
        return replace(
            self, profiles=profiles, default=None if self.default == name else self.default
        )

    def with_default(self, name: str) -> AccountsConfig:
        if name not in self.profiles:
            raise self.unknown(name)
        return replace(self, default=name)

    def unknown(self, name: str) -> AccountsError:
        known = ", ".join(sorted(self.profiles)) or "none yet"
        return AccountsError(
            f"No sub-account named {name!r} in {self.path} (configured: {known}).",
            hint="Add it with `ghl-sms locations add NAME --location ID`; "
            "`ghl-sms locations` lists them.",
        )


def _profile(path: Path, name: str, table: Any) -> Profile:
    where = f"[locations.{name}] in {path}"
    if not isinstance(table, dict):
        raise AccountsError(f"{where} must be a table with location_id and a token.")
    unknown = sorted(set(table) - _PROFILE_KEYS)
    if unknown:
        raise AccountsError(
            f"{where} has unknown key(s) {', '.join(unknown)}; known: "
            f"{', '.join(sorted(_PROFILE_KEYS))}."
        )
    location_id = table.get("location_id")
    if not isinstance(location_id, str) or not location_id.strip() or " " in location_id.strip():
        raise AccountsError(f'{where} needs location_id = "<the sub-account\'s id>".')
    sources = [k for k in ("token", "token_env", "token_keyring") if table.get(k)]
    if len(sources) != 1:
        raise AccountsError(
            f"{where} needs exactly one of token, token_env or token_keyring = true "
            f"({'none' if not sources else ', '.join(sources)} given)."
        )
    token = table.get("token")
    token_env = table.get("token_env")
    keyring = table.get("token_keyring")
    if token is not None and not isinstance(token, str):
        raise AccountsError(f"{where}: token must be a string.")
    if token_env is not None and (
        not isinstance(token_env, str) or not _ENV_VAR.fullmatch(token_env)
    ):
        raise AccountsError(f"{where}: token_env must be the name of an environment variable.")
    if keyring is not None and not isinstance(keyring, bool):
        raise AccountsError(f"{where}: token_keyring must be true or false.")
    return Profile(
        name=name,
        location_id=location_id.strip(),
        token=Secret(_checked(token, f"The token of {where}")) if token else None,
        token_env=token_env or None,
        token_keyring=bool(keyring),
    )
