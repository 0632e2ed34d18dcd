"""acm-operator-facts §3 (BackupSchedule) and the §6 items about it, as a user sees them through watches
on the emulated API: the reconcile order and its exact messages, collisions, the Velero schedules."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from asyncswitch.sim.acm import SimulatedHubPair, profile_named
from asyncswitch.sim.acm.cron import cron_error

from .resources import (
    BACKUP_CLUSTER_LABEL,
    BACKUP_NS,
    BACKUP_SCHEDULES,
    BACKUPS,
    CLUSTER_VERSIONS,
    CRDS,
    PASSIVE_RESTORE,
    RESTORE_CLUSTER_LABEL,
    RESTORES,
    SCHEDULE,
    VELERO_SCHEDULE_LABEL,
    VELERO_SCHEDULE_RES,
    VELERO_SCHEDULES,
    Hub,
    create,
    delete,
    merge_patch,
    schedule_body,
    snap,
    until,
)
from .watching import Obj, PhaseLog, by_name, labels, name_of, phase

CRON_PERIOD = 0.25
"""Real seconds of a cron period and of the operator's requeues on the instant profile used here."""

pytestmark = pytest.mark.sim(profile=replace(profile_named("instant"), min_cron_period=CRON_PERIOD))

QUIET = 6 * CRON_PERIOD
"""How long "it does not happen" is watched for: several requeues."""

RESTORE_ACTIVE = "Restore resource {} is currently active, verify that any active restores are removed."
STAMPED = re.compile(r"^(?P<schedule>acm-[a-z-]+-schedule)-(?P<stamp>\d{14})$")


def only_phase(objs: list[Obj], wanted: str, name: str = SCHEDULE) -> bool:
    return phase(by_name(objs).get(name)) == wanted


def message(obj: Obj) -> str:
    return str((obj.get("status") or {}).get("lastMessage") or "")


async def hub_id(hub: Hub) -> str:
    (version,) = await until(hub, CLUSTER_VERSIONS, bool)
    return str(version["spec"]["clusterID"])


async def switch_activity_to_hub_b(hub_a: Hub, hub_b: Hub) -> None:
    """hub-a paused; hub-b without its passive restore, with a schedule whose resources backup hub-a syncs."""
    await merge_patch(hub_a, BACKUP_SCHEDULES, SCHEDULE, {"spec": {"paused": True}})
    await until(hub_a, BACKUP_SCHEDULES, lambda objs: only_phase(objs, "Paused"))
    await delete(hub_b, RESTORES, PASSIVE_RESTORE)
    await until(hub_b, RESTORES, lambda objs: not objs)
    before = await snap(hub_a, BACKUPS)
    await create(hub_b, BACKUP_SCHEDULES, schedule_body())
    id_b = await hub_id(hub_b)
    await until(hub_a, BACKUPS, lambda objs: any(
        name_of(o) not in before.names() and labels(o).get(BACKUP_CLUSTER_LABEL) == id_b
        and labels(o).get(VELERO_SCHEDULE_LABEL) == "acm-resources-schedule" and phase(o) == "Completed"
        for o in objs), after=before)


async def stop_hub_b(hub_a: Hub, hub_b: Hub) -> None:
    """hub-b's schedule paused, its last backups done and synced to hub-a: hub-b was active, is no more."""
    await merge_patch(hub_b, BACKUP_SCHEDULES, SCHEDULE, {"spec": {"paused": True}})
    await until(hub_b, BACKUP_SCHEDULES, lambda objs: only_phase(objs, "Paused"))
    settled = await until(hub_b, BACKUPS, lambda objs: all(phase(o) in ("Completed", "Failed") for o in objs))
    names = {name_of(o) for o in settled if phase(o) == "Completed"}
    await until(hub_a, BACKUPS, lambda objs: names <= {name_of(o) for o in objs})


def marker_body(name: str, *, restore_hub: str, backup_hub: str) -> Obj:
    """The activation marker the restore side's post-restore activation creates (facts §2 step 2)."""
    return {"apiVersion": "velero.io/v1", "kind": "Backup",
            "metadata": {"name": name, "namespace": BACKUP_NS, "labels": {
                RESTORE_CLUSTER_LABEL: restore_hub, BACKUP_CLUSTER_LABEL: backup_hub,
                "cluster.open-cluster-management.io/acm-hub-dr": "true",
                "cluster.open-cluster-management.io/acm-restore-name": "restore-acm-activate",
                "acm-managed-clusters-schedule": "acm-managed-clusters-schedule-20260101000000"}},
            "spec": {"includedNamespaces": ["open-cluster-management-backup"], "storageLocation": "default"}}


def marker_name() -> str:
    return f"acm-restore-clusters-{datetime.now(UTC):%Y%m%d%H%M%S}"


# -- §6.2 / §3.1: the Restore check, the storage check, messages --------------------------------------


async def test_6_2_a_schedule_beside_an_unfinished_restore_goes_from_unreconciled_to_failed_validation(
    hub_b: Hub,
) -> None:
    """The schedule side of §6.2: it starts at "" (unreconciled) and goes FailedValidation, never New or
    Enabled while the Restore is unfinished, and makes no Velero schedules meanwhile. Both states are
    ones the Restore side refuses on, so the passive restore ends FinishedWithErrors at its next
    reconcile, and only then does the schedule make its Velero schedules (facts §3.2)."""
    before = await snap(hub_b, BACKUP_SCHEDULES)
    log = PhaseLog()
    await create(hub_b, BACKUP_SCHEDULES, schedule_body())
    (schedule,) = await until(hub_b, BACKUP_SCHEDULES, lambda objs: log.record(objs) and only_phase(
        objs, "FailedValidation"), after=before)
    assert log.seen[f"{BACKUP_NS}/{SCHEDULE}"][:2] == [None, "FailedValidation"]
    assert message(schedule) == RESTORE_ACTIVE.format(PASSIVE_RESTORE)
    await until(hub_b, VELERO_SCHEDULE_RES, bool, timeout=QUIET * 20)
    restores = by_name(await until(hub_b, RESTORES, bool))
    assert phase(restores[PASSIVE_RESTORE]) == "FinishedWithErrors"


async def test_6_2_an_unavailable_storage_location_fails_validation_even_when_paused(
    pair: SimulatedHubPair, hub_a: Hub
) -> None:
    await merge_patch(hub_a, BACKUP_SCHEDULES, SCHEDULE, {"spec": {"paused": True}})
    await until(hub_a, BACKUP_SCHEDULES, lambda objs: only_phase(objs, "Paused"))
    pair.set_storage_available(False)
    # The operator does not watch the location: the next pass (here, on a spec change) sees it.
    await merge_patch(hub_a, BACKUP_SCHEDULES, SCHEDULE, {"spec": {"veleroTtl": "96h"}})
    (schedule,) = await until(hub_a, BACKUP_SCHEDULES, lambda objs: only_phase(objs, "FailedValidation"))
    assert message(schedule) == (f"Backup storage location not available in namespace {BACKUP_NS}. "
                                 "Check velero.io.BackupStorageLocation and validate storage credentials.")
    pair.set_storage_available(True)
    await until(hub_a, BACKUP_SCHEDULES, lambda objs: only_phase(objs, "Paused"))


async def test_3_1_a_bad_cron_fails_validation_with_the_parsers_words(hub_a: Hub) -> None:
    await merge_patch(hub_a, BACKUP_SCHEDULES, SCHEDULE, {"spec": {"veleroSchedule": "every hour"}})
    (schedule,) = await until(hub_a, BACKUP_SCHEDULES, lambda objs: only_phase(objs, "FailedValidation"))
    assert message(schedule) == "invalid schedule: expected exactly 5 fields, found 2: [every hour]"


async def test_3_1_managed_service_accounts_without_the_msa_component_fail_validation(hub_a: Hub) -> None:
    await delete(hub_a, CRDS, "managedserviceaccounts.authentication.open-cluster-management.io")
    await merge_patch(hub_a, BACKUP_SCHEDULES, SCHEDULE, {"spec": {"veleroTtl": "96h"}})
    (schedule,) = await until(hub_a, BACKUP_SCHEDULES, lambda objs: only_phase(objs, "FailedValidation"))
    assert message(schedule) == ("UseManagedServiceAccount option cannot be used, managedserviceaccount "
                                 "component is not enabled")
    await merge_patch(hub_a, BACKUP_SCHEDULES, SCHEDULE, {"spec": {"useManagedServiceAccount": False}})
    await until(hub_a, BACKUP_SCHEDULES, lambda objs: only_phase(objs, "Enabled"))


@pytest.mark.parametrize(("cron", "error"), [
    ("0 */1 * * *", None), ("@every 30m", None), ("0 2 * * mon-fri", None),
    ("61 * * * *", "end of range (61) above maximum (59): 61"),
    ("*/0 * * * *", "step of range should be a positive number: */0"),
    ("@often", "unrecognized descriptor: @often"),
])
def test_3_1_cron_errors_are_robfig_crons(cron: str, error: str | None) -> None:
    assert cron_error(cron) == error


async def test_3_1_an_enabled_schedule_copies_its_velero_schedules_into_status_without_last_backup_time(
    hub_a: Hub,
) -> None:
    (schedule,) = await until(hub_a, BACKUP_SCHEDULES, lambda objs: only_phase(objs, "Enabled") and bool(
        (objs[0]["status"].get("veleroScheduleResources") or {}).get("status", {}).get("lastBackup")))
    status = schedule["status"]
    assert message(schedule) == "Velero schedules are enabled"
    assert "lastBackupTime" not in status
    assert {status[f]["metadata"]["name"] for f in (
        "veleroScheduleManagedClusters", "veleroScheduleResources", "veleroScheduleCredentials")} == {
        "acm-managed-clusters-schedule", "acm-resources-schedule", "acm-credentials-schedule"}


# -- §6.5 -----------------------------------------------------------------------------------------


async def test_6_5_an_unpaused_schedule_on_the_passive_hub_fails_validation_while_the_restore_is_unfinished(
    hub_b: Hub,
) -> None:
    await until(hub_b, RESTORES, lambda objs: only_phase(objs, "Enabled", PASSIVE_RESTORE))
    await create(hub_b, BACKUP_SCHEDULES, schedule_body())
    (schedule,) = await until(hub_b, BACKUP_SCHEDULES, lambda objs: only_phase(objs, "FailedValidation"))
    assert message(schedule) == RESTORE_ACTIVE.format(PASSIVE_RESTORE)
    # Paused, the same schedule is exempt from the check.
    await merge_patch(hub_b, BACKUP_SCHEDULES, SCHEDULE, {"spec": {"paused": True}})
    (schedule,) = await until(hub_b, BACKUP_SCHEDULES, lambda objs: only_phase(objs, "Paused"))
    assert message(schedule) == "BackupSchedule is paused."


# -- §6.6, §6.7 --------------------------------------------------------------------------------------


@pytest.mark.sim(acm_version="2.15")
async def test_6_6_collision_is_sticky(hub_a: Hub, hub_b: Hub) -> None:
    await switch_activity_to_hub_b(hub_a, hub_b)
    await merge_patch(hub_a, BACKUP_SCHEDULES, SCHEDULE, {"spec": {"paused": False}})
    (collided,) = await until(hub_a, BACKUP_SCHEDULES, lambda objs: only_phase(objs, "BackupCollision"))
    # 2.15+: the collision pauses the Velero schedules (2.12-2.14 delete them, as in test_6_7).
    await until(hub_a, VELERO_SCHEDULE_RES, lambda objs: len(objs) == len(VELERO_SCHEDULES) and all(
        o["spec"].get("paused") is True for o in objs))
    # hub-b stops writing, hub-a's spec changes and pauses: the schedule stays BackupCollision.
    await delete(hub_b, BACKUP_SCHEDULES, SCHEDULE)
    for patch_body in ({"spec": {"paused": True}}, {"spec": {"paused": False}},
                       {"spec": {"veleroSchedule": "0 */2 * * *"}}):
        await merge_patch(hub_a, BACKUP_SCHEDULES, SCHEDULE, patch_body)
        with pytest.raises(TimeoutError):
            await until(hub_a, BACKUP_SCHEDULES, lambda objs: not only_phase(objs, "BackupCollision"), timeout=QUIET)
    (still,) = await until(hub_a, BACKUP_SCHEDULES, bool)
    assert message(still) == message(collided)
    # Recovery: delete and create again.
    await delete(hub_a, BACKUP_SCHEDULES, SCHEDULE)
    await until(hub_a, BACKUP_SCHEDULES, lambda objs: not objs)
    await create(hub_a, BACKUP_SCHEDULES, schedule_body())
    await until(hub_a, BACKUP_SCHEDULES, lambda objs: only_phase(objs, "Enabled"))


async def test_6_7_collision_on_another_hubs_restore_clusters_marker(hub_a: Hub, hub_b: Hub) -> None:
    await until(hub_a, BACKUP_SCHEDULES, lambda objs: only_phase(objs, "Enabled"))
    id_a, id_b = await hub_id(hub_a), await hub_id(hub_b)
    marker = marker_name()
    # hub-b's activation writes its marker; hub-b's Velero runs it and hub-a's Velero syncs it.
    await create(hub_b, BACKUPS, marker_body(marker, restore_hub=id_b, backup_hub=id_a))
    (schedule,) = await until(hub_a, BACKUP_SCHEDULES, lambda objs: only_phase(objs, "BackupCollision"))
    assert message(schedule).startswith(
        f"Hub with id [{id_b}] had run a restore managed cluster operation, see [{marker}]")
    # The Velero schedules stop: deleted on 2.14.
    await until(hub_a, VELERO_SCHEDULE_RES, lambda objs: not objs)


async def test_3_3_this_hubs_own_marker_is_no_collision(hub_a: Hub) -> None:
    await until(hub_a, BACKUP_SCHEDULES, lambda objs: only_phase(objs, "Enabled"))
    id_a = await hub_id(hub_a)
    await create(hub_a, BACKUPS, marker_body(marker_name(), restore_hub=id_a, backup_hub=id_a))
    before = await snap(hub_a, VELERO_SCHEDULE_RES)
    # Several requeues (each runs the collision check) and a cron run later, still Enabled.
    await until(hub_a, VELERO_SCHEDULE_RES, lambda objs: any(
        o.get("status", {}).get("lastBackup") != before.objects[f"{BACKUP_NS}/{name_of(o)}"].get(
            "status", {}).get("lastBackup") for o in objs), after=before)
    with pytest.raises(TimeoutError):
        await until(hub_a, BACKUP_SCHEDULES, lambda objs: not only_phase(objs, "Enabled"), timeout=QUIET)


# -- §6.9, §6.10 -------------------------------------------------------------------------------------


async def test_6_9_a_new_schedule_backs_up_at_once_five_backups_one_timestamp(hub_a: Hub) -> None:
    await delete(hub_a, BACKUP_SCHEDULES, SCHEDULE)
    await until(hub_a, VELERO_SCHEDULE_RES, lambda objs: not objs)
    before = await snap(hub_a, BACKUPS)
    log = PhaseLog()
    await create(hub_a, BACKUP_SCHEDULES, schedule_body(cron="0 2 * * *"))  # daily: no cron run meanwhile
    objs = await until(hub_a, BACKUPS, lambda objs: len([o for o in objs if name_of(o) not in before.names()])
                       == len(VELERO_SCHEDULES) and all(phase(o) == "Completed" for o in objs
                                                        if name_of(o) not in before.names()), after=before)
    fresh = [o for o in objs if name_of(o) not in before.names()]
    matches = [STAMPED.match(name_of(o)) for o in fresh]
    assert all(matches)
    assert {m["schedule"] for m in matches if m} == set(VELERO_SCHEDULES)
    assert len({m["stamp"] for m in matches if m}) == 1
    schedules = await until(hub_a, BACKUP_SCHEDULES, lambda objs: log.record(objs) and only_phase(objs, "Enabled"))
    assert phase(schedules[0]) == "Enabled"


async def test_6_10_one_backup_schedule_per_namespace(hub_a: Hub) -> None:
    await until(hub_a, BACKUP_SCHEDULES, lambda objs: only_phase(objs, "Enabled"))
    await create(hub_a, BACKUP_SCHEDULES, schedule_body("second-schedule"))
    objs = await until(hub_a, BACKUP_SCHEDULES, lambda objs: only_phase(objs, "Failed", "second-schedule"))
    assert message(by_name(objs)["second-schedule"]).startswith("Velero schedules initialization failed: ")
    assert "already exists" in message(by_name(objs)["second-schedule"])
    assert phase(by_name(objs)[SCHEDULE]) == "Enabled"
    owners = {ref["name"] for o in await until(hub_a, VELERO_SCHEDULE_RES, bool)
              for ref in o["metadata"]["ownerReferences"]}
    assert owners == {SCHEDULE}
