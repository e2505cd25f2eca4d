"""Credentials for many sub-accounts: profiles of Private Integration Tokens in a TOML
config file, and an agency OAuth login whose location tokens are minted on demand.

Nothing here reads the environment: entry points pass paths and values in.
"""

from typing import TYPE_CHECKING

from ghl_sms._lazy import lazy_exports
from ghl_sms.accounts._errors import AccountsError, LoginRequired

if TYPE_CHECKING:
    from ghl_sms.accounts._files import FileLock, check_private, write_private
    from ghl_sms.accounts._manager import (
        RENEW_MARGIN,
        TokenManager,
        app_id_of,
        complete_login,
        renew_time,
    )
    from ghl_sms.accounts._profiles import (
        AccountsConfig,
        Profile,
        check_profile_name,
        default_config_path,
    )
    from ghl_sms.accounts._resolve import Credentials, resolve_credentials
    from ghl_sms.accounts._store import (
        CachedToken,
        CompanyLogin,
        OAuthApp,
        StoredTokens,
        TokenStore,
    )
    from ghl_sms.accounts._vault import KEYRING_SERVICE, SystemKeyring, Vault
else:
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "ghl_sms.accounts._files": ("FileLock", "check_private", "write_private"),
            "ghl_sms.accounts._manager": (
                "RENEW_MARGIN",
                "TokenManager",
                "app_id_of",
                "complete_login",
                "renew_time",
            ),
            "ghl_sms.accounts._profiles": (
                "AccountsConfig",
                "Profile",
                "check_profile_name",
                "default_config_path",
            ),
            "ghl_sms.accounts._resolve": ("Credentials", "resolve_credentials"),
            "ghl_sms.accounts._store": (
                "CachedToken",
                "CompanyLogin",
                "OAuthApp",
                "StoredTokens",
                "TokenStore",
            ),
            "ghl_sms.accounts._vault": ("KEYRING_SERVICE", "SystemKeyring", "Vault"),
        },
    )

__all__ = [
    "KEYRING_SERVICE",
    "RENEW_MARGIN",
    "AccountsConfig",
    "AccountsError",
    "CachedToken",
    "CompanyLogin",
    "Credentials",
    "FileLock",
    "LoginRequired",
    "OAuthApp",
    "Profile",
    "StoredTokens",
    "SystemKeyring",
    "TokenManager",
    "TokenStore",
    "Vault",
    "app_id_of",
    "check_private",
    "check_profile_name",
    "complete_login",
    "default_config_path",
    "renew_time",
    "resolve_credentials",
    "write_private",
]
