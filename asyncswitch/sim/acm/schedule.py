"""Simulated BackupSchedule controller (the cluster-backup operator's backup half) on one hub.

Each pass follows the operator's reconcile order (facts §3.1):

1. BackupCollision is final: the schedule is ignored until deleted and created again.
2. Unpaused while a Restore is not Finished/FinishedWithErrors → FailedValidation (retry 60 s).
3. No Available BackupStorageLocation with an owner (the DPA) → FailedValidation (also paused).
4. useManagedServiceAccount without the managed-serviceaccount component → FailedValidation.
5. A cron robfig/cron refuses → FailedValidation "invalid schedule: …".
6. Paused → Paused; the Velero Schedules are deleted (≤ 2.14) or paused (2.15+).
7. Collision check (facts §3.3) once the Velero Schedules exist, are over 5 s old and the
   phase is past New.
8. No Velero Schedules → the five are created, with one Backup each at once under one stamp → New.
9. Fewer than five → all deleted, New (the next pass creates them).
10. Changed cron, TTL or pause are pushed into the Velero Schedules.
11. The phase follows the Velero Schedules' (Enabled when all are); requeue every 5 minutes.

Passes run on a BackupSchedule's creation, deletion or generation change, on any change of a
Velero Schedule (OADP's Schedule CRD has no status subresource) and on the requeue timers,
all scaled by the profile. Velero Schedules belong to their BackupSchedule by ownerReference;
the controller also plays the garbage collector that deletes them with their owner.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from datetime import UTC, datetime
from typing import Any

from ..errors import ApiError
from ..store import DELETED, StoredObject
from .context import SimHub, SimWorld
from .cron import cron_error, cron_period_seconds, format_duration
from .identity import hub_id
from .kinds import (
    ACM_RESTORES,
    BACKUP_CLUSTER_LABEL,
    BACKUP_NAMESPACE,
    BACKUP_SCHEDULE_NAME_LABEL,
    BACKUP_SCHEDULES,
    BACKUP_STORAGE_LOCATIONS,
    MARKER_PREFIX,
    RESTORE_CLUSTER_LABEL,
    SCHEDULE_TYPE_LABEL,
    VELERO_BACKUPS,
    VELERO_SCHEDULE_LABEL,
    VELERO_SCHEDULE_TYPES,
    VELERO_SCHEDULES,
)
from .ops import MERGE, patch_status
from .pod_gate import DeploymentGate
from .stamps import free_stamp
from .velero import VeleroController
from .velero_schedules import backup_from_schedule

__all__ = ["VELERO_SCHEDULE_NAMES", "BackupScheduleController"]

VELERO_SCHEDULE_NAMES: dict[str, str] = {
    "acm-credentials-schedule": "credentials",
    "acm-resources-schedule": "resources",
    "acm-resources-generic-schedule": "generic",
    "acm-managed-clusters-schedule": "managedClusters",
}
"""The Velero Schedules whose backups a Restore restores → the simulator's backup type (the fifth,
acm-validation-policy-schedule, is in kinds.VELERO_SCHEDULE_TYPES)."""

RESOURCES_SCHEDULE = "acm-resources-schedule"
COLLISION_INTERVAL = 300.0
"""collisionControlInterval: simulated seconds between passes of an Enabled schedule."""
RETRY = 60.0
"""Simulated seconds before a FailedValidation for a Restore or the storage location is retried."""
MIN_AGE = 5.0
"""Simulated seconds the Velero Schedules must exist before the collision check runs."""
VALIDATION_EXTRA = 300.0
"""The validation backup lives one cron period plus this long."""
MSA_CRD = "managedserviceaccounts.authentication.open-cluster-management.io"

ENABLED_MESSAGE = "Velero schedules are enabled"
INITIALIZED_MESSAGE = "Velero schedules are initialized"
PAUSED_MESSAGE = "BackupSchedule is paused."
MSA_MESSAGE = "UseManagedServiceAccount option cannot be used, managedserviceaccount component is not enabled"
NO_BSL_MESSAGE = ("velero.io.BackupStorageLocation resources not found. Verify you have created a "
                  "konveyor.openshift.io.Velero or oadp.openshift.io.DataProtectionApplications resource.")
STATUS_COPIES = {"acm-managed-clusters-schedule": "veleroScheduleManagedClusters",
                 "acm-resources-schedule": "veleroScheduleResources",
                 "acm-credentials-schedule": "veleroScheduleCredentials"}
_RESOLVE = ("Review and resolve the collision then create a new BackupSchedule resource to resume backups "
            "from this cluster.")


def _epoch(timestamp: str | None) -> float:
    if not timestamp:
        return 0.0
    return datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def _phase(obj: dict[str, Any]) -> str:
    return str((obj.get("status") or {}).get("phase") or "")


def _labels(obj: dict[str, Any]) -> dict[str, str]:
    return dict(obj["metadata"].get("labels") or {})


class BackupScheduleController:
    def __init__(self, hub: SimHub, world: SimWorld, velero: VeleroController,
                 operator: DeploymentGate | None = None) -> None:
        self.hub = hub
        self.operator = operator
        """The cluster-backup-operator's pod: no reconcile while it is gone."""
        self.world = world
        self.store = hub.store
        self.velero = velero
        self._wake = asyncio.Event()
        self._generations: dict[str, int] = {}
        """BackupSchedule uid → the generation last seen (status writes do not trigger a pass)."""
        self._due: dict[str, float] = {}
        """BackupSchedule uid → loop time of its requeue."""
        self._created: dict[str, float] = {}
        """Velero Schedule uid → wall time this controller created it (creationTimestamp has whole seconds)."""
        self._last_stamp = ""

    async def run(self) -> None:
        self.world.spawn(self._watch_schedules(), f"sim:{self.hub.name}:schedule:watch")
        self.world.spawn(self._watch_velero_schedules(), f"sim:{self.hub.name}:schedule:velero")
        loop = asyncio.get_running_loop()
        while True:
            if self.operator is not None:
                await self.operator.ready.wait()
            self._wake.clear()
            self._reconcile_all()
            due = min(self._due.values(), default=math.inf)
            delay = None if due == math.inf else max(0.0, due - loop.time())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    async def _watch_schedules(self) -> None:
        with self.store.watch(BACKUP_SCHEDULES, BACKUP_NAMESPACE) as watch:
            async for kind, stored in watch:
                meta = stored.obj["metadata"]
                generation = int(meta.get("generation") or 0)
                if kind == DELETED:
                    self._generations.pop(meta["uid"], None)
                    self._wake.set()
                elif self._generations.get(meta["uid"]) != generation:
                    self._generations[meta["uid"]] = generation
                    self._wake.set()

    async def _watch_velero_schedules(self) -> None:
        with self.store.watch(VELERO_SCHEDULES, BACKUP_NAMESPACE) as watch:
            async for _ in watch:
                self._wake.set()

    # -- the passes -----------------------------------------------------------------------

    def _reconcile_all(self) -> None:
        schedules = [s for s in self.store.list(BACKUP_SCHEDULES, BACKUP_NAMESPACE).items
                     if not s.obj["metadata"].get("deletionTimestamp")]
        self._collect_orphans({s.obj["metadata"]["uid"] for s in schedules})
        loop = asyncio.get_running_loop()
        self._due = {}
        for stored in schedules:
            requeue = self._reconcile(stored)
            if requeue is not None:
                self._due[stored.obj["metadata"]["uid"]] = loop.time() + (
                    0.0 if requeue == 0 else self.world.clock.cron_period(requeue))

    def _reconcile(self, stored: StoredObject) -> float | None:
        """One pass over one BackupSchedule; returns simulated seconds to its requeue (None: none)."""
        obj, name = stored.obj, stored.name
        spec = obj.get("spec") or {}
        phase = _phase(obj)
        if phase == "BackupCollision":
            return None
        paused = bool(spec.get("paused"))
        if not paused:
            active = self._active_restore()
            if active is not None:
                self._set(name, "FailedValidation", f"Restore resource {active} is currently active, verify that "
                          "any active restores are removed.")
                return RETRY
        storage_problem = self._storage_problem()
        if storage_problem:
            self._set(name, "FailedValidation", storage_problem)
            return RETRY
        if spec.get("useManagedServiceAccount") and not self._msa_enabled():
            self._set(name, "FailedValidation", MSA_MESSAGE)
            return None
        cron = str(spec.get("veleroSchedule") or "")
        error = cron_error(cron)
        if error:
            self._set(name, "FailedValidation", f"invalid schedule: {error}")
            return None
        owned = self._owned(name)
        if paused:
            self._stop(owned)
            self._set(name, "Paused", PAUSED_MESSAGE)
            return None
        if owned and self._old_enough(owned[0]) and phase not in ("", "New"):
            collision = self._collision(owned[0])
            if collision:
                self._stop(owned)
                self._set(name, "BackupCollision", collision)
                return None
        if not owned:
            try:
                self._create_velero_schedules(obj)
            except ApiError as exc:
                self._set(name, "Failed", f"Velero schedules initialization failed: {exc}")
                return RETRY
            self._set(name, "New", INITIALIZED_MESSAGE)
            return COLLISION_INTERVAL
        if len(owned) < len(VELERO_SCHEDULE_TYPES):
            for schedule in owned:
                with contextlib.suppress(ApiError):
                    self.store.delete(VELERO_SCHEDULES, BACKUP_NAMESPACE, schedule.name)
            self._set(name, "New", INITIALIZED_MESSAGE)
            return 0
        self._push(owned, spec)
        phases = [_phase(s.obj) for s in owned]
        if "" in phases:
            self._set(name, "Unknown", None, owned)
        elif "New" in phases:
            self._set(name, "New", None, owned)
        elif "FailedValidation" in phases:
            self._set(name, "FailedValidation", None, owned)
        else:
            self._set(name, "Enabled", ENABLED_MESSAGE, owned)
        return COLLISION_INTERVAL

    # -- validation -----------------------------------------------------------------------

    def _active_restore(self) -> str | None:
        for restore in self.store.list(ACM_RESTORES, BACKUP_NAMESPACE).items:
            if _phase(restore.obj) not in ("Finished", "FinishedWithErrors"):
                return restore.name
        return None

    def _storage_problem(self) -> str | None:
        locations = self.store.list(BACKUP_STORAGE_LOCATIONS, BACKUP_NAMESPACE).items
        if not locations:
            return NO_BSL_MESSAGE
        if not any(_phase(b.obj) == "Available" and b.obj["metadata"].get("ownerReferences") for b in locations):
            return (f"Backup storage location not available in namespace {BACKUP_NAMESPACE}. "
                    "Check velero.io.BackupStorageLocation and validate storage credentials.")
        return None

    def _msa_enabled(self) -> bool:
        crds = self.store.type_of("customresourcedefinitions", "apiextensions.k8s.io")
        return self.store.find(crds, None, MSA_CRD) is not None

    # -- Velero Schedules -----------------------------------------------------------------

    def _owned(self, name: str) -> list[StoredObject]:
        """The Velero Schedules whose owner is a BackupSchedule of this name, in list order."""
        return [s for s in self.store.list(VELERO_SCHEDULES, BACKUP_NAMESPACE).items
                if any(ref.get("kind") == "BackupSchedule" and ref.get("name") == name
                       for ref in s.obj["metadata"].get("ownerReferences") or [])]

    def _collect_orphans(self, live: set[str]) -> None:
        """The garbage collector's part: Velero Schedules whose owning BackupSchedule is gone go too."""
        for schedule in self.store.list(VELERO_SCHEDULES, BACKUP_NAMESPACE).items:
            owners = [r for r in schedule.obj["metadata"].get("ownerReferences") or []
                      if r.get("kind") == "BackupSchedule"]
            if owners and not any(r.get("uid") in live for r in owners):
                with contextlib.suppress(ApiError):
                    self.store.delete(VELERO_SCHEDULES, BACKUP_NAMESPACE, schedule.name)
                self._created.pop(schedule.obj["metadata"]["uid"], None)

    def _desired(self, spec: dict[str, Any], schedule: str) -> tuple[str, str | None]:
        """(cron, TTL) of one Velero Schedule; the validation backup lives a cron period plus 5 minutes."""
        cron = str(spec.get("veleroSchedule") or "")
        if VELERO_SCHEDULE_TYPES[schedule] == "validation":
            return cron, format_duration(cron_period_seconds(cron) + VALIDATION_EXTRA)
        ttl = spec.get("veleroTtl")
        return cron, str(ttl) if ttl else None

    def _create_velero_schedules(self, owner: dict[str, Any]) -> None:
        meta, spec = owner["metadata"], owner.get("spec") or {}
        labels = {BACKUP_CLUSTER_LABEL: hub_id(self.store), BACKUP_SCHEDULE_NAME_LABEL: meta["name"]}
        reference = {"apiVersion": owner.get("apiVersion", "cluster.open-cluster-management.io/v1beta1"),
                     "kind": "BackupSchedule", "name": meta["name"], "uid": meta["uid"],
                     "controller": True, "blockOwnerDeletion": True}
        created: list[dict[str, Any]] = []
        for schedule, schedule_type in VELERO_SCHEDULE_TYPES.items():
            cron, ttl = self._desired(spec, schedule)
            stored = self.store.create(VELERO_SCHEDULES, BACKUP_NAMESPACE, {
                "apiVersion": "velero.io/v1", "kind": "Schedule",
                "metadata": {"name": schedule, "namespace": BACKUP_NAMESPACE,
                             "labels": {**labels, SCHEDULE_TYPE_LABEL: schedule_type},
                             "ownerReferences": [reference]},
                "spec": {"schedule": cron, "paused": False, "useOwnerReferencesInBackup": False,
                         "template": {"includedNamespaces": ["*"], "storageLocation": "default",
                                      **({"ttl": ttl} if ttl else {})}},
            })
            self._created[stored.obj["metadata"]["uid"]] = time.time()
            created.append(stored.obj)
        if spec.get("noBackupOnStart") or spec.get("skipImmediately"):
            return
        # The first backup of every schedule at once, all under one stamp (facts §3.4).
        self._last_stamp = free_stamp(self.store, VELERO_SCHEDULE_TYPES, self._last_stamp)
        for made in created:
            with contextlib.suppress(ApiError):
                self.store.create(VELERO_BACKUPS, BACKUP_NAMESPACE, backup_from_schedule(made, self._last_stamp))

    def _stop(self, owned: list[StoredObject]) -> None:
        """Pause and collision: delete the Velero Schedules (≤ 2.14) or pause them (2.15+)."""
        for schedule in owned:
            with contextlib.suppress(ApiError):
                if self.hub.version.pause_deletes_velero_schedules:
                    self.store.delete(VELERO_SCHEDULES, BACKUP_NAMESPACE, schedule.name)
                elif not (schedule.obj.get("spec") or {}).get("paused"):
                    self.store.patch(VELERO_SCHEDULES, BACKUP_NAMESPACE, schedule.name, MERGE,
                                     {"spec": {"paused": True}})

    def _push(self, owned: list[StoredObject], spec: dict[str, Any]) -> None:
        for schedule in owned:
            if schedule.name not in VELERO_SCHEDULE_TYPES:
                continue
            cron, ttl = self._desired(spec, schedule.name)
            current = schedule.obj.get("spec") or {}
            template = current.get("template") or {}
            if current.get("schedule") == cron and template.get("ttl") == ttl and not current.get("paused"):
                continue
            with contextlib.suppress(ApiError):  # a null ttl removes it (merge patch)
                self.store.patch(VELERO_SCHEDULES, BACKUP_NAMESPACE, schedule.name, MERGE, {
                    "spec": {"schedule": cron, "paused": False, "template": {"ttl": ttl}}})

    def _old_enough(self, schedule: StoredObject) -> bool:
        created = self._created.get(schedule.obj["metadata"]["uid"]) or _epoch(
            schedule.obj["metadata"].get("creationTimestamp"))
        # Scaled like a cron period: in the instant profile 5 s would be no time at all, and the passes
        # that Velero's first status writes trigger would check before the first backups started.
        return time.time() - created > self.world.clock.cron_period(MIN_AGE)

    # -- collision ------------------------------------------------------------------------

    def _started(self, backup: StoredObject) -> float:
        """When a backup started (0 if not yet: it sorts oldest, as in the operator)."""
        precise = self.velero.started_at(backup.name)
        if precise is not None:
            return precise
        return _epoch((backup.obj.get("status") or {}).get("startTimestamp"))

    def _marker_time(self, marker: StoredObject) -> float:
        """When an activation marker was made: its start, or its creation while Velero has not run it."""
        return self._started(marker) or _epoch(marker.obj["metadata"].get("creationTimestamp"))

    def _collision(self, first: StoredObject) -> str | None:
        """facts §3.3: (a) the newest resources backup came from another hub, unless (2.17+) this hub ran
        the latest activation after it; else (b) another hub's activation marker is newer than the Velero
        Schedules."""
        me = hub_id(self.store)
        markers = [b for b in self.store.list(VELERO_BACKUPS, BACKUP_NAMESPACE,
                                              label_selector=RESTORE_CLUSTER_LABEL).items
                   if _phase(b.obj) != "Deleting"]
        newest_marker = max(markers, key=self._marker_time, default=None)
        resources = [b for b in self.store.list(VELERO_BACKUPS, BACKUP_NAMESPACE,
                                                label_selector=f"{VELERO_SCHEDULE_LABEL}={RESOURCES_SCHEDULE}").items
                     if _phase(b.obj) != "Deleting"]
        newest = max(resources, key=self._started, default=None)
        if newest is not None:
            other = _labels(newest.obj).get(BACKUP_CLUSTER_LABEL, "")
            if other and other != me:
                failback = (self.hub.version.failback_exception and newest_marker is not None
                            and newest_marker.name.startswith(MARKER_PREFIX)
                            and _labels(newest_marker.obj).get(RESTORE_CLUSTER_LABEL) == me
                            and self._marker_time(newest_marker) > self._started(newest))
                if not failback:
                    return (f"Backup {newest.name}, from cluster with id [{other}] is using the same storage "
                            f"location. This is a backup collision with current cluster [{me}] backup. {_RESOLVE}")
                return None
        if newest_marker is not None:
            restorer = _labels(newest_marker.obj).get(RESTORE_CLUSTER_LABEL, "")
            schedule_created = self._created.get(first.obj["metadata"]["uid"]) or _epoch(
                first.obj["metadata"].get("creationTimestamp"))
            if restorer and restorer != me and self._marker_time(newest_marker) > schedule_created:
                return (f"Hub with id [{restorer}] had run a restore managed cluster operation, see "
                        f"[{newest_marker.name}]. This is a backup collision with current cluster [{me}] backup. "
                        f"{_RESOLVE}")
        return None

    # -- status ---------------------------------------------------------------------------

    def _set(self, name: str, phase: str, message: str | None, owned: list[StoredObject] | None = None) -> None:
        status: dict[str, Any] = {"phase": phase}
        if message is not None:
            status["lastMessage"] = message
        for schedule in owned or ():
            field = STATUS_COPIES.get(schedule.name)
            if field:
                status[field] = schedule.to_dict()
        patch_status(self.store, BACKUP_SCHEDULES, BACKUP_NAMESPACE, name, status)
