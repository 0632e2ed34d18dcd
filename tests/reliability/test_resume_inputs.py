"""``run --resume RUN_DIR``, exactly as the interrupt message prints it, continues the run as it was started:
its recorded inputs, and for a run made against a kubeconfig, its hubs (never a new embedded simulator)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from ..engine.support import of_type, only_run_dir, poll, read_json, records, run_cli, run_state
from .support import served_pair


def _counted(output: Path, cycles: int) -> Path | None:
    found = run_state(output)
    return found[0] if found is not None and found[1]["next_cycle"] > cycles else None


async def _kill_after_cycle_1(output: Path, process: asyncio.subprocess.Process) -> None:
    await poll(lambda: _counted(output, 1), description="cycle 1 committed")
    process.send_signal(signal.SIGKILL)


async def test_a_resume_takes_the_runs_recorded_cycles_and_seed(tmp_path: Path) -> None:
    output = tmp_path / "runs"
    first = await run_cli(tmp_path, "run", "--cycles", "6", "--seed", "11", "--sim-profile", "instant",
                          "--sim-clusters", "2", "--no-progress",
                          while_running=lambda process: _kill_after_cycle_1(output, process))
    assert first.returncode == -signal.SIGKILL
    run_dir = only_run_dir(output)

    resumed = await run_cli(tmp_path, "run", "--resume", str(run_dir))

    assert resumed.returncode == 0, resumed.stderr
    assert "6/6 cycles succeeded" in resumed.stdout
    starts = of_type(records(run_dir), "run_start")
    assert [s["cycles"] for s in starts] == [6, 6]
    assert read_json(run_dir / "manifest.json")["inputs"]["seed"] == 11
    assert read_json(run_dir / "summary.json")["cycles"] == 6


async def test_a_run_made_against_a_kubeconfig_resumes_against_its_hubs(tmp_path: Path) -> None:
    with served_pair(tmp_path, "--profile", "instant", "--clusters", "2") as hubs:
        output = tmp_path / "runs"
        first = await run_cli(tmp_path, "run", "--kubeconfig", str(hubs.kubeconfig), "--primary-context", "hub-a",
                              "--secondary-context", "hub-b", "--cycles", "3", "--compactor-watch", "0",
                              "--no-progress", while_running=lambda process: _kill_after_cycle_1(output, process))
        assert first.returncode == -signal.SIGKILL
        run_dir = only_run_dir(output)
        served_before = hubs.request_count("hub-b")

        resumed = await run_cli(tmp_path, "run", "--resume", str(run_dir), "--no-progress")

        assert resumed.returncode == 0, resumed.stderr
        assert "3/3 cycles succeeded" in resumed.stdout
        assert hubs.request_count("hub-b") > served_before  # the same hubs carried on
    starts = of_type(records(run_dir), "run_start")
    # Cycle 1 moved the fleet to hub-b; the resumed process goes on from there, not from a new hub-a.
    assert [(s["primary"], s["next_cycle"]) for s in starts][1] == ("hub-b", 2)
    assert read_json(run_dir / "manifest.json")["embedded_simulator"] is None
