"""Phase 4, post-activation verification: every managed cluster connected to the new hub.

Stale disable-auto-import annotations (restored from backups taken after the old hub was
annotated) are removed first, since they keep clusters from being imported; then the wait
is one watch over all ManagedClusters with a deadline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..kube import DEPLOYMENTS, MANAGED_CLUSTERS, PODS, STATEFUL_SETS, HubApiError, ResourceCache, WaitTimeout
from .context import Objects, SwitchoverContext
from .errors import PhaseError
from .facts import connected, managed_clusters
from .names import DISABLE_AUTO_IMPORT, LOCAL_CLUSTER, OBSERVABILITY_NAMESPACE, OBSERVATORIUM_API, THANOS_COMPACT

__all__ = ["every_cluster_connected", "run_post_activation"]


async def run_post_activation(ctx: SwitchoverContext) -> None:
    hub = ctx.secondary

    async def clean_auto_import() -> None:
        clusters = managed_clusters({c["metadata"]["name"]: c for c in (await hub.list(MANAGED_CLUSTERS)).items})
        await ctx.for_each(
            [name for name, c in clusters.items() if DISABLE_AUTO_IMPORT in (c["metadata"].get("annotations") or {})],
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
        all_connected = every_cluster_connected(ctx.facts.get("expected_clusters") or [])

        def summary(objects: Objects) -> str:
            clusters = managed_clusters(objects)
            ready = sum(1 for c in clusters.values() if connected(c))
            waiting = sorted(c["metadata"]["name"] for c in clusters.values() if not connected(c))
            return f"{ready}/{len(clusters)} Available and Joined; waiting for {', '.join(waiting[:5]) or 'none'}"

        ctx.emit("wait_started", "managed clusters connected", hub=hub.name)
        async with ResourceCache(hub, MANAGED_CLUSTERS) as cache:
            objects = await cache.wait_for(all_connected, timeout=ctx.options.timeouts.clusters_connected,
                                           description="every managed cluster Available and Joined",
                                           summary=summary)
        ctx.emit("wait_satisfied", "managed clusters connected", hub=hub.name, clusters=len(objects) - 1)

    await ctx.step("verify_clusters_connected", clusters_connected)

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
