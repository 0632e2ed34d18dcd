"""What a hub's API server keeps of the ACM custom resources, per ACM version.

The CRDs have structural schemas, so the API server prunes fields the installed version does
not know: before 2.12 the BackupSchedule CRD has no ``spec.paused`` (facts §0), and a client
that sets it reads it back absent while the schedule keeps running.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..resources import ResourceType
from .context import SimHub
from .kinds import BACKUP_SCHEDULES

__all__ = ["install_schema_pruning"]


def install_schema_pruning(hub: SimHub) -> Callable[[], None] | None:
    """Prune what the hub's ACM version does not know; returns a remover (None: nothing to prune)."""
    if hub.version.has_paused_field:
        return None

    def prune(_verb: str, rtype: ResourceType, obj: dict[str, Any]) -> None:
        spec = obj.get("spec")
        if rtype.key == BACKUP_SCHEDULES.key and isinstance(spec, dict) and "paused" in spec:
            # A new dict: the old one may be shared with the stored object.
            obj["spec"] = {k: v for k, v in spec.items() if k != "paused"}

    return hub.store.add_mutation(prune)
