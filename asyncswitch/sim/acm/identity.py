"""The hub id the backup operator writes into backup labels: ClusterVersion ``version``'s spec.clusterID
("unknown" without one), read from the hub's API as the operator's ``getHubIdentification`` does."""

from __future__ import annotations

from typing import Any

from ..store import Store
from .kinds import CLUSTER_VERSIONS

__all__ = ["CLUSTER_VERSION_NAME", "cluster_version", "hub_id"]

CLUSTER_VERSION_NAME = "version"


def cluster_version(cluster_id: str) -> dict[str, Any]:
    return {"apiVersion": "config.openshift.io/v1", "kind": "ClusterVersion",
            "metadata": {"name": CLUSTER_VERSION_NAME},
            "spec": {"clusterID": cluster_id, "channel": "stable-4.16"}}


def hub_id(store: Store) -> str:
    found = store.find(CLUSTER_VERSIONS, None, CLUSTER_VERSION_NAME)
    value = (found.obj.get("spec") or {}).get("clusterID") if found is not None else None
    return str(value) if value else "unknown"
