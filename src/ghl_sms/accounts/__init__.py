"""Credentials for many sub-accounts: profiles of Private Integration Tokens in a TOML
config file, and an agency OAuth login whose location tokens are minted on demand.

Nothing here reads the environment: entry points pass paths and values in.
"""

from ghl_sms.accounts._errors import AccountsError, LoginRequired
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
