"""Switching over there, back and there again, as a soak cycle does: each later activation meets
clusters the new hub imported before. The operator hands each MSA cluster an auto-import-secret and
sets immediate-import "" on it (2.14+), so those come back by themselves; on ACM 2.14's ImportOnly
strategy the Hive clusters (no MSA token) need immediate-import from the user."""

from __future__ import annotations

import pytest

from .resources import (
    BACKUP_SCHEDULES,
    BACKUPS,
    DISABLE_AUTO_IMPORT,
    IMMEDIATE_IMPORT,
    MANAGED_CLUSTERS,
    MC_SCHEDULE,
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
    restore_body,
    schedule_body,
    snap,
    until,
)
from .watching import Obj, annotations_of, by_name, name_of, phase

pytestmark = pytest.mark.sim(clusters=6, acm_version="2.14.2")

CLUSTERS = {f"cluster-{i:04d}" for i in range(1, 7)}
HIVE = {"cluster-0001", "cluster-0002"}
"""hive_share 0.3 of 6: the first two clusters are Hive clusters, without an MSA token."""
QUIET = 1.0
"""Real seconds to watch, on the instant profile, for a move that must not happen yet."""


async def annotate_all(hub: Hub, key: str, value: str | None) -> None:
    for cluster in fleet(await until(hub, MANAGED_CLUSTERS, bool)):
        await merge_patch(hub, MANAGED_CLUSTERS, name_of(cluster), {"metadata": {"annotations": {key: value}}})


async def switch_over(old: Hub, new: Hub, *, new_hub_knew_the_clusters: bool) -> Obj:
    """The passive switchover with the fixes the prior tool learned; returns the activated Restore."""
    await merge_patch(old, BACKUP_SCHEDULES, SCHEDULE, {"spec": {"paused": True}})
    await until(old, BACKUP_SCHEDULES, lambda objs: phase(by_name(objs)[SCHEDULE]) == "Paused")
    await annotate_all(old, DISABLE_AUTO_IMPORT, "")

    await merge_patch(new, RESTORES, PASSIVE_RESTORE, {"spec": {"veleroManagedClustersBackupName": "latest"}})
    objs = await until(new, RESTORES, lambda objs: phase(by_name(objs)[PASSIVE_RESTORE]) in (
        "Finished", "FinishedWithErrors", "Error"))
    restore = by_name(objs)[PASSIVE_RESTORE]
    velero_name = restore["status"]["veleroManagedClustersRestoreName"]
    await until(new, VELERO_RESTORES, lambda objs: phase(by_name(objs).get(velero_name)) == "Completed")

    # The restore replaced the annotations with the backup's (no disable-auto-import); the operator's
    # auto-import-secrets bring the MSA clusters over.
    await until(new, MANAGED_CLUSTERS, lambda objs: all(
        connected(o) for o in fleet(objs) if name_of(o) not in HIVE) and len(fleet(objs)) == len(CLUSTERS))
    if new_hub_knew_the_clusters:
        with pytest.raises(TimeoutError):
            await until(new, MANAGED_CLUSTERS, lambda objs: any(
                connected(o) for o in fleet(objs) if name_of(o) in HIVE), timeout=QUIET)
    # ImportOnly: immediate-import must be "" to trigger; a value left from before is cleared first.
    for cluster in fleet(await until(new, MANAGED_CLUSTERS, bool)):
        if annotations_of(cluster).get(IMMEDIATE_IMPORT):
            await merge_patch(new, MANAGED_CLUSTERS, name_of(cluster),
                              {"metadata": {"annotations": {IMMEDIATE_IMPORT: None}}})
    await annotate_all(new, IMMEDIATE_IMPORT, "")
    on_new = await until(new, MANAGED_CLUSTERS, lambda objs: {name_of(o) for o in fleet(objs)} == CLUSTERS
                         and all(map(connected, fleet(objs))))
    assert all(annotations_of(o).get(IMMEDIATE_IMPORT) == "Completed" for o in fleet(on_new))

    # Finalize: no Restores, a fresh schedule (an old one would collide), its backup holds the fleet.
    for obj in await until(new, RESTORES, bool):
        await delete(new, RESTORES, name_of(obj))
    await until(new, RESTORES, lambda objs: not objs)
    if SCHEDULE in by_name(await until(new, BACKUP_SCHEDULES, lambda objs: True)):
        await delete(new, BACKUP_SCHEDULES, SCHEDULE)
        await until(new, BACKUP_SCHEDULES, lambda objs: not objs)
    mc = f"{VELERO_SCHEDULE_LABEL}={MC_SCHEDULE}"
    before = await snap(new, BACKUPS, label_selector=mc)
    await create(new, BACKUP_SCHEDULES, schedule_body())
    await until(new, BACKUPS, lambda objs: any(name_of(o) not in before.names() and phase(o) == "Completed"
                                               for o in objs), after=before, label_selector=mc)
    (schedule,) = await until(new, BACKUP_SCHEDULES, bool)
    assert phase(schedule) == "Enabled"

    await create(old, RESTORES, restore_body(PASSIVE_RESTORE, managed_clusters="skip", sync=True))
    await until(old, RESTORES, lambda objs: phase(by_name(objs).get(PASSIVE_RESTORE)) == "Enabled")
    await until(old, MANAGED_CLUSTERS, lambda objs: all(available_is(o, "Unknown") for o in fleet(objs)))
    return restore


async def test_there_back_and_there_again_each_switchover_moves_the_whole_fleet(hub_a: Hub, hub_b: Hub) -> None:
    first = await switch_over(hub_a, hub_b, new_hub_knew_the_clusters=False)
    assert phase(first) == "Finished"

    back = await switch_over(hub_b, hub_a, new_hub_knew_the_clusters=True)
    again = await switch_over(hub_a, hub_b, new_hub_knew_the_clusters=True)
    # The clusters had left the new hub (Available Unknown): none is "already available"; 2.14 reports
    # the MSA clusters only (it walks the namespaces holding an MSA secret).
    assert phase(back) == phase(again) == "Finished"
    assert back["status"]["messages"] == [f"Created auto-import-secret for ({c})" for c in sorted(CLUSTERS - HIVE)]
    # hub-b kept the auto-import-secrets of its first activation (keep annotation): replaced now.
    assert again["status"]["messages"] == [
        m for c in sorted(CLUSTERS - HIVE)
        for m in (f"deleted auto-import-secret from namespace {c}", f"Created auto-import-secret for ({c})")]
