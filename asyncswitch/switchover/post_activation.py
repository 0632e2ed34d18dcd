"""Phase 4, post-activation verification: every managed cluster connected to the new hub.

Stale disable-auto-import annotations (restored from backups taken after the old hub was
annotated) are removed first, since they keep clusters from being imported; then the wait
is one watch over all ManagedClusters with a deadline.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from ..kube import DEPLOYMENTS, MANAGED_CLUSTERS, PODS, STATEFUL_SETS, HubApiError, ResourceCache, WaitTimeout
from .context import Objects, SwitchoverContext
from .errors import PhaseError
from .facts import condition_status, connected, managed_clusters
from .import_strategy import reset_auto_import_strategy
from .names import (
    AVAILABLE,
    DISABLE_AUTO_IMPORT,
    JOINED,
    LOCAL_CLUSTER,
    OBSERVABILITY_NAMESPACE,
    OBSERVATORIUM_API,
    THANOS_COMPACT,
)
from .observability import verify_one_compactor

__all__ = ["enough_clusters_connected", "every_cluster_connected", "run_post_activation"]


async def run_post_activation(ctx: SwitchoverContext) -> None:
    hub = ctx.secondary

    async def clean_auto_import() -> None:
        # Names only: the fleet's objects are not held while their patches run (10,000 of them at scale).
        names = [name for name, c in managed_clusters(
            {c["metadata"]["name"]: c for c in (await hub.list(MANAGED_CLUSTERS)).items}).items()
            if DISABLE_AUTO_IMPORT in (c["metadata"].get("annotations") or {})]
        await ctx.for_each(
            names,
            lambda name: ctx.patch(hub, MANAGED_CLUSTERS, name,
                                   {"metadata": {"annotations": {DISABLE_AUTO_IMPORT: None}}}))
        if ctx.options.dry_run:
            return
        remaining = [c["metadata"]["name"] for c in (await hub.list(MANAGED_CLUSTERS)).items
                     if DISABLE_AUTO_IMPORT in (c["metadata"].get("annotations") or {})]
        if remaining:
            raise PhaseError(f"disable-auto-import is still set on {len(remaining)} cluster(s) on {hub.name}: "
                             f"{', '.join(remaining[:5])}", phase=ctx.phase)

    await ctx.step("clean_auto_import_annotations", clean_auto_import)
    if ctx.options.dry_run:
        return

    async def clusters_connected() -> None:
        expected = list(ctx.facts.get("expected_clusters") or [])
        share = ctx.options.min_cluster_share
        timeouts = ctx.options.timeouts
        enough = every_cluster_connected(expected) if share >= 1.0 else enough_clusters_connected(expected, share)

        def summary(objects: Objects) -> str:
            clusters = managed_clusters(objects)
            ready = sum(1 for c in clusters.values() if connected(c))
            waiting = sorted(c["metadata"]["name"] for c in clusters.values() if not connected(c))
            return f"{ready}/{len(clusters)} Available and Joined; waiting for {', '.join(waiting[:5]) or 'none'}"

        ctx.emit("wait_started", "managed clusters connected", hub=hub.name, timeout=timeouts.clusters_connected)
        first = min(timeouts.clusters_first_window, timeouts.clusters_connected)
        async with ResourceCache(hub, MANAGED_CLUSTERS) as cache:
            try:
                objects = await cache.wait_for(enough, timeout=first, summary=summary,
                                               description="every managed cluster Available and Joined")
            except WaitTimeout:
                late = _not_connected(cache.objects, expected)
                ctx.warn(f"{len(late)} managed cluster(s) not Available and Joined on {hub.name} after {first:g} s: "
                         f"{_names(late)}; waiting up to {timeouts.clusters_connected:g} s in all")
                try:
                    objects = await cache.wait_for(enough, timeout=max(0.0, timeouts.clusters_connected - first),
                                                   summary=summary,
                                                   description="every managed cluster Available and Joined")
                except WaitTimeout:
                    raise PhaseError(_cluster_report(cache.objects, expected, hub.name, timeouts.clusters_connected,
                                                     share), phase=ctx.phase) from None
        late = _not_connected(objects, expected)
        if late:  # enough of them, not all
            ctx.warn(f"{len(late)} managed cluster(s) not Available and Joined on {hub.name}, within "
                     f"--min-cluster-share {share:g}: {_names(late)}")
        ctx.emit("wait_satisfied", "managed clusters connected", hub=hub.name,
                 clusters=len(managed_clusters(objects)))

    await ctx.step("verify_clusters_connected", clusters_connected)
    if ctx.facts.get("auto_import_strategy", {}).get("set"):
        await ctx.step("reset_auto_import_strategy", lambda: reset_auto_import_strategy(ctx))

    if ctx.facts.get("secondary_observability"):
        async def observability_up() -> None:
            for resource, name, replicas in ((DEPLOYMENTS, OBSERVATORIUM_API, 2), (STATEFUL_SETS, THANOS_COMPACT, 1)):
                current = await hub.get(resource, name, OBSERVABILITY_NAMESPACE)
                if current is None:
                    continue  # not deployed on this hub (no MultiClusterObservability yet)
                try:
                    if (current.get("spec") or {}).get("replicas", 0) < replicas:
                        await ctx.scale(hub, resource, name, replicas, OBSERVABILITY_NAMESPACE)
                    if resource is DEPLOYMENTS:  # stale tenant data after a restore: restart it
                        await ctx.patch(hub, DEPLOYMENTS, name, {"spec": {"template": {"metadata": {"annotations": {
                            "kubectl.kubernetes.io/restartedAt": ctx.store.state.updated_at}}}}},
                            OBSERVABILITY_NAMESPACE)
                except HubApiError as exc:
                    ctx.warn(f"could not bring {name} up on {hub.name}: {exc}")
            pods = await hub.list(PODS, OBSERVABILITY_NAMESPACE)
            if pods.items:
                try:
                    await ctx.wait(hub, PODS, _pods_ready, namespace=OBSERVABILITY_NAMESPACE,
                                   timeout=ctx.options.timeouts.pods, description="observability pods Ready")
                except WaitTimeout as exc:  # observability is informational here
                    ctx.warn(f"observability pods not all Ready on {hub.name}: {exc}")

        await ctx.step("observability_scale_up", observability_up)

    if ctx.facts.get("primary_observability") or ctx.facts.get("secondary_observability"):
        await ctx.step("verify_one_compactor", lambda: verify_one_compactor(ctx))


def enough_clusters_connected(expected: Iterable[str], share: float) -> Callable[[Objects], bool]:
    """The predicate "at least ``share`` of the expected clusters Available and Joined" (one pass a call)."""
    wanted = set(expected)
    need = math.ceil(share * len(wanted) - 1e-9)

    def check(objects: Objects) -> bool:
        return sum(1 for name in wanted if name in objects and connected(objects[name])) >= need

    return check


def _not_connected(objects: Objects, expected: Iterable[str]) -> dict[str, str]:
    """Each expected or present non-local cluster not Available and Joined → its state, in words."""
    clusters = managed_clusters(objects)
    out: dict[str, str] = {}
    for name in sorted(set(expected) | set(clusters)):
        cluster = clusters.get(name)
        if cluster is None:
            out[name] = "not on the hub"
        elif not connected(cluster):
            out[name] = (f"Available: {condition_status(cluster, AVAILABLE) or 'none'}, "
                         f"Joined: {condition_status(cluster, JOINED) or 'none'}")
    return out


def _names(states: dict[str, str], limit: int = 20) -> str:
    names = list(states)
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _cluster_report(objects: Objects, expected: Iterable[str], hub: str, timeout: float, share: float) -> str:
    clusters = managed_clusters(objects)
    late = _not_connected(objects, expected)
    ready = sum(1 for c in clusters.values() if connected(c))
    total = len(set(expected) | set(clusters))
    states = "; ".join(f"{name} ({state})" for name, state in list(late.items())[:50])
    more = f"; and {len(late) - 50} more" if len(late) > 50 else ""
    need = "" if share >= 1.0 else f" (--min-cluster-share {share:g})"
    return (f"{hub}: timed out after {timeout:g} s waiting for every managed cluster Available and Joined{need}: "
            f"{ready}/{total} managed clusters Available and Joined; not connected: {states}{more}")


def every_cluster_connected(expected: Iterable[str]) -> Callable[[Objects], bool]:
    """The predicate "every non-local cluster Available and Joined, each expected one among them" for a
    wait that checks it again on every ManagedCluster event.

    A reconnect wave is one event per cluster, so reading the whole fleet on each made the wave cost
    O(n²): about 8 s of CPU for 3,500 clusters (docs/performance.md). This check goes on from the first
    expected cluster not yet seen connected, answers at once while the cluster that failed the last full
    check still fails it, and reads the whole set only when every expected cluster was seen connected.
    """
    wanted = set(expected)
    order = sorted(wanted)
    next_index = 0
    blocker: str | None = None

    def check(objects: Objects) -> bool:
        nonlocal next_index, blocker
        if blocker is not None and blocker in objects and not connected(objects[blocker]):
            return False
        while next_index < len(order):
            found = objects.get(order[next_index])
            if found is None or not connected(found):
                return False
            next_index += 1
        # Every expected cluster was seen connected: now the whole set, in one pass.
        # A hub with local-cluster alone (a fleet of none, which --min-managed-clusters 0 accepts)
        # has nothing left to wait for.
        present = 0
        for name, cluster in objects.items():
            if name == LOCAL_CLUSTER:
                continue
            if not connected(cluster):
                blocker = name
                return False
            present += name in wanted
        if present < len(order):  # an expected cluster went away: wait for it from its place in the order
            next_index = next(i for i, name in enumerate(order) if name not in objects)
            return False
        return True

    return check


def _pods_ready(pods: Objects) -> bool:
    return bool(pods) and all(
        any(c.get("type") == "Ready" and c.get("status") == "True"
            for c in (p.get("status") or {}).get("conditions") or [])
        for p in pods.values())
