"""Phase 2, primary preparation: stop the old hub from writing backups, from taking clusters back, and from
compacting the shared metrics storage."""

from __future__ import annotations

from typing import Any

from ..kube import BACKUP_SCHEDULES, MANAGED_CLUSTERS
from .argocd import pause_auto_sync
from .context import SwitchoverContext
from .facts import version_at_least
from .names import BACKUP_NAMESPACE, DISABLE_AUTO_IMPORT, LOCAL_CLUSTER
from .observability import old_hub_observability_stopped, stop_old_hub_observability
from .options import ArgocdMode

__all__ = ["run_primary_prep", "saved_schedule"]

_SERVER_META = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields",
                "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences", "finalizers")


def saved_schedule(obj: dict[str, Any]) -> dict[str, Any]:
    """A BackupSchedule as it can be created again elsewhere: server fields and status stripped."""
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _SERVER_META}
    return {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), "metadata": meta,
            "spec": dict(obj.get("spec") or {})}


async def run_primary_prep(ctx: SwitchoverContext) -> None:
    hub = ctx.primary
    if ctx.options.argocd is ArgocdMode.PAUSE:
        await ctx.step("pause_argocd_auto_sync", lambda: pause_auto_sync(ctx))

    # ACM 2.11 has no spec.paused (the field is dropped): there the runbook deletes the schedule, whose
    # spec the state keeps (for finalization on the new hub, and for a rollback).
    deletes = not version_at_least(str(ctx.facts.get("primary_version") or ""), 2, 12)

    async def schedule_paused() -> bool:
        found = (await hub.list(BACKUP_SCHEDULES, BACKUP_NAMESPACE, limit=1)).items
        return not found or (not deletes and bool((found[0].get("spec") or {}).get("paused")))

    async def pause_backup_schedule() -> None:
        found = (await hub.list(BACKUP_SCHEDULES, BACKUP_NAMESPACE, limit=1)).items
        if not found:
            if "saved_backup_schedule" not in ctx.facts:
                ctx.warn(f"no BackupSchedule on {hub.name}; nothing to pause")
            return
        schedule = found[0]
        if "saved_backup_schedule" not in ctx.facts:
            await ctx.remember(saved_backup_schedule=saved_schedule(schedule))
        name = schedule["metadata"]["name"]
        if deletes:
            if not schedule["metadata"].get("deletionTimestamp"):
                await ctx.delete(hub, BACKUP_SCHEDULES, name, BACKUP_NAMESPACE, uid=schedule["metadata"].get("uid"))
            if not ctx.options.dry_run:
                await ctx.wait(hub, BACKUP_SCHEDULES, lambda s: not s, namespace=BACKUP_NAMESPACE,
                               timeout=ctx.options.timeouts.schedule_deletion,
                               description="the old hub's BackupSchedule gone (ACM 2.11: deleted, not paused)")
        elif not (schedule.get("spec") or {}).get("paused"):
            await ctx.patch(hub, BACKUP_SCHEDULES, name, {"spec": {"paused": True}}, BACKUP_NAMESPACE)

    await ctx.step("pause_backup_schedule", pause_backup_schedule, verify=schedule_paused)

    async def disable_auto_import() -> None:
        await ctx.for_each(
            [c["metadata"]["name"] for c in (await hub.list(MANAGED_CLUSTERS)).items
             if c["metadata"]["name"] != LOCAL_CLUSTER
             and DISABLE_AUTO_IMPORT not in (c["metadata"].get("annotations") or {})],
            lambda name: ctx.patch(hub, MANAGED_CLUSTERS, name,
                                   {"metadata": {"annotations": {DISABLE_AUTO_IMPORT: ""}}}))

    await ctx.step("disable_auto_import", disable_auto_import)

    if ctx.facts.get("primary_observability"):
        await ctx.step("stop_old_hub_observability", lambda: stop_old_hub_observability(ctx),
                       verify=lambda: old_hub_observability_stopped(ctx))
