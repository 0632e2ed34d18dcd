"""What the engine itself asks of each hub, beyond the switchover's own table: the monitors' watches.

Each hub plays both roles over a run, so every row is there for both.
"""

from __future__ import annotations

import asyncio

from ..errors import AsyncswitchError
from ..kube import Hub
from ..switchover.permissions import Permission
from .monitors import WATCHED

__all__ = ["ENGINE_PERMISSIONS", "EnginePermissionDenied", "require_engine_permissions"]

ENGINE_PERMISSIONS: tuple[Permission, ...] = tuple(
    Permission(role, verb, resource, namespace, f"monitor {resource.plural} on each hub")
    for role in ("primary", "secondary") for resource, namespace in WATCHED for verb in ("list", "watch"))
"""The monitors list then watch each watched kind, in its namespace, on both hubs."""


class EnginePermissionDenied(AsyncswitchError):
    """A hub refuses what the monitors need: the cycle fails before they start, and before any change."""


async def require_engine_permissions(*hubs: Hub) -> None:
    """Raise :class:`EnginePermissionDenied` naming every row of the engine's a hub refuses."""
    for hub in hubs:
        denied = await _denied(hub)
        if denied:
            raise EnginePermissionDenied(f"RBAC: {hub.name} denies what the monitors need: {', '.join(denied)}")


async def _denied(hub: Hub) -> list[str]:
    """What of the engine's own rows ``hub`` refuses (one access review each, all at once), described."""
    rows = {(p.verb, p.resource, p.namespace): p for p in ENGINE_PERMISSIONS}
    reviews = await asyncio.gather(*(hub.create_access_review(verb=verb, resource=resource, namespace=namespace)
                                     for verb, resource, namespace in rows))
    return [p.describe() for p, review in zip(rows.values(), reviews, strict=True)
            if not (review.get("status") or {}).get("allowed")]
