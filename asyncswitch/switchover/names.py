"""Fixed names, labels and annotations of an ACM hub (domain facts §1.1, §1.3)."""

from __future__ import annotations

__all__ = [
    "ACM_NAMESPACE",
    "ACTIVATION_RESTORE",
    "AVAILABLE",
    "BACKUP_NAMESPACE",
    "BACKUP_TYPE_LABEL",
    "DISABLE_AUTO_IMPORT",
    "FULL_RESTORE",
    "IMMEDIATE_IMPORT",
    "IMPORT_CONFIGMAP",
    "IMPORT_MARKER",
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
ACTIVATION_RESTORE = "restore-acm-activate"
FULL_RESTORE = "restore-acm-full"
IMPORT_CONFIGMAP = "import-controller-config"
THANOS_COMPACT = "observability-thanos-compact"
OBSERVATORIUM_API = "observability-observatorium-api"
THANOS_SECRET = "thanos-object-storage"
BACKUP_TYPE_LABEL = "cluster.open-cluster-management.io/backup-schedule-type"
VELERO_SCHEDULE_LABEL = "velero.io/schedule-name"
DISABLE_AUTO_IMPORT = "import.open-cluster-management.io/disable-auto-import"
IMMEDIATE_IMPORT = "import.open-cluster-management.io/immediate-import"
IMPORT_MARKER = "asyncswitch.io/immediate-import-by"
"""Set with immediate-import by the switchover that triggered it (the state's created_at)."""
AVAILABLE = "ManagedClusterConditionAvailable"
JOINED = "ManagedClusterJoined"
