"""Profiles of PITs in the TOML config: written 0600 and atomically, read back, refused
when others may read them, tokens never in a repr, and --location resolution."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ghl_sms._settings import Secret
from ghl_sms.accounts import (
    AccountsConfig,
    AccountsError,
    Credentials,
    Profile,
    TokenStore,
    default_config_path,
    resolve_credentials,
)

PIT_A = "pit-aaaaaaaa-CANARY-1111-2222-333333333333"
PIT_B = "pit-bbbbbbbb-CANARY-4444-5555-666666666666"


class FakeVault:
    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}

    def get(self, name: str) -> str | None:
        return self.secrets.get(name)

    def set(self, name: str, secret: str) -> None:
        self.secrets[name] = secret

    def delete(self, name: str) -> None:
        self.secrets.pop(name, None)


def config_with_two(path: Path) -> AccountsConfig:
    config = AccountsConfig(path=path)
    config = config.with_profile(Profile("downtown", "locA", token=Secret(PIT_A)))
    config = config.with_profile(Profile("uptown", "locB", token_env="GHL_TOKEN_UPTOWN"))
    return config.with_default("downtown")


def test_a_saved_config_reads_back_and_is_private(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "config.toml"
    config_with_two(path).save()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = AccountsConfig.load(path)
    assert loaded.default == "downtown"
    assert loaded.profiles["downtown"].token == Secret(PIT_A)
    assert loaded.profiles["uptown"].token_env == "GHL_TOKEN_UPTOWN"
    assert loaded.profiles["uptown"].source == "env GHL_TOKEN_UPTOWN"
    assert not list(path.parent.glob(".config.toml.*"))  # no temp file left behind


def test_reprs_never_show_a_token(tmp_path: Path) -> None:
    config = config_with_two(tmp_path / "config.toml")
    for shown in (repr(config), str(config), repr(config.profiles["downtown"])):
        assert PIT_A not in shown and "CANARY" not in shown


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_a_config_with_a_token_that_others_can_read_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "config.toml"
    config_with_two(path).save()
    os.chmod(path, mode)
    with pytest.raises(AccountsError) as info:
        AccountsConfig.load(path)
    assert str(path) in str(info.value) and f"{mode:04o}" in str(info.value)
    assert info.value.hint is not None and f"chmod 600 {path}" in info.value.hint
    assert PIT_A not in str(info.value)


def test_a_config_holding_only_references_may_be_readable(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    AccountsConfig(path=path).with_profile(Profile("u", "locB", token_env="T")).save()
    os.chmod(path, 0o644)
    assert AccountsConfig.load(path).profiles["u"].location_id == "locB"


def test_saving_replaces_the_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    config_with_two(path).save()
    before = path.stat().st_ino
    AccountsConfig.load(path).without("uptown").save()
    assert path.stat().st_ino != before  # a rename, not an in-place rewrite
    assert set(AccountsConfig.load(path).profiles) == {"downtown"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[locations.a]\nlocation_id = 'x'\n", "exactly one of token"),
        ("[locations.a]\ntoken_env = 'T'\n", "location_id"),
        ("[locations.a]\nlocation_id = 'x'\ntoken_env = 'T'\nlocaton = 1\n", "unknown key"),
        ("default = 'b'\n[locations.a]\nlocation_id = 'x'\ntoken_env = 'T'\n", "names no"),
        ("[locations.a\n", "not valid TOML"),
        ("[locations.a]\nlocation_id = 'x'\ntoken_env = 'NOT A VAR'\n", "environment variable"),
    ],
)
def test_a_bad_config_is_explained(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(0o600)
    with pytest.raises(AccountsError, match=expected):
        AccountsConfig.load(path)


def test_a_mangled_token_in_the_file_is_refused_without_echoing_it(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[locations.a]\nlocation_id = "x"\ntoken = "{PIT_A} tail"\n')
    path.chmod(0o600)
    with pytest.raises(AccountsError) as info:
        AccountsConfig.load(path)
    assert "space" in str(info.value) and PIT_A not in str(info.value)


def test_unknown_top_level_keys_survive_a_rewrite(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('future = { x = 1 }\n[locations.a]\nlocation_id = "x"\ntoken_env = "T"\n')
    AccountsConfig.load(path).with_default("a").save()
    assert AccountsConfig.load(path).extra == {"future": {"x": 1}}


def test_the_default_path_follows_xdg_and_the_override(tmp_path: Path) -> None:
    assert default_config_path({"HOME": "/home/u"}) == Path("/home/u/.config/ghl-sms/config.toml")
    assert default_config_path({"HOME": "/h", "XDG_CONFIG_HOME": "/x"}) == Path(
        "/x/ghl-sms/config.toml"
    )
    assert default_config_path({"GHL_SMS_CONFIG": "/etc/g.toml", "HOME": "/h"}) == Path(
        "/etc/g.toml"
    )


def test_a_keyring_profile_reads_the_vault(tmp_path: Path) -> None:
    vault = FakeVault()
    vault.set("west", PIT_B)
    profile = Profile("west", "locW", token_keyring=True)
    assert profile.resolve_token({}, vault) == Secret(PIT_B)
    with pytest.raises(AccountsError, match="no token for sub-account 'west'"):
        profile.resolve_token({}, FakeVault())


def test_a_keyring_profile_without_the_package_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    from ghl_sms.accounts import SystemKeyring

    monkeypatch.setitem(sys.modules, "keyring", None)  # import keyring -> ImportError
    with pytest.raises(AccountsError) as info:
        Profile("west", "locW", token_keyring=True).resolve_token({}, SystemKeyring())
    assert "keyring" in str(info.value) and "ghl-sms[keyring]" in (info.value.hint or "")


# --- resolution of --location ---------------------------------------------------------


def resolve(
    tmp_path: Path,
    wanted: str | None,
    *,
    env_location: str | None = None,
    env_token: str | None = None,
    config: AccountsConfig | None = None,
    logged_in: bool = False,
    environ: dict[str, str] | None = None,
) -> Credentials:
    store = TokenStore(tmp_path / ("oauth.json" if logged_in else "absent.json"))
    if logged_in:
        store.path.write_text("{}")
        store.path.chmod(0o600)
    loaded = config if config is not None else AccountsConfig(path=tmp_path / "none.toml")
    return resolve_credentials(
        wanted,
        env_location=env_location,
        env_token=Secret(env_token) if env_token else None,
        load_config=lambda: loaded,
        store=store,
        environ=environ or {},
        vault=FakeVault(),
    )


def test_a_name_picks_its_profile_and_an_id_the_profile_for_it(tmp_path: Path) -> None:
    config = config_with_two(tmp_path / "c.toml")
    env = {"GHL_TOKEN_UPTOWN": PIT_B}
    by_name = resolve(tmp_path, "uptown", config=config, environ=env, env_token="pit-env")
    assert by_name == resolve(tmp_path, "locB", config=config, environ=env, env_token="pit-env")
    assert by_name.token == Secret(PIT_B)
    assert by_name.location_id == "locB" and by_name.profile == "uptown"


def test_an_unknown_id_goes_to_the_agency_login_then_to_ghl_token(tmp_path: Path) -> None:
    config = config_with_two(tmp_path / "c.toml")
    oauth = resolve(tmp_path, "locZ", config=config, logged_in=True, env_token="pit-env")
    assert oauth.oauth is True and oauth.location_id == "locZ"
    plain = resolve(tmp_path, "locZ", config=config, env_token="pit-env")
    assert plain.token == Secret("pit-env") and not plain.oauth
    with pytest.raises(AccountsError, match="No sub-account named 'locZ'"):
        resolve(tmp_path, "locZ", config=config)


def test_the_classic_env_pair_never_reads_the_config(tmp_path: Path) -> None:
    def boom() -> AccountsConfig:
        raise AssertionError("the config was read")

    found = resolve_credentials(
        None,
        env_location="locEnv",
        env_token=Secret("pit-env"),
        load_config=boom,
        store=None,
        environ={},
        vault=None,
    )
    assert found.location_id == "locEnv" and found.token == Secret("pit-env")


def test_without_location_the_default_profile_or_the_only_one(tmp_path: Path) -> None:
    config = config_with_two(tmp_path / "c.toml")
    assert resolve(tmp_path, None, config=config).profile == "downtown"
    only = AccountsConfig(path=tmp_path / "c.toml").with_profile(
        Profile("solo", "locS", token=Secret(PIT_A))
    )
    assert resolve(tmp_path, None, config=only).location_id == "locS"
    several = AccountsConfig(path=tmp_path / "c.toml", profiles=dict(config.profiles))
    with pytest.raises(AccountsError, match="none is the default"):
        resolve(tmp_path, None, config=several)


def test_ghl_location_id_without_ghl_token_is_resolved_like_location(tmp_path: Path) -> None:
    config = config_with_two(tmp_path / "c.toml")
    found = resolve(tmp_path, None, env_location="downtown", config=config)
    assert found.location_id == "locA" and found.token == Secret(PIT_A)
