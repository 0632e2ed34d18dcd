"""The command line as a user meets it: exit codes and one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from asyncswitch.cli import main


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "asyncswitch", *args], capture_output=True, text=True, timeout=60)


def test_an_unknown_command_is_one_line_and_exit_code_2() -> None:
    result = _run("frobnicate")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [["sim", "--port-a", "70000"], ["sim", "--port-a", "5000", "--port-b", "5000"],
                                  ["sim", "--speed", "0"]])
def test_bad_sim_options_are_one_line_and_exit_code_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert err.count("\n") == 1


@pytest.mark.parametrize("args", [["run", "--cycles", "0"], ["run", "--primary-context", "a"],
                                  ["run", "--primary-context", "a", "--secondary-context", "a"],
                                  ["run", "--method", "full", "--activation-method", "restore"],
                                  ["run", "--inject-failure", "nope"],
                                  ["run", "--inject-failure", "delay-restore=soon"],
                                  ["run", "--primary-context", "a", "--secondary-context", "b",
                                   "--inject-failure", "watch-drops"],
                                  ["run", "--old-hub-action", "decommission"]])
def test_bad_run_options_are_one_line_and_exit_code_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert err.count("\n") == 1
