"""server.json, the MCP registry's entry: valid against the registry's schema (its rules as
restated in tests/data/mcp-registry, see SOURCE.md there) and in step with the package."""

from __future__ import annotations

import copy
import json
import re
import tomllib
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs in the test extra
import pytest

import ghl_sms
from support.packaging import ROOT

SCHEMA_URL = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"


def _server() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "server.json").read_text(encoding="utf-8"))
    return data


def _validator() -> jsonschema.Draft7Validator:
    path = ROOT / "tests" / "data" / "mcp-registry" / "server.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())


def _errors(document: dict[str, Any]) -> list[str]:
    return [error.message for error in _validator().iter_errors(document)]


def test_server_json_is_valid_against_the_registry_schema() -> None:
    server = _server()
    assert server["$schema"] == SCHEMA_URL
    assert _errors(server) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("name",), "ghl-sms"),  # no namespace
        (("description",), "x" * 101),  # the registry's 100-character limit
        (("packages", 0, "version"), "latest"),
        (("packages", 0, "transport", "type"), "pipe"),
        (("packages", 0, "environmentVariables", 0, "isSecret"), "yes"),
    ],
)
def test_the_schema_refuses_what_the_registry_refuses(path: tuple[Any, ...], value: Any) -> None:
    broken = copy.deepcopy(_server())
    target: Any = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert _errors(broken)


def test_the_registry_entry_matches_the_package() -> None:
    server = _server()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    (package,) = server["packages"]
    assert server["version"] == package["version"] == ghl_sms.__version__
    assert package["registryType"] == "pypi" and package["identifier"] == project["name"]
    assert package["runtimeHint"] == "uvx" and package["transport"] == {"type": "stdio"}
    # uvx ghl-sms mcp: the console script of the same name, then its mcp command.
    assert project["scripts"]["ghl-sms"] == "ghl_sms.cli:main"
    assert [a.get("value") for a in package["packageArguments"]] == ["mcp"]


def test_the_token_is_secret_and_every_variable_is_one_ghl_sms_reads() -> None:
    (package,) = _server()["packages"]
    variables = {v["name"]: v for v in package["environmentVariables"]}
    assert variables["GHL_TOKEN"]["isSecret"] is True and variables["GHL_TOKEN"]["isRequired"]
    assert variables["GHL_LOCATION_ID"]["isRequired"] is True
    assert [n for n, v in variables.items() if v.get("isSecret")] == ["GHL_TOKEN"]
    docs = (ROOT / "docs" / "getting-started.md").read_text(encoding="utf-8")
    for name in variables:  # each one documented in the docs' configuration table
        assert re.search(rf"^\| `{name}` \|", docs, re.MULTILINE), name


def test_the_readme_names_the_server_for_the_registry_ownership_check() -> None:
    # The registry publishes a PyPI package only if its description says `mcp-name: <name>`.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"mcp-name: {_server()['name']}" in readme
