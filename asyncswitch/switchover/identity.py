"""Which hub wrote a backup: the id the backup operator labels every backup with.

The operator takes the hub id from ClusterVersion ``version`` (spec.clusterID), falling back to
"unknown", and puts it in the label ``cluster.open-cluster-management.io/backup-cluster`` of its Velero
Schedules, hence of every backup (acm-operator-facts §3.3).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..kube import CLUSTER_VERSIONS, VELERO_SCHEDULES, Hub
from .names import BACKUP_CLUSTER_LABEL, BACKUP_NAMESPACE

__all__ = ["backup_hub_id", "hub_identity"]


def backup_hub_id(obj: Mapping[str, Any]) -> str | None:
    """The id of the hub that wrote a backup (or made a Velero schedule), if labelled."""
    value = ((obj.get("metadata") or {}).get("labels") or {}).get(BACKUP_CLUSTER_LABEL)
    return str(value) if value else None


async def hub_identity(hub: Hub) -> str | None:
    """The hub's id: ClusterVersion ``version``'s spec.clusterID, else the label on its own Velero
    schedules; None if neither says."""
    version = await hub.get(CLUSTER_VERSIONS, "version")
    cluster_id = ((version or {}).get("spec") or {}).get("clusterID")
    if cluster_id:
        return str(cluster_id)
    for schedule in (await hub.list(VELERO_SCHEDULES, BACKUP_NAMESPACE)).items:
        if backup_hub_id(schedule):
            return backup_hub_id(schedule)
    return None
