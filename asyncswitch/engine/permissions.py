"""What the engine itself asks of each hub, beyond the switchover's own table: the monitors' watches, and
what the fault scenarios that run on real hubs do (asyncswitch.engine.faults.hub_scenarios).

Each hub plays both roles over a run, so every row is there for both.
"""

from __future__ import annotations

import asyncio

from ..errors import AsyncswitchError
from ..kube import ARGO_APPLICATIONS, BACKUP_SCHEDULES, DEPLOYMENTS, MANAGED_CLUSTERS, PODS, Hub
from ..switchover.names import ACM_NAMESPACE, BACKUP_NAMESPACE, OBSERVABILITY_NAMESPACE
from ..switchover.permissions import Permission
from .monitors import WATCHED

__all__ = ["ENGINE_PERMISSIONS", "FAULT_PERMISSIONS", "EnginePermissionDenied", "require_engine_permissions"]

_ROLES = ("primary", "secondary")

ENGINE_PERMISSIONS: tuple[Permission, ...] = tuple(
    Permission(role, verb, resource, namespace, f"monitor {resource.plural} on each hub")
    for role in ("primary", "secondary") for resource, namespace in WATCHED for verb in ("list", "watch"))
"""The monitors list then watch each watched kind, in its namespace, on both hubs."""

_POD_NAMESPACES = (BACKUP_NAMESPACE, ACM_NAMESPACE, OBSERVABILITY_NAMESPACE)
"""Where the restarted pods live: velero and the backup operator's chart, the operator, observatorium-api."""

FAULT_PERMISSIONS: tuple[Permission, ...] = tuple(
    Permission(role, verb, resource, namespace, why, subresource=sub)
    for role in _ROLES for verb, resource, namespace, why, sub in (
        *((verb, DEPLOYMENTS, ns, "a restarted pod's Deployment ready again", None)
          for ns in _POD_NAMESPACES for verb in ("get", "list", "watch")),
        *((verb, PODS, ns, "restart a pod", None) for ns in _POD_NAMESPACES for verb in ("list", "delete")),
        ("patch", DEPLOYMENTS, BACKUP_NAMESPACE, "delay-restore: velero to 0 replicas and back", "scale"),
        ("patch", BACKUP_SCHEDULES, BACKUP_NAMESPACE, "pause-backup: the active schedule", None),
        ("patch", MANAGED_CLUSTERS, None, "klusterlet-reconnect, stale-auto-import: a sample of clusters", None),
        ("patch", ARGO_APPLICATIONS, None, "argocd-resync: an Application's auto-sync", None),
    ))
"""What the fault scenarios that act on real hubs do there (``rbac --fault-injection`` grants it)."""


class EnginePermissionDenied(AsyncswitchError):
    """A hub refuses what the monitors need: the cycle fails before they start, and before any change."""


async def require_engine_permissions(*hubs: Hub, faults: bool = False) -> None:
    """Raise :class:`EnginePermissionDenied` naming every row of the engine's a hub refuses: the monitors',
    and with ``faults`` the fault scenarios'."""
    rows = [*ENGINE_PERMISSIONS, *(FAULT_PERMISSIONS if faults else ())]
    for hub in hubs:
        denied = await _denied(hub, rows)
        if denied:
            what = "the monitors and the fault injection need" if faults else "the monitors need"
            raise EnginePermissionDenied(f"RBAC: {hub.name} denies what {what}: {', '.join(denied)}")


async def _denied(hub: Hub, permissions: list[Permission]) -> list[str]:
    """What of ``permissions`` ``hub`` refuses (one access review each, all at once), described."""
    rows = {(p.verb, p.resource, p.namespace, p.subresource): p for p in permissions}
    reviews = await asyncio.gather(*(hub.create_access_review(verb=verb, resource=resource, namespace=namespace,
                                                              subresource=sub)
                                     for verb, resource, namespace, sub in rows))
    return [p.describe() for p, review in zip(rows.values(), reviews, strict=True)
            if not (review.get("status") or {}).get("allowed")]
