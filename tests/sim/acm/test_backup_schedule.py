"""The BackupSchedule controller as a user sees it: Velero Backups per schedule run, pause, a finished
Restore that does not hold it, and backups that wait for Velero. The operator's facts, item by item,
are in test_facts_3_backup_schedule.py and test_facts_4_backups.py."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from asyncswitch.sim.acm import profile_named

from .resources import (
    BACKUP_NS,
    BACKUP_SCHEDULES,
    BACKUPS,
    RESTORES,
    SCHEDULE,
    SCHEDULE_TYPE_LABEL,
    VELERO_SCHEDULE_LABEL,
    VELERO_SCHEDULES,
    Hub,
    create,
    deployments,
    merge_patch,
    restore_body,
    snap,
    until,
)
from .watching import Obj, PhaseLog, Snapshot, by_name, labels, name_of, phase

CRON_PERIOD = 0.25
"""Real seconds between schedule runs in these tests (the instant profile, with a brisk cron)."""

pytestmark = pytest.mark.sim(profile=replace(profile_named("instant"), min_cron_period=CRON_PERIOD))

QUIET = 4 * CRON_PERIOD
"""How long "no backup is taken" is watched for: four schedule periods."""

CLUSTER_ID_LABEL = "cluster.open-cluster-management.io/backup-cluster"
"""The id of the hub cluster that wrote a backup (what BackupCollision compares)."""

STAMPED = re.compile(r"^(?P<schedule>acm-[a-z-]+-schedule)-(?P<stamp>\d{14})$")


def schedule_phase(objs: list[Obj], wanted: str) -> bool:
    return [phase(o) for o in objs] == [wanted]


def runs_after(before: Snapshot, objs: list[Obj]) -> dict[str, dict[str, Obj]]:
    """Backups created after ``before``, grouped by their run's stamp."""
    runs: dict[str, dict[str, Obj]] = {}
    for obj in objs:
        match = STAMPED.match(name_of(obj))
        if match and name_of(obj) not in before.names():
            runs.setdefault(match["stamp"], {})[match["schedule"]] = obj
    return runs


def completed_run(before: Snapshot, objs: list[Obj]) -> bool:
    return any(len(run) == len(VELERO_SCHEDULES) and all(phase(o) == "Completed" for o in run.values())
               for run in runs_after(before, objs).values())


def parse(timestamp: str) -> datetime:
    return datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


async def test_a_schedule_run_makes_one_backup_per_velero_schedule_that_goes_new_inprogress_completed(
    hub_a: Hub,
) -> None:
    before = await snap(hub_a, BACKUPS)
    log = PhaseLog()
    objs = await until(hub_a, BACKUPS, lambda objs: log.record(objs) and completed_run(before, objs), after=before)

    stamp, run = next((s, r) for s, r in sorted(runs_after(before, objs).items()) if len(r) == len(VELERO_SCHEDULES))
    assert set(run) == set(VELERO_SCHEDULES)
    stamped_at = datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - stamped_at) < timedelta(minutes=1)
    for schedule, backup in run.items():
        assert labels(backup)[VELERO_SCHEDULE_LABEL] == schedule
        assert labels(backup)[SCHEDULE_TYPE_LABEL] == VELERO_SCHEDULES[schedule]
        history = [p for p in log.seen[f"{BACKUP_NS}/{name_of(backup)}"] if p is not None]
        assert history[0] == "New"
        assert [p for p in history if p != "Finalizing"] == ["New", "InProgress", "Completed"]
        status = backup["status"]
        assert parse(status["startTimestamp"]) <= parse(status["completionTimestamp"])
        assert status["progress"]["totalItems"] == status["progress"]["itemsBackedUp"] > 0
        assert status["errors"] == 0


async def test_pausing_the_schedule_shows_paused_and_stops_backups_until_unpaused(hub_a: Hub) -> None:
    await merge_patch(hub_a, BACKUP_SCHEDULES, SCHEDULE, {"spec": {"paused": True}})
    await until(hub_a, BACKUP_SCHEDULES, lambda objs: schedule_phase(objs, "Paused"))

    before = await snap(hub_a, BACKUPS)
    with pytest.raises(TimeoutError):
        await until(hub_a, BACKUPS, lambda objs: bool(runs_after(before, objs)), after=before, timeout=QUIET)

    await merge_patch(hub_a, BACKUP_SCHEDULES, SCHEDULE, {"spec": {"paused": False}})
    await until(hub_a, BACKUP_SCHEDULES, lambda objs: schedule_phase(objs, "Enabled"))
    await until(hub_a, BACKUPS, lambda objs: completed_run(before, objs), after=before)


async def test_a_restore_created_next_to_an_active_schedule_is_refused_and_the_schedule_goes_on(hub_a: Hub) -> None:
    # The backup operator refuses a Restore while a BackupSchedule is neither Paused nor BackupCollision
    # (facts §1.3); once it is FinishedWithErrors it no longer blocks the schedule (§3.1 step 2).
    before = await snap(hub_a, BACKUPS)
    await create(hub_a, RESTORES, restore_body("restore-probe", managed_clusters="skip", credentials="skip",
                                              resources="skip"))
    (probe,) = await until(hub_a, RESTORES, lambda objs: phase(by_name(objs)["restore-probe"]) == "FinishedWithErrors")
    assert f"BackupSchedule resource {SCHEDULE} is currently active" in probe["status"]["lastMessage"]
    await until(hub_a, BACKUP_SCHEDULES, lambda objs: schedule_phase(objs, "Enabled"))
    await until(hub_a, BACKUPS, lambda objs: completed_run(before, objs), after=before)
    await until(hub_a, BACKUP_SCHEDULES, lambda objs: schedule_phase(objs, "Enabled"))


async def test_a_backup_stays_new_while_velero_has_no_ready_pod_and_completes_once_it_is_back(hub_a: Hub) -> None:
    await hub_a.apps.patch_namespaced_deployment_scale("velero", BACKUP_NS, {"spec": {"replicas": 0}})
    await until(hub_a, deployments(BACKUP_NS), lambda objs: any(
        name_of(o) == "velero" and not (o.get("status") or {}).get("readyReplicas") for o in objs))

    before = await snap(hub_a, BACKUPS)
    stuck = await until(hub_a, BACKUPS, lambda objs: any(
        len(run) == len(VELERO_SCHEDULES) for run in runs_after(before, objs).values()), after=before)
    with pytest.raises(TimeoutError):
        await until(hub_a, BACKUPS, lambda objs: any(phase(o) not in (None, "New") for run in runs_after(
            before, objs).values() for o in run.values()), after=before, timeout=QUIET)
    first = min(stamp for stamp, run in runs_after(before, stuck).items() if len(run) == len(VELERO_SCHEDULES))

    await hub_a.apps.patch_namespaced_deployment_scale("velero", BACKUP_NS, {"spec": {"replicas": 1}})
    await until(hub_a, BACKUPS, lambda objs: [phase(o) for o in runs_after(before, objs).get(first, {}).values()]
                == ["Completed"] * len(VELERO_SCHEDULES), after=before)
