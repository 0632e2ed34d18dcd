"""Simulated ACM Restore controller (the cluster-backup operator's restore half) on one hub.

Each Restore is driven by one task, in the operator's order: credentials, resources and
generic resources, then managed clusters, each as a Velero Restore of the chosen backup.

- Sync mode (syncRestoreWithNewBackups, managed clusters ``skip``): ends each pass in
  Enabled and re-syncs every restoreSyncInterval, showing Unknown and Running meanwhile.
  Setting veleroManagedClustersBackupName to ``latest`` activates it: the managed-clusters
  Velero Restore runs, its name appears in status, and the Restore ends Finished.
- One-shot (activation or full restore): Running, then Finished.
- Only one active Restore per hub: one created while another exists (or is still being
  deleted: a Restore's finalizer holds it for a while) ends FinishedWithErrors.
- Clusters already on the hub are reported as "already available": FinishedWithErrors.
- A failed Velero restore (FailedValidation when the storage is unreachable) → Error.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable
from typing import Any

from ..errors import ApiError
from ..store import DELETED, StoredObject
from .context import SimHub, SimWorld
from .kinds import (
    ACM_RESTORES,
    BACKUP_NAMESPACE,
    LOCAL_CLUSTER,
    MANAGED_CLUSTERS,
    RESTORE_FINALIZER,
    VELERO_BACKUPS,
    VELERO_RESTORES,
    VELERO_SCHEDULE_LABEL,
)
from .ops import MERGE, now_iso, patch_status
from .schedule import VELERO_SCHEDULE_NAMES
from .world import BackupRecord

__all__ = ["AcmRestoreController", "parse_duration"]

SYNC_MESSAGE = "Velero restores have run to completion, restore will continue to sync with new backups"
DONE_MESSAGE = "All Velero restores have run successfully"
FINISHED = ("Finished", "FinishedWithErrors", "Error")
_TYPES = (("credentials", "veleroCredentialsBackupName", "veleroCredentialsRestoreName"),
          ("resources", "veleroResourcesBackupName", "veleroResourcesRestoreName"),
          ("generic", "veleroResourcesBackupName", "veleroGenericResourcesRestoreName"),
          ("managedClusters", "veleroManagedClustersBackupName", "veleroManagedClustersRestoreName"))
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|m|s)")


def parse_duration(text: str | None, default: float = 1800.0) -> float:
    """Go-style durations as restoreSyncInterval uses them: ``10m``, ``1h30m``, ``45s``."""
    if not text:
        return default
    units = {"h": 3600.0, "m": 60.0, "s": 1.0}
    return sum(float(n) * units[u] for n, u in _DURATION.findall(text)) or default


class AcmRestoreController:
    def __init__(
        self,
        hub: SimHub,
        world: SimWorld,
        *,
        on_clusters_restored: Callable[[SimHub, BackupRecord], None],
    ) -> None:
        self.hub = hub
        self.world = world
        self.store = hub.store
        self._on_clusters_restored = on_clusters_restored
        self._drivers: dict[str, asyncio.Task[None]] = {}
        self._signals: dict[str, asyncio.Event] = {}
        self._existed: dict[str, list[str]] = {}
        """Restore uid → clusters that were on the hub before its managed-clusters restore."""

    async def run(self) -> None:
        self.world.spawn(self._watch_velero(), f"sim:{self.hub.name}:restore:velero")
        with self.store.watch(ACM_RESTORES, BACKUP_NAMESPACE) as watch:
            async for kind, stored in watch:
                uid = stored.obj["metadata"]["uid"]
                if kind == DELETED:
                    self._stop(uid)
                    continue
                if stored.obj["metadata"].get("deletionTimestamp"):
                    if uid in self._drivers and not self._drivers[uid].get_name().endswith(":deleting"):
                        self._stop(uid)
                    if uid not in self._drivers:
                        self._drivers[uid] = self.world.spawn(
                            self._finalize(stored.name, uid), f"sim:{self.hub.name}:restore:{stored.name}:deleting")
                    continue
                if uid not in self._drivers:
                    self._signals[uid] = asyncio.Event()
                    self._drivers[uid] = self.world.spawn(self._drive(stored.name, uid),
                                                          f"sim:{self.hub.name}:restore:{stored.name}")
                self._signals.get(uid, asyncio.Event()).set()

    async def _watch_velero(self) -> None:
        with self.store.watch(VELERO_RESTORES, BACKUP_NAMESPACE) as watch:
            async for _ in watch:
                for signal in self._signals.values():
                    signal.set()

    def _stop(self, uid: str) -> None:
        task = self._drivers.pop(uid, None)
        self._signals.pop(uid, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    # -- one Restore ----------------------------------------------------------------------

    def _current(self, name: str, uid: str) -> StoredObject | None:
        stored = self.store.find(ACM_RESTORES, BACKUP_NAMESPACE, name)
        if stored is None or stored.obj["metadata"]["uid"] != uid:
            return None
        return stored

    def _status(self, name: str, **status: Any) -> None:
        patch_status(self.store, ACM_RESTORES, BACKUP_NAMESPACE, name, status)

    async def _wait_signal(self, uid: str, within: float | None) -> None:
        """Wait for a change that concerns this Restore, or ``within`` seconds (None: no limit)."""
        signal = self._signals[uid]
        try:
            async with asyncio.timeout(within):
                await signal.wait()
        except TimeoutError:
            pass
        signal.clear()

    async def _drive(self, name: str, uid: str) -> None:
        current = self._current(name, uid)
        if current is None:
            return
        finalizers = current.obj["metadata"].get("finalizers") or []
        if RESTORE_FINALIZER not in finalizers:
            self.store.patch(ACM_RESTORES, BACKUP_NAMESPACE, name, MERGE,
                             {"metadata": {"finalizers": [*finalizers, RESTORE_FINALIZER]}})
        status = current.obj.get("status") or {}
        if status.get("phase") in FINISHED:
            return
        if not status.get("phase"):
            others = [r for r in self.store.list(ACM_RESTORES, BACKUP_NAMESPACE).items
                      if r.obj["metadata"]["uid"] != uid and (
                          r.obj["metadata"].get("deletionTimestamp")
                          or (r.obj.get("status") or {}).get("phase") not in FINISHED)]
            if others:
                message = (f"Restore instance {others[0].name} is currently active, verify that any Restore "
                           "instances are in a Finished or FinishedWithErrors state")
                self._status(name, phase="FinishedWithErrors", lastMessage=message, messages=[message],
                             completionTimestamp=now_iso())
                return
            self._status(name, phase="Started", lastMessage="Restore started")
        restored: dict[str, str] = {}
        for backup_type, _, restore_key in _TYPES:
            velero_name = status.get(restore_key)
            velero = self.store.find(VELERO_RESTORES, BACKUP_NAMESPACE, velero_name) if velero_name else None
            if velero is not None:
                restored[backup_type] = str((velero.obj.get("spec") or {}).get("backupName", ""))
        loop = asyncio.get_running_loop()
        next_sync = loop.time()
        while True:
            current = self._current(name, uid)
            if current is None:
                return
            spec = current.obj.get("spec") or {}
            phase = (current.obj.get("status") or {}).get("phase")
            sync = bool(spec.get("syncRestoreWithNewBackups")) and spec.get("veleroManagedClustersBackupName") == "skip"
            # In sync mode new backups are picked up once per restoreSyncInterval, not on sight.
            wanted = self._wanted(spec, restored) if (not sync or loop.time() >= next_sync) else {}
            if wanted:
                if phase == "Enabled":
                    self._status(name, phase="Unknown", lastMessage="Checking for new backups")
                    await self.world.clock.sleep(self.world.clock.profile.resync_blip / 2)
                outcome = await self._restore(name, uid, wanted, restored)
                if outcome is not None:
                    self._status(name, phase="Error", lastMessage=outcome, messages=[outcome],
                                 completionTimestamp=now_iso())
                    return
                continue
            if sync:
                if loop.time() >= next_sync:
                    interval = parse_duration(spec.get("restoreSyncInterval"))
                    next_sync = loop.time() + self.world.clock.cron_period(interval)
                if phase != "Enabled":
                    self._status(name, phase="Enabled", lastMessage=SYNC_MESSAGE)
                await self._wait_signal(uid, max(0.0, next_sync - loop.time()))
                continue
            existed = self._existed.pop(uid, [])
            if existed:
                messages = [f"Managed cluster {c} is already available on this hub; it was not restored"
                            for c in existed]
                self._status(name, phase="FinishedWithErrors", lastMessage=messages[0], messages=messages,
                             completionTimestamp=now_iso())
            else:
                self._status(name, phase="Finished", lastMessage=DONE_MESSAGE, messages=[],
                             completionTimestamp=now_iso())
            return


    def _wanted(self, spec: dict[str, Any], restored: dict[str, str]) -> dict[str, BackupRecord]:
        """Backups to restore now: per type, the chosen one if not yet restored."""
        out: dict[str, BackupRecord] = {}
        for backup_type, spec_key, _ in _TYPES:
            choice = spec.get(spec_key, "skip")
            if choice in ("skip", "", None):
                continue
            record = self._pick(backup_type, str(choice))
            if record is not None and restored.get(backup_type) != record.name:
                if backup_type == "managedClusters" and "managedClusters" in restored:
                    continue  # the managed clusters are restored once per Restore
                out[backup_type] = record
        return out

    def _pick(self, backup_type: str, choice: str) -> BackupRecord | None:
        schedule = next(s for s, t in VELERO_SCHEDULE_NAMES.items() if t == backup_type)
        if choice != "latest":
            return self.world.storage.get(choice)
        candidates = [
            self.world.storage.get(b.name) for b in self.store.list(
                VELERO_BACKUPS, BACKUP_NAMESPACE, label_selector=f"{VELERO_SCHEDULE_LABEL}={schedule}").items
            if (b.obj.get("status") or {}).get("phase") == "Completed"
        ]
        records = sorted((r for r in candidates if r is not None), key=lambda r: (r.created, r.name))
        return records[-1] if records else None

    async def _restore(self, name: str, uid: str, wanted: dict[str, BackupRecord],
                       restored: dict[str, str]) -> str | None:
        """Run the Velero restores in order; returns an error message, or None when all completed."""
        self._status(name, phase="Running", lastMessage="Velero restores are running")
        order = ("credentials", "resources", "generic", "managedClusters")
        for backup_type in order:
            record = wanted.get(backup_type)
            if record is None:
                continue
            restore_key = next(k for t, _, k in _TYPES if t == backup_type)
            velero_name = f"{name}-{record.name}"
            if backup_type == "managedClusters":
                self._existed[uid] = [c.name for c in record.clusters
                                      if c.name != LOCAL_CLUSTER and self.store.find(MANAGED_CLUSTERS, None, c.name)]
            with contextlib.suppress(ApiError):  # already created by an earlier pass of this Restore
                self.store.create(VELERO_RESTORES, BACKUP_NAMESPACE, {
                    "apiVersion": "velero.io/v1", "kind": "Restore",
                    "metadata": {"name": velero_name, "namespace": BACKUP_NAMESPACE,
                                 "labels": {"cluster.open-cluster-management.io/restore-name": name}},
                    "spec": {"backupName": record.name, "existingResourcePolicy": "update"},
                })
            self._status(name, **{restore_key: velero_name})
            phase = await self._velero_done(uid, velero_name)
            if phase != "Completed":
                return (f"Velero restore {velero_name} ended {phase}; check the BackupStorageLocation "
                        "and the Velero restore's validationErrors")
            restored[backup_type] = record.name
            if backup_type == "managedClusters":
                self._on_clusters_restored(self.hub, record)
        return None

    async def _velero_done(self, uid: str, velero_name: str) -> str:
        while True:
            velero = self.store.find(VELERO_RESTORES, BACKUP_NAMESPACE, velero_name)
            phase = (velero.obj.get("status") or {}).get("phase") if velero else "Deleted"
            if phase in ("Completed", "PartiallyFailed", "Failed", "FailedValidation", "Deleted"):
                return str(phase)
            await self._wait_signal(uid, None)

    async def _finalize(self, name: str, uid: str) -> None:
        """Deletion takes a while: the finalizer stays for the profile's restore_deletion time."""
        await self.world.clock.sleep(self.world.clock.profile.restore_deletion)
        self._drivers.pop(uid, None)
        current = self._current(name, uid)
        if current is None:
            return
        finalizers = [f for f in current.obj["metadata"].get("finalizers") or [] if f != RESTORE_FINALIZER]
        with contextlib.suppress(ApiError):
            self.store.patch(ACM_RESTORES, BACKUP_NAMESPACE, name, MERGE,
                             {"metadata": {"finalizers": finalizers or None}})
