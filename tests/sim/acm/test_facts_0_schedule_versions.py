"""acm-operator-facts §0, the BackupSchedule markers, over ACM 2.11 … 2.17, watched on the emulated API:
spec.paused exists from 2.12; pause deletes the Velero schedules in 2.12-2.14 and pauses them in 2.15+
(§6.8); unpausing after the other hub was active collides in 2.15-2.16; 2.17+ spares the hub that ran
the latest activation (the failback exception)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from asyncswitch.sim.acm import SimulatedHubPair, profile_named

from .resources import (
    BACKUP_SCHEDULES,
    BACKUPS,
    SCHEDULE,
    VELERO_SCHEDULE_RES,
    VELERO_SCHEDULES,
    Hub,
    create,
    merge_patch,
    snap,
    until,
)
from .test_facts_3_backup_schedule import (
    hub_id,
    marker_body,
    message,
    only_phase,
    stop_hub_b,
    switch_activity_to_hub_b,
)
from .watching import PhaseLog, labels, phase

CRON_PERIOD = 0.25
QUIET = 6 * CRON_PERIOD
VERSIONS = ("2.11", "2.12", "2.14", "2.15", "2.16", "2.17")
PROFILE = replace(profile_named("instant"), min_cron_period=CRON_PERIOD)


def minor(version: str) -> int:
    return int(version.split(".")[1])


@pytest.fixture(params=VERSIONS)
def knobs(request: pytest.FixtureRequest) -> dict[str, object]:
    """Overrides conftest's: every test here runs once per ACM version."""
    return {"acm_version": request.param, "profile": PROFILE}


@pytest.fixture
def version(pair: SimulatedHubPair) -> str:
    return pair.config.version_of("hub-a")


async def test_spec_paused_is_kept_from_2_12_and_pruned_before(version: str, hub_a: Hub) -> None:
    patched = await merge_patch(hub_a, BACKUP_SCHEDULES, SCHEDULE, {"spec": {"paused": True}})
    if minor(version) >= 12:
        assert patched["spec"]["paused"] is True
        await until(hub_a, BACKUP_SCHEDULES, lambda objs: only_phase(objs, "Paused"))
        return
    # 2.11: the API server dropped the field; the schedule keeps running and backing up.
    assert "paused" not in patched["spec"]
    with pytest.raises(TimeoutError):
        await until(hub_a, BACKUP_SCHEDULES, lambda objs: not only_phase(objs, "Enabled"), timeout=QUIET)
    (schedule,) = await until(hub_a, BACKUP_SCHEDULES, bool)
    assert "paused" not in schedule["spec"]


async def test_6_8_pause_deletes_velero_schedules_in_2_12_to_2_14_and_pauses_them_in_2_15_on(
    version: str, hub_a: Hub
) -> None:
    await until(hub_a, VELERO_SCHEDULE_RES, lambda objs: len(objs) == len(VELERO_SCHEDULES))
    await merge_patch(hub_a, BACKUP_SCHEDULES, SCHEDULE, {"spec": {"paused": True}})
    if minor(version) < 12:
        with pytest.raises(TimeoutError):
            await until(hub_a, VELERO_SCHEDULE_RES, lambda objs: len(objs) != len(VELERO_SCHEDULES) or any(
                o["spec"].get("paused") for o in objs), timeout=QUIET)
        return
    (schedule,) = await until(hub_a, BACKUP_SCHEDULES, lambda objs: only_phase(objs, "Paused"))
    assert message(schedule) == "BackupSchedule is paused."
    if minor(version) <= 14:
        await until(hub_a, VELERO_SCHEDULE_RES, lambda objs: not objs)
    else:
        objs = await until(hub_a, VELERO_SCHEDULE_RES, lambda objs: len(objs) == len(VELERO_SCHEDULES) and all(
            o["spec"].get("paused") is True for o in objs))
        assert {labels(o)["cluster.open-cluster-management.io/backup-schedule-type"] for o in objs} == set(
            VELERO_SCHEDULES.values())
    # Unpaused, it runs again: rebuilt Velero schedules (New first) or the same ones unpaused.
    log = PhaseLog()
    before = await snap(hub_a, BACKUP_SCHEDULES)
    await merge_patch(hub_a, BACKUP_SCHEDULES, SCHEDULE, {"spec": {"paused": False}})
    await until(hub_a, BACKUP_SCHEDULES, lambda objs: log.record(objs) and only_phase(objs, "Enabled"),
                after=before)
    await until(hub_a, VELERO_SCHEDULE_RES, lambda objs: len(objs) == len(VELERO_SCHEDULES) and not any(
        o["spec"].get("paused") for o in objs))
    if minor(version) <= 14:
        assert "New" in next(iter(log.seen.values()))


async def test_unpausing_after_the_other_hub_was_active_collides_only_in_2_15_and_2_16(
    version: str, hub_a: Hub, hub_b: Hub
) -> None:
    if minor(version) < 12:
        pytest.skip("before 2.12 there is no pause to undo (spec.paused is pruned; see the test above)")
    await switch_activity_to_hub_b(hub_a, hub_b)
    await stop_hub_b(hub_a, hub_b)
    await merge_patch(hub_a, BACKUP_SCHEDULES, SCHEDULE, {"spec": {"paused": False}})
    if 15 <= minor(version) <= 16:
        (schedule,) = await until(hub_a, BACKUP_SCHEDULES, lambda objs: only_phase(objs, "BackupCollision"))
        assert f"from cluster with id [{await hub_id(hub_b)}]" in message(schedule)
        return
    if minor(version) >= 17:
        # Without the failback exception's condition (hub-a did not run the latest activation) it collides.
        await until(hub_a, BACKUP_SCHEDULES, lambda objs: only_phase(objs, "BackupCollision"))
        return
    # 2.12-2.14: rebuilt Velero schedules take fresh backups; no collision.
    await until(hub_a, BACKUP_SCHEDULES, lambda objs: only_phase(objs, "Enabled"))
    with pytest.raises(TimeoutError):
        await until(hub_a, BACKUP_SCHEDULES, lambda objs: not only_phase(objs, "Enabled"), timeout=QUIET)


async def test_failback_exception_spares_the_hub_that_ran_the_latest_activation_from_2_17(
    version: str, hub_a: Hub, hub_b: Hub
) -> None:
    if minor(version) < 12:
        pytest.skip("before 2.12 there is no pause to undo")
    await switch_activity_to_hub_b(hub_a, hub_b)
    await stop_hub_b(hub_a, hub_b)
    # hub-a activates again (failback): its post-restore activation writes the newest marker.
    id_a, id_b = await hub_id(hub_a), await hub_id(hub_b)
    name = f"acm-restore-clusters-{datetime.now(UTC):%Y%m%d%H%M%S}"
    await create(hub_a, BACKUPS, marker_body(name, restore_hub=id_a, backup_hub=id_b))
    await until(hub_a, BACKUPS, lambda objs: any(o["metadata"]["name"] == name and phase(o) == "Completed"
                                                 for o in objs))
    await merge_patch(hub_a, BACKUP_SCHEDULES, SCHEDULE, {"spec": {"paused": False}})
    if 15 <= minor(version) <= 16:
        await until(hub_a, BACKUP_SCHEDULES, lambda objs: only_phase(objs, "BackupCollision"))
        return
    await until(hub_a, BACKUP_SCHEDULES, lambda objs: only_phase(objs, "Enabled"))
    with pytest.raises(TimeoutError):
        await until(hub_a, BACKUP_SCHEDULES, lambda objs: not only_phase(objs, "Enabled"), timeout=QUIET)
