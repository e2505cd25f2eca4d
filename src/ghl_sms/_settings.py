"""Settings, read once by an entry point (the library itself never reads the environment)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from ghl_sms.ghl._endpoint import DEFAULT_BASE_URL

__all__ = ["Secret", "Settings", "check_token", "default_data_dir", "read_env_file"]


class Secret:
    """A string that never shows itself in a repr, a log line or a traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


def default_data_dir(environ: Mapping[str, str]) -> Path:
    """Where ghl-sms keeps its ledger and sandbox state."""
    if environ.get("GHL_SMS_DATA_DIR"):
        return Path(environ["GHL_SMS_DATA_DIR"]).expanduser()
    base = environ.get("XDG_DATA_HOME") or str(Path(environ.get("HOME", "~")) / ".local" / "share")
    return Path(base).expanduser() / "ghl-sms"


def read_env_file(path: Path, *, required: bool = False) -> dict[str, str]:
    """The KEY=VALUE pairs of a .env file, parsed by python-dotenv (inline comments,
    quotes, ``export``, multi-line values). A missing file is empty unless ``required``.

    Raises ValueError naming the file when it is required and missing, or unreadable.
    """
    if not path.is_file():
        if required:
            what = "is a folder, not a file" if path.is_dir() else "does not exist"
            raise ValueError(f"The env file {path} {what}; check --env-file.")
        return {}
    from dotenv import dotenv_values  # only when there is a file: most starts have none

    try:
        values = dotenv_values(path, encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"The env file {path} is not UTF-8 (byte {exc.start + 1} cannot be read); "
            "save it as UTF-8."
        ) from None
    except OSError as exc:
        raise ValueError(f"Cannot read the env file {path}: {exc.strerror or exc}.") from None
    # A bare ``KEY`` line has no value (None): it sets nothing.
    return {key: value for key, value in values.items() if value is not None}


def check_token(token: str, source: str = "GHL_TOKEN") -> str:
    """The token without surrounding whitespace, or ValueError saying what is wrong with it.

    A token is one line of ASCII letters, digits and punctuation. One with a line break,
    a space or a control or non-ASCII character inside was mangled by a copy and paste;
    sent as a header it would fail, or be echoed in full by an error. The message never
    contains the token.
    """
    token = token.strip()
    for position, char in enumerate(token, start=1):
        if char in "\r\n":
            problem = "contains a line break"
        elif char.isspace():
            problem = "contains a space or tab"
        elif not char.isprintable():
            problem = "contains an invisible control character"
        elif not char.isascii():
            problem = "contains a character that is not plain ASCII (a curly quote or dash?)"
        else:
            continue
        raise ValueError(
            f"{source} {problem} (at character {position} of {len(token)}); a token is one "
            "line without spaces. Copy it again from GHL (Settings > Private Integrations)."
        )
    return token


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, not {raw!r}") from None


@dataclass(frozen=True, kw_only=True)
class Settings:
    token: Secret | None = None
    location_id: str | None = None
    base_url: str = DEFAULT_BASE_URL
    data_dir: Path = field(default_factory=lambda: Path.home() / ".local" / "share" / "ghl-sms")
    ledger_path: Path | None = None
    default_region: str = "US"
    repeat_window: float = 600.0
    sandbox: bool = False
    profile: str | None = None
    """The config file's sub-account (profile) the token and location id came from."""
    oauth_store: Path | None = None
    """With it, the token is a location token of the agency login stored there."""
    database_url: str | None = field(default=None, repr=False)
    """``postgresql://...``: the ledger, campaigns and budgets live there instead of the
    ledger file (``GHL_SMS_DATABASE_URL``). Kept out of reprs: it may hold a password."""

    @property
    def ledger_file(self) -> Path:
        return self.ledger_path or self.data_dir / "ledger.db"

    @property
    def sandbox_file(self) -> Path:
        return self.data_dir / "sandbox.db"

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, env_file: Path | None = None
    ) -> Settings:
        """Settings from the environment, falling back to a .env file (the environment wins)."""
        env = dict(os.environ if environ is None else environ)
        if env_file is not None:
            file_values = read_env_file(env_file, required=True)
        else:
            file_values = read_env_file(Path(".env"))
        merged = {**file_values, **env}
        token = check_token(merged.get("GHL_TOKEN", ""))
        ledger = merged.get("GHL_SMS_LEDGER", "").strip()
        return cls(
            token=Secret(token) if token else None,
            location_id=merged.get("GHL_LOCATION_ID", "").strip() or None,
            base_url=merged.get("GHL_BASE_URL", "").strip() or DEFAULT_BASE_URL,
            data_dir=default_data_dir(merged),
            ledger_path=Path(ledger).expanduser() if ledger else None,
            default_region=merged.get("GHL_SMS_REGION", "").strip().upper() or "US",
            repeat_window=_number(merged, "GHL_SMS_REPEAT_WINDOW", 600.0),
            database_url=merged.get("GHL_SMS_DATABASE_URL", "").strip() or None,
        )

    def with_overrides(self, **changes: object) -> Settings:
        given = {k: v for k, v in changes.items() if v is not None}
        if isinstance(given.get("token"), str):
            given["token"] = Secret(check_token(str(given["token"]), "The token"))
        return replace(self, **given)  # type: ignore[arg-type]
