"""The fixed names of an ACM hub (domain facts §1.1, §1.3): namespaces, object names, labels,
annotations and condition types.

One copy for the two sides that must agree on them: the switchover, which reads and writes real
hubs, and the simulator, which plays them. It depends on nothing, so both layers may import it.
"""

from __future__ import annotations

__all__ = [
    "ACM_NAMESPACE",
    "AVAILABLE",
    "BACKUP_CLUSTER_LABEL",
    "BACKUP_NAMESPACE",
    "BACKUP_TYPE_LABEL",
    "DISABLE_AUTO_IMPORT",
    "IMMEDIATE_IMPORT",
    "IMPORT_CONFIGMAP",
    "JOINED",
    "LOCAL_CLUSTER",
    "MCE_NAMESPACE",
    "OBSERVABILITY_NAMESPACE",
    "OBSERVATORIUM_API",
    "PASSIVE_RESTORE",
    "THANOS_COMPACT",
    "THANOS_SECRET",
    "VELERO_SCHEDULE_LABEL",
]

ACM_NAMESPACE = "open-cluster-management"
BACKUP_NAMESPACE = "open-cluster-management-backup"
OBSERVABILITY_NAMESPACE = "open-cluster-management-observability"
MCE_NAMESPACE = "multicluster-engine"
LOCAL_CLUSTER = "local-cluster"
PASSIVE_RESTORE = "restore-acm-passive-sync"
IMPORT_CONFIGMAP = "import-controller-config"
THANOS_COMPACT = "observability-thanos-compact"
OBSERVATORIUM_API = "observability-observatorium-api"
THANOS_SECRET = "thanos-object-storage"
BACKUP_CLUSTER_LABEL = "cluster.open-cluster-management.io/backup-cluster"
"""The hub id (ClusterVersion spec.clusterID, or "unknown") of the hub whose schedule wrote a backup."""
BACKUP_TYPE_LABEL = "cluster.open-cluster-management.io/backup-schedule-type"
VELERO_SCHEDULE_LABEL = "velero.io/schedule-name"
DISABLE_AUTO_IMPORT = "import.open-cluster-management.io/disable-auto-import"
IMMEDIATE_IMPORT = "import.open-cluster-management.io/immediate-import"
AVAILABLE = "ManagedClusterConditionAvailable"
JOINED = "ManagedClusterJoined"
