"""Finalization's "the new hub takes backups" check: a new backup is one the new hub wrote after its
schedule was created, by the hub's own clock and by the hub's id, never by the clock of the machine
that runs asyncswitch, and never a backup the other hub wrote to the shared storage."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from asyncswitch.kube import VELERO_BACKUPS, Hub
from asyncswitch.sim.acm import SimulatedHubPair
from asyncswitch.sim.acm.world import BackupRecord
from asyncswitch.sim.resources import ResourceType
from asyncswitch.switchover import SwitchoverEvent, finalization

from .support import (
    BACKUP_CLUSTER_LABEL,
    BACKUP_NS,
    SCHEDULE_TYPE_LABEL,
    assert_switched_over,
    backup_names,
    options,
    read_state,
    switch,
)

pytestmark = pytest.mark.pair(clusters=4, profile="fast", speed=400)

CLUSTER_VERSIONS = ResourceType(group="config.openshift.io", version="v1", plural="clusterversions",
                                kind="ClusterVersion", namespaced=False)


@pytest.fixture(autouse=True)
def openshift_cluster_ids(pair: SimulatedHubPair) -> None:
    """Each hub's ClusterVersion ``version``, as on OpenShift: the id its backups are labelled with."""
    for hub in pair.hubs.values():
        if hub.store.registry.lookup("config.openshift.io", "v1", "clusterversions") is None:
            hub.store.register(CLUSTER_VERSIONS)
        if hub.store.find(CLUSTER_VERSIONS, None, "version") is None:
            hub.store.create(CLUSTER_VERSIONS, None, {
                "apiVersion": "config.openshift.io/v1", "kind": "ClusterVersion", "metadata": {"name": "version"},
                "spec": {"clusterID": hub.cluster_id}})


async def test_a_local_clock_behind_the_hubs_does_not_pass_an_old_backup_off_as_the_new_hubs(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The clock of the machine that runs the pipeline (not the simulated hubs', which share this process).
    local = SimpleNamespace(time=lambda: time.time() - 600, monotonic=time.monotonic)
    monkeypatch.setattr(finalization, "time", local, raising=False)
    before = await backup_names(hubs["hub-b"])
    state_path = tmp_path / "state.json"

    report = await switch(hubs, "hub-a", "hub-b", state_path, options())

    assert report.success, report.error
    checked = read_state(state_path)["facts"]["post_switchover_backup"]
    assert checked not in before
    backup = await hubs["hub-b"].get(VELERO_BACKUPS, checked, BACKUP_NS)
    assert backup is not None
    assert backup["metadata"]["labels"][BACKUP_CLUSTER_LABEL] == pair.hubs["hub-b"].cluster_id
    await assert_switched_over(pair, hubs, old="hub-a", new="hub-b", action="secondary", backups_before=before)


async def test_a_backup_the_old_hub_writes_after_the_switchover_is_not_taken_for_the_new_hubs(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path,
) -> None:
    assert pair.world is not None
    world = pair.world
    hub_a = pair.hubs["hub-a"]
    events: asyncio.Queue[SwitchoverEvent] = asyncio.Queue()
    foreign = ""

    async def old_hub_writes_once_the_schedule_is_created() -> None:
        # A managed-clusters backup from hub-a (its schedule unpaused behind our back, say) reaches the
        # shared storage, and hub-b's Velero syncs it in, just as the new hub's schedule starts.
        nonlocal foreign
        while True:
            event = await events.get()
            if event.kind == "step_finished" and event.name == "enable_backup_schedule":
                break
        start = datetime.now(UTC) + timedelta(seconds=60)
        stamp = start.strftime("%Y-%m-%dT%H:%M:%SZ")
        foreign = f"acm-managed-clusters-schedule-{start:%Y%m%d%H%M%S}"
        world.storage.put(BackupRecord(
            name=foreign, schedule="acm-managed-clusters-schedule", backup_type="managedClusters", hub="hub-a",
            cluster_id=hub_a.cluster_id, created=start.timestamp(), start=stamp, completion=stamp, items=1,
            use_managed_service_account=True,
            labels={SCHEDULE_TYPE_LABEL: "managedClusters", BACKUP_CLUSTER_LABEL: hub_a.cluster_id,
                    "velero.io/schedule-name": "acm-managed-clusters-schedule"}))

    helper = asyncio.create_task(old_hub_writes_once_the_schedule_is_created())
    state_path = tmp_path / "state.json"
    try:
        report = await switch(hubs, "hub-a", "hub-b", state_path, options(), events=events)
    finally:
        helper.cancel()
        await asyncio.wait({helper})

    assert report.success, report.error
    assert foreign in await backup_names(hubs["hub-b"])  # hub-b saw it
    checked = read_state(state_path)["facts"]["post_switchover_backup"]
    assert checked != foreign
    backup = await hubs["hub-b"].get(VELERO_BACKUPS, checked, BACKUP_NS)
    assert backup is not None
    assert backup["metadata"]["labels"][BACKUP_CLUSTER_LABEL] == pair.hubs["hub-b"].cluster_id
