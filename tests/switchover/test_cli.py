"""``python -m asyncswitch switchover`` as an operator meets it: bad input is one line and exit code 2,
--validate-only and --dry-run change nothing and leave no state, a failure says how to resume."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
import yaml

from asyncswitch.cli import main
from asyncswitch.kube import BACKUP_SCHEDULES, Hub
from asyncswitch.sim.acm import SimulatedHubPair

from .support import BACKUP_NS, Cli, assert_switched_over, backup_names, pipeline_mutations, read_state, switchover_args

pytestmark = pytest.mark.pair(clusters=4, profile="fast", speed=400)


def write_kubeconfig_without_servers(path: Path) -> Path:
    """A kubeconfig with contexts hub-a and hub-b whose servers nobody serves: enough for input checks."""
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "hub-a",
        "clusters": [{"name": n, "cluster": {"server": "https://127.0.0.1:9"}} for n in ("hub-a", "hub-b")],
        "users": [{"name": "admin", "user": {"token": "t"}}],
        "contexts": [{"name": n, "context": {"cluster": n, "user": "admin"}} for n in ("hub-a", "hub-b")],
    }))
    return path


def bad_input_cases(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    kubeconfig = write_kubeconfig_without_servers(tmp_path / "kubeconfig")
    not_yaml = tmp_path / "not-yaml"
    not_yaml.write_text("clusters: [\n")
    return {
        "same context twice": (switchover_args(kubeconfig, "hub-a", "hub-a", tmp_path / "s.json"),
                               "--primary-context and --secondary-context must name two different hubs"),
        "unknown context": (switchover_args(kubeconfig, "hub-a", "hub-c", tmp_path / "s.json"),
                            "context 'hub-c' is not in kubeconfig"),
        "missing kubeconfig": (switchover_args(tmp_path / "absent", "hub-a", "hub-b", tmp_path / "s.json"),
                               "cannot read kubeconfig"),
        "kubeconfig is a directory": (switchover_args(tmp_path, "hub-a", "hub-b", tmp_path / "s.json"),
                                      "cannot read kubeconfig"),
        "kubeconfig is not YAML": (switchover_args(not_yaml, "hub-a", "hub-b", tmp_path / "s.json"),
                                   "is not valid YAML"),
        "resume without a state file": (switchover_args(kubeconfig, "hub-a", "hub-b", tmp_path / "s.json",
                                                        "--resume"), "cannot resume"),
    }


@pytest.fixture
def structlog_restored() -> Iterator[None]:
    """main() configures logging for the process; in this one it must not outlive the test."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


@pytest.mark.usefixtures("structlog_restored")
@pytest.mark.parametrize("case", ["same context twice", "unknown context", "missing kubeconfig",
                                  "kubeconfig is a directory", "kubeconfig is not YAML", "resume without a state file"])
def test_bad_input_is_refused_in_one_line_with_exit_code_2(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    args, says = bad_input_cases(tmp_path)[case]

    assert main(args) == 2

    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert says in err
    assert err.count("\n") == 1
    assert not (tmp_path / "s.json").exists()


async def test_bad_input_from_a_real_process_is_one_line_without_a_traceback(tmp_path: Path) -> None:
    args, says = bad_input_cases(tmp_path)["unknown context"]

    result = await Cli(tmp_path).run(*args)

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert says in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(("flag", "says"), [("--validate-only", "validated"), ("--dry-run", "dry run finished")])
async def test_validate_only_and_dry_run_read_both_hubs_but_change_nothing_and_leave_no_state(
    pair: SimulatedHubPair, hubs: dict[str, Hub], kubeconfig: Path, tmp_path: Path, flag: str, says: str,
) -> None:
    state_file = tmp_path / "state.json"

    result = await Cli(tmp_path).run(*switchover_args(kubeconfig, "hub-a", "hub-b", state_file, flag))

    assert result.returncode == 0, result.stderr[-3000:]
    assert f"switchover hub-a -> hub-b {says}" in result.stdout
    for server in (pair.hub_a, pair.hub_b):
        assert server.requests.records(verb="list"), f"{server.name} was not read"
        assert pipeline_mutations(server) == [], f"{server.name} was changed"
    assert not state_file.exists()
    assert not (tmp_path / ".state").exists()
    (schedule,) = (await hubs["hub-a"].list(BACKUP_SCHEDULES, BACKUP_NS)).items
    assert schedule["spec"]["paused"] is False


async def test_a_failed_switchover_exits_1_says_how_to_resume_and_resuming_completes_it(
    pair: SimulatedHubPair, hubs: dict[str, Hub], kubeconfig: Path, tmp_path: Path,
) -> None:
    state_file = tmp_path / "state.json"
    cli = Cli(tmp_path)
    pair.set_storage_available(False)

    failed = await cli.run(*switchover_args(kubeconfig, "hub-a", "hub-b", state_file))

    assert failed.returncode == 1
    assert "Traceback" not in failed.stderr
    assert "error: preflight failed: " in failed.stderr
    assert f"state saved in {state_file}; fix the cause and rerun with --resume" in failed.stderr
    assert read_state(state_file)["failed_phase"] == "preflight"

    pair.set_storage_available(True)
    before = await backup_names(hubs["hub-b"])
    resumed = await cli.run(*switchover_args(kubeconfig, "hub-a", "hub-b", state_file, "--resume"))

    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "switchover hub-a -> hub-b completed" in resumed.stdout
    await assert_switched_over(pair, hubs, old="hub-a", new="hub-b", action="secondary", backups_before=before)
