"""`ghl-sms --version` and `ghl-sms completion bash|zsh|fish`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import ghl_sms
from ghl_sms.cli import cli
from ghl_sms.cli._completion import COMPLETE_VAR


def _ghl_sms() -> Path:
    """The installed console script, as a shell runs it."""
    script = Path(sys.executable).parent / "ghl-sms"
    if not script.exists():
        pytest.skip("the ghl-sms console script is not installed beside this Python")
    return script


def test_version_prints_the_name_and_version() -> None:
    result = CliRunner().invoke(cli, ["--version"], prog_name="ghl-sms")
    assert result.exit_code == 0
    assert result.stdout == f"ghl-sms {ghl_sms.__version__}\n"


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_each_shell_gets_a_script_that_calls_ghl_sms_back(shell: str) -> None:
    result = CliRunner().invoke(cli, ["completion", shell])
    assert result.exit_code == 0, result.output
    assert "ghl-sms" in result.stdout and COMPLETE_VAR in result.stdout
    assert f"{shell}_complete" in result.stdout


def test_an_unknown_shell_is_a_usage_error_naming_the_choices() -> None:
    result = CliRunner().invoke(cli, ["completion", "tcsh"])
    assert result.exit_code == 2
    assert "'bash', 'zsh', 'fish'" in result.output and "Traceback" not in result.output


def _complete(words: str, shell: str = "bash") -> list[str]:
    """What the entry point answers a completion script for the words typed so far."""
    typed = words.split(" ")
    env = {**os.environ, COMPLETE_VAR: f"{shell}_complete", "COMP_WORDS": words,
           "COMP_CWORD": str(len(typed) - 1)}  # fmt: skip
    answer = subprocess.run([_ghl_sms()], env=env, capture_output=True, text=True, timeout=60)
    assert answer.returncode == 0, answer.stderr
    return answer.stdout.splitlines()


def test_the_entry_point_completes_commands_and_subcommands() -> None:
    assert _complete("ghl-sms se") == ["plain,send"]
    assert _complete("ghl-sms s") == ["plain,send", "plain,status", "plain,sandbox"]
    assert "plain,status" in _complete("ghl-sms bulk st")
    assert "plain,--json" in _complete("ghl-sms preview --j")


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_loads_the_script_and_offers_send_and_sandbox() -> None:
    script = _ghl_sms()
    program = (
        'source <("$GHL_SMS" completion bash)\n'
        "complete -p ghl-sms\n"
        "for typed in se sa; do\n"
        "  COMP_WORDS=(ghl-sms $typed); COMP_CWORD=1; COMPREPLY=()\n"
        '  _ghl_sms_completion ghl-sms; echo "$typed: ${COMPREPLY[*]}"\n'
        "done\n"
    )
    env = {**os.environ, "GHL_SMS": str(script), "PATH": f"{script.parent}{os.pathsep}"
           f"{os.environ.get('PATH', '')}"}  # fmt: skip
    ran = subprocess.run(["bash", "-c", program], env=env, capture_output=True, text=True,
                         timeout=60)  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0].startswith("complete ") and lines[0].endswith(" ghl-sms")
    assert lines[1:] == ["se: send", "sa: sandbox"]
