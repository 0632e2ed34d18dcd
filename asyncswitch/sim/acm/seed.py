"""The objects a simulated hub pair starts with: ACM, OADP and observability installed on both
hubs, the fleet registered with hub-a, and hub-a's BackupSchedule."""

from __future__ import annotations

from typing import Any

from .context import SimConfig, SimHub, SimWorld
from .identity import cluster_version
from .kinds import (
    ACM_NAMESPACE,
    ACM_TYPES,
    ADDON_OBSERVABILITY_NAMESPACE,
    BACKUP_LABEL,
    BACKUP_NAMESPACE,
    BACKUP_SCHEDULES,
    BACKUP_STORAGE_LOCATIONS,
    BSL_NAME,
    CLUSTER_DEPLOYMENTS,
    CLUSTER_VERSIONS,
    DATA_PROTECTION_APPLICATIONS,
    DPA_NAME,
    HUB_NAMESPACES,
    LOCAL_CLUSTER,
    MANAGED_CLUSTERS,
    MCH_FINALIZER,
    MCH_NAME,
    MCO_NAME,
    MCO_OPERATOR,
    MSA_LABEL,
    MULTICLUSTER_HUBS,
    MULTICLUSTER_OBSERVABILITIES,
    OBSERVABILITY_NAMESPACE,
    PASSIVE_RESTORE,
    SCHEDULE_NAME,
    SIGNER_CERT_SECRET,
    THANOS_SECRET,
)
from .ops import condition, patch_status
from .schema import install_schema_pruning
from .velero_log import VELERO_POD_SELECTOR, velero_log
from .world import SimCluster

__all__ = ["msa_secret", "passive_restore", "seed_active_hub", "seed_fleet", "seed_hub", "signer_cert_secret"]


def _deployment(name: str, namespace: str, labels: dict[str, str], replicas: int = 1,
                container: str | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                 "template": {"metadata": {"labels": dict(labels)},
                              "spec": {"containers": [{"name": container or name, "image": f"registry.sim/{name}"}]}}},
    }


def signer_cert_secret() -> dict[str, Any]:
    """The observability addon's signer client certificate on a hub running observability."""
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": SIGNER_CERT_SECRET, "namespace": ADDON_OBSERVABILITY_NAMESPACE},
            "data": {"tls.crt": "c2ltLWNlcnQ=", "tls.key": "c2ltLWtleQ=="}}


def seed_hub(hub: SimHub, config: SimConfig) -> None:
    """What both hubs have: the namespaces, MCH, OADP, Velero, operators, local-cluster."""
    store = hub.store
    for rtype in ACM_TYPES:
        store.register(rtype)
    install_schema_pruning(hub)
    store.create(CLUSTER_VERSIONS, None, cluster_version(hub.cluster_id))
    namespaces = store.type_of("namespaces")
    for ns in HUB_NAMESPACES:
        store.create(namespaces, None, {"metadata": {"name": ns}})
    deployments = store.type_of("deployments", "apps")
    store.create(MULTICLUSTER_HUBS, ACM_NAMESPACE, {
        "apiVersion": "operator.open-cluster-management.io/v1", "kind": "MultiClusterHub",
        "metadata": {"name": MCH_NAME, "namespace": ACM_NAMESPACE, "finalizers": [MCH_FINALIZER]},
        "spec": {"availabilityConfig": "High"},
    })
    patch_status(store, MULTICLUSTER_HUBS, ACM_NAMESPACE, MCH_NAME, {
        "phase": "Running", "currentVersion": hub.acm_version, "desiredVersion": hub.acm_version})
    for name in ("multiclusterhub-operator", MCO_OPERATOR, "cluster-backup-operator"):
        store.create(deployments, ACM_NAMESPACE, _deployment(name, ACM_NAMESPACE, {"name": name, "app": name}))
    dpa = store.create(DATA_PROTECTION_APPLICATIONS, BACKUP_NAMESPACE, {
        "apiVersion": "oadp.openshift.io/v1alpha1", "kind": "DataProtectionApplication",
        "metadata": {"name": DPA_NAME, "namespace": BACKUP_NAMESPACE},
        "spec": {"backupLocations": [{"velero": {"provider": "aws", "default": True,
                                                 "objectStorage": {"bucket": "acm-backups", "prefix": "hub"}}}]},
    })
    patch_status(store, DATA_PROTECTION_APPLICATIONS, BACKUP_NAMESPACE, DPA_NAME, {"conditions": [
        condition("Reconciled", "True", "Complete", "Reconcile complete")]})
    store.create(BACKUP_STORAGE_LOCATIONS, BACKUP_NAMESPACE, {
        "apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
        # Made by the DPA, so owned by it: the backup operator only trusts such a BSL (facts §1.1 step 6).
        "metadata": {"name": BSL_NAME, "namespace": BACKUP_NAMESPACE, "ownerReferences": [{
            "apiVersion": "oadp.openshift.io/v1alpha1", "kind": "DataProtectionApplication", "name": DPA_NAME,
            "uid": dpa.obj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]},
        "spec": {"provider": "aws", "default": True, "objectStorage": {"bucket": "acm-backups", "prefix": "hub"}},
    })
    store.create(deployments, BACKUP_NAMESPACE, _deployment(
        "velero", BACKUP_NAMESPACE, {"app.kubernetes.io/name": "velero", "component": "velero"}, container="velero"))
    # kubectl logs deploy/velero: written at request time from the Backups and Restores on the hub.
    hub.server.logs.add(velero_log(store, hub), namespace=BACKUP_NAMESPACE, label_selector=VELERO_POD_SELECTOR)
    store.create(store.type_of("secrets"), OBSERVABILITY_NAMESPACE, {
        "metadata": {"name": THANOS_SECRET, "namespace": OBSERVABILITY_NAMESPACE}, "type": "Opaque",
        "data": {"thanos.yaml": "dHlwZTogczMK"}})
    store.create(MANAGED_CLUSTERS, None, {
        "apiVersion": "cluster.open-cluster-management.io/v1", "kind": "ManagedCluster",
        "metadata": {"name": LOCAL_CLUSTER, "labels": {"local-cluster": "true", "name": LOCAL_CLUSTER}},
        "spec": {"hubAcceptsClient": True},
    })


def seed_fleet(world: SimWorld, hub: SimHub) -> None:
    """The fleet, registered with ``hub``; a share of it provisioned by Hive."""
    config = world.config
    store = hub.store
    hive = round(config.clusters * config.hive_share)
    unpreserved = min(config.preserve_on_delete_false, hive)
    namespaces = store.type_of("namespaces")
    for i in range(config.clusters):
        name = f"cluster-{i + 1:04d}"
        preserve: bool | None = None
        if i < hive:
            preserve = i < hive - unpreserved  # the last `unpreserved` Hive clusters are not preserved
        labels = {"name": name, "cloud": "Amazon", "vendor": "OpenShift",
                  "cluster.open-cluster-management.io/clusterset": "default"}
        world.fleet.clusters[name] = SimCluster(name=name, hub=hub.name, preserve_on_delete=preserve, labels=labels)
        store.create(MANAGED_CLUSTERS, None, {
            "apiVersion": "cluster.open-cluster-management.io/v1", "kind": "ManagedCluster",
            "metadata": {"name": name, "labels": labels},
            "spec": {"hubAcceptsClient": True, "leaseDurationSeconds": 60,
                     "managedClusterClientConfigs": [{"url": f"https://api.{name}.sim.example.com:6443"}]},
        })
        store.create(namespaces, None, {"metadata": {"name": name}})
        if preserve is None and config.use_managed_service_account:
            store.create(store.type_of("secrets"), name, msa_secret(name))
        if preserve is not None:
            store.create(CLUSTER_DEPLOYMENTS, name, {
                "apiVersion": "hive.openshift.io/v1", "kind": "ClusterDeployment",
                "metadata": {"name": name, "namespace": name},
                "spec": {"clusterName": name, "baseDomain": "sim.example.com", "preserveOnDelete": preserve},
            })


def msa_secret(cluster: str, *, name: str = "auto-import-account", expires: str = "2099-01-01T00:00:00Z",
               token: str = "c2ltLW1zYS10b2tlbg==") -> dict[str, Any]:
    """The token secret the managed-serviceaccount addon keeps on the hub for a non-Hive cluster, as the
    BackupSchedule with useManagedServiceAccount has it made (facts §3.4): backed up with the credentials."""
    return {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": name, "namespace": cluster,
                     "labels": {BACKUP_LABEL: "msa", MSA_LABEL: "true"},
                     "annotations": {"expirationTimestamp": expires, "lastRefreshTimestamp": "2026-01-01T00:00:00Z"}},
        "data": {"token": token, "ca.crt": "c2ltLWNh"},
    }


def seed_active_hub(world: SimWorld, hub: SimHub) -> str:
    """The active hub's BackupSchedule and observability; returns the schedule's uid."""
    config = world.config
    store = hub.store
    if config.observability:
        store.create(store.type_of("secrets"), ADDON_OBSERVABILITY_NAMESPACE, signer_cert_secret())
        store.create(MULTICLUSTER_OBSERVABILITIES, None, {
            "apiVersion": "observability.open-cluster-management.io/v1beta2", "kind": "MultiClusterObservability",
            "metadata": {"name": MCO_NAME},
            "spec": {"observabilityAddonSpec": {}, "storageConfig": {"metricObjectStorage": {
                "name": THANOS_SECRET, "key": "thanos.yaml"}}},
        })
    schedule = store.create(BACKUP_SCHEDULES, BACKUP_NAMESPACE, {
        "apiVersion": "cluster.open-cluster-management.io/v1beta1", "kind": "BackupSchedule",
        "metadata": {"name": SCHEDULE_NAME, "namespace": BACKUP_NAMESPACE},
        "spec": {"veleroSchedule": config.backup_cron, "veleroTtl": "120h",
                 "useManagedServiceAccount": config.use_managed_service_account,
                 "managedServiceAccountTTL": "720h", "paused": False},
    })
    return str(schedule.obj["metadata"]["uid"])


def passive_restore(name: str = PASSIVE_RESTORE, interval: str = "10m") -> dict[str, Any]:
    """A passive-sync ACM Restore, as the runbook creates it on a standby hub."""
    return {
        "apiVersion": "cluster.open-cluster-management.io/v1beta1", "kind": "Restore",
        "metadata": {"name": name, "namespace": BACKUP_NAMESPACE},
        "spec": {"syncRestoreWithNewBackups": True, "restoreSyncInterval": interval,
                 "cleanupBeforeRestore": "CleanupRestored", "veleroManagedClustersBackupName": "skip",
                 "veleroCredentialsBackupName": "latest", "veleroResourcesBackupName": "latest"},
    }
