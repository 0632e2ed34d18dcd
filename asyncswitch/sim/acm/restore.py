"""Simulated ACM Restore controller (the cluster-backup operator's restore half) on one hub, facts §1.

One worker reconciles Restores, as the operator does, on every Restore event (its own status writes
included), every event of a Velero restore it owns, and its own requeues. Each reconcile, in order:

- deletion: the owned Velero restores are deleted and the finalizer (2.14+) is held until they are
  gone; meanwhile the Restore is listed with its old phase and still blocks others;
- Finished and FinishedWithErrors are never processed again (spec edits are ignored);
- refusal: a BackupSchedule in the namespace neither Paused nor BackupCollision, or another Restore
  not Finished/FinishedWithErrors, ends it FinishedWithErrors for good;
- cleanupBeforeRestore must be valid (CleanupAll needs its confirm annotation); the BSL must be in the
  namespace, Available and owned, else Error (retried after 60 s);
- a pass of Velero restores (restore_passes.py); the phase follows them; sync restores (valid sync
  options, managed clusters ``skip``) end each pass Enabled and look for newer credentials or resources
  backups on every reconcile, requeued every restoreSyncInterval; ``latest`` managed clusters on an
  Enabled sync restore activates it;
- after the pass: cleanupBeforeRestore (restore_cleanup.py) at each Enabled transition and at Finished*,
  and post-restore activation (post_restore.py) once at Finished* when managed clusters were restored.
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
    BACKUP_CLUSTER_LABEL,
    BACKUP_NAMESPACE,
    BACKUP_SCHEDULES,
    BACKUP_STORAGE_LOCATIONS,
    RESTORE_FINALIZER,
    VELERO_BACKUPS,
    VELERO_RESTORES,
)
from .ops import MERGE, now_iso, patch_status
from .pod_gate import DeploymentGate
from .post_restore import activate_clusters
from .restore_cleanup import CLEANUP_OPTIONS, cleanup_delta
from .restore_passes import (
    SCHEDULE_PREFIX,
    STATUS_KEYS,
    PassError,
    Step,
    create_velero_restore,
    owned_velero_restores,
    plan_pass,
    velero_outcome,
)
from .restore_webhook import RestoreWebhook, sync_problem

__all__ = ["AcmRestoreController", "parse_duration"]

SYNC_MESSAGE = "Velero restores have run to completion, restore will continue to sync with new backups"
DONE_MESSAGE = "All Velero restores have run successfully"
PARTIAL_MESSAGE = "Velero restores have run to completion but encountered 1+ errors"
FINISHED = ("Finished", "FinishedWithErrors")
CLEANUP_ALL_CONFIRM = "cluster.open-cluster-management.io/restore-cleanup-all-confirmed"
BSL_MISSING = ("velero.io.BackupStorageLocation resources not found. Verify you have created a "
               "konveyor.openshift.io.Velero or oadp.openshift.io.DataProtectionApplications resource.")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|m|s)")
WAIT_REQUEUE = 10.0
ERROR_REQUEUE = 60.0


def parse_duration(text: str | None, default: float = 1800.0) -> float:
    """Go-style durations as restoreSyncInterval uses them: ``10m``, ``1h30m``, ``45s``; default 30m."""
    if not text:
        return default
    units = {"h": 3600.0, "m": 60.0, "s": 1.0}
    return sum(float(n) * units[u] for n, u in _DURATION.findall(text)) or default


def refusal_text(kind: str, name: str) -> str:
    return (f"This resource is ignored because {kind} resource {name} is currently active, before creating "
            "another resource verify that any active resources are removed.")


class AcmRestoreController:
    def __init__(self, hub: SimHub, world: SimWorld, *, on_activated: Callable[[SimHub], None],
                 operator: DeploymentGate | None = None) -> None:
        self.hub = hub
        self.operator = operator
        """The cluster-backup-operator's pod: no reconcile while it is gone (the queue waits)."""
        self.world = world
        self.store = hub.store
        self.version = hub.version
        self._on_activated = on_activated
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()
        self._timers: dict[str, tuple[float, asyncio.TimerHandle]] = {}

    # -- the work queue -------------------------------------------------------------------

    def _enqueue(self, name: str) -> None:
        if name not in self._queued:
            self._queued.add(name)
            self._queue.put_nowait(name)

    def _requeue(self, name: str, sim_seconds: float, *, real: float | None = None) -> None:
        """Reconcile ``name`` again after a while (the earliest pending requeue wins)."""
        loop = asyncio.get_running_loop()
        # Floored like cron periods, so that an instant profile does not turn a retry into a busy loop.
        delay = self.world.clock.cron_period(sim_seconds) if real is None else real
        when = loop.time() + delay
        pending = self._timers.get(name)
        if pending is not None and pending[0] <= when and not pending[1].cancelled():
            return
        if pending is not None:
            pending[1].cancel()

        def fire() -> None:
            self._timers.pop(name, None)
            self._enqueue(name)

        self._timers[name] = (when, loop.call_later(delay, fire))

    async def run(self) -> None:
        if self.version.restore_webhook:  # only 2.16+ hubs serve vrestore.kb.io
            self.store.add_admission(RestoreWebhook(self.store).admit)
        self.world.spawn(self._watch_restores(), f"sim:{self.hub.name}:restore:watch")
        self.world.spawn(self._watch_velero(), f"sim:{self.hub.name}:restore:velero")
        while True:
            name = await self._queue.get()
            if self.operator is not None:
                await self.operator.ready.wait()
            self._queued.discard(name)
            try:
                self._reconcile(name)
            except ApiError:  # as the operator does: the error is logged, the Restore tried again later
                self._requeue(name, ERROR_REQUEUE)
            await asyncio.sleep(0)  # one reconcile at a time, and the loop keeps breathing

    async def _watch_restores(self) -> None:
        with self.store.watch(ACM_RESTORES, BACKUP_NAMESPACE) as watch:
            async for kind, stored in watch:
                if kind == DELETED:
                    if not self.version.restore_finalizer:
                        self._collect_garbage(stored.obj["metadata"]["uid"])
                    continue
                self._enqueue(stored.name)

    async def _watch_velero(self) -> None:
        with self.store.watch(VELERO_RESTORES, BACKUP_NAMESPACE) as watch:
            async for _, stored in watch:
                for ref in stored.obj["metadata"].get("ownerReferences") or []:
                    if ref.get("kind") == "Restore" and ref.get("controller"):
                        self._enqueue(str(ref.get("name")))

    def _collect_garbage(self, uid: str) -> None:
        """≤ 2.13 there is no finalizer: the owned Velero restores go by ownerReference GC."""
        for velero in owned_velero_restores(self.store, uid):
            with contextlib.suppress(ApiError):
                self.store.delete(VELERO_RESTORES, BACKUP_NAMESPACE, velero.name)

    # -- one reconcile --------------------------------------------------------------------

    def _status(self, name: str, **status: Any) -> None:
        patch_status(self.store, ACM_RESTORES, BACKUP_NAMESPACE, name, status)

    def _reconcile(self, name: str) -> None:
        stored = self.store.find(ACM_RESTORES, BACKUP_NAMESPACE, name)
        if stored is None:
            return
        obj = stored.obj
        meta = obj["metadata"]
        if meta.get("deletionTimestamp"):
            self._finalize(stored)
            return
        finalizers = list(meta.get("finalizers") or [])
        if self.version.restore_finalizer and RESTORE_FINALIZER not in finalizers:
            with contextlib.suppress(ApiError):
                self.store.patch(ACM_RESTORES, BACKUP_NAMESPACE, name, MERGE,
                                 {"metadata": {"finalizers": [*finalizers, RESTORE_FINALIZER]}})
        status = obj.get("status") or {}
        phase = str(status.get("phase") or "")
        if phase in FINISHED:
            return  # never processed again
        refusal = self._refusal(meta["uid"])
        if refusal is not None:
            self._finish(name, "FinishedWithErrors", refusal)
            return
        spec = obj.get("spec") or {}
        cleanup = str(spec.get("cleanupBeforeRestore") or "None")
        if cleanup not in CLEANUP_OPTIONS:
            self._finish(name, "FinishedWithErrors", f"invalid CleanupBeforeRestore value : {cleanup}")
            return
        if cleanup == "CleanupAll" and (meta.get("annotations") or {}).get(CLEANUP_ALL_CONFIRM) != "true":
            self._finish(name, "FinishedWithErrors",
                         f"CleanupAll requires the annotation {CLEANUP_ALL_CONFIRM}: \"true\" on the Restore")
            return
        storage = self._storage_problem()
        if storage is not None:
            self._error(name, storage, sync=False)
            return
        if cleanup != "None" and phase == "":
            self._status(name, phase="Started", lastMessage="Prepare to restore, cleaning up resources")
            return  # the status write brings the next reconcile
        self._run_pass(stored, spec, status, phase)

    def _refusal(self, uid: str) -> str | None:
        for schedule in self.store.list(BACKUP_SCHEDULES, BACKUP_NAMESPACE).items:
            if (schedule.obj.get("status") or {}).get("phase") not in ("Paused", "BackupCollision"):
                return refusal_text("BackupSchedule", schedule.name)
        for other in self.store.list(ACM_RESTORES, BACKUP_NAMESPACE).items:
            if other.obj["metadata"]["uid"] == uid:
                continue
            if (other.obj["metadata"].get("deletionTimestamp")
                    or (other.obj.get("status") or {}).get("phase") not in FINISHED):
                return refusal_text("Restore", other.name)
        return None

    def _storage_problem(self) -> str | None:
        locations = self.store.list(BACKUP_STORAGE_LOCATIONS, BACKUP_NAMESPACE).items
        if not locations:
            return BSL_MISSING
        for bsl in locations:
            if (bsl.obj.get("status") or {}).get("phase") == "Available" and bsl.obj["metadata"].get(
                    "ownerReferences"):
                return None
        return (f"Backup storage location not available in namespace {BACKUP_NAMESPACE}. "
                "Check velero.io.BackupStorageLocation and validate storage credentials.")

    def _finish(self, name: str, phase: str, message: str, **extra: Any) -> None:
        self._status(name, phase=phase, lastMessage=message, completionTimestamp=now_iso(), **extra)

    def _error(self, name: str, message: str, *, sync: bool) -> None:
        if sync and self.version.enabled_with_errors:
            self._status(name, phase="EnabledWithErrors", lastMessage=message)
        elif self.version.unknown_phase:  # ≤ 2.16 also stamps completion on Error
            self._status(name, phase="Error", lastMessage=message, completionTimestamp=now_iso())
        else:
            self._status(name, phase="Error", lastMessage=message)
        self._requeue(name, ERROR_REQUEUE)

    # -- passes ---------------------------------------------------------------------------

    def _sync_interval(self, spec: dict[str, Any]) -> float:
        return self.world.clock.cron_period(parse_duration(spec.get("restoreSyncInterval")))

    def _restored_backup(self, restore: str, status: dict[str, Any], kind: str) -> str | None:
        """The backup the status's Velero restore of ``kind`` restored (its name is ``<restore>-<backup>``)."""
        velero = status.get(STATUS_KEYS[kind])
        if not velero or not str(velero).startswith(restore + "-"):
            return None
        return str(velero)[len(restore) + 1:]

    def _newer_passive_backup(self, restore: str, status: dict[str, Any]) -> bool:
        """r ``isNewBackupAvailable``: the newest credentials or resources backup is not the one restored."""
        backups = self.store.list(VELERO_BACKUPS, BACKUP_NAMESPACE).items
        for kind in ("credentials", "resources"):
            tracked = self._restored_backup(restore, status, kind)
            started = {b.name: str((b.obj.get("status") or {}).get("startTimestamp") or "") for b in backups}
            usable = [b for b in backups if b.name.startswith(SCHEDULE_PREFIX[kind] + "-")
                      and (b.obj.get("status") or {}).get("phase") in ("Completed", "PartiallyFailed")]
            if not usable:
                continue
            newest = max(usable, key=lambda b: (started[b.name], b.name))
            if newest.name != tracked and started[newest.name] >= started.get(tracked or "", ""):
                return True
        return False

    def _tracked(self, restore: dict[str, Any], status: dict[str, Any]) -> list[StoredObject]:
        owned = owned_velero_restores(self.store, restore["metadata"]["uid"])
        if self.version.unknown_phase:
            return owned  # ≤ 2.16: every owned Velero restore ever made
        names = {str(v) for k, v in status.items() if k in STATUS_KEYS.values() and v}
        names |= {f"{n}-active" for n in names}
        return [v for v in owned if v.name in names]

    def _run_pass(self, stored: StoredObject, spec: dict[str, Any], status: dict[str, Any], phase: str) -> None:
        obj = stored.obj
        name = stored.name
        problem = sync_problem(spec)
        sync = bool(spec.get("syncRestoreWithNewBackups")) and problem is None
        mc_choice = str(spec.get("veleroManagedClustersBackupName") or "skip")
        note = f" ; SyncRestoreWithNewBackups option is ignored because {problem}" if (
            spec.get("syncRestoreWithNewBackups") and problem) else ""
        enabled = phase == "Enabled" or (phase == "EnabledWithErrors" and self.version.enabled_with_errors)
        reuse: dict[str, str] = {}
        if enabled:
            if not sync:
                return
            if self._newer_passive_backup(name, status):
                pass  # a new passive pass (with MC latest: all six types)
            elif mc_choice == "latest" and not status.get(STATUS_KEYS["managedClusters"]):
                reuse = {k: b for k in ("credentials", "resources", "generic")
                         if (b := self._restored_backup(name, status, k)) is not None}
            else:
                self._requeue(name, 0, real=self._sync_interval(spec))
                if phase == "Enabled":
                    return  # while exactly Enabled the phase is not re-evaluated
                self._set_phase(name, status, self._tracked(obj, status), sync=sync, note=note, steps=None)
                return
            self._status(name, phase="Started", lastMessage=f"Restore {name} started")
        else:
            reuse = {k: b for k in ("credentials", "resources", "generic", "managedClusters")
                     if (b := self._restored_backup(name, status, k)) is not None}
        try:
            steps = plan_pass(self.store, obj, reuse=reuse)
        except PassError as exc:
            self._error(name, str(exc), sync=sync)
            return
        if not steps:
            self._finish(name, "Finished", f"Nothing to do for restore {name}")
            return
        names: dict[str, str] = {}
        created = False
        waiting: str | None = None
        for step in steps:
            if step.kind == "managedClusters":
                waiting = self._wait_before_clusters(steps)
                if waiting is not None:
                    break
            created |= create_velero_restore(self.store, obj, step)
            if step.kind in STATUS_KEYS:
                names[STATUS_KEYS[step.kind]] = step.name
        status = {**status, **names}
        if (names and any(status.get(k) != v for k, v in names.items())) or created:
            self._status(name, **names, **({} if enabled else {"phase": "Started",
                                                               "lastMessage": f"Restore {name} started"}))
        if waiting is not None:
            self._status(name, phase="Started", lastMessage=f"waiting for restore to complete {waiting}")
            self._requeue(name, WAIT_REQUEUE)
            return
        self._set_phase(name, status, self._tracked(obj, status), sync=sync, note=note, steps=steps)

    def _wait_before_clusters(self, steps: list[Step]) -> str | None:
        """rc ``processRestoreWait``: the MC restore waits until credentials-active is past New/InProgress."""
        active = next((s for s in steps if s.kind == "credentials-active"), None)
        if active is None:
            return None
        velero = self.store.find(VELERO_RESTORES, BACKUP_NAMESPACE, active.name)
        if velero is None or (velero.obj.get("status") or {}).get("phase") in (None, "", "New", "InProgress"):
            return active.name
        return None

    def _set_phase(self, name: str, status: dict[str, Any], tracked: list[StoredObject], *, sync: bool,
                   note: str, steps: list[Step] | None) -> None:
        outcome = velero_outcome(tracked, self.version)
        current = self.store.find(ACM_RESTORES, BACKUP_NAMESPACE, name)
        if current is None:
            return
        spec = current.obj.get("spec") or {}
        mc_choice = str(spec.get("veleroManagedClustersBackupName") or "skip")
        if outcome.phase == "Error":
            self._error(name, outcome.message + note, sync=sync)
            return
        if outcome.phase is not None:
            self._status(name, phase=outcome.phase, lastMessage=outcome.message + note)
            return
        restored = {k: b for k in STATUS_KEYS if (b := self._restored_backup(name, status, k)) is not None}
        if steps is not None:
            restored = {s.kind: s.backup for s in steps if s.kind in STATUS_KEYS}
        cleanup = str(spec.get("cleanupBeforeRestore") or "None")
        mc_restored = bool(status.get(STATUS_KEYS["managedClusters"]))
        if sync and mc_choice == "skip":
            if (current.obj.get("status") or {}).get("phase") != "Enabled":
                cleanup_delta(self.store, option=cleanup, restored=restored)
                self._status(name, phase="Enabled", lastMessage=SYNC_MESSAGE + note, completionTimestamp=now_iso())
            self._requeue(name, 0, real=self._sync_interval(spec))
            return
        cleanup_delta(self.store, option=cleanup, restored=restored)
        extra: dict[str, Any] = {}
        if mc_restored and mc_choice != "skip":
            mc_velero = str(status[STATUS_KEYS["managedClusters"]])
            mc_backup = mc_velero[len(name) + 1:]
            backup = self.store.find(VELERO_BACKUPS, BACKUP_NAMESPACE, mc_backup)
            record = self.world.storage.get(mc_backup)
            writer = ((backup.obj["metadata"].get("labels") or {}).get(BACKUP_CLUSTER_LABEL) if backup else None) or (
                record.cluster_id if record is not None else "unknown")
            extra["messages"] = activate_clusters(self.hub, restore=name, mc_backup=mc_backup,
                                                  backup_hub_id=str(writer))
            self._on_activated(self.hub)
        if outcome.partially_failed:
            self._finish(name, "FinishedWithErrors", PARTIAL_MESSAGE + note, **extra)
        else:
            self._finish(name, "Finished", DONE_MESSAGE + note, **extra)

    # -- deletion -------------------------------------------------------------------------

    def _finalize(self, stored: StoredObject) -> None:
        """r ``finalizeRestore``: delete the owned Velero restores, hold the finalizer until they are gone."""
        meta = stored.obj["metadata"]
        owned = owned_velero_restores(self.store, meta["uid"])
        for velero in owned:
            if not velero.obj["metadata"].get("deletionTimestamp"):
                with contextlib.suppress(ApiError):
                    self.store.delete(VELERO_RESTORES, BACKUP_NAMESPACE, velero.name)
        if owned:
            self._requeue(stored.name, WAIT_REQUEUE)
            return
        finalizers = [f for f in meta.get("finalizers") or [] if f != RESTORE_FINALIZER]
        with contextlib.suppress(ApiError):
            self.store.patch(ACM_RESTORES, BACKUP_NAMESPACE, stored.name, MERGE,
                             {"metadata": {"finalizers": finalizers or None}})
