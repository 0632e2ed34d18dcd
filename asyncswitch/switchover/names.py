"""The names the switchover uses: the hub's fixed names (asyncswitch.acm_names) and its own."""

from __future__ import annotations

from ..acm_names import (
    ACM_NAMESPACE,
    AVAILABLE,
    BACKUP_CLUSTER_LABEL,
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

__all__ = [
    "ACM_NAMESPACE",
    "ACTIVATION_RESTORE",
    "AVAILABLE",
    "BACKUP_CLUSTER_LABEL",
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

ACTIVATION_RESTORE = "restore-acm-activate"
FULL_RESTORE = "restore-acm-full"
IMPORT_MARKER = "asyncswitch.io/immediate-import-by"
"""Set with immediate-import by the switchover that triggered it (the state's created_at)."""
