"""Decommissioning a hub: the MultiClusterHub cannot go while ManagedClusters remain, clusters take
finalizer time to go, and then the MultiClusterHub uninstalls, leaving only its operator."""

from __future__ import annotations

import json

import pytest
from kubernetes_asyncio.client.exceptions import ApiException

from .resources import ACM_NS, LOCAL_CLUSTER, MANAGED_CLUSTERS, MCHS, Hub, delete, fleet, pods, snap, until
from .watching import Obj, PhaseLog, by_name, name_of, phase


def deleting(obj: Obj) -> bool:
    return bool(obj["metadata"].get("deletionTimestamp"))


async def test_deleting_the_multiclusterhub_while_managed_clusters_exist_is_refused(hub_a: Hub) -> None:
    with pytest.raises(ApiException) as refused:
        await delete(hub_a, MCHS, "multiclusterhub")
    assert refused.value.status == 403
    assert "ManagedCluster" in json.loads(refused.value.body or "{}")["message"]
    (mch,) = await until(hub_a, MCHS, bool)
    assert phase(mch) == "Running"
    assert not deleting(mch)


async def test_a_managed_cluster_is_marked_for_deletion_first_and_gone_after_its_finalizer(hub_a: Hub) -> None:
    before = await snap(hub_a, MANAGED_CLUSTERS)
    log = PhaseLog(read=deleting)
    await delete(hub_a, MANAGED_CLUSTERS, "cluster-0001")
    await until(hub_a, MANAGED_CLUSTERS, lambda objs: log.record(objs) and "cluster-0001" not in by_name(objs),
                after=before)
    assert log.seen["cluster-0001"] == [False, True]
    assert "cluster-0001" in log.deleted


async def test_once_only_local_cluster_remains_the_multiclusterhub_uninstalls_and_only_its_operator_stays(
    hub_a: Hub,
) -> None:
    clusters = await until(hub_a, MANAGED_CLUSTERS, bool)
    for cluster in fleet(clusters):
        await delete(hub_a, MANAGED_CLUSTERS, name_of(cluster))
    await until(hub_a, MANAGED_CLUSTERS, lambda objs: [name_of(o) for o in objs] == [LOCAL_CLUSTER])

    before = await snap(hub_a, MCHS)
    log = PhaseLog()
    await delete(hub_a, MCHS, "multiclusterhub")
    await until(hub_a, MCHS, lambda objs: log.record(objs) and not objs, after=before)
    assert log.seen[f"{ACM_NS}/multiclusterhub"] == ["Running", "Uninstalling"]
    remaining = await until(hub_a, pods(ACM_NS), lambda objs: all(
        name_of(o).startswith("multiclusterhub-operator") for o in objs))
    assert len(remaining) == 1
