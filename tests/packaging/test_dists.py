"""The wheel and sdist CI builds: the package with its data, nothing else; the sdist can run
the tests; the metadata a package index shows is complete."""

from __future__ import annotations

import email.parser
import tarfile
import tomllib
import zipfile

import ghl_sms
from support.packaging import ROOT, built

DATA_FILES = [
    "ghl_sms/py.typed",
    "ghl_sms/webhooks/ghl_webhook_rsa_public_key.pem",
    "ghl_sms/console/static/index.html",
]


def _wheel_names() -> list[str]:
    with zipfile.ZipFile(built("GHL_SMS_WHEEL", ".whl")) as wheel:
        return wheel.namelist()


def test_the_wheel_holds_the_package_and_its_data_only() -> None:
    names = _wheel_names()
    for data in DATA_FILES:
        assert data in names, data
    static = {n for n in names if n.startswith("ghl_sms/console/static/")}
    shipped = {f"ghl_sms/console/static/{p.name}"
               for p in (ROOT / "src/ghl_sms/console/static").iterdir() if p.is_file()}  # fmt: skip
    assert static == shipped
    tops = {n.split("/")[0] for n in names}
    assert tops == {"ghl_sms", f"ghl_sms-{ghl_sms.__version__}.dist-info"}
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_the_wheel_metadata_is_complete() -> None:
    wheel = built("GHL_SMS_WHEEL", ".whl")
    dist_info = f"ghl_sms-{ghl_sms.__version__}.dist-info"
    with zipfile.ZipFile(wheel) as archive:
        metadata = email.parser.Parser().parsestr(
            archive.read(f"{dist_info}/METADATA").decode("utf-8")
        )
        names = archive.namelist()
        entry_points = archive.read(f"{dist_info}/entry_points.txt").decode("utf-8")
    assert metadata["Name"] == "ghl-sms" and metadata["Version"] == ghl_sms.__version__
    assert metadata["License-Expression"] == "MIT"
    assert f"{dist_info}/licenses/LICENSE" in names
    assert metadata["Author"] == "ghl-sms developers"
    assert "gohighlevel" in metadata["Keywords"] and "mcp" in metadata["Keywords"]
    classifiers = metadata.get_all("Classifier") or []
    assert "Typing :: Typed" in classifiers and len(classifiers) >= 8
    urls = metadata.get_all("Project-URL") or []
    assert any(url.startswith("Homepage, https://") for url in urls)
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert "ghl-sms = ghl_sms.cli:main" in entry_points


def test_the_sdist_carries_the_tests_but_no_local_clutter() -> None:
    sdist = built("GHL_SMS_SDIST", ".tar.gz")
    prefix = f"ghl_sms-{ghl_sms.__version__}/"
    with tarfile.open(sdist) as archive:
        names = [n.removeprefix(prefix) for n in archive.getnames()]
    needed = [
        "pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md", "server.json",
        "tests/conftest.py", "tests/support/cli.py", "tests/data/mcp-registry/server.schema.json",
        "src/ghl_sms/__init__.py", "src/ghl_sms/webhooks/ghl_webhook_rsa_public_key.pem",
        "packaging/mcpb/manifest.json", "packaging/mcpb/package-lock.json",
        "scripts/build_mcpb.py",
    ]  # fmt: skip
    assert [n for n in needed if n not in names] == []
    assert any(n.startswith("tests/data/") for n in names)
    for clutter in ("node_modules", ".venv", "__pycache__", ".git/", "dist/"):
        assert not [n for n in names if clutter in n], clutter


def test_one_version_everywhere() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "version" in project["dynamic"]  # read from ghl_sms.__version__ at build time
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
