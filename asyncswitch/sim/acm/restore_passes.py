"""One pass of an ACM Restore: which Velero restores it makes, and the phase they give it (facts §1.2, §1.4).

- Order: credentials, resources, generic, generic-active, credentials-active, managed-clusters;
  ``skip`` omits a type, managed clusters ``skip`` omits both ``-active`` types, which take the
  credentials/resources choice (so credentials = resources = ``skip`` makes only the MC restore).
- ``latest`` = the newest Completed or PartiallyFailed Velero Backup by startTimestamp whose name
  starts with the type's schedule name; generic takes the resources backup's timestamp suffix, else
  one started within ±30 s, else is skipped.
- Names ``<acm-restore>-<backup>`` (``-active`` for the activation twins), the backup-cluster label
  copied from the backup, a controller ownerReference to the ACM Restore.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..errors import AlreadyExists
from ..store import Store, StoredObject
from .kinds import BACKUP_CLUSTER_LABEL, BACKUP_LABEL, BACKUP_NAMESPACE, VELERO_BACKUPS, VELERO_RESTORES
from .versions import AcmVersion

__all__ = [
    "STATUS_KEYS",
    "PassError",
    "Step",
    "VeleroOutcome",
    "create_velero_restore",
    "owned_velero_restores",
    "plan_pass",
    "velero_outcome",
]

SCHEDULE_PREFIX = {
    "credentials": "acm-credentials-schedule",
    "resources": "acm-resources-schedule",
    "generic": "acm-resources-generic-schedule",
    "managedClusters": "acm-managed-clusters-schedule",
}
STATUS_KEYS = {
    "credentials": "veleroCredentialsRestoreName",
    "resources": "veleroResourcesRestoreName",
    "generic": "veleroGenericResourcesRestoreName",
    "managedClusters": "veleroManagedClustersRestoreName",
}
"""Restore status fields naming the Velero restores (there is none for the ``-active`` twins)."""
ORDER = ("credentials", "resources", "generic", "generic-active", "credentials-active", "managedClusters")
USABLE = ("Completed", "PartiallyFailed")
TERMINAL = ("Completed", "PartiallyFailed", "Failed", "FailedValidation")


class PassError(Exception):
    """A pass cannot be made (no backups, a named backup missing): the Restore goes Error."""


@dataclass(frozen=True)
class Step:
    """One Velero restore of a pass."""

    kind: str
    """credentials, resources, generic, generic-active, credentials-active or managedClusters."""
    backup: str
    name: str


def _epoch(text: str | None) -> float:
    if not text:
        return 0.0
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def _started(backup: StoredObject) -> float:
    return _epoch((backup.obj.get("status") or {}).get("startTimestamp"))


def _latest(backups: list[StoredObject], prefix: str) -> StoredObject | None:
    usable = [b for b in backups if b.name.startswith(prefix + "-")
              and (b.obj.get("status") or {}).get("phase") in USABLE]
    return max(usable, key=lambda b: (_started(b), b.name)) if usable else None


def _resolve(backups: list[StoredObject], kind: str, choice: str) -> StoredObject:
    if choice == "latest":
        if not backups:
            raise PassError("no velero backups found")
        found = _latest(backups, SCHEDULE_PREFIX[kind])
        if found is None:
            raise PassError("no backups found")
        return found
    named = next((b for b in backups if b.name == choice), None)
    if named is None:
        raise PassError(f'cannot find {choice} Velero Backup: backups.velero.io "{choice}" not found')
    return named


def _generic_for(backups: list[StoredObject], resources: StoredObject) -> StoredObject | None:
    suffix = resources.name.rsplit("-", 1)[-1]
    prefix = SCHEDULE_PREFIX["generic"]
    same = next((b for b in backups if b.name == f"{prefix}-{suffix}"), None)
    if same is not None:
        return same
    near = [b for b in backups if b.name.startswith(prefix + "-") and abs(_started(b) - _started(resources)) <= 30]
    return max(near, key=_started) if near else None


def plan_pass(store: Store, restore: dict[str, Any], *, reuse: dict[str, str]) -> list[Step]:
    """The Velero restores of this Restore's pass, in the operator's order.

    ``reuse`` maps a type to the backup an earlier reconcile of the same pass already chose (a
    pass is not re-resolved half way); the others are resolved now.
    """
    spec = restore.get("spec") or {}
    name = restore["metadata"]["name"]
    choices = {
        "credentials": str(spec.get("veleroCredentialsBackupName") or "skip"),
        "resources": str(spec.get("veleroResourcesBackupName") or "skip"),
        "managedClusters": str(spec.get("veleroManagedClustersBackupName") or "skip"),
    }
    backups = store.list(VELERO_BACKUPS, BACKUP_NAMESPACE).items
    chosen: dict[str, str] = {}
    for kind in ("credentials", "resources", "managedClusters"):
        if kind in reuse:
            chosen[kind] = reuse[kind]
        elif choices[kind] != "skip":
            chosen[kind] = _resolve(backups, kind, choices[kind]).name
    if "resources" in chosen:
        if "generic" in reuse:
            chosen["generic"] = reuse["generic"]
        else:
            resources = next((b for b in backups if b.name == chosen["resources"]), None)
            generic = _generic_for(backups, resources) if resources is not None else None
            if generic is not None:
                chosen["generic"] = generic.name
    steps = []
    for kind in ORDER:
        base = kind.removesuffix("-active")
        if kind.endswith("-active") and "managedClusters" not in chosen:
            continue  # MC skip: no activation twins
        if base in chosen:
            suffix = "-active" if kind.endswith("-active") else ""
            steps.append(Step(kind, chosen[base], f"{name}-{chosen[base]}{suffix}"[:252]))
    return steps


def create_velero_restore(store: Store, restore: dict[str, Any], step: Step) -> bool:
    """Create the Velero restore of ``step`` (AlreadyExists counts as done); True if it was created now."""
    meta = restore["metadata"]
    backup = store.find(VELERO_BACKUPS, BACKUP_NAMESPACE, step.backup)
    labels = {}
    if backup is not None and BACKUP_CLUSTER_LABEL in (backup.obj["metadata"].get("labels") or {}):
        labels[BACKUP_CLUSTER_LABEL] = backup.obj["metadata"]["labels"][BACKUP_CLUSTER_LABEL]
    spec: dict[str, Any] = {"backupName": step.backup, "existingResourcePolicy": "update"}
    if step.kind in ("credentials", "generic"):
        spec["labelSelector"] = {"matchExpressions": [
            {"key": BACKUP_LABEL, "operator": "NotIn", "values": ["cluster-activation"]}]}
    elif step.kind.endswith("-active"):
        spec["labelSelector"] = {"matchExpressions": [
            {"key": BACKUP_LABEL, "operator": "In", "values": ["cluster-activation"]}]}
    if step.kind != "credentials":
        spec["includeClusterResources"] = True
    try:
        store.create(VELERO_RESTORES, BACKUP_NAMESPACE, {
            "apiVersion": "velero.io/v1", "kind": "Restore",
            "metadata": {"name": step.name, "namespace": BACKUP_NAMESPACE, "labels": labels,
                         "ownerReferences": [{
                             "apiVersion": "cluster.open-cluster-management.io/v1beta1", "kind": "Restore",
                             "name": meta["name"], "uid": meta["uid"], "controller": True,
                             "blockOwnerDeletion": True}]},
            "spec": spec,
        })
    except AlreadyExists:
        return False
    return True


def owned_velero_restores(store: Store, uid: str) -> list[StoredObject]:
    """The Velero restores whose controller ownerReference is the ACM Restore ``uid``, in list order."""
    return [v for v in store.list(VELERO_RESTORES, BACKUP_NAMESPACE).items
            if any(ref.get("uid") == uid for ref in v.obj["metadata"].get("ownerReferences") or [])]


@dataclass(frozen=True)
class VeleroOutcome:
    """What the tracked Velero restores say (r ``setRestorePhase``): a deciding phase and message, or done."""

    phase: str | None
    """Started, Running, Unknown or Error while one decides; None when all are terminal."""
    message: str
    partially_failed: bool = False


def velero_outcome(tracked: list[StoredObject], version: AcmVersion) -> VeleroOutcome:
    partially = False
    for velero in tracked:
        phase = str((velero.obj.get("status") or {}).get("phase") or "")
        if phase == "":
            if version.unknown_phase:
                return VeleroOutcome("Unknown", f"Unknown status for Velero restore {velero.name}")
            return VeleroOutcome("Started", f"Velero restore {velero.name} has started")
        if phase == "New":
            return VeleroOutcome("Started", f"Velero restore {velero.name} has started")
        if phase == "InProgress":
            return VeleroOutcome("Running", f"Velero restore {velero.name} is currently executing")
        if phase in ("Failed", "FailedValidation"):
            return VeleroOutcome("Error", f"Velero restore {velero.name} has failed validation or encountered errors")
        if "PartiallyFailed" in phase:
            partially = True
    return VeleroOutcome(None, "", partially_failed=partially)
