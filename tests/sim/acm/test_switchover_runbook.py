"""The runbook's passive switchover from hub-a to hub-b done with plain API calls, and the classic
mistake of enabling hub-b's schedule before its managed-clusters Velero restore completed."""

from __future__ import annotations

import asyncio

import pytest

from asyncswitch.sim.acm import SimulatedHubPair

from .resources import (
    AVAILABLE,
    BACKUP_SCHEDULES,
    BACKUPS,
    DISABLE_AUTO_IMPORT,
    MANAGED_CLUSTERS,
    MC_SCHEDULE,
    MCHS,
    OBSERVABILITY_NS,
    PASSIVE_RESTORE,
    RESTORES,
    SCHEDULE,
    VELERO_RESTORES,
    VELERO_SCHEDULE_LABEL,
    Hub,
    available_is,
    connected,
    create,
    delete,
    fleet,
    merge_patch,
    pods,
    restore_body,
    schedule_body,
    snap,
    until,
)
from .watching import Obj, PhaseLog, Snapshot, annotations_of, by_name, conditions, labels, name_of, phase

CLUSTERS = 20
SWITCHOVER_DEADLINE = 20.0
"""A whole passive switchover of 20 clusters takes about 3 s on the fast profile."""


def one_phase(objs: list[Obj], wanted: str) -> bool:
    return [phase(o) for o in objs] == [wanted]


def new_completed_mc_backup(before: Snapshot, objs: list[Obj]) -> Obj | None:
    fresh = [o for o in objs if name_of(o) not in before.names() and phase(o) == "Completed"]
    return max(fresh, key=name_of) if fresh else None


@pytest.mark.sim(profile="fast", clusters=CLUSTERS)
async def test_the_runbook_passive_switchover_moves_every_cluster_to_hub_b(
    pair: SimulatedHubPair, hub_a: Hub, hub_b: Hub
) -> None:
    assert pair.world is not None
    names = {f"cluster-{i:04d}" for i in range(1, CLUSTERS + 1)}
    mc = f"{VELERO_SCHEDULE_LABEL}={MC_SCHEDULE}"
    mch_log = PhaseLog()
    mch_before = await snap(hub_b, MCHS)

    async with asyncio.timeout(SWITCHOVER_DEADLINE), asyncio.TaskGroup() as tg:
        # hub-b's MultiClusterHub shows Pending for a while once it has taken the fleet over, then Running.
        mch_seen = tg.create_task(until(hub_b, MCHS, lambda objs: mch_log.record(objs) and "Pending" in mch_log.seen[
            "open-cluster-management/multiclusterhub"] and one_phase(objs, "Running"), after=mch_before,
            timeout=SWITCHOVER_DEADLINE))

        # 1. Pause the schedule on the primary; keep its spec for the new primary.
        (saved,) = await until(hub_a, BACKUP_SCHEDULES, bool)
        primary_mc = max((o for o in await until(hub_a, BACKUPS, bool, label_selector=mc) if phase(o) == "Completed"),
                         key=name_of)
        await merge_patch(hub_a, BACKUP_SCHEDULES, SCHEDULE, {"spec": {"paused": True}})
        await until(hub_a, BACKUP_SCHEDULES, lambda objs: one_phase(objs, "Paused"))
        # 2. Disable auto-import of every managed cluster on the primary.
        for cluster in fleet(await until(hub_a, MANAGED_CLUSTERS, bool)):
            await merge_patch(hub_a, MANAGED_CLUSTERS, name_of(cluster),
                              {"metadata": {"annotations": {DISABLE_AUTO_IMPORT: ""}}})
        # 3. Stop the Thanos compactor on the primary.
        await hub_a.apps.patch_namespaced_stateful_set_scale("observability-thanos-compact", OBSERVABILITY_NS,
                                                             {"spec": {"replicas": 0}})
        await until(hub_a, pods(OBSERVABILITY_NS), lambda objs: not any(
            labels(o).get("app.kubernetes.io/name") == "thanos-compact" for o in objs))
        # 4. The passive restore is Enabled; 5. activate it (option A) and wait for Finished.
        await until(hub_b, RESTORES, lambda objs: one_phase(objs, "Enabled"))
        await merge_patch(hub_b, RESTORES, PASSIVE_RESTORE, {"spec": {"veleroManagedClustersBackupName": "latest"}})
        (restore,) = await until(hub_b, RESTORES, lambda objs: phase(objs[0]) in (
            "Finished", "FinishedWithErrors", "Error"))
        assert phase(restore) == "Finished"
        velero_name = restore["status"]["veleroManagedClustersRestoreName"]
        await until(hub_b, VELERO_RESTORES, lambda objs: phase(by_name(objs).get(velero_name)) == "Completed")
        # 11. Delete every Restore on hub-b and wait until they are gone; then create the schedule there.
        for obj in await until(hub_b, RESTORES, bool):
            await delete(hub_b, RESTORES, name_of(obj))
        await until(hub_b, RESTORES, lambda objs: not objs)
        before_b = await snap(hub_b, BACKUPS, label_selector=mc)
        await create(hub_b, BACKUP_SCHEDULES, {**schedule_body(), "spec": {**saved["spec"], "paused": False}})
        await until(hub_b, BACKUP_SCHEDULES, lambda objs: one_phase(objs, "Enabled"))
        # 12. hub-b's first managed-clusters backup completes and holds every cluster.
        objs = await until(hub_b, BACKUPS, lambda objs: new_completed_mc_backup(before_b, objs) is not None,
                           after=before_b, label_selector=mc)
        backup = new_completed_mc_backup(before_b, objs)
        assert backup is not None
        record = pair.world.storage.get(name_of(backup))
        assert record is not None
        assert {c.name for c in record.clusters} == names
        assert backup["status"]["progress"]["totalItems"] == primary_mc["status"]["progress"]["totalItems"]
        # The old hub becomes the passive standby.
        await create(hub_a, RESTORES, restore_body(PASSIVE_RESTORE, managed_clusters="skip", sync=True))
        await until(hub_a, RESTORES, lambda objs: one_phase(objs, "Enabled"))

        # Every cluster is connected to hub-b and shows Unknown on hub-a.
        on_b = await until(hub_b, MANAGED_CLUSTERS, lambda objs: len(fleet(objs)) == CLUSTERS
                           and all(map(connected, fleet(objs))), timeout=SWITCHOVER_DEADLINE)
        on_a = await until(hub_a, MANAGED_CLUSTERS, lambda objs: all(
            available_is(o, "Unknown") for o in fleet(objs)), timeout=SWITCHOVER_DEADLINE)
        await mch_seen

    assert {name_of(o) for o in fleet(on_b)} == {name_of(o) for o in fleet(on_a)} == names
    # Restored from the backup taken before step 2, so hub-b's clusters carry no disable-auto-import.
    assert not any(DISABLE_AUTO_IMPORT in annotations_of(o) for o in on_b)
    assert all(conditions(o)[AVAILABLE] == "Unknown" for o in fleet(on_a))
    # A paused schedule is exempt from the Restore check (facts §3.1 step 2): it stays Paused beside the
    # passive restore and, being paused, does not block it either (facts §1.3).
    assert phase(by_name(await until(hub_a, BACKUP_SCHEDULES, bool))[SCHEDULE]) == "Paused"


BIG_FLEET = 300
"""With this many clusters the managed-clusters Velero restore (about 89 simulated seconds) outlasts the
Restore's deletion plus the three backups taken before the managed-clusters one (about 55)."""


@pytest.mark.sim(profile="fast", speed=20, clusters=BIG_FLEET)
async def test_enabling_the_schedule_before_the_managed_clusters_restore_completed_backs_up_no_clusters(
    pair: SimulatedHubPair, hub_a: Hub, hub_b: Hub
) -> None:
    assert pair.world is not None
    mc = f"{VELERO_SCHEDULE_LABEL}={MC_SCHEDULE}"
    full_backup = max((o for o in await until(hub_a, BACKUPS, bool, label_selector=mc) if phase(o) == "Completed"),
                      key=name_of)
    await merge_patch(hub_a, BACKUP_SCHEDULES, SCHEDULE, {"spec": {"paused": True}})
    await until(hub_a, BACKUP_SCHEDULES, lambda objs: one_phase(objs, "Paused"))

    await merge_patch(hub_b, RESTORES, PASSIVE_RESTORE, {"spec": {"veleroManagedClustersBackupName": "latest"}})
    (restore,) = await until(hub_b, RESTORES, lambda objs: bool(
        objs and (objs[0].get("status") or {}).get("veleroManagedClustersRestoreName")))
    velero_name = restore["status"]["veleroManagedClustersRestoreName"]
    # The mistake: not waiting for the managed-clusters Velero restore.
    await delete(hub_b, RESTORES, PASSIVE_RESTORE)
    # The operator deletes its Velero restores and lets the Restore go once they are gone; Velero does
    # not cancel the running one, whose objects still arrive later.
    await until(hub_b, RESTORES, lambda objs: not objs)
    assert velero_name not in by_name(await until(hub_b, VELERO_RESTORES, lambda objs: True))
    before_b = await snap(hub_b, BACKUPS, label_selector=mc)
    await create(hub_b, BACKUP_SCHEDULES, schedule_body())
    on_b = await until(hub_b, MANAGED_CLUSTERS, bool)
    assert not fleet(on_b), "the premise: the managed clusters were not restored yet"

    objs = await until(hub_b, BACKUPS, lambda objs: new_completed_mc_backup(before_b, objs) is not None,
                       after=before_b, label_selector=mc)
    empty = new_completed_mc_backup(before_b, objs)
    assert empty is not None
    record = pair.world.storage.get(name_of(empty))
    assert record is not None
    assert record.clusters == ()
    # Visible through the API too: far fewer items than the primary's managed-clusters backups.
    assert empty["status"]["progress"]["totalItems"] * 10 < full_backup["status"]["progress"]["totalItems"]
