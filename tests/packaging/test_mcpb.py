"""The Claude Desktop extension (.mcpb): its manifest passes the official validator and
matches the server; the build script's bundle holds what the app needs and serves the tools."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

import ghl_sms
from support.packaging import (
    MCPB_DIR,
    ROOT,
    built,
    load_module,
    mcpb_cli,
    served_tool_names,
    uv_executable,
)

MANIFEST = MCPB_DIR / "manifest.json"
build_mcpb = load_module(ROOT / "scripts" / "build_mcpb.py")
entry = load_module(MCPB_DIR / "server" / "main.py")


def _manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(MANIFEST.read_text(encoding="utf-8"))
    return data


def test_the_manifest_matches_the_package_and_its_tools() -> None:
    manifest = _manifest()
    assert manifest["version"] == ghl_sms.__version__
    listed, served = {t["name"] for t in manifest["tools"]}, anyio.run(served_tool_names)
    assert listed == served, f"list {sorted(served)} in packaging/mcpb/manifest.json's tools"
    server = manifest["server"]
    assert server["type"] == "uv" and (MCPB_DIR / server["entry_point"]).is_file()
    assert server["mcp_config"]["args"][-1] == server["entry_point"]


def test_the_settings_token_location_and_sandbox_reach_the_server() -> None:
    manifest = _manifest()
    settings, env = manifest["user_config"], manifest["server"]["mcp_config"]["env"]
    assert settings["ghl_token"]["type"] == "string" and settings["ghl_token"]["sensitive"] is True
    assert settings["location_id"]["type"] == "string"
    assert not settings["location_id"].get("sensitive")
    assert settings["sandbox"]["type"] == "boolean"
    assert env == {
        "GHL_TOKEN": "${user_config.ghl_token}",
        "GHL_LOCATION_ID": "${user_config.location_id}",
        entry.SANDBOX: "${user_config.sandbox}",
    }


@pytest.mark.parametrize(
    ("settings", "argv", "left"),
    [
        ({"GHL_SMS_MCPB_SANDBOX": "true", "GHL_TOKEN": "", "GHL_LOCATION_ID": " "},
         ["mcp", "--sandbox"], {}),
        ({"GHL_SMS_MCPB_SANDBOX": "false", "GHL_TOKEN": "pit-1", "GHL_LOCATION_ID": "loc1"},
         ["mcp"], {"GHL_TOKEN": "pit-1", "GHL_LOCATION_ID": "loc1"}),
        # An app that leaves an empty setting unsubstituted passes the placeholder.
        ({"GHL_TOKEN": "${user_config.ghl_token}", "GHL_LOCATION_ID": "loc1"},
         ["mcp"], {"GHL_LOCATION_ID": "loc1"}),
    ],
)  # fmt: skip
def test_the_entry_point_turns_settings_into_a_command(
    settings: dict[str, str], argv: list[str], left: dict[str, str]
) -> None:
    environ = dict(settings)
    assert entry.command_line(environ) == argv
    assert environ == left


def test_the_official_validator_accepts_the_manifest_and_refuses_a_broken_one(
    tmp_path: Path,
) -> None:
    validator = mcpb_cli()
    ok = subprocess.run([*validator, "validate", str(MANIFEST)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    broken = _manifest()
    broken["user_config"]["ghl_token"]["sensitive"] = "yes"
    (tmp_path / "manifest.json").write_text(json.dumps(broken), encoding="utf-8")
    refused = subprocess.run(
        [*validator, "validate", str(tmp_path / "manifest.json")], capture_output=True, text=True
    )
    assert refused.returncode != 0 and "sensitive" in refused.stdout + refused.stderr


def test_the_build_script_is_reproducible_and_checks_its_inputs(tmp_path: Path) -> None:
    wheel = tmp_path / f"ghl_sms-{ghl_sms.__version__}-py3-none-any.whl"
    wheel.write_bytes(b"not really a wheel")
    first = build_mcpb.build(wheel, tmp_path / "a" / "ghl-sms.mcpb")
    second = build_mcpb.build(wheel, tmp_path / "b" / "ghl-sms.mcpb")
    assert first.read_bytes() == second.read_bytes()
    other = tmp_path / "ghl_sms-0.0.1-py3-none-any.whl"
    other.write_bytes(b"")
    with pytest.raises(build_mcpb.BuildError, match="python -m build"):
        build_mcpb.build(other, tmp_path / "c.mcpb")
    assert build_mcpb.main(["--wheel", str(other), "--out", str(tmp_path / "c.mcpb")]) == 2
    assert not (tmp_path / "c.mcpb").exists()


def _bundle() -> Path:
    return built("GHL_SMS_MCPB", ".mcpb", "python scripts/build_mcpb.py")


def test_the_bundle_holds_the_manifest_the_entry_point_and_the_wheel() -> None:
    wheel = built("GHL_SMS_WHEEL", ".whl")
    with zipfile.ZipFile(_bundle()) as bundle:
        names = set(bundle.namelist())
        assert bundle.read("manifest.json") == MANIFEST.read_bytes()
        assert bundle.read(f"wheels/{wheel.name}") == wheel.read_bytes()
        project = tomllib.loads(bundle.read("pyproject.toml").decode("utf-8"))
    assert names == {"manifest.json", "server/main.py", "pyproject.toml", "LICENSE",
                     f"wheels/{wheel.name}"}  # fmt: skip
    assert project["project"]["dependencies"] == [f"ghl-sms=={ghl_sms.__version__}"]
    assert project["tool"]["uv"]["sources"]["ghl-sms"] == {"path": f"wheels/{wheel.name}"}


@pytest.mark.anyio
async def test_the_bundle_started_as_the_app_starts_it_serves_the_tools(tmp_path: Path) -> None:
    bundle, uv = _bundle(), uv_executable()
    extension = tmp_path / "extension"
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(extension)
    manifest = json.loads((extension / "manifest.json").read_text(encoding="utf-8"))
    config = manifest["server"]["mcp_config"]
    values = {"${__dirname}": str(extension), "${user_config.ghl_token}": "",
              "${user_config.location_id}": "", "${user_config.sandbox}": "true"}  # fmt: skip
    args = [values.get(arg, arg) for arg in config["args"]]
    env = {name: values[value] for name, value in config["env"].items()}
    kept = ("UV_", "SSL_", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "XDG_", "HOME", "PATH")
    env |= {k: v for k, v in os.environ.items() if k.startswith(kept)}
    env |= {"GHL_SMS_DATA_DIR": str(tmp_path / "data"), "UV_PYTHON": sys.executable,
            "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1"}  # fmt: skip
    assert config["command"] == "uv"
    params = StdioServerParameters(command=uv, args=args, env=env, cwd=str(tmp_path))
    with anyio.fail_after(240):  # a cold uv cache downloads the dependencies first
        async with Client(params) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            numbers = await client.call_tool("sms_numbers", {})
    assert names == await served_tool_names()
    assert numbers.structured_content["numbers"][0]["is_default"] is True  # the sandbox's
