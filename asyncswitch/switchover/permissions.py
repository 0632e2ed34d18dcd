"""What a switchover will do on each hub, as one table: the RBAC preflight asks exactly this.

Each row is (hub role, verb, resource, namespace, when): the role is "primary" (the old hub) or
"secondary" (the new one); ``when`` says for which options the row applies, and ``acm`` for which ACM
version of the old hub (2.11 deletes the BackupSchedule where later releases pause it). A watch-based wait needs
list and watch; the table says both. Cluster-scoped resources have no namespace.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..kube import (
    ACM_RESTORES,
    ARGO_APPLICATIONS,
    BACKUP_SCHEDULES,
    BACKUP_STORAGE_LOCATIONS,
    CLUSTER_DEPLOYMENTS,
    CLUSTER_VERSIONS,
    CONFIG_MAPS,
    DATA_PROTECTION_APPLICATIONS,
    DEPLOYMENTS,
    LEASES,
    MANAGED_CLUSTERS,
    MULTICLUSTER_HUBS,
    MULTICLUSTER_OBSERVABILITIES,
    NAMESPACES,
    PODS,
    SECRETS,
    STATEFUL_SETS,
    VELERO_BACKUPS,
    VELERO_RESTORES,
    VELERO_SCHEDULES,
    Resource,
)
from .facts import version_at_least
from .names import ACM_NAMESPACE, BACKUP_NAMESPACE, MCE_NAMESPACE, OBSERVABILITY_NAMESPACE
from .options import ActivationMethod, ArgocdMode, Method, OldHubAction, SwitchoverOptions

__all__ = ["PERMISSIONS", "READ_VERBS", "Permission", "required_permissions"]

READ_VERBS = frozenset({"get", "list", "watch"})
"""The verbs that change nothing: all a --validate-only or --dry-run run needs."""

When = Callable[[SwitchoverOptions], bool]


def _always(_: SwitchoverOptions) -> bool:
    return True


def _passive_patch(o: SwitchoverOptions) -> bool:
    return o.method is Method.PASSIVE and o.activation_method is ActivationMethod.PATCH


def _creates_restore(o: SwitchoverOptions) -> bool:
    return not _passive_patch(o)


def _old_hub(*actions: OldHubAction) -> When:
    return lambda o: o.old_hub_action in actions


@dataclass(frozen=True)
class Permission:
    role: str
    """primary (the old hub) or secondary (the new hub)."""
    verb: str
    resource: Resource
    namespace: str | None
    why: str
    when: When = _always
    acm: Callable[[str], bool] | None = None
    """None: any ACM version; else whether the row applies to the old hub's version."""
    subresource: str | None = None
    """``scale`` for writes through ``/scale``: RBAC names it ``statefulsets/scale``, apart from the object."""

    @property
    def rbac_resource(self) -> str:
        """The resource as an RBAC rule names it: ``plural`` or ``plural/subresource``."""
        return f"{self.resource.plural}/{self.subresource}" if self.subresource else self.resource.plural

    def describe(self) -> str:
        what = f"{self.resource.key}/{self.subresource}" if self.subresource else self.resource.key
        return f"{self.verb} {what}" + (f" in {self.namespace}" if self.namespace else "")


def _read(role: str, resource: Resource, namespace: str | None, why: str, when: When = _always,
          *, watch: bool = True) -> list[Permission]:
    verbs = ("get", "list", "watch") if watch else ("get", "list")
    return [Permission(role, verb, resource, namespace, why, when) for verb in verbs]


_BOTH = ("primary", "secondary")

PERMISSIONS: tuple[Permission, ...] = (
    # preflight, on both hubs
    *(p for role in _BOTH for p in (
        *_read(role, NAMESPACES, None, "preflight: connectivity and namespaces", watch=False),
        *_read(role, PODS, BACKUP_NAMESPACE, "preflight: Velero pods", watch=False),
        *_read(role, DATA_PROTECTION_APPLICATIONS, BACKUP_NAMESPACE, "preflight: OADP", watch=False),
        *_read(role, BACKUP_STORAGE_LOCATIONS, BACKUP_NAMESPACE, "preflight: backup storage", watch=False),
        *_read(role, MULTICLUSTER_HUBS, ACM_NAMESPACE, "preflight: ACM version; finalization: hub health"),
        *_read(role, MANAGED_CLUSTERS, None, "the fleet on each hub"),
        *_read(role, BACKUP_SCHEDULES, BACKUP_NAMESPACE, "the BackupSchedule on each hub"),
        *_read(role, ACM_RESTORES, BACKUP_NAMESPACE, "the Restores on each hub"),
        *_read(role, VELERO_BACKUPS, BACKUP_NAMESPACE, "backups"),
        *_read(role, STATEFUL_SETS, OBSERVABILITY_NAMESPACE, "observability: the compactor", watch=False),
        *_read(role, PODS, OBSERVABILITY_NAMESPACE, "observability: the compactor's pods"),
        *_read(role, MULTICLUSTER_OBSERVABILITIES, None, "observability"),
    )),
    *_read("primary", CLUSTER_DEPLOYMENTS, None, "preflight: preserveOnDelete", watch=False),
    *_read("secondary", SECRETS, OBSERVABILITY_NAMESPACE, "preflight: the observability storage secret",
           watch=False),
    *(p for role in _BOTH for p in (
        *_read(role, ARGO_APPLICATIONS, None, "Argo CD Applications that manage ACM resources", watch=False),
        Permission(role, "patch", ARGO_APPLICATIONS, None, "--argocd pause",
                   lambda o: o.argocd is ArgocdMode.PAUSE))),
    # the run's lease on each hub of the pair (asyncswitch.engine.lease): one run drives a pair at a time
    *(Permission(role, verb, LEASES, ACM_NAMESPACE, "the run's lease on the hub pair", lambda o: not o.dry_run)
      for role in _BOTH for verb in ("get", "create", "patch", "delete")),
    # primary preparation
    Permission("primary", "patch", BACKUP_SCHEDULES, BACKUP_NAMESPACE, "pause the BackupSchedule",
               acm=lambda v: version_at_least(v, 2, 12)),
    Permission("primary", "delete", BACKUP_SCHEDULES, BACKUP_NAMESPACE, "ACM 2.11: delete the BackupSchedule",
               acm=lambda v: not version_at_least(v, 2, 12)),
    Permission("primary", "patch", MANAGED_CLUSTERS, None, "disable-auto-import on the old hub's clusters"),
    Permission("primary", "patch", STATEFUL_SETS, OBSERVABILITY_NAMESPACE, "scale the compactor down",
               subresource="scale"),
    Permission("primary", "delete", MULTICLUSTER_OBSERVABILITIES, None, "stop the old hub's observability"),
    # activation
    Permission("secondary", "patch", ACM_RESTORES, BACKUP_NAMESPACE, "activate the passive Restore", _passive_patch),
    Permission("secondary", "delete", ACM_RESTORES, BACKUP_NAMESPACE, "replace the passive Restore",
               _creates_restore),
    Permission("secondary", "create", ACM_RESTORES, BACKUP_NAMESPACE, "create the activation Restore",
               _creates_restore),
    *_read("secondary", VELERO_RESTORES, BACKUP_NAMESPACE, "the managed-clusters Velero restore"),
    *_read("secondary", CONFIG_MAPS, MCE_NAMESPACE, "the auto-import strategy", watch=False),
    *(Permission("secondary", verb, CONFIG_MAPS, MCE_NAMESPACE, "--manage-auto-import-strategy",
                 lambda o: o.manage_auto_import_strategy) for verb in ("create", "patch", "delete")),
    Permission("secondary", "patch", MANAGED_CLUSTERS, None, "immediate-import and disable-auto-import"),
    # post-activation
    *_read("secondary", DEPLOYMENTS, OBSERVABILITY_NAMESPACE, "observatorium-api", watch=False),
    Permission("secondary", "patch", DEPLOYMENTS, OBSERVABILITY_NAMESPACE, "restart observatorium-api"),
    Permission("secondary", "patch", STATEFUL_SETS, OBSERVABILITY_NAMESPACE, "scale the compactor up",
               subresource="scale"),
    Permission("secondary", "patch", DEPLOYMENTS, OBSERVABILITY_NAMESPACE, "scale observatorium-api up",
               subresource="scale"),
    # finalization
    Permission("secondary", "delete", ACM_RESTORES, BACKUP_NAMESPACE, "remove the Restores"),
    Permission("secondary", "delete", BACKUP_SCHEDULES, BACKUP_NAMESPACE, "recreate the BackupSchedule"),
    Permission("secondary", "create", BACKUP_SCHEDULES, BACKUP_NAMESPACE, "recreate the BackupSchedule"),
    *_read("secondary", VELERO_SCHEDULES, BACKUP_NAMESPACE, "the new hub's id", watch=False),
    *_read("secondary", CLUSTER_VERSIONS, None, "the new hub's id", watch=False),
    # the old hub's new role
    Permission("primary", "create", ACM_RESTORES, BACKUP_NAMESPACE, "the old hub's passive Restore",
               _old_hub(OldHubAction.SECONDARY)),
    Permission("primary", "delete", MANAGED_CLUSTERS, None, "decommission", _old_hub(OldHubAction.DECOMMISSION)),
    Permission("primary", "delete", MULTICLUSTER_HUBS, ACM_NAMESPACE, "decommission",
               _old_hub(OldHubAction.DECOMMISSION)),
)
"""Everything a switchover may do; :func:`required_permissions` picks what one run will do."""


def required_permissions(options: SwitchoverOptions, role: str, primary_version: str = "") -> list[Permission]:
    """The permissions a run with ``options`` needs on the hub playing ``role``, each once; rows that
    depend on the old hub's ACM version are left out while it is unknown ("")."""
    seen: set[tuple[str, str, str, str | None]] = set()
    out: list[Permission] = []
    for permission in PERMISSIONS:
        key = (permission.verb, permission.rbac_resource, permission.resource.group, permission.namespace)
        by_version = permission.acm is None or (bool(primary_version) and permission.acm(primary_version))
        if permission.role == role and permission.when(options) and by_version and key not in seen:
            seen.add(key)
            out.append(permission)
    return out
