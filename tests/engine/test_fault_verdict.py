"""The verdict on a cycle with faults, read from both hubs: recovered, failed-safe or damaged."""

from __future__ import annotations

from pathlib import Path

from asyncswitch.engine.faults import judge
from asyncswitch.kube import BACKUP_SCHEDULES, Hub
from asyncswitch.sim.acm import SimulatedHubPair

BACKUP_NS = "open-cluster-management-backup"


async def test_whole_hubs_are_recovered_or_failed_safe_and_a_second_running_schedule_is_damage(
        pair: SimulatedHubPair, tmp_path: Path) -> None:
    kubeconfig = pair.write_kubeconfig(tmp_path / "kubeconfig")
    async with Hub.connect(kubeconfig, "hub-a") as hub_a, Hub.connect(kubeconfig, "hub-b") as hub_b:
        hubs = {"hub-a": hub_a, "hub-b": hub_b}
        assert (await judge(hubs, success=True, expected_clusters=5)).verdict == "recovered"
        assert (await judge(hubs, success=False, expected_clusters=5)).verdict == "failed-safe"

        lost = await judge(hubs, success=False, expected_clusters=6)
        assert lost.verdict == "damaged"
        assert [(i.name, i.finding) for i in lost.report.failed()] == [
            ("cluster count unchanged", "5 cluster(s), 6 before")]

        schedule = (await hub_a.list(BACKUP_SCHEDULES, BACKUP_NS)).items[0]
        await hub_b.create(BACKUP_SCHEDULES, {"apiVersion": schedule["apiVersion"], "kind": "BackupSchedule",
                                              "metadata": {"name": "second", "namespace": BACKUP_NS},
                                              "spec": schedule["spec"]}, BACKUP_NS)
        for success in (True, False):
            damaged = await judge(hubs, success=success, expected_clusters=5)
            assert damaged.verdict == "damaged"
            assert any("second@hub-b" in i.finding for i in damaged.report.failed()), damaged.report.findings()
