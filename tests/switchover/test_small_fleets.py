"""Hubs with few managed clusters: the pipeline accepts what --min-managed-clusters accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncswitch.kube import Hub
from asyncswitch.sim.acm import SimulatedHubPair

from .support import assert_switched_over, backup_names, clusters_on, options, switch


@pytest.mark.pair(clusters=0, profile="fast", speed=400)
async def test_a_hub_with_only_local_cluster_switches_over_there_and_back(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path,
) -> None:
    for old, new in (("hub-a", "hub-b"), ("hub-b", "hub-a")):
        before = await backup_names(hubs[new])
        report = await switch(hubs, old, new, tmp_path / f"{old}-to-{new}.json", options(min_managed_clusters=0))

        assert report.success, report.error
        assert await clusters_on(hubs[new]) == {}
        await assert_switched_over(pair, hubs, old=old, new=new, action="secondary", backups_before=before)
