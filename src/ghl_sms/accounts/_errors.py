"""Errors of the credentials layer: each says what is wrong and what to do next."""

from __future__ import annotations

from ghl_sms.ghl import ConfigError

__all__ = ["AccountsError", "LoginRequired"]


class AccountsError(ConfigError):
    """A profile, the config file or the token store is missing, unsafe or invalid.

    ``hint`` is the next step, when there is one beyond the message.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class LoginRequired(AccountsError):
    """No usable agency login: never logged in, or GHL refused the stored refresh token."""
