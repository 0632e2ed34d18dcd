"""acm-operator-facts §1 (the Restore controller) and the §6 items it owns, observed through the API."""

from __future__ import annotations

import asyncio

import pytest
from kubernetes_asyncio.client.exceptions import ApiException

from asyncswitch.sim.acm import SimulatedHubPair
from asyncswitch.sim.acm import kinds as sim_kinds
from asyncswitch.sim.acm.ops import patch_status
from asyncswitch.sim.acm.restore import parse_duration

from .resources import (
    BACKUP_NS,
    BACKUP_SCHEDULES,
    BSLS,
    CLUSTER_DEPLOYMENTS,
    PASSIVE_RESTORE,
    RESTORES,
    SCHEDULE,
    VELERO_RESTORES,
    Hub,
    create,
    delete,
    deployments,
    merge_patch,
    restore_body,
    schedule_body,
    snap,
    until,
)
from .restore_support import (
    BRISK,
    QUIET,
    TERMINAL,
    activate,
    assert_webhook_refuses_creating,
    newest,
    passive_resync,
    pause_hub_a,
    phase_of,
    put_backup,
    refusal,
    restore_ends,
    stamp,
    synced,
)
from .watching import Obj, by_name, name_of, phase

FULL = "restore-acm-full"


async def without_passive(hub_b: Hub) -> None:
    await delete(hub_b, RESTORES, PASSIVE_RESTORE)
    await until(hub_b, RESTORES, lambda objs: not objs)


def owned_by(objs: list[Obj], restore: str) -> list[str]:
    return sorted(name_of(o) for o in objs if any(
        ref.get("name") == restore for ref in o["metadata"].get("ownerReferences") or []))


# -- §1.2/§1.3 --------------------------------------------------------------------------------


async def test_6_1_finished_restores_are_inert(hub_b: Hub) -> None:
    # Refused while the passive restore is Enabled: permanent.
    await create(hub_b, RESTORES, restore_body("restore-late"))
    refused = await restore_ends(hub_b, "restore-late")
    assert (phase(refused), refused["status"]["lastMessage"]) == ("FinishedWithErrors",
                                                                   refusal("Restore", PASSIVE_RESTORE))
    finished = await activate(hub_b)
    assert phase(finished) == "Finished"

    before = await snap(hub_b, RESTORES)
    velero_before = await snap(hub_b, VELERO_RESTORES)
    await merge_patch(hub_b, RESTORES, PASSIVE_RESTORE, {"spec": {"cleanupBeforeRestore": "bogus",
                                                                  "veleroCredentialsBackupName": "skip"}})
    with pytest.raises(TimeoutError):
        await until(hub_b, RESTORES, lambda objs: any(o.get("status") != before.objects[f"{BACKUP_NS}/{name_of(o)}"][
            "status"] for o in objs), after=before, timeout=QUIET)
    await delete(hub_b, RESTORES, PASSIVE_RESTORE)  # the reason for the refusal goes away
    await until(hub_b, RESTORES, lambda objs: PASSIVE_RESTORE not in by_name(objs))
    with pytest.raises(TimeoutError):
        await until(hub_b, RESTORES, lambda objs: by_name(objs)["restore-late"]["status"] != refused["status"],
                    timeout=QUIET)
    velero = await until(hub_b, VELERO_RESTORES, lambda objs: True, after=velero_before)
    assert owned_by(velero, "restore-late") == []


@pytest.mark.parametrize("blocker", ["restore-in-error", "schedule-failed-validation"])
async def test_6_2_error_restores_and_failed_validation_schedules_block_restores(
    pair: SimulatedHubPair, hub_b: Hub, blocker: str
) -> None:
    if blocker == "restore-in-error":
        await without_passive(hub_b)
        pair.set_storage_available(False)
        await until(hub_b, BSLS, lambda objs: [phase(o) for o in objs] == ["Unavailable"])
        await create(hub_b, RESTORES, restore_body("restore-error"))
        await restore_ends(hub_b, "restore-error", ("Error",))
        expected = refusal("Restore", "restore-error")
    else:
        await create(hub_b, BACKUP_SCHEDULES, schedule_body())  # FailedValidation: the passive restore is active
        await until(hub_b, BACKUP_SCHEDULES, lambda objs: [phase(o) for o in objs] == ["FailedValidation"])
        expected = refusal("BackupSchedule", SCHEDULE)
    await create(hub_b, RESTORES, restore_body("restore-late"))
    late = await restore_ends(hub_b, "restore-late")
    assert (phase(late), late["status"]["lastMessage"]) == ("FinishedWithErrors", expected)


async def test_6_3_two_restores_created_together_the_first_reconciled_is_refused(
    pair: SimulatedHubPair, hub_b: Hub
) -> None:
    await without_passive(hub_b)
    store = pair.hubs["hub-b"].store
    for name in ("restore-one", "restore-two"):  # in one go, before the operator reconciles either
        body = restore_body(name, credentials="skip", resources="skip")
        store.create(sim_kinds.ACM_RESTORES, BACKUP_NS, body)
    objs = await until(hub_b, RESTORES, lambda objs: all(phase(o) in TERMINAL for o in objs))
    one, two = by_name(objs)["restore-one"], by_name(objs)["restore-two"]
    assert (phase(one), one["status"]["lastMessage"]) == ("FinishedWithErrors", refusal("Restore", "restore-two"))
    assert phase(two) == "Finished"


@pytest.mark.sim(profile="fast", speed=20)
async def test_6_4_a_deleted_restore_stays_listed_with_its_old_phase_until_its_velero_restores_are_gone(
    hub_b: Hub,
) -> None:
    velero_before = await snap(hub_b, VELERO_RESTORES)
    owned = owned_by(velero_before.items, PASSIVE_RESTORE)
    assert owned
    await delete(hub_b, RESTORES, PASSIVE_RESTORE)
    (lingering,) = await until(hub_b, RESTORES, lambda objs: bool(objs) and all(
        o["metadata"].get("deletionTimestamp") for o in objs))
    assert phase(lingering) == "Enabled"
    assert "restores.cluster.open-cluster-management.io/finalizer" in lingering["metadata"]["finalizers"]
    # The operator deleted its Velero restores; Velero holds them a while.
    velero = await until(hub_b, VELERO_RESTORES, lambda objs: all(
        o["metadata"].get("deletionTimestamp") for o in objs if name_of(o) in owned))
    assert set(owned) <= {name_of(o) for o in velero}
    # Meanwhile it blocks a new Restore.
    await create(hub_b, RESTORES, restore_body("restore-acm-activate", credentials="skip", resources="skip"))
    refused = await restore_ends(hub_b, "restore-acm-activate")
    assert refused["status"]["lastMessage"] == refusal("Restore", PASSIVE_RESTORE)
    await until(hub_b, RESTORES, lambda objs: PASSIVE_RESTORE not in by_name(objs), timeout=20)
    assert not set(owned) & {name_of(o) for o in await until(hub_b, VELERO_RESTORES, lambda objs: True)}


@pytest.mark.sim(profile=BRISK)
async def test_6_5_an_unpaused_schedule_on_the_passive_hub_ends_the_enabled_passive_restore(hub_b: Hub) -> None:
    await until(hub_b, RESTORES, phase_of(PASSIVE_RESTORE, ("Enabled",)))
    await create(hub_b, BACKUP_SCHEDULES, schedule_body())
    # At its next reconcile (its sync requeue) the passive restore sees the schedule and is refused.
    ended = await restore_ends(hub_b, PASSIVE_RESTORE, TERMINAL)
    assert (phase(ended), ended["status"]["lastMessage"]) == ("FinishedWithErrors", refusal("BackupSchedule",
                                                                                             SCHEDULE))


async def test_an_invalid_cleanup_option_and_an_unconfirmed_cleanup_all_are_refused(hub_b: Hub) -> None:
    await without_passive(hub_b)
    bogus = restore_body("restore-bogus")
    bogus["spec"]["cleanupBeforeRestore"] = "CleanupEverything"
    await create(hub_b, RESTORES, bogus)
    ended = await restore_ends(hub_b, "restore-bogus")
    assert (phase(ended), ended["status"]["lastMessage"]) == (
        "FinishedWithErrors", "invalid CleanupBeforeRestore value : CleanupEverything")
    await delete(hub_b, RESTORES, "restore-bogus")
    await until(hub_b, RESTORES, lambda objs: not objs)
    everything = restore_body("restore-all")
    everything["spec"]["cleanupBeforeRestore"] = "CleanupAll"
    await create(hub_b, RESTORES, everything)
    assert phase(await restore_ends(hub_b, "restore-all")) == "FinishedWithErrors"


# -- §1.4 Velero restores ----------------------------------------------------------------------


async def test_a_full_restore_makes_the_six_velero_restores_in_order_with_labels_and_owner(
    pair: SimulatedHubPair, hub_b: Hub
) -> None:
    await without_passive(hub_b)
    before = await snap(hub_b, VELERO_RESTORES)
    order: list[str] = []

    def record(objs: list[Obj]) -> bool:
        for obj in objs:
            if name_of(obj) not in before.names() and name_of(obj) not in order:
                order.append(name_of(obj))
        return len(order) == 6

    await create(hub_b, RESTORES, restore_body(FULL))
    await until(hub_b, VELERO_RESTORES, record, after=before)
    ended = await restore_ends(hub_b, FULL)
    assert (phase(ended), ended["status"]["lastMessage"]) == ("Finished", "All Velero restores have run successfully")
    kinds = ["credentials", "resources", "generic", "generic", "credentials", "managedClusters"]
    expected = [f"{FULL}-{newest(pair, k).name}" + ("-active" if i in (3, 4) else "") for i, k in enumerate(kinds)]
    # One reconcile creates the first five together; the managed clusters come last.
    assert sorted(order[:5]) == sorted(expected[:5])
    assert order[5] == expected[5]
    velero = by_name(await until(hub_b, VELERO_RESTORES, lambda objs: True))
    hub_a_id = pair.hubs["hub-a"].cluster_id
    for name in expected:
        meta = velero[name]["metadata"]
        assert meta["labels"]["cluster.open-cluster-management.io/backup-cluster"] == hub_a_id
        assert [(r["kind"], r["name"], r["controller"]) for r in meta["ownerReferences"]] == [("Restore", FULL, True)]
        assert velero[name]["spec"]["existingResourcePolicy"] == "update"
    assert ended["status"]["veleroGenericResourcesRestoreName"] == expected[2]


async def test_6_15_the_managed_clusters_restore_starts_only_after_credentials_active_finished(hub_b: Hub) -> None:
    before = await snap(hub_b, VELERO_RESTORES)
    seen_active: list[str | None] = []

    def watch(objs: list[Obj]) -> bool:
        fresh = {name_of(o): o for o in objs if name_of(o) not in before.names()}
        clusters = [n for n in fresh if "managed-clusters" in n]
        active = [o for n, o in fresh.items() if "credentials" in n and n.endswith("-active")]
        if clusters and not seen_active:
            seen_active.append(phase(active[0]) if active else None)
        return bool(clusters)

    async with asyncio.TaskGroup() as tg:
        tg.create_task(until(hub_b, VELERO_RESTORES, watch, after=before))
        restore = await activate(hub_b)
    assert phase(restore) == "Finished"
    assert seen_active == ["Completed"]


async def test_6_16_option_b_restores_no_cluster_activation_objects(pair: SimulatedHubPair, hub_b: Hub) -> None:
    await without_passive(hub_b)
    name = "restore-acm-passive-activate"
    await create(hub_b, RESTORES, restore_body(name, credentials="skip", resources="skip"))
    ended = await restore_ends(hub_b, name)
    assert phase(ended) == "Finished"
    velero = await until(hub_b, VELERO_RESTORES, lambda objs: True)
    # Only the managed-clusters Velero restore: no -active twins, so no cluster-activation objects.
    assert owned_by(velero, name) == [f"{name}-{newest(pair, 'managedClusters').name}"]
    assert set(ended["status"]) >= {"veleroManagedClustersRestoreName"}
    assert "veleroCredentialsRestoreName" not in ended["status"]


async def test_6_19_latest_is_the_newest_completed_or_partially_failed_by_start_time_per_type(
    pair: SimulatedHubPair, hub_a: Hub, hub_b: Hub
) -> None:
    await pause_hub_a(hub_a)
    store = pair.hubs["hub-b"].store
    # Credentials: a PartiallyFailed newest counts; a newer InProgress one does not.
    partial = put_backup(pair, "credentials", 100, copy_of=newest(pair, "credentials"))
    await synced(hub_b, partial)
    patch_status(store, sim_kinds.VELERO_BACKUPS, BACKUP_NS, partial, {"phase": "PartiallyFailed"})
    running = put_backup(pair, "credentials", 200)
    await synced(hub_b, running)
    patch_status(store, sim_kinds.VELERO_BACKUPS, BACKUP_NS, running, {"phase": "InProgress"})
    # Resources: by startTimestamp, not by name: a name that sorts last but started earlier loses.
    started_later = put_backup(pair, "resources", 100, copy_of=newest(pair, "resources"))
    suffix, start = stamp(-3600)
    misleading = "acm-resources-schedule-29991231235959"
    store.create(sim_kinds.VELERO_BACKUPS, BACKUP_NS, {
        "apiVersion": "velero.io/v1", "kind": "Backup", "metadata": {"name": misleading, "namespace": BACKUP_NS}})
    patch_status(store, sim_kinds.VELERO_BACKUPS, BACKUP_NS, misleading,
                 {"phase": "Completed", "startTimestamp": start})
    await synced(hub_b, started_later)

    await without_passive(hub_b)
    await create(hub_b, RESTORES, restore_body(FULL, managed_clusters="skip"))
    ended = await restore_ends(hub_b, FULL)
    assert ended["status"]["veleroCredentialsRestoreName"] == f"{FULL}-{partial}"
    assert ended["status"]["veleroResourcesRestoreName"] == f"{FULL}-{started_later}"
    assert suffix  # the misleading backup's name was never chosen


@pytest.mark.parametrize("problem", ["unowned", "other-namespace"])
async def test_6_20_a_bsl_counts_only_if_available_in_the_namespace_and_owned(
    pair: SimulatedHubPair, hub_b: Hub, problem: str
) -> None:
    await without_passive(hub_b)
    store = pair.hubs["hub-b"].store
    bsl = store.get(sim_kinds.BACKUP_STORAGE_LOCATIONS, BACKUP_NS, "default").obj
    if problem == "unowned":
        await merge_patch(hub_b, BSLS, "default", {"metadata": {"ownerReferences": None}})
        expected = ("Backup storage location not available in namespace open-cluster-management-backup. "
                    "Check velero.io.BackupStorageLocation and validate storage credentials.")
    else:
        store.delete(sim_kinds.BACKUP_STORAGE_LOCATIONS, BACKUP_NS, "default")
        moved = {**bsl, "metadata": {**{k: v for k, v in bsl["metadata"].items()
                                        if k in ("name", "ownerReferences")}, "namespace": "open-cluster-management"}}
        store.create(sim_kinds.BACKUP_STORAGE_LOCATIONS, "open-cluster-management", moved)
        patch_status(store, sim_kinds.BACKUP_STORAGE_LOCATIONS, "open-cluster-management", "default",
                     {"phase": "Available"})
        expected = ("velero.io.BackupStorageLocation resources not found. Verify you have created a "
                    "konveyor.openshift.io.Velero or oadp.openshift.io.DataProtectionApplications resource.")
    await create(hub_b, RESTORES, restore_body(FULL))
    ended = await restore_ends(hub_b, FULL, ("Error",))
    assert ended["status"]["lastMessage"] == expected
    assert owned_by(await until(hub_b, VELERO_RESTORES, lambda objs: True), FULL) == []


# -- §1.5 sync ----------------------------------------------------------------------------------


def test_6_11_the_default_restore_sync_interval_is_30_minutes() -> None:
    assert parse_duration(None) == parse_duration("30m") == 1800.0
    assert parse_duration("1h30m") == 5400.0


async def test_6_11_resync_needs_a_newer_resources_or_credentials_backup(
    pair: SimulatedHubPair, hub_a: Hub, hub_b: Hub
) -> None:
    await pause_hub_a(hub_a)
    restore = await restore_ends(hub_b, PASSIVE_RESTORE, ("Enabled",))
    # New managed-clusters and generic backups alone trigger nothing, over several sync intervals.
    for kind in ("managedClusters", "generic"):
        await synced(hub_b, put_backup(pair, kind, 60, copy_of=newest(pair, kind)))
    before = await snap(hub_b, VELERO_RESTORES)
    with pytest.raises(TimeoutError):
        await until(hub_b, VELERO_RESTORES, lambda objs: {name_of(o) for o in objs} != before.names(),
                    after=before, timeout=3 * QUIET)
    assert (await snap(hub_b, RESTORES)).items[0]["status"] == restore["status"]
    # A newer credentials backup does.
    fresh = put_backup(pair, "credentials", 120, copy_of=newest(pair, "credentials"))
    objs = await until(hub_b, RESTORES, lambda objs: by_name(objs)[PASSIVE_RESTORE]["status"].get(
        "veleroCredentialsRestoreName") == f"{PASSIVE_RESTORE}-{fresh}" and phase(objs[0]) == "Enabled")
    assert by_name(objs)[PASSIVE_RESTORE]["status"]["veleroResourcesRestoreName"] == restore["status"][
        "veleroResourcesRestoreName"]


@pytest.mark.parametrize("version", ["2.16", "2.17"])
async def test_6_13_up_to_2_16_one_failed_velero_restore_stops_passive_sync(
    pair: SimulatedHubPair, hub_a: Hub, hub_b: Hub, version: str
) -> None:
    assert pair.hubs["hub-b"].version.text == version
    await pause_hub_a(hub_a)
    await restore_ends(hub_b, PASSIVE_RESTORE, ("Enabled",))
    # A backup hub-b lists but the storage does not hold: its Velero restore fails validation.
    store = pair.hubs["hub-b"].store
    suffix, start = stamp(60)
    broken = f"acm-credentials-schedule-{suffix}"
    store.create(sim_kinds.VELERO_BACKUPS, BACKUP_NS, {
        "apiVersion": "velero.io/v1", "kind": "Backup", "metadata": {"name": broken, "namespace": BACKUP_NS}})
    patch_status(store, sim_kinds.VELERO_BACKUPS, BACKUP_NS, broken, {"phase": "Completed", "startTimestamp": start})
    failed = "Error" if version == "2.16" else "EnabledWithErrors"
    ended = await restore_ends(hub_b, PASSIVE_RESTORE, (failed,))
    assert ended["status"]["lastMessage"] == (
        f"Velero restore {PASSIVE_RESTORE}-{broken} has failed validation or encountered errors")
    # A good newer backup: 2.17 syncs it and is Enabled again; 2.16 stays in Error.
    good = put_backup(pair, "credentials", 120, copy_of=newest(pair, "credentials"))
    if version == "2.16":
        with pytest.raises(TimeoutError):
            await until(hub_b, RESTORES, lambda objs: phase(objs[0]) != "Error", timeout=3 * QUIET)
    else:
        objs = await until(hub_b, RESTORES, lambda objs: phase(objs[0]) == "Enabled")
        assert objs[0]["status"]["veleroCredentialsRestoreName"] == f"{PASSIVE_RESTORE}-{good}"


@pytest.fixture
def knobs(request: pytest.FixtureRequest) -> dict[str, object]:
    marker = request.node.get_closest_marker("sim")
    knobs = dict(marker.kwargs) if marker else {}
    if hasattr(request.node, "callspec") and "version" in request.node.callspec.params:
        knobs["acm_version"] = request.node.callspec.params["version"]
    return knobs


@pytest.mark.parametrize("version", ["2.15", "2.16"])
async def test_6_14_from_2_16_the_webhook_refuses_mc_latest_unless_the_restore_is_enabled(
    hub_a: Hub, hub_b: Hub, version: str
) -> None:
    webhook = version == "2.16"
    # A sync Restore created with managed clusters latest.
    await without_passive(hub_b)
    body = restore_body("restore-sync-latest", sync=True)
    if webhook:
        await assert_webhook_refuses_creating(hub_b, body)
    else:
        await create(hub_b, RESTORES, body)
        await restore_ends(hub_b, "restore-sync-latest")
        await delete(hub_b, RESTORES, "restore-sync-latest")
        await until(hub_b, RESTORES, lambda objs: not objs)
    # skip → latest while the passive restore is mid-pass (Started: Velero is down, its restores stay New).
    await pause_hub_a(hub_a)
    await hub_b.apps.patch_namespaced_deployment_scale("velero", BACKUP_NS, {"spec": {"replicas": 0}})
    await until(hub_b, deployments(BACKUP_NS), lambda objs: not by_name(objs)["velero"]["status"].get(
        "readyReplicas"))
    await create(hub_b, RESTORES, restore_body(PASSIVE_RESTORE, managed_clusters="skip", sync=True))
    await restore_ends(hub_b, PASSIVE_RESTORE, ("Started",))
    patch = {"spec": {"veleroManagedClustersBackupName": "latest"}}
    if webhook:
        with pytest.raises(ApiException) as refused:
            await merge_patch(hub_b, RESTORES, PASSIVE_RESTORE, patch)
        assert refused.value.status == 403
        assert "vrestore.kb.io" in refused.value.body
        await hub_b.apps.patch_namespaced_deployment_scale("velero", BACKUP_NS, {"spec": {"replicas": 1}})
        await restore_ends(hub_b, PASSIVE_RESTORE, ("Enabled",))
    await merge_patch(hub_b, RESTORES, PASSIVE_RESTORE, patch)  # accepted: Enabled (2.16) or no webhook
    if not webhook:
        await hub_b.apps.patch_namespaced_deployment_scale("velero", BACKUP_NS, {"spec": {"replicas": 1}})
    assert phase(await restore_ends(hub_b, PASSIVE_RESTORE, TERMINAL)) == "Finished"


# -- §1.7 cleanup ---------------------------------------------------------------------------------


async def test_6_21_cleanup_runs_after_restoring_and_strips_finalizers(
    pair: SimulatedHubPair, hub_a: Hub, hub_b: Hub
) -> None:
    await pause_hub_a(hub_a)
    await restore_ends(hub_b, PASSIVE_RESTORE, ("Enabled",))
    store = pair.hubs["hub-b"].store
    namespaces = store.type_of("namespaces")
    for name, labels in (("stale-cd", {"velero.io/backup-name": "acm-resources-schedule-20200101000000"}),
                         ("own-cd", {})):
        store.create(namespaces, None, {"metadata": {"name": name}})
        store.create(sim_kinds.CLUSTER_DEPLOYMENTS, name, {
            "apiVersion": "hive.openshift.io/v1", "kind": "ClusterDeployment",
            "metadata": {"name": name, "namespace": name, "labels": labels,
                         "finalizers": ["hive.openshift.io/deprovision"]},
            "spec": {"clusterName": name, "baseDomain": "sim.example.com", "preserveOnDelete": True}})
    cds = await snap(hub_b, CLUSTER_DEPLOYMENTS)
    # A resources resync: nothing is cleaned before its Velero restores ran.
    fresh = put_backup(pair, "resources", 60, copy_of=newest(pair, "resources"))
    velero_name = f"{PASSIVE_RESTORE}-{fresh}"
    when_gone: list[str | None] = []

    def stale_gone(objs: list[Obj]) -> bool:
        if "stale-cd" in by_name(objs):
            return False
        velero = store.find(sim_kinds.VELERO_RESTORES, BACKUP_NS, velero_name)
        when_gone.append(phase(velero.obj) if velero else None)
        return True

    objs = await until(hub_b, CLUSTER_DEPLOYMENTS, stale_gone, after=cds)
    assert when_gone == ["Completed"]
    assert "own-cd" in by_name(objs)  # no velero.io/backup-name label: CleanupRestored spares it
    restore = await restore_ends(hub_b, PASSIVE_RESTORE, ("Enabled",))
    assert restore["status"]["veleroResourcesRestoreName"] == velero_name


# -- phase log of a resync --------------------------------------------------------------------


@pytest.mark.sim(profile=BRISK)
async def test_6_12_a_resync_goes_enabled_started_running_enabled_and_never_shows_velero_phases(hub_b: Hub) -> None:
    phases, _ = await passive_resync(hub_b)
    assert phases[0] == phases[-1] == "Enabled"
    assert phases[1] == "Started"
    assert "Running" in phases
    assert not {"Completed", "Failed", "PartiallyFailed"} & set(phases)
