"""Thanos compaction across the two hubs: only one compactor may write to the shared object storage.

The old hub's observability is turned off by deleting its MultiClusterObservability (the runbook's
"delete the MCO on an old hub kept as standby"): scaling thanos-compact to 0 lasts only until the
observability operator puts it back, minutes later, while the new hub starts its own compactor, and
two compactors on one bucket corrupt it. The deleted MCOs are kept in the state file; a failback
gets the MCO back through the managed-clusters backup, which carries it (docs/switchover.md).

After the switchover both hubs are watched for a while: exactly one compactor, on the new hub.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

from ..kube import MULTICLUSTER_OBSERVABILITIES, PODS, STATEFUL_SETS, HubApiError, ResourceCache, WaitTimeout
from .context import Objects, SwitchoverContext
from .errors import PhaseError, TemporaryPhaseError
from .names import OBSERVABILITY_NAMESPACE, THANOS_COMPACT

__all__ = [
    "COMPACTOR_SELECTOR", "old_hub_observability_stopped", "running_compactors", "stop_old_hub_observability",
    "verify_one_compactor",
]

COMPACTOR_SELECTOR = "app.kubernetes.io/name=thanos-compact"
_SERVER_META = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields",
                "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences", "finalizers")


def running_compactors(pods: Objects) -> list[str]:
    """The thanos-compact pods that run (Running, not being deleted)."""
    return sorted(str(p["metadata"]["name"]) for p in pods.values()
                  if (p.get("status") or {}).get("phase") == "Running" and not p["metadata"].get("deletionTimestamp"))


def _kept(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _SERVER_META}
    return {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), "metadata": meta,
            "spec": dict(obj.get("spec") or {})}


async def stop_old_hub_observability(ctx: SwitchoverContext) -> None:
    """Primary preparation: the old hub stops compacting now and for good (its MCO deleted, kept in state)."""
    hub = ctx.primary
    mcos = (await hub.list(MULTICLUSTER_OBSERVABILITIES)).items
    if "old_hub_observability" not in ctx.facts:
        await ctx.remember(old_hub_observability=[_kept(m) for m in mcos])
    compactor = await hub.get(STATEFUL_SETS, THANOS_COMPACT, OBSERVABILITY_NAMESPACE)
    if compactor is not None and (compactor.get("spec") or {}).get("replicas", 1) != 0:
        try:  # at once, before the operator has noticed the deletion
            await ctx.scale(hub, STATEFUL_SETS, THANOS_COMPACT, 0, OBSERVABILITY_NAMESPACE)
        except HubApiError as exc:
            ctx.warn(f"could not scale {THANOS_COMPACT} to 0 on {hub.name}: {exc}")
    for mco in mcos:
        if not mco["metadata"].get("deletionTimestamp"):
            await ctx.delete(hub, MULTICLUSTER_OBSERVABILITIES, mco["metadata"]["name"])
    if ctx.options.dry_run:
        return
    try:
        await ctx.wait(hub, PODS, lambda pods: not running_compactors(pods), namespace=OBSERVABILITY_NAMESPACE,
                       label_selector=COMPACTOR_SELECTOR, timeout=ctx.options.timeouts.pods,
                       description="the old hub's thanos-compact pods gone")
    except WaitTimeout as exc:
        raise TemporaryPhaseError(f"the old hub still runs a compactor on the shared object storage: {exc}",
                                  phase=ctx.phase) from None


async def old_hub_observability_stopped(ctx: SwitchoverContext) -> bool:
    hub = ctx.primary
    if (await hub.list(MULTICLUSTER_OBSERVABILITIES)).items:
        return False
    pods = await hub.list(PODS, OBSERVABILITY_NAMESPACE, label_selector=COMPACTOR_SELECTOR)
    return not running_compactors({p["metadata"]["name"]: p for p in pods.items})


async def verify_one_compactor(ctx: SwitchoverContext) -> None:
    """Post-activation: exactly one compactor across both hubs (on the new hub, if it runs observability),
    and no second one for ``timeouts.compactor_watch`` seconds."""
    timeouts = ctx.options.timeouts
    expected = 1 if (await ctx.secondary.list(MULTICLUSTER_OBSERVABILITIES)).items else 0
    async with ResourceCache(ctx.primary, PODS, namespace=OBSERVABILITY_NAMESPACE,
                             label_selector=COMPACTOR_SELECTOR) as old, \
            ResourceCache(ctx.secondary, PODS, namespace=OBSERVABILITY_NAMESPACE,
                          label_selector=COMPACTOR_SELECTOR) as new:
        def where() -> str:
            return (f"{ctx.primary.name}: {', '.join(running_compactors(old.objects)) or 'none'}; "
                    f"{ctx.secondary.name}: {', '.join(running_compactors(new.objects)) or 'none'}")

        def count() -> int:
            return len(running_compactors(old.objects)) + len(running_compactors(new.objects))

        def never_two(_: Objects) -> bool:
            if count() > 1:
                raise PhaseError(f"{count()} Thanos compactors run on the shared object storage ({where()})",
                                 phase=ctx.phase)
            return False

        await old.ready()
        await new.ready()
        never_two({})
        try:
            await new.wait_for(lambda _: never_two(_) or count() == expected, timeout=timeouts.pods,
                               description=f"{expected} compactor(s) across both hubs", summary=lambda _: where())
        except WaitTimeout as exc:
            raise PhaseError(str(exc), phase=ctx.phase) from None
        if timeouts.compactor_watch <= 0:
            return
        ctx.emit("wait_started", "one compactor across both hubs", timeout=timeouts.compactor_watch)

        async def hold(cache: ResourceCache) -> None:
            # The window passing with no second compactor (WaitTimeout) is what we want.
            with contextlib.suppress(WaitTimeout):
                await cache.wait_for(never_two, timeout=timeouts.compactor_watch, description="a second compactor")

        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(hold(old))
                group.create_task(hold(new))
        except* PhaseError as found:
            raise found.exceptions[0] from None
        ctx.emit("wait_satisfied", "one compactor across both hubs", compactors=where())
