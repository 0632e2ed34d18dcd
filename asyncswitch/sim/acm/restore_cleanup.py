"""cleanupBeforeRestore (facts §1.7): after the Velero restores, delete what an earlier restore left.

Runs at each Enabled transition and once at Finished/FinishedWithErrors, never with ``None``. For
each backup type the pass restored, ``CleanupRestored`` deletes objects of that type's kinds whose
``velero.io/backup-name`` label names another backup; ``CleanupAll`` also those without the label.
Types the Restore skipped are left alone (an Option B activation does not clean credentials). Spared:
local-cluster, ``velero.io/exclude-from-backup=true``, ``installer.name=multiclusterhub``, and
``cluster-activation`` objects while managed clusters are ``skip``. Each deletion is followed by
stripping the object's finalizers, as the operator's JSON patch does.

Modelled kinds: the Secrets the simulated credentials backups carry (labelled
``cluster.open-cluster-management.io/backup``), ClusterDeployment (restored from the resources backup
here), ManagedCluster and MultiClusterObservability (managed clusters).
"""

from __future__ import annotations

import contextlib

from ..errors import ApiError
from ..resources import ResourceType
from ..store import Store, StoredObject
from .kinds import (
    BACKUP_LABEL,
    CLUSTER_DEPLOYMENTS,
    LOCAL_CLUSTER,
    MANAGED_CLUSTERS,
    MULTICLUSTER_OBSERVABILITIES,
    VELERO_BACKUP_NAME_LABEL,
)
from .ops import MERGE

__all__ = ["CLEANUP_OPTIONS", "cleanup_delta"]

CLEANUP_OPTIONS = ("None", "CleanupRestored", "CleanupAll")


def cleanup_delta(store: Store, *, option: str, restored: dict[str, str]) -> list[str]:
    """Delete the delta of each backup type this pass restored (``restored``: type → backup name);
    returns ``kind/namespace/name`` of what was deleted."""
    if option not in ("CleanupRestored", "CleanupAll"):
        return []
    kinds: list[tuple[str, ResourceType, str | None]] = [
        ("credentials", store.type_of("secrets"), BACKUP_LABEL),
        ("resources", CLUSTER_DEPLOYMENTS, None),
        ("managedClusters", MANAGED_CLUSTERS, None),
        ("managedClusters", MULTICLUSTER_OBSERVABILITIES, None),
    ]
    deleted = []
    for backup_type, rtype, selector in kinds:
        if backup_type not in restored:
            continue  # only the types this Restore restored are cleaned
        for stored in store.list(rtype, label_selector=selector).items:
            if _spared(stored, option=option, keep=restored[backup_type],
                       managed_clusters="managedClusters" in restored):
                continue
            meta = stored.obj["metadata"]
            with contextlib.suppress(ApiError):
                store.delete(rtype, meta.get("namespace"), stored.name)
                store.patch(rtype, meta.get("namespace"), stored.name, MERGE, {"metadata": {"finalizers": None}})
            deleted.append(f"{rtype.kind}/{meta.get('namespace') or ''}/{stored.name}")
    return deleted


def _spared(stored: StoredObject, *, option: str, keep: str, managed_clusters: bool) -> bool:
    labels = stored.obj["metadata"].get("labels") or {}
    if stored.name == LOCAL_CLUSTER or labels.get("local-cluster") == "true":
        return True
    if labels.get("velero.io/exclude-from-backup") == "true" or labels.get("installer.name") == "multiclusterhub":
        return True
    if labels.get(BACKUP_LABEL) == "cluster-activation" and not managed_clusters:
        return True
    backup = labels.get(VELERO_BACKUP_NAME_LABEL)
    if backup is None:
        return option != "CleanupAll"
    return bool(backup == keep)
