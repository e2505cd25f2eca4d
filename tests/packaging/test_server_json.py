"""server.json, the MCP registry's entry: valid against the registry's published schema (read
from the PyPI wheel that ships it, see tests/data/mcp-registry/SOURCE.md), against the hand
restatement of its rules kept beside that note, and in step with the package."""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import os
import re
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs in the test extra
import pytest

import ghl_sms
from support.packaging import ROOT, need

SCHEMA_URL = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"
# The published schema as mcp-registry-sdk 0.1.0 ships it (its only copy on PyPI or npm).
PUBLISHED_PACKAGE = "mcp-registry-sdk==0.1.0"
PUBLISHED_MEMBER = "mcpreg/_spec/server.schema.snapshot.json"
PUBLISHED_SHA256 = "3fba09590c99f61735d234822279f4223fab9e300c0a81e81c91ab62a4114de0"
RESTATED = ROOT / "tests" / "data" / "mcp-registry" / "server.schema.json"


def _server() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "server.json").read_text(encoding="utf-8"))
    return data


def _published_bytes() -> bytes | None:
    """The schema file from the installed package, else from the wheel that
    GHL_SMS_MCP_REGISTRY_WHEEL names (CI downloads it: the package needs Python 3.13)."""
    spec = importlib.util.find_spec("mcpreg")  # finds the installed package, imports nothing
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder, *PUBLISHED_MEMBER.split("/")[1:])
        if path.is_file():
            return path.read_bytes()
    wheel = os.environ.get("GHL_SMS_MCP_REGISTRY_WHEEL", "")
    if wheel and Path(wheel).is_file():
        with zipfile.ZipFile(wheel) as archive:
            return archive.read(PUBLISHED_MEMBER)
    return None


def _schema(source: str) -> dict[str, Any]:
    if source == "restated":
        raw = RESTATED.read_bytes()
    else:
        found = _published_bytes()
        need(
            found is not None,
            "the registry's published schema is not at hand: on Python 3.13+ `pip install "
            f"'{PUBLISHED_PACKAGE}'`, else `pip download --no-deps --only-binary=:all: "
            f"--python-version 3.13 '{PUBLISHED_PACKAGE}'` and set GHL_SMS_MCP_REGISTRY_WHEEL "
            "to the wheel (only the restated rules were checked)",
        )
        assert found is not None
        raw = found
        assert hashlib.sha256(raw).hexdigest() == PUBLISHED_SHA256, "not the pinned schema"
    schema: dict[str, Any] = json.loads(raw)
    jsonschema.Draft7Validator.check_schema(schema)
    return schema


def _errors(source: str, document: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(
        _schema(source), format_checker=jsonschema.FormatChecker()
    )
    return [error.message for error in validator.iter_errors(document)]


def test_the_published_schema_is_the_registrys() -> None:
    schema = _schema("published")
    assert schema["$id"] == SCHEMA_URL
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert "auto-generated from docs/reference/api/openapi.yaml" in schema["$comment"]


@pytest.mark.parametrize("source", ["published", "restated"])
def test_server_json_is_valid_against_the_registry_schema(source: str) -> None:
    server = _server()
    assert server["$schema"] == SCHEMA_URL
    assert _errors(source, server) == []


@pytest.mark.parametrize("source", ["published", "restated"])
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
def test_the_schema_refuses_what_the_registry_refuses(
    source: str, path: tuple[Any, ...], value: Any
) -> None:
    broken = copy.deepcopy(_server())
    target: Any = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert _errors(source, broken)


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
