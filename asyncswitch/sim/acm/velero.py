"""Simulated Velero on one hub: runs backups and restores one at a time, syncs backups from storage.

- Every Backup created without a status (by a Velero Schedule, by the backup operator's first
  run of a new schedule, or by hand, like the activation marker ``acm-restore-clusters-<ts>``)
  goes New, waits while the velero Deployment has no ready pod, then InProgress → Finalizing →
  Completed in a time that grows with its item count, and lands in the shared storage with its
  labels, where the other hub's Velero picks it up as a Completed Backup.
- Each backup expires after its ``spec.ttl`` (Velero's default 720h when unset): garbage
  collection deletes it on the hub and from the storage, and the other hub's copy goes with it.
- A restore is New (with Velero's cleanup finalizer) until a velero pod is ready, validated
  (backup present, storage reachable, else FailedValidation), then InProgress → Completed, or
  PartiallyFailed for an empty backup. Its items appear on the hub with existingResourcePolicy
  update and ``velero.io/backup-name``/``restore-name`` labels: ManagedClusters and the MCO from a
  managed-clusters backup (without status), ClusterDeployments from a resources backup, the MSA
  token secrets from a credentials backup. A ``cluster-activation`` label selector is honoured.
- A deleted restore goes after the profile's restore_deletion (its finalizer); a running one is
  not cancelled: its objects still arrive.
- When the velero pod goes (deleted, scaled to 0) the jobs it was running stop; when a pod is ready
  again, Velero's startup marks every Backup and Restore still InProgress as Failed, as the real
  server does (``markInProgressBackupsFailed``/``markInProgressRestoresFailed``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from ..errors import ApiError
from ..resources import ResourceType
from ..store import ADDED, DELETED, Store
from .context import SimHub, SimWorld
from .cron import parse_duration
from .identity import hub_id
from .kinds import (
    BACKUP_LABEL,
    BACKUP_NAMESPACE,
    BACKUP_SCHEDULES,
    CLUSTER_DEPLOYMENTS,
    LOCAL_CLUSTER,
    MANAGED_CLUSTERS,
    MULTICLUSTER_OBSERVABILITIES,
    SCHEDULE_TYPE_LABEL,
    VELERO_BACKUP_NAME_LABEL,
    VELERO_BACKUPS,
    VELERO_RESTORE_FINALIZER,
    VELERO_RESTORE_NAME_LABEL,
    VELERO_RESTORES,
    VELERO_SCHEDULE_LABEL,
)
from .ops import ensure, now_iso, patch, patch_status
from .pod_gate import DeploymentGate
from .world import BackupRecord, ClusterSnapshot, SecretSnapshot

__all__ = ["DEFAULT_TTL", "VeleroController", "backup_items", "credential_secrets"]

DEFAULT_TTL = 720 * 3600.0
"""Velero's default backup TTL (720h) for a Backup whose spec.ttl is unset."""
GC_PERIOD = 3600.0
"""Simulated seconds between Velero's garbage-collection passes (its default frequency, 1h)."""

# schedule-type label value → the simulator's backup type (what the snapshot and item count follow).
_TYPE_OF_LABEL = {"credentials": "credentials", "resources": "resources", "resourcesGeneric": "generic",
                  "managedClusters": "managedClusters", "validation": "validation"}


def backup_items(backup_type: str, clusters: int) -> int:
    """Item counts that grow with the number of clusters, scaled from the published 3,500-cluster figures."""
    per_cluster = {"credentials": 8.4, "managedClusters": 14.7, "resources": 4.25, "generic": 0.05}
    base = {"credentials": 50, "managedClusters": 30, "resources": 120, "generic": 20, "validation": 1}
    return int(base.get(backup_type, 1) + per_cluster.get(backup_type, 0.0) * clusters)


def _iso(wall: float) -> str:
    return datetime.fromtimestamp(wall, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class VeleroController:
    def __init__(self, hub: SimHub, world: SimWorld) -> None:
        self.hub = hub
        self.world = world
        self.store = hub.store
        # Velero's backup and restore controllers are separate: each runs one job at a time,
        # but a backup and a restore can run side by side.
        self._backups: asyncio.Queue[str] = asyncio.Queue()
        self._restores: asyncio.Queue[str] = asyncio.Queue()
        self.gate = DeploymentGate(hub, BACKUP_NAMESPACE, "velero")
        self.gate.on_stop(self._stopped)
        self.gate.on_restart(self._restarted)
        self._running: set[asyncio.Task[Any]] = set()
        """The worker tasks running a job now; ``_stopping``: those cancelled because the pod went."""
        self._stopping: set[asyncio.Task[Any]] = set()
        self._started: dict[str, float] = {}
        """Backup name → wall time it started, while it runs here (startTimestamp has whole seconds only)."""
        self._expiry: dict[str, float] = {}
        """Backup name → wall time its TTL runs out, for every Backup on this hub (own and synced)."""
        self._deleting: set[str] = set()

    def started_at(self, name: str) -> float | None:
        """When a backup started, to the fraction of a second: simulated time is compressed, and the
        backup operator's "newest backup" must not depend on two backups sharing a wall-clock second."""
        record = self.world.storage.get(name)
        if record is not None:
            return record.created
        return self._started.get(name)

    # -- the controller -------------------------------------------------------------------

    async def run(self) -> None:
        self.world.storage.subscribe(self._sync_one)
        self.world.storage.on_removal(self._unsync_one)
        for record in self.world.storage.records():
            self._sync_one(record)
        self.world.spawn(self.gate.run(), f"sim:{self.hub.name}:velero:deployment")
        self.world.spawn(self._watch_backups(), f"sim:{self.hub.name}:velero:backups")
        self.world.spawn(self._collect_garbage(), f"sim:{self.hub.name}:velero:gc")
        self.world.spawn(self._watch_restores(), f"sim:{self.hub.name}:velero:restores")
        self.world.spawn(self._work(self._restores, self._run_restore), f"sim:{self.hub.name}:velero:restorer")
        await self._work(self._backups, self._run_backup)

    async def _work(self, queue: asyncio.Queue[str], job: Callable[[str], Awaitable[None]]) -> None:
        worker = asyncio.current_task()
        assert worker is not None
        while True:
            name = await queue.get()
            await self.gate.ready.wait()  # with no ready velero pod, jobs stay New
            self._running.add(worker)
            try:
                await job(name)
            except asyncio.CancelledError:
                if worker not in self._stopping:
                    raise
                worker.uncancel()  # the pod went, not the simulator: the next job waits for a new pod
            finally:
                self._running.discard(worker)
                self._stopping.discard(worker)

    def _stopped(self) -> None:
        """The velero pod is gone: what it was running stops where it is (InProgress)."""
        for worker in list(self._running):
            self._stopping.add(worker)
            worker.cancel()

    def _restarted(self) -> None:
        """Velero's startup: Backups and Restores left InProgress by the server that went are Failed."""
        for rtype, what in ((VELERO_BACKUPS, "backup"), (VELERO_RESTORES, "restore")):
            for stored in self.store.list(rtype, BACKUP_NAMESPACE).items:
                if (stored.obj.get("status") or {}).get("phase") == "InProgress":
                    patch_status(self.store, rtype, BACKUP_NAMESPACE, stored.name, {
                        "phase": "Failed", "completionTimestamp": now_iso(),
                        "failureReason": f'found a {what} with status "InProgress" during the server starting, '
                                         "mark it as failed"})

    async def _watch_restores(self) -> None:
        with self.store.watch(VELERO_RESTORES, BACKUP_NAMESPACE) as watch:
            async for kind, stored in watch:
                if kind == DELETED:
                    continue
                meta = stored.obj["metadata"]
                if meta.get("deletionTimestamp"):
                    if stored.name not in self._deleting:
                        self._deleting.add(stored.name)
                        self.world.spawn(self._delete_restore(stored.name),
                                         f"sim:{self.hub.name}:velero:restore-delete:{stored.name}")
                    continue
                if kind == ADDED and not (stored.obj.get("status") or {}).get("phase"):
                    # Velero 1.14 (OADP 1.4) puts its cleanup finalizer on every restore it takes on.
                    patch(self.store, VELERO_RESTORES, BACKUP_NAMESPACE, stored.name, {"metadata": {
                        "finalizers": [*(meta.get("finalizers") or []), VELERO_RESTORE_FINALIZER]}})
                    patch_status(self.store, VELERO_RESTORES, BACKUP_NAMESPACE, stored.name, {"phase": "New"})
                    self._restores.put_nowait(stored.name)

    async def _watch_backups(self) -> None:
        """Take on every Backup that appears without a status (synced copies arrive Completed)."""
        with self.store.watch(VELERO_BACKUPS, BACKUP_NAMESPACE) as watch:
            async for kind, stored in watch:
                if kind != ADDED:
                    continue
                current = self.store.find(VELERO_BACKUPS, BACKUP_NAMESPACE, stored.name)
                if (current is None or current.obj["metadata"]["uid"] != stored.obj["metadata"]["uid"]
                        or (current.obj.get("status") or {}).get("phase")):
                    continue
                patch_status(self.store, VELERO_BACKUPS, BACKUP_NAMESPACE, stored.name, {"phase": "New"})
                self._backups.put_nowait(stored.name)
    async def _delete_restore(self, name: str) -> None:
        """A deleted restore goes once Velero has cleaned up after it (the profile's restore_deletion)."""
        try:
            await self.world.clock.sleep(self.world.clock.profile.restore_deletion)
            current = self.store.find(VELERO_RESTORES, BACKUP_NAMESPACE, name)
            if current is not None:
                finalizers = [f for f in current.obj["metadata"].get("finalizers") or []
                              if f != VELERO_RESTORE_FINALIZER]
                patch(self.store, VELERO_RESTORES, BACKUP_NAMESPACE, name,
                      {"metadata": {"finalizers": finalizers or None}})
        finally:
            self._deleting.discard(name)

    def _sync_one(self, record: BackupRecord) -> None:
        """Backup sync: a backup in storage appears as a Completed Backup on this hub, labels included."""
        if record.hub == self.hub.name:
            return
        try:
            ensure(self.store, VELERO_BACKUPS, {
                "apiVersion": "velero.io/v1", "kind": "Backup",
                "metadata": {"name": record.name, "namespace": BACKUP_NAMESPACE, "labels": dict(record.labels)},
                "spec": {"storageLocation": "default"},
            })
        except ApiError:
            return  # namespace gone (decommissioned hub)
        self._expiry[record.name] = record.expires
        patch_status(self.store, VELERO_BACKUPS, BACKUP_NAMESPACE, record.name, _completed_status(record))

    def _unsync_one(self, name: str) -> None:
        """Backup sync: a backup gone from storage goes from this hub too."""
        self._expiry.pop(name, None)
        with contextlib.suppress(ApiError):
            self.store.delete(VELERO_BACKUPS, BACKUP_NAMESPACE, name)

    async def _collect_garbage(self) -> None:
        """Velero's GC: every pass deletes the Backups whose TTL ran out, here and in the storage."""
        clock = self.world.clock
        while True:
            await asyncio.sleep(clock.cron_period(GC_PERIOD))
            now = time.time()
            for name in [n for n, when in self._expiry.items() if when <= now]:
                self._unsync_one(name)
                self.world.storage.remove(name)

    def _uses_managed_service_account(self) -> bool:
        """Whether MSA import secrets exist to back up: a BackupSchedule here asks for them."""
        return any((s.obj.get("spec") or {}).get("useManagedServiceAccount")
                   for s in self.store.list(BACKUP_SCHEDULES, BACKUP_NAMESPACE).items)

    async def _run_backup(self, name: str) -> None:
        current = self.store.find(VELERO_BACKUPS, BACKUP_NAMESPACE, name)
        if current is None:
            return
        labels = dict(current.obj["metadata"].get("labels") or {})
        spec = current.obj.get("spec") or {}
        backup_type = _TYPE_OF_LABEL.get(labels.get(SCHEDULE_TYPE_LABEL, ""), "")
        clock = self.world.clock
        started_wall, start = time.time(), now_iso()
        self._started[name] = started_wall
        expires = started_wall + clock.lifetime(parse_duration(spec.get("ttl"), DEFAULT_TTL))
        self._expiry[name] = expires
        try:
            snapshot = self._snapshot(backup_type)
            # A managed-clusters backup holds the clusters on this hub now; the others scale with the fleet.
            clusters = len(snapshot["clusters"]) if "clusters" in snapshot else len(self.world.fleet.clusters)
            items = backup_items(backup_type, clusters)
            patch_status(self.store, VELERO_BACKUPS, BACKUP_NAMESPACE, name, {
                "phase": "InProgress", "startTimestamp": start, "expiration": _iso(expires),
                "progress": {"totalItems": items, "itemsBackedUp": 0}})
            await clock.sleep(clock.backup_seconds(items) * 0.9)
            patch_status(self.store, VELERO_BACKUPS, BACKUP_NAMESPACE, name, {
                "phase": "Finalizing", "progress": {"totalItems": items, "itemsBackedUp": items}})
            await clock.sleep(clock.backup_seconds(items) * 0.1)
            if not self.world.storage.available:
                patch_status(self.store, VELERO_BACKUPS, BACKUP_NAMESPACE, name, {
                    "phase": "Failed", "completionTimestamp": now_iso(), "errors": 1,
                    "failureReason": "backup storage location default is unavailable"})
                return
            if self.store.find(VELERO_BACKUPS, BACKUP_NAMESPACE, name) is None:
                return  # deleted while it ran
            record = BackupRecord(
                name=name, schedule=labels.get(VELERO_SCHEDULE_LABEL, ""), backup_type=backup_type,
                hub=self.hub.name, cluster_id=hub_id(self.store), created=started_wall, start=start,
                completion=now_iso(), items=items, use_managed_service_account=self._uses_managed_service_account(),
                labels=labels, expires=expires, **snapshot,
            )
            patch_status(self.store, VELERO_BACKUPS, BACKUP_NAMESPACE, name, _completed_status(record))
            self.world.storage.put(record)
        finally:
            self._started.pop(name, None)

    def _snapshot(self, backup_type: str) -> dict[str, Any]:
        if backup_type == "managedClusters":
            return {
                "clusters": tuple(
                    _snapshot_of(s.obj) for s in self.store.list(MANAGED_CLUSTERS).items
                    if s.name != LOCAL_CLUSTER and not s.obj["metadata"].get("deletionTimestamp")),
                "observability": tuple(
                    _snapshot_of(s.obj) for s in self.store.list(MULTICLUSTER_OBSERVABILITIES).items
                    if not s.obj["metadata"].get("deletionTimestamp")),
            }
        if backup_type == "credentials":
            return {"secrets": credential_secrets(self.store)}
        if backup_type == "resources":
            return {"cluster_deployments": tuple(
                (s.name, bool((s.obj.get("spec") or {}).get("preserveOnDelete")))
                for s in self.store.list(CLUSTER_DEPLOYMENTS).items
            )}
        return {}

    async def _run_restore(self, name: str) -> None:
        current = self.store.find(VELERO_RESTORES, BACKUP_NAMESPACE, name)
        if current is None or current.obj["metadata"].get("deletionTimestamp"):
            return
        spec = current.obj.get("spec") or {}
        backup_name = spec.get("backupName", "")
        record = self.world.storage.get(backup_name)
        errors = []
        if not self.world.storage.available:
            errors.append("backup storage location 'default' is unavailable")
        if record is None:
            errors.append(f"backup {backup_name!r} not found in the backup storage location")
        if errors or record is None:
            patch_status(self.store, VELERO_RESTORES, BACKUP_NAMESPACE, name, {
                "phase": "FailedValidation", "validationErrors": errors, "completionTimestamp": now_iso()})
            return
        clock = self.world.clock
        activation = _selects_activation(spec)
        # An activation twin (In cluster-activation) restores only the few objects so labelled.
        items = sum(1 for s in record.secrets if s.labels.get(BACKUP_LABEL) == "cluster-activation") if (
            activation is True) else record.items
        patch_status(self.store, VELERO_RESTORES, BACKUP_NAMESPACE, name, {
            "phase": "InProgress", "startTimestamp": now_iso(),
            "progress": {"totalItems": items, "itemsRestored": 0}})
        await clock.sleep(clock.restore_seconds(items))
        if record.items == 0:
            # Velero reports an empty backup as a partial failure (the operator's README says so too).
            patch_status(self.store, VELERO_RESTORES, BACKUP_NAMESPACE, name, {
                "phase": "PartiallyFailed", "completionTimestamp": now_iso(), "errors": 1, "warnings": 0,
                "progress": {"totalItems": 0, "itemsRestored": 0}})
            return
        warnings = self._apply(record, restore=name, activation=activation)
        patch_status(self.store, VELERO_RESTORES, BACKUP_NAMESPACE, name, {
            "phase": "Completed", "completionTimestamp": now_iso(), "warnings": warnings,
            "progress": {"totalItems": items, "itemsRestored": items}})

    def _apply(self, record: BackupRecord, *, restore: str, activation: bool | None = None) -> int:
        """Put the backup's items on the hub; returns how many already existed (Velero warnings).

        The operator restores with ``existingResourcePolicy: update``: an object that exists is
        updated to the backup's labels, annotations and spec (status is never restored). Every
        restored object carries ``velero.io/backup-name`` and ``velero.io/restore-name`` labels,
        which cleanupBeforeRestore reads. ``activation`` is the restore's label selector on
        ``cluster.open-cluster-management.io/backup``: True ``In (cluster-activation)``, False
        ``NotIn (cluster-activation)``, None no selector.
        """
        marks = {VELERO_BACKUP_NAME_LABEL: record.name, VELERO_RESTORE_NAME_LABEL: restore}
        existed = 0
        if activation is not True:
            for rtype, api_version, kind, snapshots in (
                    (MANAGED_CLUSTERS, "cluster.open-cluster-management.io/v1", "ManagedCluster", record.clusters),
                    (MULTICLUSTER_OBSERVABILITIES, "observability.open-cluster-management.io/v1beta2",
                     "MultiClusterObservability", record.observability)):
                for snapshot in snapshots:
                    existed += self._put(rtype, None, {
                        "apiVersion": api_version, "kind": kind,
                        "metadata": {"name": snapshot.name, "labels": {**snapshot.labels, **marks},
                                     "annotations": dict(snapshot.annotations)},
                        "spec": dict(snapshot.spec)})
            namespaces = self.store.type_of("namespaces")
            for cluster_name, preserve in record.cluster_deployments:
                ensure(self.store, namespaces, {"metadata": {"name": cluster_name}})
                existed += self._put(CLUSTER_DEPLOYMENTS, cluster_name, {
                    "apiVersion": "hive.openshift.io/v1", "kind": "ClusterDeployment",
                    "metadata": {"name": cluster_name, "namespace": cluster_name, "labels": dict(marks),
                                 "annotations": {}},
                    "spec": {"clusterName": cluster_name, "preserveOnDelete": preserve,
                             "baseDomain": "sim.example.com"}})
        secrets = self.store.type_of("secrets")
        for secret in record.secrets:
            if activation is not None and (secret.labels.get(BACKUP_LABEL) == "cluster-activation") != activation:
                continue
            ensure(self.store, self.store.type_of("namespaces"), {"metadata": {"name": secret.namespace}})
            existed += self._put(secrets, secret.namespace, {
                "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": secret.name, "namespace": secret.namespace,
                             "labels": {**secret.labels, **marks}, "annotations": dict(secret.annotations)},
                "data": dict(secret.data)})
        return existed

    def _put(self, rtype: ResourceType, namespace: str | None, obj: dict[str, Any]) -> int:
        """Create ``obj``, or update the existing object to it; 1 if it existed (a Velero warning)."""
        name = obj["metadata"]["name"]
        current = self.store.find(rtype, namespace, name)
        if current is None:
            with contextlib.suppress(ApiError):  # namespace going away: Velero logs an error and goes on
                self.store.create(rtype, namespace, obj)
            return 0
        meta = current.obj["metadata"]
        if meta.get("deletionTimestamp"):
            return 1
        body = "spec" if "spec" in obj else "data"
        if ((meta.get("labels") or {}) != obj["metadata"]["labels"]
                or (meta.get("annotations") or {}) != obj["metadata"]["annotations"]
                or (current.obj.get(body) or {}) != obj[body]):
            updated = {**current.obj, "metadata": {**meta, "labels": obj["metadata"]["labels"],
                                                   "annotations": obj["metadata"]["annotations"]},
                       body: obj[body]}
            with contextlib.suppress(ApiError):  # changed meanwhile: Velero logs a warning and goes on
                self.store.update(rtype, namespace, name, updated)
        return 1


def _selects_activation(spec: dict[str, Any]) -> bool | None:
    """How a restore's label selector treats ``cluster-activation`` objects (see ``_apply``)."""
    for expression in ((spec.get("labelSelector") or {}).get("matchExpressions") or []):
        if expression.get("key") == BACKUP_LABEL and "cluster-activation" in (expression.get("values") or []):
            return bool(expression.get("operator") == "In")
    return None


def _snapshot_of(obj: dict[str, Any]) -> ClusterSnapshot:
    meta = obj["metadata"]
    return ClusterSnapshot(name=meta["name"], labels=dict(meta.get("labels") or {}),
                           annotations=dict(meta.get("annotations") or {}), spec=dict(obj.get("spec") or {}))


def credential_secrets(store: Store) -> tuple[SecretSnapshot, ...]:
    """The Secrets a credentials backup takes that the simulator models: those labelled
    ``cluster.open-cluster-management.io/backup`` (the MSA token secrets), without Velero's own labels."""
    out = []
    for stored in store.list(store.type_of("secrets"), label_selector=BACKUP_LABEL).items:
        meta = stored.obj["metadata"]
        if meta.get("deletionTimestamp"):
            continue
        labels = {k: v for k, v in (meta.get("labels") or {}).items()
                  if k not in (VELERO_BACKUP_NAME_LABEL, VELERO_RESTORE_NAME_LABEL)}
        out.append(SecretSnapshot(namespace=meta["namespace"], name=meta["name"], labels=labels,
                                  annotations=dict(meta.get("annotations") or {}),
                                  data=dict(stored.obj.get("data") or {})))
    return tuple(out)


def _completed_status(record: BackupRecord) -> dict[str, Any]:
    return {
        "phase": "Completed", "startTimestamp": record.start, "completionTimestamp": record.completion,
        "expiration": None if record.expires == float("inf") else _iso(record.expires), "errors": 0, "warnings": 0,
        "progress": {"totalItems": record.items, "itemsBackedUp": record.items},
    }
