"""Ctrl-C on ``python -m asyncswitch run``: exit code 130, the run's state and summary saved, and the
fault injected at that moment rolled back before the process ends."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from asyncswitch.kube import DEPLOYMENTS, Hub, ResourceCache

from .support import DEADLINE, of_type, only_run_dir, poll, read_json, records, run_cli

BACKUP_NS = "open-cluster-management-backup"


def kubeconfig_of_run(output_dir: Path) -> Path | None:
    return next(output_dir.glob("run-*/sim.kubeconfig"), None)


async def test_ctrl_c_while_a_fault_is_held_exits_130_with_the_state_saved_and_the_fault_rolled_back(
        tmp_path: Path) -> None:
    output = tmp_path / "out"

    async def interrupt_while_velero_is_down(process: asyncio.subprocess.Process) -> None:
        kubeconfig = await poll(lambda: kubeconfig_of_run(output), description="the run's kubeconfig")
        # Cycle 1 promotes hub-b; the fault scales its velero down when activation starts.
        async with Hub.connect(kubeconfig, "hub-b") as hub_b, \
                ResourceCache(hub_b, DEPLOYMENTS, namespace=BACKUP_NS) as deployments:
            await deployments.wait_for(lambda objs: (objs.get("velero") or {}).get("spec", {}).get("replicas") == 0,
                                       timeout=DEADLINE, description="velero scaled to 0 on hub-b")
        process.send_signal(signal.SIGINT)

    finished = await run_cli(tmp_path, "run", "--cycles", "3", "--sim-clusters", "8", "--no-progress",
                             "--inject-failure", "delay-restore", "--inject-at-phase", "activation",
                             "--output-dir", str(output), while_running=interrupt_while_velero_is_down)

    assert finished.returncode == 130, finished.stderr
    run_dir = only_run_dir(output)
    assert f"--resume {run_dir}" in finished.stderr
    assert "Traceback" not in finished.stderr
    summary = read_json(run_dir / "summary.json")
    assert summary["end_state"]["interrupted"] is True
    assert summary["cycles"] == 0
    state = read_json(run_dir / "run_state.json")
    assert (state["in_flight"], state["finished"]) == ("cycle-0001", False)
    found = records(run_dir)
    faults = of_type(found, "fault_injected", "fault_rolled_back")
    assert [(r["type"], r["scenario"], r["success"]) for r in faults] == [
        ("fault_injected", "delay-restore", True), ("fault_rolled_back", "delay-restore", True)]
    assert faults[1]["message"] == "rolled back"
    assert of_type(found, "cycle_end") == []
    assert found[-1]["type"] == "run_end"
    assert found[-1]["interrupted"] is True
