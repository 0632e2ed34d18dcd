"""The old hub's new role: passive standby, decommissioned, or left alone."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..kube import ACM_RESTORES, MANAGED_CLUSTERS, MULTICLUSTER_HUBS, MULTICLUSTER_OBSERVABILITIES, PODS, WaitTimeout
from .activation import restore_body
from .context import SwitchoverContext
from .errors import PhaseError
from .facts import managed_clusters, passive_restore_problem, phase
from .names import ACM_NAMESPACE, BACKUP_NAMESPACE, LOCAL_CLUSTER, OBSERVABILITY_NAMESPACE, PASSIVE_RESTORE
from .options import OldHubAction

__all__ = ["handle_old_hub"]


async def handle_old_hub(ctx: SwitchoverContext) -> None:
    action = ctx.options.old_hub_action
    if action is OldHubAction.SECONDARY:
        await ctx.step("make_old_hub_passive", lambda: _make_passive(ctx))
    elif action is OldHubAction.DECOMMISSION:
        await ctx.step("decommission_old_hub", lambda: _decommission(ctx))


async def _make_passive(ctx: SwitchoverContext) -> None:
    hub = ctx.primary
    if await hub.get(ACM_RESTORES, PASSIVE_RESTORE, BACKUP_NAMESPACE) is None:
        await ctx.create(hub, ACM_RESTORES, restore_body(PASSIVE_RESTORE, managed_clusters="skip",
                                                         credentials="latest", resources="latest",
                                                         sync=True, interval="10m"), BACKUP_NAMESPACE)
    if ctx.options.dry_run:
        return

    def enabled(restores: Mapping[str, Mapping[str, Any]]) -> bool:
        found = next((r for r in restores.values() if r["metadata"]["name"] == PASSIVE_RESTORE), None)
        if found is None:
            return False
        problem = passive_restore_problem(found, hub.name)
        if problem is not None:
            raise PhaseError(f"the old hub's passive Restore {problem}", phase=ctx.phase)
        return phase(found) == "Enabled"

    await ctx.wait(hub, ACM_RESTORES, enabled, namespace=BACKUP_NAMESPACE, timeout=ctx.options.timeouts.restore,
                   description=f"{PASSIVE_RESTORE} Enabled on the old hub")


async def _decommission(ctx: SwitchoverContext) -> None:
    hub = ctx.primary
    timeouts = ctx.options.timeouts
    # Objects already on their way out (a resumed run) are not deleted again: only waited for.
    for mco in (await hub.list(MULTICLUSTER_OBSERVABILITIES)).items:
        if not _deleting(mco):
            await ctx.delete(hub, MULTICLUSTER_OBSERVABILITIES, mco["metadata"]["name"])
    if not ctx.options.dry_run and (await hub.list(PODS, OBSERVABILITY_NAMESPACE)).items:
        try:
            await ctx.wait(hub, PODS, lambda pods: not pods, namespace=OBSERVABILITY_NAMESPACE,
                           timeout=timeouts.pods, description="observability pods gone on the old hub")
        except WaitTimeout as exc:  # leftover pods are a warning, not a failure
            ctx.warn(str(exc))
    clusters = managed_clusters({c["metadata"]["name"]: c for c in (await hub.list(MANAGED_CLUSTERS)).items})
    await ctx.for_each([name for name, cluster in clusters.items() if not _deleting(cluster)],
                       lambda name: ctx.delete(hub, MANAGED_CLUSTERS, name))
    if ctx.options.dry_run:
        return
    await ctx.wait(hub, MANAGED_CLUSTERS,
                   lambda cs: all(c["metadata"]["name"] == LOCAL_CLUSTER for c in cs.values()),
                   timeout=timeouts.cluster_deletion, description="managed clusters gone from the old hub")
    for mch in (await hub.list(MULTICLUSTER_HUBS, ACM_NAMESPACE)).items:
        if not _deleting(mch):
            await ctx.delete(hub, MULTICLUSTER_HUBS, mch["metadata"]["name"], ACM_NAMESPACE)
    await ctx.wait(hub, MULTICLUSTER_HUBS, lambda hubs: not hubs, namespace=ACM_NAMESPACE,
                   timeout=timeouts.mch_deletion, description="MultiClusterHub gone from the old hub")


def _deleting(obj: Mapping[str, Any]) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))
