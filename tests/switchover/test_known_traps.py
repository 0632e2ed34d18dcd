"""The traps real switchovers fell into (domain facts §5), each met by the pipeline on the simulated pair."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from asyncswitch.kube import (
    ACM_RESTORES,
    BACKUP_SCHEDULES,
    CONFIG_MAPS,
    VELERO_BACKUPS,
    VELERO_RESTORES,
    Hub,
)
from asyncswitch.sim.acm import SimulatedHubPair
from asyncswitch.sim.acm import kinds as sim_kinds
from asyncswitch.sim.resources import ResourceType

from .support import (
    ACTIVATION_RESTORE,
    BACKUP_CLUSTER_LABEL,
    BACKUP_NS,
    DISABLE_AUTO_IMPORT,
    IMMEDIATE_IMPORT,
    MCE_NS,
    PASSIVE_RESTORE,
    SCHEDULE,
    SCHEDULE_TYPE_LABEL,
    annotations,
    assert_switched_over,
    backup_names,
    clusters_on,
    fleet_names,
    name_of,
    options,
    phase,
    phases_of,
    pipeline_mutations,
    switch,
    wait_until,
)

pytestmark = pytest.mark.pair(clusters=6, profile="fast", speed=400)


async def there_and_back(pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path,
                         legs: list[tuple[str, str]]) -> None:
    for old, new in legs:
        before = await backup_names(hubs[new])
        report = await switch(hubs, old, new, tmp_path / f"{old}-to-{new}-{len(before)}.json", options())
        assert report.success, report.error
        await assert_switched_over(pair, hubs, old=old, new=new, action="secondary", backups_before=before)


async def test_an_activation_on_a_hub_that_still_lists_the_clusters_waits_out_their_stale_availability(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path,
) -> None:
    await there_and_back(pair, hubs, tmp_path, [("hub-a", "hub-b")])
    # The way back: hub-a still lists every cluster from its turn as the active hub.
    assert set(await clusters_on(hubs["hub-a"])) == fleet_names(pair)

    async with phases_of(hubs["hub-a"], ACM_RESTORES, BACKUP_NS) as restores:
        await there_and_back(pair, hubs, tmp_path, [("hub-b", "hub-a")])

    # Post-restore activation skips a cluster still Available ("already available") and never gives it an
    # auto-import-secret; the pipeline waits until hub-a's stale Available expired, so none is skipped.
    assert restores.seen[PASSIVE_RESTORE][-1] == "Finished"
    messages = restores.objects[PASSIVE_RESTORE]["status"]["messages"]
    assert not any("already available" in m for m in messages)
    assert any(m.startswith("Created auto-import-secret for (") for m in messages)


@pytest.mark.pair(clusters=6, profile="fast", speed=400, restore_deletion=400)
async def test_the_restore_method_creates_the_activation_restore_only_once_the_passive_one_is_gone(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path,
) -> None:
    # A deleted Restore lingers (finalizer) for 400 simulated s, 1 s here; a Restore created meanwhile
    # would end FinishedWithErrors ("currently active") and activate nothing.
    store = pair.hubs["hub-b"].store
    passive_at_create: list[bool] = []

    def admission(verb: str, rtype: ResourceType, obj: dict[str, Any]) -> None:
        if verb == "create" and rtype.key == sim_kinds.ACM_RESTORES.key and name_of(obj) == ACTIVATION_RESTORE:
            passive_at_create.append(store.find(sim_kinds.ACM_RESTORES, BACKUP_NS, PASSIVE_RESTORE) is not None)

    remove_admission = store.add_admission(admission)
    try:
        async with phases_of(hubs["hub-b"], ACM_RESTORES, BACKUP_NS) as restores:
            before = await backup_names(hubs["hub-b"])
            report = await switch(hubs, "hub-a", "hub-b", tmp_path / "state.json", options(activation="restore"))
    finally:
        remove_admission()

    assert report.success, report.error
    assert passive_at_create == [False]  # one create, and hub-b had let the passive Restore go by then
    requests = [(r.verb, r.name) for r in pipeline_mutations(pair.hub_b) if r.resource == ACM_RESTORES.key]
    assert requests.index(("delete", PASSIVE_RESTORE)) < requests.index(("create", None))
    assert restores.seen[ACTIVATION_RESTORE][-1] == "Finished"
    await assert_switched_over(pair, hubs, old="hub-a", new="hub-b", action="secondary", backups_before=before)


@pytest.mark.pair(clusters=6, profile="fast", speed=400, backup_cron="*/10 * * * *")
async def test_the_schedule_on_a_hub_that_was_active_before_is_recreated_and_does_not_collide(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path,
) -> None:
    # hub-a's own schedule, paused during its turn as the old hub, would see hub-b's backups as newer than
    # its last run and turn BackupCollision if it were simply unpaused.
    (original,) = (await hubs["hub-a"].list(BACKUP_SCHEDULES, BACKUP_NS)).items
    await there_and_back(pair, hubs, tmp_path, [("hub-a", "hub-b"), ("hub-b", "hub-a")])
    since = await backup_names(hubs["hub-a"])

    # A collision shows when the schedule runs again (its first run was at its creation): wait for the
    # next run (every 600 simulated s, 1.5 s here).
    own_mc = {SCHEDULE_TYPE_LABEL: "managedClusters", BACKUP_CLUSTER_LABEL: pair.hubs["hub-a"].cluster_id}

    def one_more_run(objs: dict[str, Any]) -> bool:
        return any(name_of(b) not in since and phase(b) == "Completed"
                   and all((b["metadata"].get("labels") or {}).get(k) == v for k, v in own_mc.items())
                   for b in objs.values())

    await wait_until(hubs["hub-a"], VELERO_BACKUPS, one_more_run, namespace=BACKUP_NS,
                     description="one more managed-clusters backup from hub-a")
    (schedule,) = (await hubs["hub-a"].list(BACKUP_SCHEDULES, BACKUP_NS)).items
    assert name_of(schedule) == SCHEDULE
    assert schedule["metadata"]["uid"] != original["metadata"]["uid"]
    assert phase(schedule) == "Enabled"
    assert schedule["spec"]["paused"] is False
    assert schedule["spec"]["veleroSchedule"] == original["spec"]["veleroSchedule"]


async def test_disable_auto_import_annotations_restored_from_a_late_backup_are_removed_and_the_clusters_connect(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path,
) -> None:
    assert pair.world is not None
    fleet = fleet_names(pair)
    store = pair.hubs["hub-a"].store
    # The old hub's clusters are annotated (as primary preparation does) and a backup is taken after that:
    # here by recreating hub-a's schedule, which runs at once.
    for name in fleet:
        store.patch(sim_kinds.MANAGED_CLUSTERS, None, name, "application/merge-patch+json",
                    {"metadata": {"annotations": {DISABLE_AUTO_IMPORT: ""}}})
    schedule = store.get(sim_kinds.BACKUP_SCHEDULES, BACKUP_NS, SCHEDULE).obj
    before = await backup_names(hubs["hub-a"])
    store.delete(sim_kinds.BACKUP_SCHEDULES, BACKUP_NS, SCHEDULE)
    store.create(sim_kinds.BACKUP_SCHEDULES, BACKUP_NS, {
        "apiVersion": schedule["apiVersion"], "kind": schedule["kind"],
        "metadata": {"name": SCHEDULE, "namespace": BACKUP_NS}, "spec": schedule["spec"]})
    backups = await wait_until(
        hubs["hub-a"], VELERO_BACKUPS, lambda objs: any(
            name not in before and phase(b) == "Completed"
            and (b["metadata"].get("labels") or {}).get(SCHEDULE_TYPE_LABEL) == "managedClusters"
            for name, b in objs.items()),
        namespace=BACKUP_NS, description="a managed-clusters backup of the annotated clusters")
    (late,) = [name for name, b in backups.items() if name not in before
               and (b["metadata"].get("labels") or {}).get(SCHEDULE_TYPE_LABEL) == "managedClusters"]
    record = pair.world.storage.get(late)
    assert record is not None
    assert all(DISABLE_AUTO_IMPORT in c.annotations for c in record.clusters)

    before = await backup_names(hubs["hub-b"])
    async with phases_of(hubs["hub-b"], VELERO_RESTORES, BACKUP_NS) as velero:
        report = await switch(hubs, "hub-a", "hub-b", tmp_path / "state.json", options())

    assert report.success, report.error
    # It was activated (finalization deleted the Restore, and the operator its Velero restores, since).
    assert velero.seen[f"{PASSIVE_RESTORE}-{late}"][-1] == "Completed"
    await assert_switched_over(pair, hubs, old="hub-a", new="hub-b", action="secondary", backups_before=before)
    assert not any(DISABLE_AUTO_IMPORT in annotations(c) for c in (await clusters_on(hubs["hub-b"])).values())


async def test_clusters_a_hub_imported_before_reconnect_to_it_through_immediate_import_under_import_only(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path,
) -> None:
    # ACM 2.14 with no import-controller-config: ImportOnly, which does not import a known cluster again.
    assert pair.config.acm_version.startswith("2.14")
    await there_and_back(pair, hubs, tmp_path, [("hub-a", "hub-b"), ("hub-b", "hub-a")])

    on_a = await clusters_on(hubs["hub-a"])
    assert {name: annotations(c).get(IMMEDIATE_IMPORT) for name, c in on_a.items()} == \
        dict.fromkeys(fleet_names(pair), "Completed")
    assert await hubs["hub-a"].get(CONFIG_MAPS, "import-controller-config", MCE_NS) is None  # still ImportOnly


@pytest.mark.pair(clusters=6, profile="fast", speed=400, acm_version="2.11")
async def test_on_acm_2_11_the_switchover_stops_the_old_hubs_schedule(
    pair: SimulatedHubPair, hubs: dict[str, Hub], tmp_path: Path,
) -> None:
    # Before 2.12 the API server prunes spec.paused: a pause would leave both hubs writing backups.
    report = await switch(hubs, "hub-a", "hub-b", tmp_path / "state.json", options())
    assert report.success, report.error
    schedules = (await hubs["hub-a"].list(BACKUP_SCHEDULES, BACKUP_NS)).items
    assert [s["metadata"]["name"] for s in schedules if not (s.get("spec") or {}).get("paused")] == []
