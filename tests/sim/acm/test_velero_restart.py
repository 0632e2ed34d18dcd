"""Velero's restart on the simulated hubs: the job its pod was running stops, and the new pod's startup
marks it Failed, as the real server does (docs/faults.md, velero-restart)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from asyncswitch.kube import PODS, VELERO_BACKUPS, Hub, ResourceCache
from asyncswitch.sim.acm import SimulatedHubPair

BACKUP_NS = "open-cluster-management-backup"

pytestmark = pytest.mark.sim(profile="fast", speed=5)


def phase_of(objects: dict[str, Any], name: str) -> str | None:
    found = objects.get(name)
    return (found.get("status") or {}).get("phase") if found else None


async def test_the_backup_velero_was_running_is_failed_once_its_pod_comes_back(pair: SimulatedHubPair,
                                                                              tmp_path: Path) -> None:
    kubeconfig = pair.write_kubeconfig(tmp_path / "kubeconfig")
    async with Hub.connect(kubeconfig, "hub-a") as hub, \
            ResourceCache(hub, VELERO_BACKUPS, namespace=BACKUP_NS) as backups:
        await hub.create(VELERO_BACKUPS, {"apiVersion": "velero.io/v1", "kind": "Backup",
                                          "metadata": {"name": "by-hand", "namespace": BACKUP_NS}, "spec": {}},
                         BACKUP_NS)
        await backups.wait_for(lambda objs: phase_of(objs, "by-hand") == "InProgress", timeout=30.0,
                               description="the backup InProgress")

        for pod in (await hub.list(PODS, BACKUP_NS, label_selector="app.kubernetes.io/name=velero")).items:
            await hub.delete(PODS, pod["metadata"]["name"], BACKUP_NS)

        done = await backups.wait_for(lambda objs: phase_of(objs, "by-hand") not in (None, "New", "InProgress"),
                                      timeout=30.0, description="the backup ended")
    status = done["by-hand"]["status"]
    assert status["phase"] == "Failed"
    assert status["failureReason"] == ('found a backup with status "InProgress" during the server starting, '
                                       "mark it as failed")
