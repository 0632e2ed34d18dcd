"""Simulated registration and import across both hubs: where each cluster's klusterlet points.

- A cluster is Joined and Available on the hub its klusterlet points at.
- Import is driven by what the backup operator really hands the import controller: an
  ``auto-import-secret`` in the cluster's namespace on a hub (post-restore activation makes one
  for each non-Hive cluster with an MSA token), or, for a Hive cluster, its ManagedCluster
  appearing (or getting ``immediate-import: ""``) on a hub holding its ClusterDeployment. The
  klusterlet then moves after a per-cluster delay drawn from the profile, and the cluster turns
  Joined and Available on that hub. A non-Hive cluster without an MSA token never moves.
- Import waits while the hub's ManagedCluster carries disable-auto-import or has hubAcceptsClient
  false (the hub refuses the klusterlet's registration), and, on
  ACM ≥ 2.14 with the ImportOnly strategy, for a cluster this hub imported before, until
  the immediate-import annotation is set to "" (the controller rewrites it to Completed)
  or the strategy becomes ImportAndSync.
- On the hub a cluster left, Available turns Unknown after the lease grace period; if that hub
  still has a way in (Hive ClusterDeployment, kept auto-import-secret) and its ManagedCluster
  lacks disable-auto-import, it imports the cluster back (unless ImportOnly forbids it): flapping.
- Deleting a ManagedCluster takes finalizer time; on the hub the cluster is connected to
  it detaches the klusterlet, and with a ClusterDeployment whose preserveOnDelete is false
  the cluster is destroyed.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from ..errors import ApiError
from ..store import ADDED, DELETED
from .context import SimHub, SimWorld
from .kinds import (
    ACCEPTED,
    AUTO_IMPORT_SECRET,
    AVAILABLE,
    CLUSTER_DEPLOYMENTS,
    CLUSTER_FINALIZER,
    DISABLE_AUTO_IMPORT,
    IMMEDIATE_IMPORT,
    IMPORT_CONFIGMAP,
    JOINED,
    LOCAL_CLUSTER,
    MANAGED_CLUSTERS,
    MCE_NAMESPACE,
)
from .ops import MERGE, condition, merge_conditions, patch, patch_status

__all__ = ["RegistrationController"]


class RegistrationController:
    def __init__(self, hubs: dict[str, SimHub], world: SimWorld) -> None:
        self.hubs = hubs
        self.world = world
        self._pending: dict[str, set[str]] = {name: set() for name in hubs}
        """Hub → clusters restored there and waiting to be imported."""
        self._moving: set[tuple[str, str]] = set()
        self._deleting: set[tuple[str, str]] = set()
        self._immediate: set[tuple[str, str]] = set()
        """(hub, cluster) whose immediate-import annotation is being processed."""
        self._annotations: dict[tuple[str, str], dict[str, str]] = {}
        """(hub, cluster) → the ManagedCluster's annotations when last seen (to tell annotation changes)."""
        self._granted: set[tuple[str, str]] = set()
        """(hub, cluster) an immediate-import let through the ImportOnly strategy."""

    # -- what starts an import ----------------------------------------------------------

    def _want_import(self, hub: SimHub, name: str) -> None:
        """The import controller on ``hub`` has a way in to cluster ``name``: import it unless blocked."""
        cluster = self.world.fleet.clusters.get(name)
        if cluster is not None and not cluster.destroyed and cluster.hub != hub.name:
            self._pending[hub.name].add(name)
            self._evaluate(hub, [name])

    def _hive_managed(self, hub: SimHub, name: str) -> bool:
        return hub.store.find(CLUSTER_DEPLOYMENTS, name, name) is not None

    # -- the controller -------------------------------------------------------------------

    async def run(self) -> None:
        for hub in self.hubs.values():
            self._sync_conditions(hub)
            self.world.spawn(self._watch_clusters(hub), f"sim:{hub.name}:registration:clusters")
            self.world.spawn(self._watch_strategy(hub), f"sim:{hub.name}:registration:strategy")
            self.world.spawn(self._watch_import_secrets(hub), f"sim:{hub.name}:registration:auto-import")
        await asyncio.Event().wait()  # the work happens in the watch tasks

    async def _watch_clusters(self, hub: SimHub) -> None:
        with hub.store.watch(MANAGED_CLUSTERS) as watch:
            async for kind, stored in watch:
                if kind == DELETED:
                    self._annotations.pop((hub.name, stored.name), None)
                    continue
                meta = stored.obj["metadata"]
                name = stored.name
                if meta.get("deletionTimestamp"):
                    if (hub.name, name) not in self._deleting:
                        self._deleting.add((hub.name, name))
                        self.world.spawn(self._delete(hub, name), f"sim:{hub.name}:registration:delete:{name}")
                    continue
                if CLUSTER_FINALIZER not in (meta.get("finalizers") or []):
                    patch(hub.store, MANAGED_CLUSTERS, None, name,
                          {"metadata": {"finalizers": [*(meta.get("finalizers") or []), CLUSTER_FINALIZER]}})
                annotations = meta.get("annotations") or {}
                if annotations.get(IMMEDIATE_IMPORT) == "" and (hub.name, name) not in self._immediate:
                    self._immediate.add((hub.name, name))
                    self.world.spawn(self._immediate_import(hub, name), f"sim:{hub.name}:import:{name}")
                if not stored.obj.get("status", {}).get("conditions"):
                    self._sync_one(hub, name)
                changed = kind == ADDED or self._annotations.get((hub.name, name)) != annotations
                self._annotations[(hub.name, name)] = annotations
                if changed and name != LOCAL_CLUSTER and self._hive_managed(hub, name):
                    # A Hive cluster: the import controller imports with the ClusterDeployment's admin
                    # kubeconfig (no MSA, no auto-import-secret) when its ManagedCluster appears or its
                    # annotations change (a restore dropping disable-auto-import). Status-only changes
                    # (a lease expiring) do not count: the old hub's take-back has its own path.
                    self._want_import(hub, name)
                if name in self._pending[hub.name]:
                    self._evaluate(hub, [name])

    async def _watch_import_secrets(self, hub: SimHub) -> None:
        """An auto-import-secret in a cluster's namespace (post-restore activation makes them) starts its import."""
        secrets = hub.store.type_of("secrets")
        with hub.store.watch(secrets, field_selector=f"metadata.name={AUTO_IMPORT_SECRET}") as watch:
            async for kind, stored in watch:
                namespace = stored.obj["metadata"].get("namespace", "")
                if kind != DELETED and hub.store.find(MANAGED_CLUSTERS, None, namespace) is not None:
                    self._want_import(hub, namespace)

    async def _watch_strategy(self, hub: SimHub) -> None:
        with hub.store.watch(hub.store.type_of("configmaps"), MCE_NAMESPACE,
                             field_selector=f"metadata.name={IMPORT_CONFIGMAP}") as watch:
            async for _ in watch:
                self._evaluate(hub)

    def _import_blocked(self, hub: SimHub, name: str, obj: dict[str, Any]) -> bool:
        annotations = obj["metadata"].get("annotations") or {}
        if DISABLE_AUTO_IMPORT in annotations:
            return True
        if (obj.get("spec") or {}).get("hubAcceptsClient") is False:
            return True  # the hub denies the klusterlet's registration until it is accepted again
        return ((hub.name, name) not in self._granted and name in hub.imported and hub.import_strategy() == "ImportOnly"
                and annotations.get(IMMEDIATE_IMPORT) != "")

    def _evaluate(self, hub: SimHub, names: list[str] | None = None) -> None:
        """Start the klusterlet move of every pending cluster (or of ``names``) that may import now."""
        for name in sorted(self._pending[hub.name]) if names is None else names:
            if name not in self._pending[hub.name]:
                continue
            stored = hub.store.find(MANAGED_CLUSTERS, None, name)
            if stored is None or stored.obj["metadata"].get("deletionTimestamp"):
                continue
            if self._import_blocked(hub, name, stored.obj) or (hub.name, name) in self._moving:
                continue
            self._moving.add((hub.name, name))
            self.world.spawn(self._move(hub, name), f"sim:{hub.name}:klusterlet:{name}")

    async def _immediate_import(self, hub: SimHub, name: str) -> None:
        """The import controller acts on immediate-import "" and rewrites it to Completed."""
        try:
            await self.world.clock.sleep(self.world.clock.profile.import_delay)
            stored = hub.store.find(MANAGED_CLUSTERS, None, name)
            if stored is None or (stored.obj["metadata"].get("annotations") or {}).get(IMMEDIATE_IMPORT) != "":
                return
            self._granted.add((hub.name, name))
            if self._hive_managed(hub, name):
                self._want_import(hub, name)  # immediate-import reimports a Hive cluster too
            patch(hub.store, MANAGED_CLUSTERS, None, name,
                  {"metadata": {"annotations": {IMMEDIATE_IMPORT: "Completed"}}})
            self._evaluate(hub, [name])
        finally:
            self._immediate.discard((hub.name, name))

    async def _move(self, hub: SimHub, name: str) -> None:
        """The klusterlet of ``name`` re-registers with ``hub`` after its reconnect delay."""
        try:
            await self.world.clock.sleep(self.world.clock.reconnect_delay(), jitter=False)
            cluster = self.world.fleet.clusters.get(name)
            stored = hub.store.find(MANAGED_CLUSTERS, None, name)
            if cluster is None or cluster.destroyed or stored is None or name not in self._pending[hub.name]:
                return
            if self._import_blocked(hub, name, stored.obj):
                return  # blocked again meanwhile (annotation added back); a later change re-evaluates
            left = cluster.hub
            cluster.hub = hub.name
            hub.imported.add(name)
            for other in self.hubs.values():
                self._pending[other.name].discard(name)
                self._granted.discard((other.name, name))
            self._sync_one(hub, name)
            if left is not None and left != hub.name and left in self.hubs:
                self.world.spawn(self._lease_expiry(self.hubs[left], name),
                                 f"sim:{left}:lease:{name}")
        finally:
            self._moving.discard((hub.name, name))

    async def _lease_expiry(self, hub: SimHub, name: str) -> None:
        await self.world.clock.sleep(self.world.clock.profile.lease_grace, jitter=False)
        cluster = self.world.fleet.clusters.get(name)
        if cluster is None or cluster.hub != hub.name:
            self._set_available(hub, name, "Unknown", "ManagedClusterLeaseUpdateStopped",
                                "Registration agent stopped updating its lease.")
            if cluster is not None and self._has_way_in(hub, name):
                self.world.spawn(self._take_back(hub, name), f"sim:{hub.name}:take-back:{name}")

    def _has_way_in(self, hub: SimHub, name: str) -> bool:
        """The import controller of ``hub`` can reach cluster ``name`` again: a Hive ClusterDeployment or a
        kept auto-import-secret, and no disable-auto-import on its ManagedCluster."""
        stored = hub.store.find(MANAGED_CLUSTERS, None, name)
        if stored is None or stored.obj["metadata"].get("deletionTimestamp"):
            return False
        if DISABLE_AUTO_IMPORT in (stored.obj["metadata"].get("annotations") or {}):
            return False
        return self._hive_managed(hub, name) or hub.store.find(
            hub.store.type_of("secrets"), name, AUTO_IMPORT_SECRET) is not None

    async def _take_back(self, hub: SimHub, name: str) -> None:
        """An old hub whose ManagedCluster lacks disable-auto-import imports the cluster again once it sees
        it gone (the harm the annotation prevents): the klusterlet flaps between the hubs. ImportOnly
        (2.14+) stops this for clusters that hub imported before; ``_evaluate`` applies that rule.
        Never sooner than one real second, so an instant profile does not spin."""
        await self.world.clock.policy_sleep(0.0)
        if self._has_way_in(hub, name):
            self._want_import(hub, name)

    def _set_available(self, hub: SimHub, name: str, status: str, reason: str, message: str) -> None:
        stored = hub.store.find(MANAGED_CLUSTERS, None, name)
        if stored is None:
            return
        conditions = merge_conditions((stored.obj.get("status") or {}).get("conditions"),
                                      condition(AVAILABLE, status, reason, message))
        patch_status(hub.store, MANAGED_CLUSTERS, None, name, {"conditions": conditions})

    def _sync_conditions(self, hub: SimHub) -> None:
        for stored in hub.store.list(MANAGED_CLUSTERS).items:
            self._sync_one(hub, stored.name)

    def _sync_one(self, hub: SimHub, name: str) -> None:
        """Conditions of a cluster on a hub, from where its klusterlet points."""
        stored = hub.store.find(MANAGED_CLUSTERS, None, name)
        if stored is None:
            return
        cluster = self.world.fleet.clusters.get(name)
        connected = name == LOCAL_CLUSTER or (cluster is not None and cluster.hub == hub.name
                                              and not cluster.destroyed)
        if not connected:
            return  # restored clusters start without conditions; a cluster that left keeps its own
        conditions = merge_conditions(
            (stored.obj.get("status") or {}).get("conditions"),
            condition(ACCEPTED, "True", "HubClusterAdminAccepted", "Accepted by hub cluster admin"),
            condition(JOINED, "True", "ManagedClusterJoined", "Managed cluster joined"),
            condition(AVAILABLE, "True", "ManagedClusterAvailable", "Managed cluster is available"),
        )
        patch_status(hub.store, MANAGED_CLUSTERS, None, name, {
            "conditions": conditions, "version": {"kubernetes": "v1.30.7"}})

    async def _delete(self, hub: SimHub, name: str) -> None:
        try:
            await self.world.clock.sleep(self.world.clock.profile.cluster_deletion)
            cluster = self.world.fleet.clusters.get(name)
            cd = hub.store.find(CLUSTER_DEPLOYMENTS, name, name)
            if cd is not None:
                if cluster is not None and cluster.hub == hub.name and not (cd.obj.get("spec") or {}).get(
                        "preserveOnDelete"):
                    cluster.destroyed = True  # Hive deprovisions a cluster it does not preserve
                with contextlib.suppress(ApiError):
                    hub.store.delete(CLUSTER_DEPLOYMENTS, name, name)
            if cluster is not None and cluster.hub == hub.name:
                cluster.hub = None  # the klusterlet is detached from the hub that removed it
                for other in self.hubs.values():
                    if other is not hub:
                        self.world.spawn(self._lease_expiry(other, name), f"sim:{other.name}:lease:{name}")
            self._pending[hub.name].discard(name)
            stored = hub.store.find(MANAGED_CLUSTERS, None, name)
            if stored is not None:
                finalizers = [f for f in stored.obj["metadata"].get("finalizers") or [] if f != CLUSTER_FINALIZER]
                with contextlib.suppress(ApiError):
                    hub.store.patch(MANAGED_CLUSTERS, None, name, MERGE,
                                    {"metadata": {"finalizers": finalizers or None}})
        finally:
            self._deleting.discard((hub.name, name))
