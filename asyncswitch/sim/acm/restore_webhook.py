"""The Restore validating webhook ``vrestore.kb.io`` (2.16+, failurePolicy Fail; wh ``validateSyncMode``).

On create and on updates that change the spec of a sync Restore (``syncRestoreWithNewBackups``):
- invalid sync options are refused;
- managed clusters other than ``skip`` are refused unless the phase starts with "Enabled" or
  ``veleroManagedClustersRestoreName`` is set: a sync Restore cannot be created with ``latest``, and
  ``skip`` → ``latest`` is refused while the Restore is Started/Running (mid-resync) or Error.
A refusal is a 403 whose message starts ``admission webhook "vrestore.kb.io" denied the request:``.
"""

from __future__ import annotations

from typing import Any

from ..errors import Forbidden
from ..resources import ResourceType
from ..store import Store
from .kinds import ACM_RESTORES

__all__ = ["RestoreWebhook", "sync_problem"]

DENIED = 'admission webhook "vrestore.kb.io" denied the request: '


def sync_problem(spec: dict[str, Any]) -> str | None:
    """r ``isValidSyncOptions``: why the sync options are not valid, or None (also None without sync)."""
    if not spec.get("syncRestoreWithNewBackups"):
        return None
    names = [spec.get(k) for k in ("veleroManagedClustersBackupName", "veleroCredentialsBackupName",
                                   "veleroResourcesBackupName")]
    if any(n is None for n in names):
        return "Some Velero backup names are not set."
    if names[0] not in ("skip", "latest") or names[1] != "latest" or names[2] != "latest":
        return ("VeleroCredentialsBackupName and VeleroResourcesBackupName must be set to latest, and "
                "VeleroManagedClustersBackupName to skip or latest.")
    return None


class RestoreWebhook:
    def __init__(self, store: Store) -> None:
        self.store = store

    def admit(self, verb: str, rtype: ResourceType, obj: dict[str, Any]) -> None:
        if rtype.key != ACM_RESTORES.key or verb not in ("create", "update"):
            return
        spec = obj.get("spec") or {}
        if not spec.get("syncRestoreWithNewBackups"):
            return
        meta = obj.get("metadata") or {}
        old = self.store.find(ACM_RESTORES, meta.get("namespace"), str(meta.get("name")))
        if verb == "update" and old is not None and (old.obj.get("spec") or {}) == spec:
            return  # metadata or finalizer writes are not what the webhook is about
        problem = sync_problem(spec)
        if problem is not None:
            raise Forbidden(DENIED + "invalid sync restore: " + problem)
        if spec.get("veleroManagedClustersBackupName") == "skip":
            return
        status = (old.obj.get("status") or {}) if (old is not None and verb == "update") else {}
        if str(status.get("phase") or "").startswith("Enabled") or status.get("veleroManagedClustersRestoreName"):
            return
        raise Forbidden(DENIED + "VeleroManagedClustersBackupName can be set to latest on a sync restore only "
                        "when its phase is Enabled (cannot activate managed clusters while the restore is "
                        f"{status.get('phase') or 'being created'})")
