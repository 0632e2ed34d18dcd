"""The ACM Restore controller on the passive hub: passive sync, activation, full restores, the
one-active-Restore rule, "already available" on repeat, and Velero restores that fail or wait."""

from __future__ import annotations

from dataclasses import replace

import pytest

from asyncswitch.sim.acm import SimulatedHubPair, profile_named

from .resources import (
    BACKUP_NS,
    BACKUPS,
    BSLS,
    MANAGED_CLUSTERS,
    MC_SCHEDULE,
    PASSIVE_RESTORE,
    RESTORES,
    VELERO_RESTORES,
    VELERO_SCHEDULE_LABEL,
    Hub,
    create,
    delete,
    deployments,
    fleet,
    merge_patch,
    restore_body,
    snap,
    until,
)
from .restore_support import passive_resync
from .watching import Obj, Predicate, by_name, name_of, phase

BRISK = replace(profile_named("instant"), min_cron_period=0.25)
"""Instant steps, with backups and passive syncs every quarter of a second."""

FINISHED = ("Finished", "FinishedWithErrors", "Error")
DEADLINE_RETRY = 20.0
"""The operator retries a Restore in Error after 60 simulated seconds (floored to a real second here)."""


def restore_named(name: str, wanted: tuple[str, ...] = FINISHED) -> Predicate:
    def check(objs: list[Obj]) -> bool:
        return phase(by_name(objs).get(name)) in wanted
    return check


async def activate(hub_b: Hub) -> Obj:
    """Runbook option A: patch the passive restore to restore the latest managed clusters; wait for it."""
    await merge_patch(hub_b, RESTORES, PASSIVE_RESTORE, {"spec": {"veleroManagedClustersBackupName": "latest"}})
    objs = await until(hub_b, RESTORES, restore_named(PASSIVE_RESTORE))
    return by_name(objs)[PASSIVE_RESTORE]


async def newest_completed(hub: Hub, schedule: str) -> str:
    backups = await until(hub, BACKUPS, bool, label_selector=f"{VELERO_SCHEDULE_LABEL}={schedule}")
    return max(name_of(o) for o in backups if phase(o) == "Completed")


async def test_the_passive_restore_is_enabled_with_credentials_and_resources_restored(hub_b: Hub) -> None:
    (restore,) = await until(hub_b, RESTORES, lambda objs: [phase(o) for o in objs] == ["Enabled"])
    assert name_of(restore) == PASSIVE_RESTORE
    status = restore["status"]
    assert "continue to sync with new backups" in status["lastMessage"]
    assert "veleroManagedClustersRestoreName" not in status
    named = {status["veleroCredentialsRestoreName"], status["veleroResourcesRestoreName"]}
    velero = by_name(await until(hub_b, VELERO_RESTORES, lambda objs: named <= set(by_name(objs))))
    assert all(phase(velero[name]) == "Completed" for name in named)
    # Passive sync never brings the managed clusters over.
    assert [name_of(o) for o in await until(hub_b, MANAGED_CLUSTERS, bool)] == ["local-cluster"]


@pytest.mark.sim(profile=BRISK)
async def test_passive_sync_picks_up_new_backups_passing_through_unknown_and_running(hub_b: Hub) -> None:
    first = by_name((await snap(hub_b, RESTORES)).items)[PASSIVE_RESTORE]["status"]["veleroCredentialsRestoreName"]
    phases, restore = await passive_resync(hub_b)
    assert restore["status"]["veleroCredentialsRestoreName"] > first
    assert phases[0] == phases[-1] == "Enabled"
    assert {"Unknown", "Running"} <= set(phases)


async def test_activating_the_passive_restore_runs_a_managed_clusters_velero_restore_and_finishes(
    hub_b: Hub,
) -> None:
    latest = await newest_completed(hub_b, MC_SCHEDULE)
    restore = await activate(hub_b)
    assert phase(restore) == "Finished"
    assert restore["status"]["lastMessage"] == "All Velero restores have run successfully"
    velero_name = restore["status"]["veleroManagedClustersRestoreName"]
    velero = by_name(await until(hub_b, VELERO_RESTORES, lambda objs: velero_name in by_name(objs)))[velero_name]
    assert phase(velero) == "Completed"
    assert velero["spec"]["backupName"] >= latest
    assert velero["spec"]["backupName"].startswith(f"{MC_SCHEDULE}-")
    assert velero["status"]["progress"]["itemsRestored"] == velero["status"]["progress"]["totalItems"] > 0
    clusters = await until(hub_b, MANAGED_CLUSTERS, lambda objs: len(fleet(objs)) == 6)
    assert {name_of(o) for o in fleet(clusters)} == {f"cluster-{i:04d}" for i in range(1, 7)}


async def test_a_full_restore_after_deleting_the_passive_one_finishes(hub_b: Hub) -> None:
    await delete(hub_b, RESTORES, PASSIVE_RESTORE)
    await until(hub_b, RESTORES, lambda objs: not objs)
    await create(hub_b, RESTORES, restore_body("restore-acm-full"))
    objs = await until(hub_b, RESTORES, restore_named("restore-acm-full"))
    status = by_name(objs)["restore-acm-full"]["status"]
    assert phase(by_name(objs)["restore-acm-full"]) == "Finished"
    named = {status[key] for key in ("veleroCredentialsRestoreName", "veleroResourcesRestoreName",
                                     "veleroManagedClustersRestoreName")}
    velero = by_name(await until(hub_b, VELERO_RESTORES, lambda objs: named <= set(by_name(objs))))
    assert [phase(velero[name]) for name in sorted(named)] == ["Completed"] * 3
    assert len(fleet(await until(hub_b, MANAGED_CLUSTERS, lambda objs: len(fleet(objs)) == 6))) == 6


async def test_a_second_restore_created_while_another_exists_finishes_with_errors(hub_b: Hub) -> None:
    await create(hub_b, RESTORES, restore_body("restore-acm-activate", credentials="skip", resources="skip"))
    objs = await until(hub_b, RESTORES, restore_named("restore-acm-activate"))
    second = by_name(objs)["restore-acm-activate"]
    assert phase(second) == "FinishedWithErrors"
    assert second["status"]["lastMessage"] == (
        f"This resource is ignored because Restore resource {PASSIVE_RESTORE} is currently active, before "
        "creating another resource verify that any active resources are removed.")
    assert "messages" not in second["status"]  # only post-restore activation writes messages
    assert phase(by_name(objs)[PASSIVE_RESTORE]) == "Enabled"
    assert [name_of(o) for o in await until(hub_b, MANAGED_CLUSTERS, bool)] == ["local-cluster"]


@pytest.mark.sim(profile="fast", speed=20)
async def test_a_restore_created_while_the_deleted_one_still_lingers_finishes_with_errors(hub_b: Hub) -> None:
    await delete(hub_b, RESTORES, PASSIVE_RESTORE)
    lingering = await until(hub_b, RESTORES, lambda objs: bool(objs) and all(
        o["metadata"].get("deletionTimestamp") for o in objs))
    assert [name_of(o) for o in lingering] == [PASSIVE_RESTORE]
    await create(hub_b, RESTORES, restore_body("restore-acm-activate", credentials="skip", resources="skip"))
    objs = await until(hub_b, RESTORES, restore_named("restore-acm-activate"))
    assert phase(by_name(objs)["restore-acm-activate"]) == "FinishedWithErrors"
    assert PASSIVE_RESTORE in by_name(objs)["restore-acm-activate"]["status"]["lastMessage"]

    # The runbook's way out: wait until the old one is gone, then recreate.
    await until(hub_b, RESTORES, lambda objs: PASSIVE_RESTORE not in by_name(objs), timeout=20)
    await delete(hub_b, RESTORES, "restore-acm-activate")
    await until(hub_b, RESTORES, lambda objs: not objs, timeout=20)
    await create(hub_b, RESTORES, restore_body("restore-acm-activate", credentials="skip", resources="skip"))
    objs = await until(hub_b, RESTORES, restore_named("restore-acm-activate"), timeout=20)
    assert phase(by_name(objs)["restore-acm-activate"]) == "Finished"


async def test_an_unreachable_storage_location_puts_the_restore_in_error_until_it_is_back(
    pair: SimulatedHubPair, hub_b: Hub
) -> None:
    pair.set_storage_available(False)
    await until(hub_b, BSLS, lambda objs: [phase(o) for o in objs] == ["Unavailable"])
    await delete(hub_b, RESTORES, PASSIVE_RESTORE)
    await until(hub_b, RESTORES, lambda objs: not objs)
    await create(hub_b, RESTORES, restore_body("restore-acm-full"))
    objs = await until(hub_b, RESTORES, restore_named("restore-acm-full", ("Error",)))
    assert by_name(objs)["restore-acm-full"]["status"]["lastMessage"] == (
        "Backup storage location not available in namespace open-cluster-management-backup. "
        "Check velero.io.BackupStorageLocation and validate storage credentials.")
    # No Velero restore was tried; when the storage is back the operator goes on (it retries Error).
    assert not [o for o in await until(hub_b, VELERO_RESTORES, lambda objs: True)
                if name_of(o).startswith("restore-acm-full-")]
    pair.set_storage_available(True)
    objs = await until(hub_b, RESTORES, restore_named("restore-acm-full", ("Finished",)), timeout=DEADLINE_RETRY)
    assert by_name(objs)["restore-acm-full"]["status"]["lastMessage"] == "All Velero restores have run successfully"


async def test_velero_restores_wait_while_velero_is_scaled_to_zero(hub_b: Hub) -> None:
    await hub_b.apps.patch_namespaced_deployment_scale("velero", BACKUP_NS, {"spec": {"replicas": 0}})
    await until(hub_b, deployments(BACKUP_NS), lambda objs: not by_name(objs)["velero"]["status"].get(
        "readyReplicas"))
    before = await snap(hub_b, VELERO_RESTORES)

    def new_restores(objs: list[Obj]) -> list[Obj]:
        return [o for o in objs if name_of(o) not in before.names()]

    await merge_patch(hub_b, RESTORES, PASSIVE_RESTORE, {"spec": {"veleroManagedClustersBackupName": "latest"}})
    # The activation twins first (credentials-active, generic-active); the managed clusters wait for them.
    objs = await until(hub_b, VELERO_RESTORES, lambda objs: [phase(o) for o in new_restores(objs)] == ["New"] * 2,
                       after=before)
    assert all(name_of(o).endswith("-active") for o in new_restores(objs))
    with pytest.raises(TimeoutError):
        await until(hub_b, VELERO_RESTORES, lambda objs: any(phase(o) not in (None, "New") for o in new_restores(objs)),
                    after=before, timeout=1.0)
    # New Velero restores: the ACM Restore says Started ("Velero restore <x> has started").
    restore = by_name(await until(hub_b, RESTORES, bool))[PASSIVE_RESTORE]
    assert phase(restore) == "Started"
    assert restore["status"]["lastMessage"].startswith("waiting for restore to complete ")

    await hub_b.apps.patch_namespaced_deployment_scale("velero", BACKUP_NS, {"spec": {"replicas": 1}})
    objs = await until(hub_b, RESTORES, restore_named(PASSIVE_RESTORE))
    restore = by_name(objs)[PASSIVE_RESTORE]
    assert phase(restore) == "Finished"
    velero = by_name(await until(hub_b, VELERO_RESTORES, bool))
    assert phase(velero[restore["status"]["veleroManagedClustersRestoreName"]]) == "Completed"
    assert all(phase(o) == "Completed" for o in new_restores(list(velero.values())))
