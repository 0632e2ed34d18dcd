"""The hub resources the tests touch, named from the domain facts (not imported from the simulator,
so a wrong name there fails here), and short ways to read, wait for and change them through the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from kubernetes_asyncio import client

from .watching import DEADLINE, Obj, Predicate, Snapshot, conditions, snapshot, wait_for

ACM_NS = "open-cluster-management"
BACKUP_NS = "open-cluster-management-backup"
OBSERVABILITY_NS = "open-cluster-management-observability"
MCE_NS = "multicluster-engine"
LOCAL_CLUSTER = "local-cluster"
PASSIVE_RESTORE = "restore-acm-passive-sync"
SCHEDULE = "acm-hub-backup"
AVAILABLE = "ManagedClusterConditionAvailable"
JOINED = "ManagedClusterJoined"
DISABLE_AUTO_IMPORT = "import.open-cluster-management.io/disable-auto-import"
IMMEDIATE_IMPORT = "import.open-cluster-management.io/immediate-import"
SCHEDULE_TYPE_LABEL = "cluster.open-cluster-management.io/backup-schedule-type"
VELERO_SCHEDULE_LABEL = "velero.io/schedule-name"
VELERO_SCHEDULES = {  # Velero Schedule → value of the schedule-type label on its backups (facts §3.4, §4)
    "acm-credentials-schedule": "credentials",
    "acm-resources-schedule": "resources",
    "acm-resources-generic-schedule": "resourcesGeneric",
    "acm-managed-clusters-schedule": "managedClusters",
    "acm-validation-policy-schedule": "validation",
}
BACKUP_CLUSTER_LABEL = "cluster.open-cluster-management.io/backup-cluster"
BACKUP_SCHEDULE_NAME_LABEL = "cluster.open-cluster-management.io/backup-schedule-name"
RESTORE_CLUSTER_LABEL = "cluster.open-cluster-management.io/restore-cluster"
MC_SCHEDULE = "acm-managed-clusters-schedule"
MERGE_PATCH = "application/merge-patch+json"
"""Custom-object patches must say so: with a dict body the client would otherwise send json-patch."""


@dataclass
class Hub:
    """One hub as a client sees it."""

    name: str
    api: client.ApiClient
    custom: client.CustomObjectsApi
    core: client.CoreV1Api
    apps: client.AppsV1Api

    @classmethod
    def of(cls, name: str, api: client.ApiClient) -> Hub:
        return cls(name, api, client.CustomObjectsApi(api), client.CoreV1Api(api), client.AppsV1Api(api))


class Res(NamedTuple):
    group: str
    version: str
    plural: str
    namespace: str | None = None


MANAGED_CLUSTERS = Res("cluster.open-cluster-management.io", "v1", "managedclusters")
BACKUP_SCHEDULES = Res("cluster.open-cluster-management.io", "v1beta1", "backupschedules", BACKUP_NS)
RESTORES = Res("cluster.open-cluster-management.io", "v1beta1", "restores", BACKUP_NS)
BACKUPS = Res("velero.io", "v1", "backups", BACKUP_NS)
VELERO_RESTORES = Res("velero.io", "v1", "restores", BACKUP_NS)
BSLS = Res("velero.io", "v1", "backupstoragelocations", BACKUP_NS)
VELERO_SCHEDULE_RES = Res("velero.io", "v1", "schedules", BACKUP_NS)
CLUSTER_VERSIONS = Res("config.openshift.io", "v1", "clusterversions")
DPAS = Res("oadp.openshift.io", "v1alpha1", "dataprotectionapplications", BACKUP_NS)
MCHS = Res("operator.open-cluster-management.io", "v1", "multiclusterhubs", ACM_NS)
MCOS = Res("observability.open-cluster-management.io", "v1beta2", "multiclusterobservabilities")
CLUSTER_DEPLOYMENTS = Res("hive.openshift.io", "v1", "clusterdeployments")
CRDS = Res("apiextensions.k8s.io", "v1", "customresourcedefinitions")
NAMESPACES = Res("", "v1", "namespaces")


def pods(namespace: str) -> Res:
    return Res("", "v1", "pods", namespace)


def deployments(namespace: str) -> Res:
    return Res("apps", "v1", "deployments", namespace)


def statefulsets(namespace: str) -> Res:
    return Res("apps", "v1", "statefulsets", namespace)


async def until(hub: Hub, res: Res, predicate: Predicate, *, timeout: float = DEADLINE,  # noqa: ASYNC109
                after: Snapshot | None = None, label_selector: str | None = None) -> list[Obj]:
    """:func:`wait_for` on one hub and resource."""
    return await wait_for(hub.api, res.group, res.version, res.plural, predicate, namespace=res.namespace,
                          timeout=timeout, after=after, label_selector=label_selector)


async def snap(hub: Hub, res: Res, *, label_selector: str | None = None) -> Snapshot:
    return await snapshot(hub.api, res.group, res.version, res.plural, namespace=res.namespace,
                          label_selector=label_selector)


async def merge_patch(hub: Hub, res: Res, name: str, body: dict[str, Any]) -> Any:
    if res.namespace:
        return await hub.custom.patch_namespaced_custom_object(  # type: ignore[call-arg]
            res.group, res.version, res.namespace, res.plural, name, body, _content_type=MERGE_PATCH)
    return await hub.custom.patch_cluster_custom_object(  # type: ignore[call-arg]
        res.group, res.version, res.plural, name, body, _content_type=MERGE_PATCH)


async def create(hub: Hub, res: Res, body: dict[str, Any]) -> Any:
    if res.namespace:
        return await hub.custom.create_namespaced_custom_object(res.group, res.version, res.namespace, res.plural,
                                                                body)
    return await hub.custom.create_cluster_custom_object(res.group, res.version, res.plural, body)


async def delete(hub: Hub, res: Res, name: str) -> Any:
    if res.namespace:
        return await hub.custom.delete_namespaced_custom_object(res.group, res.version, res.namespace, res.plural,
                                                                name)
    return await hub.custom.delete_cluster_custom_object(res.group, res.version, res.plural, name)


# -- predicates ------------------------------------------------------------------------------


def fleet(objects: list[Obj]) -> list[Obj]:
    """The ManagedClusters other than local-cluster."""
    return [o for o in objects if o["metadata"]["name"] != LOCAL_CLUSTER]


def connected(obj: Obj) -> bool:
    cond = conditions(obj)
    return cond.get(AVAILABLE) == "True" and cond.get(JOINED) == "True"


def available_is(obj: Obj, status: str) -> bool:
    return conditions(obj).get(AVAILABLE) == status


def restore_body(name: str, *, managed_clusters: str = "latest", credentials: str = "latest",
                 resources: str = "latest", sync: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {"cleanupBeforeRestore": "CleanupRestored",
                            "veleroManagedClustersBackupName": managed_clusters,
                            "veleroCredentialsBackupName": credentials, "veleroResourcesBackupName": resources}
    if sync:
        spec |= {"syncRestoreWithNewBackups": True, "restoreSyncInterval": "10m"}
    return {"apiVersion": "cluster.open-cluster-management.io/v1beta1", "kind": "Restore",
            "metadata": {"name": name, "namespace": BACKUP_NS}, "spec": spec}


def schedule_body(name: str = SCHEDULE, *, cron: str = "0 */1 * * *", msa: bool = True) -> dict[str, Any]:
    return {"apiVersion": "cluster.open-cluster-management.io/v1beta1", "kind": "BackupSchedule",
            "metadata": {"name": name, "namespace": BACKUP_NS},
            "spec": {"veleroSchedule": cron, "veleroTtl": "120h", "useManagedServiceAccount": msa,
                     "managedServiceAccountTTL": "720h"}}
