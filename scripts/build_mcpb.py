"""Build the Claude Desktop extension, dist/ghl-sms.mcpb, from a built ghl-sms wheel.

    python -m build                      # dist/ghl_sms-X.Y.Z-py3-none-any.whl
    python scripts/build_mcpb.py         # dist/ghl-sms.mcpb

The bundle is a zip: packaging/mcpb/manifest.json, the entry point (server/main.py), the
wheel under wheels/, and a pyproject.toml that has uv install that wheel (its dependencies
come from PyPI). Entries are sorted and dated 1980-01-01, so the same inputs give the same
bytes. Check the manifest with `npx --prefix packaging/mcpb mcpb validate
packaging/mcpb/manifest.json`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MCPB = ROOT / "packaging" / "mcpb"
EPOCH = (1980, 1, 1, 0, 0, 0)

PYPROJECT = """\
# The extension's Python environment, made by uv when the app starts it.
[project]
name = "ghl-sms-claude-extension"
version = "{version}"
requires-python = ">=3.11"
dependencies = ["ghl-sms=={version}"]

[tool.uv]
package = false

[tool.uv.sources]
ghl-sms = {{ path = "wheels/{wheel}" }}
"""


class BuildError(Exception):
    """What is wrong with the inputs, and what to do."""


def package_version() -> str:
    text = (ROOT / "src" / "ghl_sms" / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r'^__version__ = "([^"]+)"$', text, re.MULTILINE)
    if found is None:
        raise BuildError("no __version__ in src/ghl_sms/__init__.py")
    return found.group(1)


def build(wheel: Path, out: Path) -> Path:
    """Write the bundle; returns its path."""
    manifest = json.loads((MCPB / "manifest.json").read_text(encoding="utf-8"))
    version = package_version()
    if manifest["version"] != version:
        raise BuildError(
            f"packaging/mcpb/manifest.json says version {manifest['version']}, ghl-sms is "
            f"{version}: update the manifest"
        )
    expected = f"ghl_sms-{version}-py3-none-any.whl"
    if wheel.name != expected or not wheel.is_file():
        raise BuildError(f"{wheel} is not {expected}: build it with `python -m build`")
    files = {
        "manifest.json": (MCPB / "manifest.json").read_bytes(),
        "server/main.py": (MCPB / "server" / "main.py").read_bytes(),
        "pyproject.toml": PYPROJECT.format(version=version, wheel=wheel.name).encode(),
        f"wheels/{wheel.name}": wheel.read_bytes(),
        "LICENSE": (ROOT / "LICENSE").read_bytes(),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name in sorted(files):
            entry = zipfile.ZipInfo(name, date_time=EPOCH)
            entry.external_attr = 0o644 << 16
            bundle.writestr(entry, files[name], zipfile.ZIP_DEFLATED)
    partial.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="the ghl-sms wheel (default: from dist/)")
    parser.add_argument("--out", type=Path, default=ROOT / "dist" / "ghl-sms.mcpb")
    args = parser.parse_args(argv)
    try:
        wheel = args.wheel or ROOT / "dist" / f"ghl_sms-{package_version()}-py3-none-any.whl"
        out = build(wheel, args.out)
    except BuildError as exc:
        print(f"build_mcpb: {exc}", file=sys.stderr)
        return 2
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    print(f"{out} ({out.stat().st_size // 1024} KB, sha256 {digest})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
