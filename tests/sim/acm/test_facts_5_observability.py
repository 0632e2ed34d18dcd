"""acm-operator-facts §5 and §4: MultiClusterObservability belongs to the managed-clusters backup, so
activating a hub brings observability up there, and nothing stops the old hub's: both hubs then run a
Thanos compactor against the same bucket until someone stops the old one."""

from __future__ import annotations

import pytest

from .resources import (
    BACKUP_SCHEDULES,
    MCOS,
    OBSERVABILITY_NS,
    PASSIVE_RESTORE,
    RESTORES,
    SCHEDULE,
    Hub,
    merge_patch,
    pods,
    until,
)
from .watching import Obj, by_name, labels, phase

COMPACT_APP = "thanos-compact"


def compactors_running(objs: list[Obj]) -> int:
    return sum(1 for o in objs if labels(o).get("app.kubernetes.io/name") == COMPACT_APP
               and phase(o) == "Running" and not o["metadata"].get("deletionTimestamp"))


async def activate_hub_b(hub_a: Hub, hub_b: Hub) -> None:
    """The runbook's passive activation, by hand: pause hub-a's schedule, then MC skip → latest."""
    await merge_patch(hub_a, BACKUP_SCHEDULES, SCHEDULE, {"spec": {"paused": True}})
    await until(hub_a, BACKUP_SCHEDULES, lambda objs: [phase(o) for o in objs] == ["Paused"])
    await merge_patch(hub_b, RESTORES, PASSIVE_RESTORE, {"spec": {"veleroManagedClustersBackupName": "latest"}})


@pytest.mark.sim(profile="fast")
async def test_the_activation_restore_brings_the_mco_and_its_compactor_to_the_new_hub(hub_a: Hub, hub_b: Hub) -> None:
    (mco_a,) = await until(hub_a, MCOS, bool)
    assert await until(hub_b, MCOS, lambda objs: True) == []

    await activate_hub_b(hub_a, hub_b)

    (mco_b,) = await until(hub_b, MCOS, bool)
    assert mco_b["metadata"]["name"] == mco_a["metadata"]["name"]
    assert mco_b["spec"] == mco_a["spec"]
    await until(hub_b, pods(OBSERVABILITY_NS), lambda objs: compactors_running(objs) == 1)


@pytest.mark.sim(profile="fast")
async def test_the_old_hubs_compactor_keeps_running_after_activation(hub_a: Hub, hub_b: Hub) -> None:
    await activate_hub_b(hub_a, hub_b)
    await until(hub_b, pods(OBSERVABILITY_NS), lambda objs: compactors_running(objs) == 1)

    # Two compactors, one bucket: the harm a switchover must prevent (domain facts §5.19).
    assert compactors_running(await until(hub_a, pods(OBSERVABILITY_NS), bool)) == 1
    assert by_name(await until(hub_a, MCOS, bool))
