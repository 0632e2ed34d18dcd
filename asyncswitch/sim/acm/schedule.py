"""Simulated BackupSchedule controller (the cluster-backup operator's backup half) on one hub.

- While any ACM Restore exists on the hub, a schedule is FailedValidation and takes no backups.
- Paused (``spec.paused``) → phase Paused, no backups.
- Enabled → on each cron tick (scaled by the profile) one backup per type: credentials,
  resources, resources-generic, managed clusters, through the hub's Velero. A new schedule
  (a new uid) runs at once; an unpaused one runs when its next tick is due.
- Before each run: if the newest backup in storage came from another hub after this
  schedule's own last run (for a schedule that has not run yet: after the controller first
  saw it), the schedule goes BackupCollision and stops for good; only a new schedule
  (delete and create) clears it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime
from typing import Any

from ..errors import ApiError
from .context import SimHub, SimWorld
from .cron import cron_period_seconds
from .kinds import ACM_RESTORES, BACKUP_NAMESPACE, BACKUP_SCHEDULES, VELERO_BACKUPS, VELERO_SCHEDULES
from .ops import ensure, now_iso, patch, patch_status
from .velero import VeleroController

__all__ = ["VELERO_SCHEDULE_NAMES", "BackupScheduleController"]

# Velero Schedule name → ACM backup type.
VELERO_SCHEDULE_NAMES: dict[str, str] = {
    "acm-credentials-schedule": "credentials",
    "acm-resources-schedule": "resources",
    "acm-resources-generic-schedule": "generic",
    "acm-managed-clusters-schedule": "managedClusters",
}


def _epoch(timestamp: str | None) -> float:
    if not timestamp:
        return 0.0
    return datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


class BackupScheduleController:
    def __init__(self, hub: SimHub, world: SimWorld, velero: VeleroController) -> None:
        self.hub = hub
        self.world = world
        self.store = hub.store
        self.velero = velero
        self._wake = asyncio.Event()
        self._last_run: dict[str, float] = {}
        """Schedule uid → wall time of its last run (a new uid has none)."""
        self._first_seen: dict[str, float] = {}
        """Schedule uid → wall time the controller first saw it (creationTimestamp has whole seconds only)."""
        self._collided: set[str] = set()
        self._last_stamp = ""

    def adopt_run(self, uid: str, when: float) -> None:
        """Record a run made before the controller started (the seeded backups)."""
        self._last_run[uid] = when

    async def run(self) -> None:
        self.world.spawn(self._watch(BACKUP_SCHEDULES), f"sim:{self.hub.name}:schedule:watch")
        self.world.spawn(self._watch(ACM_RESTORES), f"sim:{self.hub.name}:schedule:restores")
        while True:
            self._wake.clear()
            delay = self.reconcile()
            try:
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def _watch(self, rtype: Any) -> None:
        with self.store.watch(rtype, BACKUP_NAMESPACE) as watch:
            async for _ in watch:
                self._wake.set()

    def reconcile(self) -> float | None:
        """Bring every schedule's status and Velero schedules in line; returns seconds to the next run."""
        schedules = self.store.list(BACKUP_SCHEDULES, BACKUP_NAMESPACE).items
        if not schedules:
            self._delete_velero_schedules()
            return None
        # Only unfinished Restores block a schedule, and a paused one not at all (facts §3.1 step 2).
        restores = [r for r in self.store.list(ACM_RESTORES, BACKUP_NAMESPACE).items
                    if r.obj["metadata"].get("deletionTimestamp")
                    or (r.obj.get("status") or {}).get("phase") not in ("Finished", "FinishedWithErrors")]
        next_due: float | None = None
        for stored in schedules:
            obj = stored.obj
            uid = obj["metadata"]["uid"]
            self._first_seen.setdefault(uid, time.time())
            spec = obj.get("spec") or {}
            status = obj.get("status") or {}
            if restores and not spec.get("paused"):
                name = restores[0].name
                self._set(stored.name, "FailedValidation",
                          f"Restore resource {BACKUP_NAMESPACE}/{name} is currently active. A BackupSchedule "
                          "cannot run while a Restore resource exists on the hub; delete the Restore resources.")
                self._delete_velero_schedules()
                continue
            if uid in self._collided:
                continue
            if spec.get("paused"):
                self._set(stored.name, "Paused", "BackupSchedule is paused.")
                self._ensure_velero_schedules(spec, paused=True)
                continue
            self._ensure_velero_schedules(spec, paused=False)
            period = self.world.clock.cron_period(cron_period_seconds(str(spec.get("veleroSchedule", ""))))
            last = self._last_run.get(uid)
            now = time.time()
            if last is not None and now < last + period:
                if status.get("phase") != "Enabled":
                    self._set(stored.name, "Enabled", "Velero schedules are enabled")
                wait = last + period - now
                next_due = wait if next_due is None else min(next_due, wait)
                continue
            collision = self._collision(obj, last)
            if collision:
                self._collided.add(uid)
                self._set(stored.name, "BackupCollision", collision)
                self._delete_velero_schedules()
                continue
            self._run_backups(stored.name, uid, spec)
            next_due = period if next_due is None else min(next_due, period)
        return next_due

    def _collision(self, schedule: dict[str, Any], last_run: float | None) -> str | None:
        newest = self.world.storage.newest()
        if newest is None or newest.cluster_id == self.hub.cluster_id:
            return None
        uid = schedule["metadata"]["uid"]
        since = last_run if last_run is not None else self._first_seen.get(
            uid, _epoch(schedule["metadata"].get("creationTimestamp")))
        if newest.created <= since:
            return None
        return (f"Backup {newest.name}, from cluster with id [{newest.cluster_id}] is using the same storage "
                f"location. This is a backup collision with current cluster [{self.hub.cluster_id}] backup. "
                "Review and resolve the collision then create a new BackupSchedule resource to resume backups "
                "from this cluster.")

    def _run_backups(self, name: str, uid: str, spec: dict[str, Any]) -> None:
        self._last_run[uid] = time.time()
        stamp = self._stamp()
        use_msa = bool(spec.get("useManagedServiceAccount"))
        for schedule, backup_type in VELERO_SCHEDULE_NAMES.items():
            self.velero.request_backup(schedule=schedule, backup_type=backup_type, stamp=stamp, use_msa=use_msa)
            patch_status(self.store, VELERO_SCHEDULES, BACKUP_NAMESPACE, schedule,
                         {"lastBackup": now_iso(), "phase": "Enabled"})
        self._set(name, "Enabled", "Velero schedules are enabled", lastBackupTime=now_iso())

    def _stamp(self) -> str:
        """A UTC YYYYMMDDHHMMSS stamp, one second past the last when runs come faster than that, and
        past any stamp whose backups this hub already lists (time is compressed here, and a run must
        not reuse the name of a backup the other hub wrote in the same second)."""
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        while stamp <= self._last_stamp or any(
                self.store.find(VELERO_BACKUPS, BACKUP_NAMESPACE, f"{schedule}-{stamp}") is not None
                for schedule in VELERO_SCHEDULE_NAMES):
            last = datetime.strptime(max(stamp, self._last_stamp), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
            stamp = datetime.fromtimestamp(last.timestamp() + 1, UTC).strftime("%Y%m%d%H%M%S")
        self._last_stamp = stamp
        return stamp

    def _set(self, name: str, phase: str, message: str, **extra: Any) -> None:
        patch_status(self.store, BACKUP_SCHEDULES, BACKUP_NAMESPACE, name,
                     {"phase": phase, "lastMessage": message, **extra})

    def _ensure_velero_schedules(self, spec: dict[str, Any], *, paused: bool) -> None:
        for schedule, backup_type in VELERO_SCHEDULE_NAMES.items():
            try:
                ensure(self.store, VELERO_SCHEDULES, {
                    "apiVersion": "velero.io/v1", "kind": "Schedule",
                    "metadata": {"name": schedule, "namespace": BACKUP_NAMESPACE,
                                 "labels": {"cluster.open-cluster-management.io/backup-schedule-type": backup_type}},
                    "spec": {"schedule": spec.get("veleroSchedule", ""), "paused": paused,
                             "template": {"ttl": spec.get("veleroTtl", "120h0m0s")}},
                })
            except ApiError:
                return
            patch(self.store, VELERO_SCHEDULES, BACKUP_NAMESPACE, schedule, {"spec": {"paused": paused}})
            patch_status(self.store, VELERO_SCHEDULES, BACKUP_NAMESPACE, schedule,
                         {"phase": "Enabled"})

    def _delete_velero_schedules(self) -> None:
        for schedule in VELERO_SCHEDULE_NAMES:
            with contextlib.suppress(ApiError):
                self.store.delete(VELERO_SCHEDULES, BACKUP_NAMESPACE, schedule)
