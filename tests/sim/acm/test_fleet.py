"""The fleet as the hubs show it at the start: registered with hub-a, absent from hub-b, some of it
provisioned by Hive."""

from __future__ import annotations

import pytest

from .resources import CLUSTER_DEPLOYMENTS, LOCAL_CLUSTER, MANAGED_CLUSTERS, Hub, connected, fleet, until
from .watching import name_of

pytestmark = pytest.mark.sim(clusters=20)


async def test_every_cluster_and_local_cluster_is_joined_and_available_on_hub_a(hub_a: Hub) -> None:
    clusters = await until(hub_a, MANAGED_CLUSTERS, lambda objs: len(objs) == 21 and all(map(connected, objs)))
    expected = {f"cluster-{i:04d}" for i in range(1, 21)} | {LOCAL_CLUSTER}
    assert {name_of(o) for o in clusters} == expected


async def test_hub_b_has_only_its_local_cluster(hub_b: Hub) -> None:
    clusters = await until(hub_b, MANAGED_CLUSTERS, lambda objs: bool(objs) and all(map(connected, objs)))
    assert [name_of(o) for o in clusters] == [LOCAL_CLUSTER]


async def test_hive_clusters_have_cluster_deployments_that_preserve_on_delete(hub_a: Hub) -> None:
    deployments = await until(hub_a, CLUSTER_DEPLOYMENTS, bool)
    # 30 % of the fleet is Hive-provisioned; each ClusterDeployment lives in its cluster's namespace.
    assert len(deployments) == 6
    assert all(o["metadata"]["namespace"] == name_of(o) for o in deployments)
    assert all(o["spec"]["preserveOnDelete"] is True for o in deployments)
    clusters = await until(hub_a, MANAGED_CLUSTERS, bool)
    assert {name_of(o) for o in deployments} <= {name_of(o) for o in fleet(clusters)}


@pytest.mark.sim(clusters=20, preserve_on_delete_false=2)
async def test_preserve_on_delete_false_knob_unprotects_that_many_cluster_deployments(hub_a: Hub) -> None:
    deployments = await until(hub_a, CLUSTER_DEPLOYMENTS, bool)
    unprotected = [name_of(o) for o in deployments if o["spec"]["preserveOnDelete"] is not True]
    assert len(unprotected) == 2
    assert len(deployments) - len(unprotected) == 4
