"""Phase 2, primary preparation: stop the old hub from writing backups and from taking clusters back."""

from __future__ import annotations

from typing import Any

from ..kube import BACKUP_SCHEDULES, MANAGED_CLUSTERS, PODS, STATEFUL_SETS, HubApiError, WaitTimeout
from .context import SwitchoverContext
from .names import BACKUP_NAMESPACE, DISABLE_AUTO_IMPORT, LOCAL_CLUSTER, OBSERVABILITY_NAMESPACE, THANOS_COMPACT

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

    async def schedule_paused() -> bool:
        found = (await hub.list(BACKUP_SCHEDULES, BACKUP_NAMESPACE, limit=1)).items
        return not found or bool((found[0].get("spec") or {}).get("paused"))

    async def pause_backup_schedule() -> None:
        found = (await hub.list(BACKUP_SCHEDULES, BACKUP_NAMESPACE, limit=1)).items
        if not found:
            ctx.warn(f"no BackupSchedule on {hub.name}; nothing to pause")
            return
        schedule = found[0]
        if "saved_backup_schedule" not in ctx.facts:
            await ctx.remember(saved_backup_schedule=saved_schedule(schedule))
        if not (schedule.get("spec") or {}).get("paused"):
            await ctx.patch(hub, BACKUP_SCHEDULES, schedule["metadata"]["name"], {"spec": {"paused": True}},
                            BACKUP_NAMESPACE)

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
        async def scale_down_compactor() -> None:
            compactor = await hub.get(STATEFUL_SETS, THANOS_COMPACT, OBSERVABILITY_NAMESPACE)
            if compactor is None:
                return  # observability namespace without a compactor: nothing writes to the shared storage
            try:
                if (compactor.get("spec") or {}).get("replicas", 1) != 0:
                    await ctx.scale(hub, STATEFUL_SETS, THANOS_COMPACT, 0, OBSERVABILITY_NAMESPACE)
            except HubApiError as exc:
                ctx.warn(f"could not scale {THANOS_COMPACT} to 0 on {hub.name}: {exc}")
                return
            if ctx.options.dry_run:
                return
            try:
                await ctx.wait(hub, PODS, lambda pods: not pods, namespace=OBSERVABILITY_NAMESPACE,
                               label_selector="app.kubernetes.io/name=thanos-compact",
                               timeout=ctx.options.timeouts.pods, description="thanos-compact pods gone")
            except WaitTimeout as exc:  # the observability operator may scale it back: a warning, as in the runbook
                ctx.warn(str(exc))

        await ctx.step("scale_down_thanos", scale_down_compactor)
