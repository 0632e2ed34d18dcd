"""A run SIGKILLed while it holds a fault: the journal written before the injection lets ``--resume``
roll the fault back before anything else."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from asyncswitch.engine.faults import FaultJournal
from asyncswitch.kube import DEPLOYMENTS, Hub, ResourceCache
from asyncswitch.sim.acm import SimulatedHubPair

from .support import DEADLINE, instant_pair, of_type, only_run_dir, records, run_cli

BACKUP_NS = "open-cluster-management-backup"


def velero_replicas(wanted: int):  # type: ignore[no-untyped-def]
    return lambda objs: (objs.get("velero") or {}).get("spec", {}).get("replicas") == wanted


async def test_sigkill_while_a_fault_is_held_then_resume_rolls_it_back_first(tmp_path: Path) -> None:
    output = tmp_path / "out"
    async with SimulatedHubPair(instant_pair()) as pair:
        kubeconfig = pair.write_kubeconfig(tmp_path / "hubs.kubeconfig")
        hubs = ("--kubeconfig", str(kubeconfig), "--primary-context", "hub-a", "--secondary-context", "hub-b",
                "--compactor-watch", "0")  # real seconds on hubs given by context: not worth waiting here

        async def kill_while_velero_is_down(process: asyncio.subprocess.Process) -> None:
            async with Hub.connect(kubeconfig, "hub-b") as hub_b, \
                    ResourceCache(hub_b, DEPLOYMENTS, namespace=BACKUP_NS) as deployments:
                await deployments.wait_for(velero_replicas(0), timeout=DEADLINE, description="velero at 0 on hub-b")
            process.send_signal(signal.SIGKILL)

        killed = await run_cli(tmp_path, "run", *hubs, "--cycles", "1", "--no-progress", "--output-dir", str(output),
                               "--inject-failure", "delay-restore", "--fault-duration", "3600",
                               while_running=kill_while_velero_is_down)
        assert killed.returncode == -signal.SIGKILL
        run_dir = only_run_dir(output)
        (held,) = FaultJournal(run_dir / "fault_journal.jsonl").pending()
        assert (held["scenario"], held["hub"], held["undo"]) == ("delay-restore", "hub-b", {"replicas": 1})
        async with Hub.connect(kubeconfig, "hub-b") as hub_b:
            velero = await hub_b.get(DEPLOYMENTS, "velero", BACKUP_NS)
            assert velero is not None
            assert velero["spec"]["replicas"] == 0  # the kill left the fault in place

        resumed = await run_cli(tmp_path, "run", *hubs, "--cycles", "1", "--no-progress", "--output-dir",
                                str(output), "--resume", str(run_dir), "--inject-failure", "delay-restore",
                                "--fault-duration", "0.2")

        assert resumed.returncode == 0, resumed.stderr
        after_restart = records(run_dir)
        after_restart = after_restart[max(i for i, r in enumerate(after_restart) if r["type"] == "run_start"):]
        first = [r["type"] for r in after_restart[:3]]
        assert first[:2] == ["run_start", "fault_rolled_back"], first
        replayed = after_restart[1]
        assert (replayed["fault_id"], replayed["replayed"], replayed["success"]) == (held["id"], True, True)
        assert of_type(after_restart, "cycle_verdict")[0]["verdict"] == "recovered"
        assert FaultJournal(run_dir / "fault_journal.jsonl").pending() == []
        async with Hub.connect(kubeconfig, "hub-b") as hub_b:
            velero = await hub_b.get(DEPLOYMENTS, "velero", BACKUP_NS)
            assert velero is not None
            assert velero["spec"]["replicas"] == 1
