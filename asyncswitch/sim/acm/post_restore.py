"""Post-restore activation (facts §2): what the operator does once, when a Restore that restored the
managed clusters first finishes.

1. Deletes the observability signer client-cert Secret (the observability operator makes a new one).
2. Creates the marker Velero Backup ``acm-restore-clusters-<ts>`` (no status: Velero runs it), which
   tells every hub on the storage location who is active; 2.17+ deletes this hub's older markers.
3. For each ManagedCluster but the local one (≤ 2.14: each namespace holding an MSA secret): skips it
   when Available now ("already available", never an error), else hands the import controller an
   ``auto-import-secret`` built from the cluster's server URL and its managed-serviceaccount token,
   after setting ``immediate-import: ""`` on it (2.14+).

Returns the messages, which become ``status.messages``.
"""

from __future__ import annotations

import base64
import contextlib
from datetime import UTC, datetime
from typing import Any

from ..errors import ApiError
from ..store import StoredObject
from .context import SimHub
from .identity import hub_id
from .kinds import (
    ADDON_OBSERVABILITY_NAMESPACE,
    AUTO_IMPORT_SECRET,
    AVAILABLE,
    BACKUP_CLUSTER_LABEL,
    BACKUP_NAMESPACE,
    IMMEDIATE_IMPORT,
    LOCAL_CLUSTER,
    MANAGED_CLUSTERS,
    MARKER_PREFIX,
    MSA_LABEL,
    SIGNER_CERT_SECRET,
    VELERO_BACKUPS,
)
from .ops import patch

__all__ = [
    "ACM_HUB_DR_LABEL",
    "AUTO_IMPORT_LABEL",
    "KEEP_ANNOTATION",
    "MARKER_PREFIX",
    "RESTORE_CLUSTER_LABEL",
    "activate_clusters",
]

RESTORE_CLUSTER_LABEL = "cluster.open-cluster-management.io/restore-cluster"
ACM_HUB_DR_LABEL = "cluster.open-cluster-management.io/acm-hub-dr"
RESTORE_NAME_LABEL = "cluster.open-cluster-management.io/acm-restore-name"
AUTO_IMPORT_LABEL = "cluster.open-cluster-management.io/restore-auto-import-secret"
KEEP_ANNOTATION = "managedcluster-import-controller.open-cluster-management.io/keeping-auto-import-secret"
MSA_PREFIX = "auto-import-account"


def activate_clusters(hub: SimHub, *, restore: str, mc_backup: str, backup_hub_id: str) -> list[str]:
    """Run post-restore activation on ``hub`` for the Restore ``restore``; returns status.messages."""
    store = hub.store
    with contextlib.suppress(ApiError):
        store.delete(store.type_of("secrets"), ADDON_OBSERVABILITY_NAMESPACE, SIGNER_CERT_SECRET)
    _record_activation(hub, restore=restore, mc_backup=mc_backup, backup_hub_id=backup_hub_id)
    # One list of the MSA secrets, by namespace: a per-cluster namespaced list would cost O(n²) here.
    msa: dict[str, list[StoredObject]] = {}
    for secret in store.list(store.type_of("secrets"), label_selector=f"{MSA_LABEL}=true").items:
        if secret.name.startswith(MSA_PREFIX):
            msa.setdefault(secret.obj["metadata"]["namespace"], []).append(secret)
    messages: list[str] = []
    for cluster in _clusters(hub, msa):
        _reimport(hub, cluster, msa.get(cluster, []), messages)
    return messages


def _record_activation(hub: SimHub, *, restore: str, mc_backup: str, backup_hub_id: str) -> None:
    store = hub.store
    stamp = datetime.now(UTC)
    name = MARKER_PREFIX + stamp.strftime("%Y%m%d%H%M%S")
    while store.find(VELERO_BACKUPS, BACKUP_NAMESPACE, name) is not None:  # simulated time runs fast
        stamp = datetime.fromtimestamp(stamp.timestamp() + 1, UTC)
        name = MARKER_PREFIX + stamp.strftime("%Y%m%d%H%M%S")
    if hub.version.keeps_newest_marker_only:
        for old in store.list(VELERO_BACKUPS, BACKUP_NAMESPACE).items:
            if old.name.startswith(MARKER_PREFIX):
                with contextlib.suppress(ApiError):
                    store.delete(VELERO_BACKUPS, BACKUP_NAMESPACE, old.name)
    store.create(VELERO_BACKUPS, BACKUP_NAMESPACE, {
        "apiVersion": "velero.io/v1", "kind": "Backup",
        "metadata": {"name": name, "namespace": BACKUP_NAMESPACE, "labels": {
            RESTORE_CLUSTER_LABEL: hub_id(store), BACKUP_CLUSTER_LABEL: backup_hub_id,
            ACM_HUB_DR_LABEL: "true", RESTORE_NAME_LABEL: restore,
            "acm-managed-clusters-schedule": mc_backup}},
        "spec": {"storageLocation": "default", "ttl": "720h0m0s",
                 "includedNamespaces": [BACKUP_NAMESPACE], "includedResources": ["configmaps"]},
    })


def _clusters(hub: SimHub, msa: dict[str, list[StoredObject]]) -> list[str]:
    store = hub.store
    if hub.version.post_restore_by_managed_cluster:
        return [c.name for c in store.list(MANAGED_CLUSTERS).items
                if c.name != LOCAL_CLUSTER and (c.obj["metadata"].get("labels") or {}).get("local-cluster") != "true"]
    # ≤ 2.14: the namespaces holding an MSA secret.
    return sorted(set(msa) - {LOCAL_CLUSTER})


def _expiry(secret: StoredObject) -> str:
    return str((secret.obj["metadata"].get("annotations") or {}).get("expirationTimestamp") or "")


def _msa_secret(hub: SimHub, cluster: str, found: list[StoredObject], messages: list[str]) -> StoredObject | None:
    """u ``selectValidMSASecret``: one → used whatever its expiry; several → the first not yet expired,
    else the newest. ≤ 2.14: expired tokens are skipped."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if not hub.version.post_restore_by_managed_cluster:
        valid = [s for s in found if _expiry(s) > now]
        if found and not valid:
            messages.append(f"Skip MSA access token for cluster ({cluster}) - token is no loger valid!")
        return valid[0] if valid else None
    if not found:
        messages.append(f"No suitable MSA secret found for cluster ({cluster})")
        return None
    if len(found) == 1:
        return found[0]
    return next((s for s in found if _expiry(s) > now), max(found, key=_expiry))


def _reimport(hub: SimHub, cluster: str, found: list[StoredObject], messages: list[str]) -> None:
    store = hub.store
    secrets = store.type_of("secrets")
    managed = store.find(MANAGED_CLUSTERS, None, cluster)
    if managed is None:
        return
    if any(c.get("type") == AVAILABLE and c.get("status") == "True"
           for c in (managed.obj.get("status") or {}).get("conditions") or []):
        messages.append(f"managed cluster {cluster} already available")
        return
    configs = (managed.obj.get("spec") or {}).get("managedClusterClientConfigs") or []
    url = configs[0].get("url") if configs else None
    if not url:
        messages.append(f"Cannot reimport cluster {cluster}, no serverUrl property")
        return
    msa = _msa_secret(hub, cluster, found, messages)
    if msa is None:
        return
    token = (msa.obj.get("data") or {}).get("token") or ""
    if not token:
        messages.append(f"Skip MSA access token for cluster ({cluster}) - invalid token data in secret ({msa.name})")
        return
    old = store.find(secrets, cluster, AUTO_IMPORT_SECRET)
    if old is not None and (old.obj["metadata"].get("labels") or {}).get(AUTO_IMPORT_LABEL) == "true":
        with contextlib.suppress(ApiError):
            store.delete(secrets, cluster, AUTO_IMPORT_SECRET)
            messages.append(f"deleted auto-import-secret from namespace {cluster}")
    if hub.version.operator_sets_immediate_import:
        patch(store, MANAGED_CLUSTERS, None, cluster, {"metadata": {"annotations": {IMMEDIATE_IMPORT: ""}}})
    body: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": AUTO_IMPORT_SECRET, "namespace": cluster, "labels": {AUTO_IMPORT_LABEL: "true"},
                     "annotations": {KEEP_ANNOTATION: ""}},
        # stringData autoImportRetry/server/token, as the API server stores it.
        "data": {"autoImportRetry": _b64("5"), "server": _b64(str(url)),
                 "token": _b64(base64.b64decode(token).decode(errors="replace"))},
    }
    try:
        store.create(secrets, cluster, body)
    except ApiError:
        messages.append(f"Failed to create auto-import-secret for ({cluster})")
        return
    messages.append(f"Created auto-import-secret for ({cluster})")


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
