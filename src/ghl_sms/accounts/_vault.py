"""The OS keyring (``keyring``), only when it is installed (``pip install 'ghl-sms[keyring]'``)."""

from __future__ import annotations

from typing import Any, Protocol

from ghl_sms.accounts._errors import AccountsError

__all__ = ["KEYRING_SERVICE", "SystemKeyring", "Vault"]

KEYRING_SERVICE = "ghl-sms"


class Vault(Protocol):
    """Where a profile's token lives when it is not in the config file."""

    def get(self, name: str) -> str | None: ...

    def set(self, name: str, secret: str) -> None: ...

    def delete(self, name: str) -> None: ...


class SystemKeyring:
    """The OS keyring, entries under the service ``ghl-sms``, one per profile name."""

    def __init__(self, service: str = KEYRING_SERVICE) -> None:
        self.service = service

    def _keyring(self) -> Any:
        try:
            import keyring  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            raise AccountsError(
                "This profile keeps its token in the OS keyring, but the `keyring` package "
                "is not installed.",
                hint="Install it with `pip install 'ghl-sms[keyring]'`, or add the profile "
                "again with the token in the config file or --token-env.",
            ) from None
        return keyring

    def get(self, name: str) -> str | None:
        keyring = self._keyring()
        try:
            value = keyring.get_password(self.service, name)
        except Exception as exc:  # every backend has its own errors
            raise AccountsError(
                f"The OS keyring could not be read ({type(exc).__name__})."
            ) from None
        return value if isinstance(value, str) else None

    def set(self, name: str, secret: str) -> None:
        keyring = self._keyring()
        try:
            keyring.set_password(self.service, name, secret)
        except Exception as exc:
            raise AccountsError(
                f"The OS keyring refused the token ({type(exc).__name__}).",
                hint="Unlock the keyring, or keep the token in the config file instead.",
            ) from None

    def delete(self, name: str) -> None:
        keyring = self._keyring()
        try:
            keyring.delete_password(self.service, name)
        except Exception:  # already gone is fine
            pass

    def __repr__(self) -> str:
        return f"SystemKeyring(service={self.service!r})"
