"""`ghl-sms locations`, `ghl-sms login` and `--location NAME|ID`: profiles of PITs made
from a prompt or stdin (never argv), the agency login end to end against the sandbox,
every command reaching the sub-account it names, and no token or secret in any output."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ghl_sms.cli import cli
from ghl_sms.sandbox import DEMO_LOCATION_ID, DEMO_TOKEN, OAUTH_APP, Sandbox
from support.cli import CliHarness, harness

OTHER_PIT = "pit-00000000-CANARY-0000-0000-000000000000"


@pytest.fixture
def h(tmp_path: Path) -> CliHarness:
    return harness(tmp_path)


@pytest.fixture
def ghl(h: CliHarness) -> Iterator[Sandbox]:
    """A sandbox standing in for GHL itself (no --sandbox): reached through the
    AppContext's transport, its demo agency's app registered."""
    sandbox = Sandbox(db_path=h.tmp / "ghl.db", clock=h.clock)
    yield sandbox
    sandbox.close()


def run(
    h: CliHarness,
    *args: str,
    ghl: Sandbox | None = None,
    input: str | None = None,
    env: dict[str, str] | None = None,
) -> Result:
    app = h.app(**(env or {}))
    if ghl is not None:
        app.http_transport = ghl.transport()
    result = CliRunner().invoke(cli, list(args), obj=app, input=input, catch_exceptions=False)
    for secret in (DEMO_TOKEN, OTHER_PIT, OAUTH_APP.client_secret):
        assert secret not in result.output + result.stderr, args
    return result


def config_file(h: CliHarness) -> Path:
    return h.tmp / ".config" / "ghl-sms" / "config.toml"


def test_add_reads_the_token_from_stdin_and_writes_a_private_config(h: CliHarness) -> None:
    result = run(h, "locations", "add", "dental", "--location", DEMO_LOCATION_ID, input=DEMO_TOKEN)
    assert result.exit_code == 0, result.output
    assert "it is the default" in result.output
    path = config_file(h)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert DEMO_TOKEN in path.read_text()  # only the file holds it
    listed = json.loads(run(h, "locations", "--json").stdout)
    assert listed["default"] == "dental"
    assert listed["profiles"] == [
        {"name": "dental", "location_id": DEMO_LOCATION_ID, "source": "config", "default": True}
    ]
    assert listed["agency"] is None


def test_the_token_is_never_taken_from_the_command_line(h: CliHarness) -> None:
    result = run(h, "locations", "add", "x", "--location", "l1", "--token", DEMO_TOKEN)
    assert result.exit_code == 2
    assert not config_file(h).exists()


def test_add_refuses_an_empty_or_mangled_token_and_a_duplicate(h: CliHarness) -> None:
    assert run(h, "locations", "add", "x", "--location", "l1", input="\n").exit_code == 2
    mangled = run(h, "locations", "add", "x", "--location", "l1", input="pit-ab cd\n")
    assert mangled.exit_code == 2 and "space" in mangled.stderr
    assert run(h, "locations", "add", "x", "--location", "l1", input=OTHER_PIT).exit_code == 0
    again = run(h, "locations", "add", "x", "--location", "l2", input=OTHER_PIT)
    assert again.exit_code == 2 and "--replace" in again.stderr


def test_token_env_profiles_store_no_token(h: CliHarness, ghl: Sandbox) -> None:
    add = run(h, "locations", "add", "dental", "--location", DEMO_LOCATION_ID, "--token-env", "DT")
    assert add.exit_code == 0
    assert "token" not in config_file(h).read_text().replace("token_env", "")
    unset = run(h, "numbers", "--location", "dental", ghl=ghl)
    assert unset.exit_code == 2 and "$DT" in unset.stderr
    found = run(h, "numbers", "--location", "dental", "--json", ghl=ghl, env={"DT": DEMO_TOKEN})
    assert found.exit_code == 0, found.output
    assert json.loads(found.stdout)  # the demo location's numbers


def test_location_by_name_or_id_uses_the_profiles_token_over_ghl_token(
    h: CliHarness, ghl: Sandbox
) -> None:
    run(h, "locations", "add", "dental", "--location", DEMO_LOCATION_ID, input=DEMO_TOKEN)
    env = {"GHL_TOKEN": OTHER_PIT}  # a token GHL does not know
    for wanted in ("dental", DEMO_LOCATION_ID):
        result = run(h, "numbers", "--location", wanted, "--json", ghl=ghl, env=env)
        assert result.exit_code == 0, result.output
    # Without --location: the default profile.
    assert run(h, "numbers", "--json", ghl=ghl).exit_code == 0


def test_the_classic_env_pair_still_wins_without_location(h: CliHarness, ghl: Sandbox) -> None:
    run(h, "locations", "add", "dental", "--location", DEMO_LOCATION_ID, input=OTHER_PIT)
    env = {"GHL_TOKEN": DEMO_TOKEN, "GHL_LOCATION_ID": DEMO_LOCATION_ID}
    assert run(h, "numbers", "--json", ghl=ghl, env=env).exit_code == 0


def test_an_unknown_name_and_an_unsafe_config_are_explained(h: CliHarness) -> None:
    run(h, "locations", "add", "dental", "--location", DEMO_LOCATION_ID, input=DEMO_TOKEN)
    unknown = run(h, "numbers", "--location", "dentl")
    assert unknown.exit_code == 2
    assert "No sub-account named 'dentl'" in unknown.stderr and "dental" in unknown.stderr
    os.chmod(config_file(h), 0o644)
    unsafe = run(h, "numbers", "--location", "dental", "--json")
    assert unsafe.exit_code == 2
    error = json.loads(unsafe.stdout)["error"]
    assert error["code"] == "config" and f"chmod 600 {config_file(h)}" in error["hint"]


def test_several_profiles_without_a_default_ask_which(h: CliHarness) -> None:
    config = config_file(h)
    config.parent.mkdir(parents=True)
    config.write_text(
        '[locations.a]\nlocation_id = "l1"\ntoken_env = "A"\n'
        '[locations.b]\nlocation_id = "l2"\ntoken_env = "B"\n'
    )
    result = run(h, "numbers")
    assert result.exit_code == 2 and "none is the default" in result.stderr
    assert run(h, "locations", "default", "b").exit_code == 0
    listed = json.loads(run(h, "locations", "--json").stdout)
    assert [p["default"] for p in listed["profiles"]] == [False, True]


def test_remove_and_default_name_unknown_profiles(h: CliHarness) -> None:
    run(h, "locations", "add", "a", "--location", "l1", input=OTHER_PIT)
    assert run(h, "locations", "default", "zz").exit_code == 2
    assert run(h, "locations", "remove", "zz").exit_code == 2
    assert run(h, "locations", "remove", "a").exit_code == 0
    assert json.loads(run(h, "locations", "--json").stdout)["profiles"] == []


def test_a_config_given_with_ghl_sms_config_or_config(h: CliHarness, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.toml"
    env = {"GHL_SMS_CONFIG": str(elsewhere)}
    assert (
        run(h, "locations", "add", "a", "--location", "l1", input=OTHER_PIT, env=env).exit_code == 0
    )
    assert elsewhere.exists() and not config_file(h).exists()
    listed = json.loads(run(h, "locations", "--json", "--config", str(elsewhere)).stdout)
    assert [p["name"] for p in listed["profiles"]] == ["a"]


# --- the agency login -----------------------------------------------------------------


def test_login_sandbox_end_to_end_then_text_from_another_sub_account(h: CliHarness) -> None:
    login = run(h, "login", "--sandbox", "--json")
    assert login.exit_code == 0, login.output + login.stderr
    body = json.loads(login.stdout)
    assert body["company_id"] == "sandboxDemoCompany01"
    store = Path(body["store"])
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    listed = json.loads(run(h, "locations", "--sandbox", "--json").stdout)
    ids = [loc["id"] for loc in listed["agency"]["locations"]]
    assert ids == ["sandboxDemoLocation1", "sandboxDemoLocation2", "sandboxDemoLocation3"]
    numbers = run(h, "numbers", "--sandbox", "--location", "sandboxDemoLocation2", "--json")
    assert numbers.exit_code == 0, numbers.output
    two = {n["phone_number"] for n in json.loads(numbers.stdout)}
    demo = json.loads(run(h, "numbers", "--sandbox", "--json").stdout)
    assert two and two.isdisjoint({n["phone_number"] for n in demo})
    # A location the app is not installed on: a clear configuration error.
    missing = run(h, "numbers", "--sandbox", "--location", "sandboxDemoLocation4")
    assert missing.exit_code == 2 and "sandboxDemoLocation4" in missing.stderr
    assert "CANARY" not in store.read_text()


def test_login_no_browser_takes_a_pasted_redirect_url(h: CliHarness, ghl: Sandbox) -> None:
    import anyio
    import httpx2

    async def code() -> str:
        async with ghl.client() as page:
            consent = await page.get(
                "/oauth/chooselocation",
                params={
                    "response_type": "code",
                    "client_id": OAUTH_APP.client_id,
                    "redirect_uri": "http://127.0.0.1/callback",
                    "approve": "1",
                },
            )
        return httpx2.URL(consent.headers["location"]).params["code"]

    pasted = f"http://127.0.0.1/callback?code={anyio.run(code)}"
    result = run(
        h,
        "login",
        "--no-browser",
        "--client-id",
        OAUTH_APP.client_id,
        "--base-url",
        ghl.base_url,
        ghl=ghl,
        input=pasted + "\n",
        env={"GHL_CLIENT_SECRET": OAUTH_APP.client_secret},
    )
    assert result.exit_code == 0, result.output + result.stderr
    assert "chooselocation?response_type=code" in result.stderr  # the URL was printed
    assert pasted.split("code=")[1] not in result.output + result.stderr
    # Logged in: an id with no profile now goes through a location token.
    numbers = run(h, "numbers", "--location", "sandboxDemoLocation3", "--json", ghl=ghl)
    assert numbers.exit_code == 0, numbers.output
    listed = json.loads(run(h, "locations", "--json", ghl=ghl).stdout)
    assert len(listed["agency"]["locations"]) == 3


def test_login_refuses_a_bad_secret_without_showing_it(h: CliHarness, ghl: Sandbox) -> None:
    result = run(
        h,
        "login",
        "--no-browser",
        "--client-id",
        OAUTH_APP.client_id,
        ghl=ghl,
        input="not-a-code-that-works\n",
        env={"GHL_CLIENT_SECRET": OTHER_PIT},
    )
    assert result.exit_code == 1 and "GHL did not accept the login" in result.stderr


def test_sandbox_location_without_a_sandbox_login_is_still_refused(h: CliHarness) -> None:
    result = run(h, "numbers", "--sandbox", "--location", "sandboxDemoLocation2")
    assert result.exit_code == 2 and "login --sandbox" in result.stderr


# --- doctor --all -----------------------------------------------------------------------


def test_doctor_all_checks_every_sub_account_in_one_table(h: CliHarness, ghl: Sandbox) -> None:
    run(h, "locations", "add", "dental", "--location", DEMO_LOCATION_ID, input=DEMO_TOKEN)
    run(h, "locations", "add", "stale", "--location", DEMO_LOCATION_ID, input=OTHER_PIT)
    run(h, "locations", "add", "harbor", "--location", "locH", "--token-env", "HARBOR")
    result = run(h, "doctor", "--all", ghl=ghl)
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "LOCATION", "ID", "SOURCE", "RESULT"]
    rows = {line.split()[0]: line for line in lines[1:4]}
    assert "OK" in rows["dental"] and "FAIL" in rows["stale"] and "token" in rows["stale"]
    assert "FAIL" in rows["harbor"] and "$HARBOR" in rows["harbor"]
    assert "2 of 3 sub-accounts failed" in result.stdout
    as_json = json.loads(run(h, "doctor", "--all", "--json", ghl=ghl).stdout)
    assert [(r["name"], r["status"]) for r in as_json["locations"]] == [
        ("dental", "ok"),
        ("stale", "fail"),
        ("harbor", "fail"),
    ]
    assert as_json["ok"] is False and as_json["locations"][0]["checks"]


def test_doctor_all_covers_the_agency_login(h: CliHarness) -> None:
    assert run(h, "login", "--sandbox").exit_code == 0
    result = run(h, "doctor", "--all", "--sandbox", "--json")
    body = json.loads(result.stdout)
    assert [r["location_id"] for r in body["locations"]] == [
        "sandboxDemoLocation1",
        "sandboxDemoLocation2",
        "sandboxDemoLocation3",
    ]
    assert {r["source"] for r in body["locations"]} == {"agency login"}
    assert all(r["status"] != "fail" for r in body["locations"]), body
    assert result.exit_code == 0


def test_doctor_all_with_nothing_configured_says_how_to_add(h: CliHarness) -> None:
    result = run(h, "doctor", "--all")
    assert result.exit_code == 2 and "locations add" in result.stderr
    both = run(h, "doctor", "--all", "--location", "x")
    assert both.exit_code == 2


def test_keyring_profiles_keep_the_token_out_of_the_file(
    h: CliHarness, ghl: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys
    import types

    vault: dict[tuple[str, str], str] = {}
    fake = types.ModuleType("keyring")
    fake.get_password = lambda service, name: vault.get((service, name))  # type: ignore[attr-defined]
    fake.set_password = lambda service, name, secret: vault.__setitem__((service, name), secret)  # type: ignore[attr-defined]
    fake.delete_password = lambda service, name: vault.pop((service, name))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "keyring", fake)
    add = run(
        h,
        "locations",
        "add",
        "dental",
        "--location",
        DEMO_LOCATION_ID,
        "--keyring",
        input=DEMO_TOKEN,
    )
    assert add.exit_code == 0, add.output
    assert vault == {("ghl-sms", "dental"): DEMO_TOKEN}
    assert DEMO_TOKEN not in config_file(h).read_text()
    assert run(h, "numbers", "--location", "dental", "--json", ghl=ghl).exit_code == 0
    assert run(h, "locations", "remove", "dental").exit_code == 0
    assert vault == {}
    monkeypatch.setitem(sys.modules, "keyring", None)  # not installed
    missing = run(h, "locations", "add", "x", "--location", "l1", "--keyring", input=DEMO_TOKEN)
    assert missing.exit_code == 2 and "ghl-sms[keyring]" in missing.stderr


def test_a_token_of_another_sub_account_names_the_setting_to_fix(
    h: CliHarness, ghl: Sandbox
) -> None:
    other = ghl.create_location(name="Other", numbers=["+14155550177"])
    # A profile whose location_id is not its token's sub-account: fix the profile.
    run(h, "locations", "add", "mixed", "--location", other, input=DEMO_TOKEN)
    profiled = run(h, "numbers", "--location", "mixed", ghl=ghl)
    assert profiled.exit_code == 1, profiled.output
    assert "profile mixed" in profiled.stderr and "--location" in profiled.stderr
    assert "GHL_LOCATION_ID" not in profiled.stderr
    # The same mix-up in the environment: fix GHL_LOCATION_ID.
    env = {"GHL_TOKEN": DEMO_TOKEN, "GHL_LOCATION_ID": other}
    classic = run(h, "numbers", ghl=ghl, env=env)
    assert classic.exit_code == 1, classic.output
    assert "GHL_LOCATION_ID" in classic.stderr and "profile" not in classic.stderr
