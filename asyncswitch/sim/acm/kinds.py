"""The ACM, OADP/Velero, Hive and observability resource types a simulated hub serves, and fixed names."""

from __future__ import annotations

from ...acm_names import (
    ACM_NAMESPACE,
    AVAILABLE,
    BACKUP_NAMESPACE,
    BACKUP_TYPE_LABEL,
    DISABLE_AUTO_IMPORT,
    IMMEDIATE_IMPORT,
    IMPORT_CONFIGMAP,
    JOINED,
    LOCAL_CLUSTER,
    MCE_NAMESPACE,
    OBSERVABILITY_NAMESPACE,
    OBSERVATORIUM_API,
    PASSIVE_RESTORE,
    THANOS_COMPACT,
    THANOS_SECRET,
    VELERO_SCHEDULE_LABEL,
)
from ..resources import ResourceType

__all__ = [
    "ACCEPTED",
    "ACM_NAMESPACE",
    "ACM_RESTORES",
    "ACM_TYPES",
    "ADDON_OBSERVABILITY_NAMESPACE",
    "AGENT_NAMESPACE",
    "AUTO_IMPORT_SECRET",
    "AVAILABLE",
    "BACKUP_CLUSTER_LABEL",
    "BACKUP_LABEL",
    "BACKUP_NAMESPACE",
    "BACKUP_SCHEDULES",
    "BACKUP_SCHEDULE_NAME_LABEL",
    "BACKUP_STORAGE_LOCATIONS",
    "BSL_NAME",
    "CLUSTER_DEPLOYMENTS",
    "CLUSTER_FINALIZER",
    "CLUSTER_VERSIONS",
    "DATA_PROTECTION_APPLICATIONS",
    "DISABLE_AUTO_IMPORT",
    "DPA_NAME",
    "GLOBAL_SET_NAMESPACE",
    "HUB_NAMESPACES",
    "IMMEDIATE_IMPORT",
    "IMPORT_CONFIGMAP",
    "JOINED",
    "LOCAL_CLUSTER",
    "MANAGED_CLUSTERS",
    "MANAGED_SERVICE_ACCOUNTS",
    "MARKER_PREFIX",
    "MCE_NAMESPACE",
    "MCH_FINALIZER",
    "MCH_NAME",
    "MCO_NAME",
    "MCO_OPERATOR",
    "MSA_LABEL",
    "MULTICLUSTER_HUBS",
    "MULTICLUSTER_OBSERVABILITIES",
    "OBSERVABILITY_NAMESPACE",
    "OBSERVATORIUM_API",
    "PASSIVE_RESTORE",
    "RESTORE_CLUSTER_LABEL",
    "RESTORE_FINALIZER",
    "ROUTES",
    "SCHEDULE_NAME",
    "SCHEDULE_TYPE_LABEL",
    "SIGNER_CERT_SECRET",
    "THANOS_COMPACT",
    "THANOS_SECRET",
    "VELERO_BACKUPS",
    "VELERO_BACKUP_NAME_LABEL",
    "VELERO_RESTORES",
    "VELERO_RESTORE_FINALIZER",
    "VELERO_RESTORE_NAME_LABEL",
    "VELERO_SCHEDULES",
    "VELERO_SCHEDULE_LABEL",
    "VELERO_SCHEDULE_TYPES",
]

AGENT_NAMESPACE = "open-cluster-management-agent"
GLOBAL_SET_NAMESPACE = "open-cluster-management-global-set"
ADDON_OBSERVABILITY_NAMESPACE = "open-cluster-management-addon-observability"
HUB_NAMESPACES = (ACM_NAMESPACE, BACKUP_NAMESPACE, OBSERVABILITY_NAMESPACE, MCE_NAMESPACE, GLOBAL_SET_NAMESPACE,
                  ADDON_OBSERVABILITY_NAMESPACE)
SIGNER_CERT_SECRET = "observability-controller-open-cluster-management.io-observability-signer-client-cert"
AUTO_IMPORT_SECRET = "auto-import-secret"

SCHEDULE_NAME = "acm-hub-backup"
MCH_NAME = "multiclusterhub"
MCO_NAME = "observability"
BSL_NAME = "default"
DPA_NAME = "velero-dpa"
MCO_OPERATOR = "multicluster-observability-operator"

# Labels and annotations the controllers read and write.
SCHEDULE_TYPE_LABEL = BACKUP_TYPE_LABEL
BACKUP_CLUSTER_LABEL = "cluster.open-cluster-management.io/backup-cluster"
BACKUP_SCHEDULE_NAME_LABEL = "cluster.open-cluster-management.io/backup-schedule-name"
RESTORE_CLUSTER_LABEL = "cluster.open-cluster-management.io/restore-cluster"
"""On the activation marker ``acm-restore-clusters-<ts>``: the hub that ran the activation (facts §2)."""

VELERO_SCHEDULE_TYPES: dict[str, str] = {
    "acm-credentials-schedule": "credentials",
    "acm-resources-schedule": "resources",
    "acm-resources-generic-schedule": "resourcesGeneric",
    "acm-managed-clusters-schedule": "managedClusters",
    "acm-validation-policy-schedule": "validation",
}
"""The five Velero Schedules a BackupSchedule owns → their schedule-type label (facts §3.4, §4)."""
RESTORE_FINALIZER = "restores.cluster.open-cluster-management.io/finalizer"
MARKER_PREFIX = "acm-restore-clusters-"
"""Name prefix of the Velero Backup post-restore activation writes to tell every hub who is active."""
VELERO_RESTORE_FINALIZER = "restores.velero.io/external-resources-finalizer"
BACKUP_LABEL = "cluster.open-cluster-management.io/backup"
"""On objects the credentials and generic backups take; ``cluster-activation`` ones wait for activation."""
MSA_LABEL = "authentication.open-cluster-management.io/is-managed-serviceaccount"
VELERO_BACKUP_NAME_LABEL = "velero.io/backup-name"
VELERO_RESTORE_NAME_LABEL = "velero.io/restore-name"
CLUSTER_FINALIZER = "cluster.open-cluster-management.io/api-resource-cleanup"
MCH_FINALIZER = "finalizer.operator.open-cluster-management.io"

ACCEPTED = "HubAcceptedManagedCluster"


def _crd(group: str, version: str, plural: str, kind: str, *, namespaced: bool = True,
         short: tuple[str, ...] = (), columns: tuple[tuple[str, str, str], ...] = ()) -> ResourceType:
    return ResourceType(group=group, version=version, plural=plural, kind=kind, namespaced=namespaced,
                        status_subresource=True, short_names=short, delete_returns_object=True,
                        printer_columns=columns)


MANAGED_CLUSTERS = _crd(
    "cluster.open-cluster-management.io", "v1", "managedclusters", "ManagedCluster", namespaced=False,
    short=("mcl", "mcls"),
    columns=(("Hub Accepted", "boolean", ".spec.hubAcceptsClient"),
             ("Joined", "string", '.status.conditions[?(@.type=="ManagedClusterJoined")].status'),
             ("Available", "string", '.status.conditions[?(@.type=="ManagedClusterConditionAvailable")].status')),
)
BACKUP_SCHEDULES = _crd(
    "cluster.open-cluster-management.io", "v1beta1", "backupschedules", "BackupSchedule", short=("bsch",),
    columns=(("Phase", "string", ".status.phase"), ("Message", "string", ".status.lastMessage")),
)
ACM_RESTORES = _crd(
    "cluster.open-cluster-management.io", "v1beta1", "restores", "Restore", short=("crst",),
    columns=(("Phase", "string", ".status.phase"), ("Message", "string", ".status.lastMessage")),
)
VELERO_BACKUPS = _crd("velero.io", "v1", "backups", "Backup",
                      columns=(("Phase", "string", ".status.phase"),))
VELERO_RESTORES = _crd("velero.io", "v1", "restores", "Restore",
                       columns=(("Phase", "string", ".status.phase"),))
VELERO_SCHEDULES = _crd("velero.io", "v1", "schedules", "Schedule",
                        columns=(("Status", "string", ".status.phase"), ("Schedule", "string", ".spec.schedule")))
BACKUP_STORAGE_LOCATIONS = _crd("velero.io", "v1", "backupstoragelocations", "BackupStorageLocation",
                                short=("bsl",), columns=(("Phase", "string", ".status.phase"),))
DATA_PROTECTION_APPLICATIONS = _crd("oadp.openshift.io", "v1alpha1", "dataprotectionapplications",
                                    "DataProtectionApplication", short=("dpa",))
MULTICLUSTER_HUBS = _crd(
    "operator.open-cluster-management.io", "v1", "multiclusterhubs", "MultiClusterHub", short=("mch",),
    columns=(("Status", "string", ".status.phase"), ("Version", "string", ".status.currentVersion")),
)
MULTICLUSTER_OBSERVABILITIES = _crd(
    "observability.open-cluster-management.io", "v1beta2", "multiclusterobservabilities",
    "MultiClusterObservability", namespaced=False, short=("mco",),
)
CLUSTER_DEPLOYMENTS = _crd("hive.openshift.io", "v1", "clusterdeployments", "ClusterDeployment", short=("cd",))
MANAGED_SERVICE_ACCOUNTS = _crd("authentication.open-cluster-management.io", "v1beta1",
                                "managedserviceaccounts", "ManagedServiceAccount")
ROUTES = _crd("route.openshift.io", "v1", "routes", "Route")
CLUSTER_VERSIONS = _crd("config.openshift.io", "v1", "clusterversions", "ClusterVersion", namespaced=False)
"""OpenShift's ClusterVersion; ``version``'s spec.clusterID is the hub id the backup operator labels with."""

ACM_TYPES: tuple[ResourceType, ...] = (
    MANAGED_CLUSTERS, BACKUP_SCHEDULES, ACM_RESTORES, VELERO_BACKUPS, VELERO_RESTORES, VELERO_SCHEDULES,
    BACKUP_STORAGE_LOCATIONS, DATA_PROTECTION_APPLICATIONS, MULTICLUSTER_HUBS, MULTICLUSTER_OBSERVABILITIES,
    CLUSTER_DEPLOYMENTS, MANAGED_SERVICE_ACCOUNTS, ROUTES, CLUSTER_VERSIONS,
)
