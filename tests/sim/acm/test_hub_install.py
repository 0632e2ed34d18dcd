"""What a preflight finds installed on each hub: namespaces, MultiClusterHub, OADP and Velero, and the
custom resource definitions of every type the switchover touches."""

from __future__ import annotations

import pytest

from .resources import (
    ACM_NS,
    BACKUP_NS,
    CRDS,
    DPAS,
    MCE_NS,
    MCHS,
    NAMESPACES,
    OBSERVABILITY_NS,
    Hub,
    pods,
    until,
)
from .watching import conditions, name_of, phase

pytestmark = pytest.mark.sim(acm_version="2.14.2")

HUBS = ["hub-a", "hub-b"]

# (CRD name, scope) of every type the switchover reads or writes.
ACM_CRDS = {
    "managedclusters.cluster.open-cluster-management.io": "Cluster",
    "backupschedules.cluster.open-cluster-management.io": "Namespaced",
    "restores.cluster.open-cluster-management.io": "Namespaced",
    "backups.velero.io": "Namespaced",
    "restores.velero.io": "Namespaced",
    "schedules.velero.io": "Namespaced",
    "backupstoragelocations.velero.io": "Namespaced",
    "dataprotectionapplications.oadp.openshift.io": "Namespaced",
    "multiclusterhubs.operator.open-cluster-management.io": "Namespaced",
    "multiclusterobservabilities.observability.open-cluster-management.io": "Cluster",
    "clusterdeployments.hive.openshift.io": "Namespaced",
    "managedserviceaccounts.authentication.open-cluster-management.io": "Namespaced",
    "routes.route.openshift.io": "Namespaced",
}


@pytest.mark.parametrize("hub_name", HUBS)
async def test_the_acm_backup_observability_and_engine_namespaces_exist(hubs: dict[str, Hub], hub_name: str) -> None:
    wanted = {ACM_NS, BACKUP_NS, OBSERVABILITY_NS, MCE_NS}
    found = await until(hubs[hub_name], NAMESPACES, lambda objs: wanted <= {name_of(o) for o in objs})
    assert all(phase(o) == "Active" for o in found if name_of(o) in wanted)


async def test_the_multiclusterhub_runs_the_same_version_on_both_hubs(hubs: dict[str, Hub]) -> None:
    for hub in hubs.values():
        (mch,) = await until(hub, MCHS, lambda objs: len(objs) == 1 and phase(objs[0]) == "Running")
        assert name_of(mch) == "multiclusterhub"
        assert mch["status"]["currentVersion"] == "2.14.2"


@pytest.mark.parametrize("hub_name", HUBS)
async def test_the_data_protection_application_is_reconciled(hubs: dict[str, Hub], hub_name: str) -> None:
    dpas = await until(hubs[hub_name], DPAS, lambda objs: len(objs) == 1)
    assert conditions(dpas[0]).get("Reconciled") == "True"


@pytest.mark.parametrize("hub_name", HUBS)
async def test_velero_runs_in_the_backup_namespace_with_its_oadp_label(hubs: dict[str, Hub], hub_name: str) -> None:
    running = await until(hubs[hub_name], pods(BACKUP_NS), lambda objs: any(phase(o) == "Running" for o in objs),
                          label_selector="app.kubernetes.io/name=velero")
    assert len(running) == 1
    assert [c["name"] for c in running[0]["spec"]["containers"]] == ["velero"]
    assert conditions(running[0]).get("Ready") == "True"


@pytest.mark.parametrize("hub_name", HUBS)
async def test_the_apiextensions_api_lists_a_crd_for_every_acm_type(hubs: dict[str, Hub], hub_name: str) -> None:
    crds = await until(hubs[hub_name], CRDS, lambda objs: set(ACM_CRDS) <= {name_of(o) for o in objs})
    scopes = {name_of(o): o["spec"]["scope"] for o in crds if name_of(o) in ACM_CRDS}
    assert scopes == ACM_CRDS


@pytest.mark.parametrize("hub_name", HUBS)
async def test_typed_clients_read_every_pod_and_workload_the_hub_runs(hubs: dict[str, Hub], hub_name: str) -> None:
    hub = hubs[hub_name]
    await until(hub, pods(BACKUP_NS), lambda objs: any(phase(o) == "Running" for o in objs))
    # The typed models validate required fields (containerStatuses need image and imageID, for one).
    velero = await hub.core.list_namespaced_pod(BACKUP_NS, label_selector="app.kubernetes.io/name=velero")
    assert [s.image_id for p in velero.items for s in p.status.container_statuses]
    all_pods = await hub.core.list_pod_for_all_namespaces()
    assert {p.metadata.namespace for p in all_pods.items} >= {ACM_NS, BACKUP_NS}
    deploys = await hub.apps.list_deployment_for_all_namespaces()
    assert "velero" in {d.metadata.name for d in deploys.items}
    await hub.apps.list_stateful_set_for_all_namespaces()
