"""acm-operator-facts §4 (Backups) and Velero's backup side, watched on the emulated API: the labels every
scheduled backup carries, the validation backup's TTL, a Backup created by hand (the activation marker)
run and synced to the other hub with its labels, and backups that expire by their TTL on both hubs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from asyncswitch.sim.acm import profile_named

from .resources import (
    BACKUP_CLUSTER_LABEL,
    BACKUP_NS,
    BACKUP_SCHEDULE_NAME_LABEL,
    BACKUPS,
    CLUSTER_VERSIONS,
    RESTORE_CLUSTER_LABEL,
    SCHEDULE,
    SCHEDULE_TYPE_LABEL,
    VELERO_SCHEDULE_LABEL,
    VELERO_SCHEDULE_RES,
    VELERO_SCHEDULES,
    Hub,
    create,
    snap,
    until,
)
from .test_facts_3_backup_schedule import hub_id, marker_body
from .watching import PhaseLog, by_name, labels, name_of, phase

pytestmark = pytest.mark.sim(profile=replace(profile_named("instant"), min_cron_period=0.25))


async def test_4_every_scheduled_backup_carries_the_schedule_labels_and_the_hub_id(hub_a: Hub) -> None:
    (version,) = await until(hub_a, CLUSTER_VERSIONS, bool)
    assert name_of(version) == "version"
    hub = str(version["spec"]["clusterID"])
    objs = await until(hub_a, BACKUPS, lambda objs: {labels(o).get(VELERO_SCHEDULE_LABEL) for o in objs
                                                     if phase(o) == "Completed"} >= set(VELERO_SCHEDULES))
    own = [o for o in objs if labels(o).get(VELERO_SCHEDULE_LABEL) in VELERO_SCHEDULES]
    assert own
    for backup in own:
        schedule = labels(backup)[VELERO_SCHEDULE_LABEL]
        assert name_of(backup).startswith(f"{schedule}-")
        assert labels(backup)[SCHEDULE_TYPE_LABEL] == VELERO_SCHEDULES[schedule]
        assert labels(backup)[BACKUP_SCHEDULE_NAME_LABEL] == SCHEDULE
        assert labels(backup)[BACKUP_CLUSTER_LABEL] == hub


async def test_4_the_validation_backup_lives_one_cron_period_plus_five_minutes(hub_a: Hub) -> None:
    # The seeded schedule runs hourly: 1h + 5m; the other backups take veleroTtl (120h).
    schedules = by_name(await until(hub_a, VELERO_SCHEDULE_RES, lambda objs: len(objs) == len(VELERO_SCHEDULES)))
    assert schedules["acm-validation-policy-schedule"]["spec"]["template"]["ttl"] == "1h5m0s"
    assert {schedules[s]["spec"]["template"]["ttl"] for s in VELERO_SCHEDULES
            if s != "acm-validation-policy-schedule"} == {"120h"}
    objs = await until(hub_a, BACKUPS, lambda objs: any(
        labels(o).get(VELERO_SCHEDULE_LABEL) == "acm-validation-policy-schedule" for o in objs))
    validation = next(o for o in objs if labels(o).get(VELERO_SCHEDULE_LABEL) == "acm-validation-policy-schedule")
    assert validation["spec"]["ttl"] == "1h5m0s"


async def test_4_a_backup_created_without_status_is_run_and_reaches_the_other_hub_with_its_labels(
    hub_a: Hub, hub_b: Hub
) -> None:
    id_a, id_b = await hub_id(hub_a), await hub_id(hub_b)
    name = f"acm-restore-clusters-{datetime.now(UTC):%Y%m%d%H%M%S}"
    body = marker_body(name, restore_hub=id_b, backup_hub=id_a)
    log = PhaseLog()
    before = await snap(hub_b, BACKUPS)
    await create(hub_b, BACKUPS, body)
    objs = await until(hub_b, BACKUPS, lambda objs: log.record(objs) and phase(by_name(objs).get(name)) == "Completed",
                       after=before)
    assert [p for p in log.seen[f"{BACKUP_NS}/{name}"] if p != "Finalizing"] == [
        None, "New", "InProgress", "Completed"]
    assert labels(by_name(objs)[name]) == body["metadata"]["labels"]
    synced = by_name(await until(hub_a, BACKUPS, lambda objs: phase(by_name(objs).get(name)) == "Completed"))[name]
    assert labels(synced) == body["metadata"]["labels"]
    assert labels(synced)[RESTORE_CLUSTER_LABEL] == id_b
    assert SCHEDULE_TYPE_LABEL not in labels(synced)


FAST_TTL = replace(profile_named("fast", speed=20000.0), min_backup_lifetime=0.5, min_cron_period=0.25)
"""Simulated time 20,000 times faster: a 1s TTL is gone within a GC pass, 120h lasts over 20 real seconds."""


@pytest.mark.sim(profile=FAST_TTL)
async def test_4_a_backup_expires_by_its_ttl_on_both_hubs(hub_a: Hub, hub_b: Hub) -> None:
    name = "short-lived"
    await create(hub_a, BACKUPS, {"apiVersion": "velero.io/v1", "kind": "Backup",
                                  "metadata": {"name": name, "namespace": BACKUP_NS},
                                  "spec": {"ttl": "1s", "storageLocation": "default"}})
    done = by_name(await until(hub_b, BACKUPS, lambda objs: phase(by_name(objs).get(name)) == "Completed"))[name]
    assert done["status"]["expiration"]
    # Velero's GC deletes it on hub-a and from the storage; hub-b's sync drops its copy.
    await until(hub_a, BACKUPS, lambda objs: name not in by_name(objs))
    await until(hub_b, BACKUPS, lambda objs: name not in by_name(objs))
    # The schedule's own backups (120h) stay.
    assert any(labels(o).get(VELERO_SCHEDULE_LABEL) == "acm-managed-clusters-schedule"
               for o in await until(hub_b, BACKUPS, bool))
