"""The pipeline on every simulated ACM release line it supports: forward and back (hub-a → hub-b →
hub-a) with passive/patch, passive/restore and full, on 2.12, 2.14, 2.15, 2.16 and 2.17.

The simulated operators change behaviour from one release to the next (acm-operator-facts §0): how a
BackupSchedule pauses and collides, the Restore finalizer, the webhook, Unknown vs EnabledWithErrors.
A combination that fails here fails because the pipeline relies on something that release does not do.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncswitch.kube import MULTICLUSTER_HUBS, Hub
from asyncswitch.sim.acm import SimulatedHubPair

from .conftest import sim_config
from .support import assert_switched_over, backup_names, options, read_state, switch

VERSIONS = ("2.12.4", "2.14.2", "2.15.1", "2.16.0", "2.17.0")
METHODS = (("passive", "patch"), ("passive", "restore"), ("full", "patch"))


@pytest.mark.parametrize(("method", "activation"), METHODS, ids=lambda v: v)
@pytest.mark.parametrize("version", VERSIONS)
async def test_there_and_back_on_each_release_line(tmp_path: Path, version: str, method: str,
                                                   activation: str) -> None:
    async with SimulatedHubPair(sim_config(clusters=6, acm_version=version)) as pair:
        kubeconfig = pair.write_kubeconfig(tmp_path / "kubeconfig")
        async with Hub.connect(kubeconfig, "hub-a") as hub_a, Hub.connect(kubeconfig, "hub-b") as hub_b:
            hubs = {"hub-a": hub_a, "hub-b": hub_b}
            for old, new in (("hub-a", "hub-b"), ("hub-b", "hub-a")):
                before = await backup_names(hubs[new])
                state_path = tmp_path / f"{old}-to-{new}.json"
                report = await switch(hubs, old, new, state_path, options(method, "secondary", activation))

                assert report.success, f"{old} -> {new} on ACM {version}: {report.error}"
                assert read_state(state_path)["phase"] == "completed"
                await assert_switched_over(pair, hubs, old=old, new=new, action="secondary",
                                           backups_before=before)


async def test_each_hub_reports_its_own_version(tmp_path: Path) -> None:
    """Two release lines side by side, as during an upgrade: each MultiClusterHub says its own."""
    async with SimulatedHubPair(sim_config(clusters=2, acm_version=("2.15.1", "2.17.0"))) as pair:
        kubeconfig = pair.write_kubeconfig(tmp_path / "kubeconfig")
        for context, version in (("hub-a", "2.15.1"), ("hub-b", "2.17.0")):
            async with Hub.connect(kubeconfig, context) as hub:
                mch = (await hub.list(MULTICLUSTER_HUBS, "open-cluster-management")).items[0]
                assert mch["status"]["currentVersion"] == version
