"""Where the klusterlets point, as both hubs show it: restored clusters join the new hub, the old hub
loses them after the lease grace, and imports wait for disable-auto-import, ImportOnly and MSA."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest
from kubernetes_asyncio import client

from asyncswitch.sim.acm import SimulatedHubPair, profile_named

from .resources import (
    AVAILABLE,
    BACKUPS,
    DISABLE_AUTO_IMPORT,
    IMMEDIATE_IMPORT,
    MANAGED_CLUSTERS,
    MC_SCHEDULE,
    MCE_NS,
    PASSIVE_RESTORE,
    RESTORES,
    VELERO_SCHEDULE_LABEL,
    Hub,
    available_is,
    connected,
    fleet,
    merge_patch,
    snap,
    until,
)
from .watching import Obj, annotations_of, by_name, conditions, name_of, phase

FAST = profile_named("fast")
BRISK = replace(profile_named("instant"), min_cron_period=0.25)
QUIET = 1.0
"""Real seconds an instant-profile test watches for a move that must not happen (any allowed move is at once)."""

CLUSTERS = [f"cluster-{i:04d}" for i in range(1, 7)]


async def activate(hub_b: Hub) -> None:
    """Runbook option A on hub-b, waiting for the Restore to finish."""
    await merge_patch(hub_b, RESTORES, PASSIVE_RESTORE, {"spec": {"veleroManagedClustersBackupName": "latest"}})
    objs = await until(hub_b, RESTORES, lambda objs: phase(by_name(objs)[PASSIVE_RESTORE]) in (
        "Finished", "FinishedWithErrors", "Error"))
    assert phase(by_name(objs)[PASSIVE_RESTORE]) == "Finished"


async def annotate(hub: Hub, cluster: str, key: str, value: str | None) -> None:
    """Merge-patch one annotation of a ManagedCluster (None removes it)."""
    await merge_patch(hub, MANAGED_CLUSTERS, cluster, {"metadata": {"annotations": {key: value}}})


def fleet_on(objs: list[Obj]) -> dict[str, Obj]:
    return by_name(fleet(objs))


@pytest.mark.sim(profile="fast", clusters=10)
async def test_restored_clusters_start_unconditioned_then_join_hub_b_and_go_unknown_on_hub_a_after_the_lease_grace(
    hub_a: Hub, hub_b: Hub
) -> None:
    first_seen: dict[str, dict[str, str]] = {}
    available_on_b: dict[str, float] = {}
    unknown_on_a: dict[str, float] = {}

    def watch_b(objs: list[Obj]) -> bool:
        for name, obj in fleet_on(objs).items():
            first_seen.setdefault(name, conditions(obj))
            if connected(obj):
                available_on_b.setdefault(name, time.monotonic())
        return len(available_on_b) == 10

    def watch_a(objs: list[Obj]) -> bool:
        for name, obj in fleet_on(objs).items():
            if available_is(obj, "Unknown"):
                unknown_on_a.setdefault(name, time.monotonic())
        return len(unknown_on_a) == 10

    before_b = await snap(hub_b, MANAGED_CLUSTERS)
    async with asyncio.TaskGroup() as tg:
        tg.create_task(until(hub_b, MANAGED_CLUSTERS, watch_b, after=before_b))
        tg.create_task(until(hub_a, MANAGED_CLUSTERS, watch_a))
        await activate(hub_b)

    assert first_seen == {name: {} for name in available_on_b}
    grace = FAST.lease_grace / FAST.speed
    for name, left_at in unknown_on_a.items():
        # The old hub keeps showing the cluster Available for the lease grace after it moved.
        assert left_at - available_on_b[name] >= grace / 2, name
    final_a = fleet_on(await until(hub_a, MANAGED_CLUSTERS, bool))
    assert all(conditions(o)[AVAILABLE] == "Unknown" for o in final_a.values())


@pytest.mark.sim(profile=BRISK)
async def test_disable_auto_import_on_the_restored_cluster_blocks_its_move_until_removed(
    hub_a: Hub, hub_b: Hub
) -> None:
    before = await snap(hub_a, BACKUPS, label_selector=f"{VELERO_SCHEDULE_LABEL}={MC_SCHEDULE}")
    await annotate(hub_a, "cluster-0001", DISABLE_AUTO_IMPORT, "")
    # A managed-clusters backup taken after the annotation carries it to hub-b.
    await until(hub_a, BACKUPS, lambda objs: any(name_of(o) not in before.names() and phase(o) == "Completed"
                                                 for o in objs),
                after=before, label_selector=f"{VELERO_SCHEDULE_LABEL}={MC_SCHEDULE}")
    await activate(hub_b)

    objs = await until(hub_b, MANAGED_CLUSTERS, lambda objs: all(
        connected(o) for n, o in fleet_on(objs).items() if n != "cluster-0001") and len(fleet(objs)) == 6)
    blocked = fleet_on(objs)["cluster-0001"]
    assert DISABLE_AUTO_IMPORT in annotations_of(blocked)
    with pytest.raises(TimeoutError):
        await until(hub_b, MANAGED_CLUSTERS, lambda objs: bool(conditions(fleet_on(objs)["cluster-0001"])),
                    timeout=QUIET)

    await annotate(hub_b, "cluster-0001", DISABLE_AUTO_IMPORT, None)
    await until(hub_b, MANAGED_CLUSTERS, lambda objs: connected(fleet_on(objs)["cluster-0001"]))
    await until(hub_a, MANAGED_CLUSTERS, lambda objs: available_is(fleet_on(objs)["cluster-0001"], "Unknown"))


HIVE = ["cluster-0001", "cluster-0002"]
"""With 6 clusters and the default hive_share of 0.3 the first two are Hive clusters (no MSA token)."""
MSA = [c for c in CLUSTERS if c not in HIVE]


@pytest.mark.sim(acm_version="2.14.x")
async def test_on_import_only_a_hive_cluster_hub_b_imported_before_waits_for_immediate_import_which_turns_completed(
    pair: SimulatedHubPair, hub_b: Hub
) -> None:
    pair.hubs["hub-b"].imported.update(CLUSTERS)  # hub-b managed these clusters in an earlier switchover
    await activate(hub_b)
    # The operator gave each MSA cluster an auto-import-secret and immediate-import "": those come over.
    objs = await until(hub_b, MANAGED_CLUSTERS, lambda objs: all(connected(fleet_on(objs).get(c, {})) for c in MSA))
    assert all(annotations_of(fleet_on(objs)[c])[IMMEDIATE_IMPORT] == "Completed" for c in MSA)
    # The Hive clusters got neither: ImportOnly keeps them waiting.
    with pytest.raises(TimeoutError):
        await until(hub_b, MANAGED_CLUSTERS, lambda objs: any(conditions(fleet_on(objs)[c]) for c in HIVE),
                    timeout=QUIET)

    await annotate(hub_b, "cluster-0001", IMMEDIATE_IMPORT, "")
    objs = await until(hub_b, MANAGED_CLUSTERS, lambda objs: connected(fleet_on(objs)["cluster-0001"]))
    assert annotations_of(fleet_on(objs)["cluster-0001"])[IMMEDIATE_IMPORT] == "Completed"
    with pytest.raises(TimeoutError):
        await until(hub_b, MANAGED_CLUSTERS, lambda objs: bool(conditions(fleet_on(objs)["cluster-0002"])),
                    timeout=QUIET)


@pytest.mark.sim(acm_version="2.14.x")
async def test_on_import_and_sync_a_hive_cluster_hub_b_imported_before_moves_without_immediate_import(
    pair: SimulatedHubPair, hub_b: Hub
) -> None:
    pair.hubs["hub-b"].imported.update(CLUSTERS)
    await activate(hub_b)
    await until(hub_b, MANAGED_CLUSTERS, lambda objs: len(fleet(objs)) == 6)
    with pytest.raises(TimeoutError):
        await until(hub_b, MANAGED_CLUSTERS, lambda objs: any(conditions(fleet_on(objs)[c]) for c in HIVE),
                    timeout=QUIET)

    await hub_b.core.create_namespaced_config_map(MCE_NS, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="import-controller-config", namespace=MCE_NS),
        data={"autoImportStrategy": "ImportAndSync"}))
    objs = await until(hub_b, MANAGED_CLUSTERS, lambda objs: all(map(connected, fleet(objs))))
    assert not any(IMMEDIATE_IMPORT in annotations_of(fleet_on(objs)[c]) for c in HIVE)


@pytest.mark.sim(acm_version="2.13.4")
async def test_before_2_14_a_cluster_hub_b_imported_before_moves_on_its_own(
    pair: SimulatedHubPair, hub_b: Hub
) -> None:
    pair.hubs["hub-b"].imported.update(CLUSTERS)
    await activate(hub_b)
    await until(hub_b, MANAGED_CLUSTERS, lambda objs: len(fleet(objs)) == 6 and all(map(connected, fleet(objs))))


NO_MSA_PROFILE = profile_named("fast", speed=1000)


@pytest.mark.sim(profile=NO_MSA_PROFILE, use_managed_service_account=False)
async def test_without_managed_service_account_only_the_hive_clusters_move(hub_a: Hub, hub_b: Hub) -> None:
    await activate(hub_b)
    # Hive clusters come over through their restored ClusterDeployments; the others have no MSA token.
    await until(hub_b, MANAGED_CLUSTERS, lambda objs: len(fleet(objs)) == 6 and all(
        connected(fleet_on(objs)[c]) for c in HIVE))
    # Five times the longest reconnect delay the profile can draw.
    quiet = 5 * NO_MSA_PROFILE.reconnect_max / NO_MSA_PROFILE.speed
    with pytest.raises(TimeoutError):
        await until(hub_b, MANAGED_CLUSTERS, lambda objs: any(conditions(fleet_on(objs)[c]) for c in MSA),
                    timeout=quiet)
    on_a = fleet_on(await until(hub_a, MANAGED_CLUSTERS, bool))
    assert all(connected(on_a[c]) for c in MSA)


FLAP = profile_named("fast", speed=1000)
"""Lease grace 0.3 s and reconnects within 0.3 s; an old hub takes a cluster back a real second later."""


@pytest.mark.sim(profile=FLAP, acm_version="2.13.4")
async def test_an_old_hub_without_disable_auto_import_takes_its_hive_clusters_back_and_they_flap(
    hub_a: Hub, hub_b: Hub
) -> None:
    before = await snap(hub_a, MANAGED_CLUSTERS)
    seen: list[str | None] = []

    def flapped(objs: list[Obj]) -> bool:
        value = conditions(fleet_on(objs)["cluster-0001"]).get(AVAILABLE)
        if not seen or seen[-1] != value:
            seen.append(value)
        return seen[-3:] == ["True", "Unknown", "True"]

    async with asyncio.TaskGroup() as tg:
        back_on_a = tg.create_task(until(hub_a, MANAGED_CLUSTERS, flapped, after=before, timeout=15))
        await activate(hub_b)  # hub-a's ManagedClusters were not annotated
    await back_on_a
    # hub-b lost it in turn: it shows Unknown there, until it takes it back again.
    await until(hub_b, MANAGED_CLUSTERS, lambda objs: available_is(fleet_on(objs)["cluster-0001"], "Unknown"),
                timeout=15)


@pytest.mark.sim(profile=FLAP, acm_version="2.13.4")
async def test_disable_auto_import_on_the_old_hub_keeps_the_clusters_on_the_new_one(hub_a: Hub, hub_b: Hub) -> None:
    for cluster in CLUSTERS:
        await annotate(hub_a, cluster, DISABLE_AUTO_IMPORT, "")
    await activate(hub_b)
    await until(hub_a, MANAGED_CLUSTERS, lambda objs: all(available_is(o, "Unknown") for o in fleet(objs)))
    with pytest.raises(TimeoutError):  # longer than lease grace + reconnect + the take-back delay
        await until(hub_a, MANAGED_CLUSTERS, lambda objs: any(available_is(o, "True") for o in fleet(objs)),
                    timeout=3.0)
