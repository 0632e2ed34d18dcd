"""Simulated hub operators: MultiClusterHub, the observability operator, and OADP status.

- MultiClusterHub: Running at its version; Pending for a while after the hub took over
  the fleet (pods already running); deletion refused by an admission check while
  ManagedClusters other than local-cluster exist, then slow (finalizer), after which only
  the multiclusterhub-operator pods stay in the ACM namespace.
- MultiClusterObservability: its operator keeps observability-observatorium-api (2 replicas)
  and observability-thanos-compact (1) in place and, if the knob says so, scales them back
  to those defaults a while after someone changed them; deleting the MCO removes them.
- BackupStorageLocation and DataProtectionApplication status follow the shared storage.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from ..errors import ApiError, Forbidden
from ..resources import ResourceType
from ..store import DELETED
from .context import SimHub, SimWorld
from .kinds import (
    ACM_NAMESPACE,
    BACKUP_NAMESPACE,
    BACKUP_STORAGE_LOCATIONS,
    BSL_NAME,
    LOCAL_CLUSTER,
    MANAGED_CLUSTERS,
    MCH_FINALIZER,
    MCH_NAME,
    MULTICLUSTER_HUBS,
    MULTICLUSTER_OBSERVABILITIES,
    OBSERVABILITY_NAMESPACE,
    OBSERVATORIUM_API,
    THANOS_COMPACT,
)
from .ops import MERGE, condition, ensure, now_iso, patch, patch_status

__all__ = ["HubOperators", "observability_workload"]

OBSERVABILITY_DEFAULTS: dict[str, tuple[str, int, str]] = {
    # name → (plural, default replicas, app.kubernetes.io/name label)
    OBSERVATORIUM_API: ("deployments", 2, "observatorium-api"),
    THANOS_COMPACT: ("statefulsets", 1, "thanos-compact"),
}


def observability_workload(name: str) -> dict[str, Any]:
    plural, replicas, app = OBSERVABILITY_DEFAULTS[name]
    labels = {"app.kubernetes.io/name": app, "observability.open-cluster-management.io/name": "observability"}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment" if plural == "deployments" else "StatefulSet",
        "metadata": {"name": name, "namespace": OBSERVABILITY_NAMESPACE, "labels": dict(labels)},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app.kubernetes.io/name": app}},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": app, "image": f"registry.sim/{app}:2.14"}]}}},
    }


class HubOperators:
    def __init__(self, hub: SimHub, world: SimWorld) -> None:
        self.hub = hub
        self.world = world
        self.store = hub.store
        self._pending_until: float | None = None
        self._reverts: dict[str, asyncio.Task[None]] = {}
        self._deleting_mch = False

    # -- called by the registration controller --------------------------------------------

    def took_over(self) -> None:
        """The hub just took over managed clusters: MCH shows Pending for a while."""
        patch_status(self.store, MULTICLUSTER_HUBS, ACM_NAMESPACE, MCH_NAME, {"phase": "Pending"})
        self.world.spawn(self._pending_window(), f"sim:{self.hub.name}:mch:pending")

    async def _pending_window(self) -> None:
        await self.world.clock.sleep(self.world.clock.profile.mch_pending)
        mch = self.store.find(MULTICLUSTER_HUBS, ACM_NAMESPACE, MCH_NAME)
        if mch is not None and not mch.obj["metadata"].get("deletionTimestamp"):
            patch_status(self.store, MULTICLUSTER_HUBS, ACM_NAMESPACE, MCH_NAME, {"phase": "Running"})

    # -- the controller -------------------------------------------------------------------

    async def run(self) -> None:
        self.store.add_admission(self._admit)
        self.world.storage.on_availability(lambda _available: self._storage_status())
        self._storage_status()
        self.world.spawn(self._watch_mch(), f"sim:{self.hub.name}:mch")
        self.world.spawn(self._watch_observability(), f"sim:{self.hub.name}:mco")
        for name, (plural, _, _) in OBSERVABILITY_DEFAULTS.items():
            self.world.spawn(self._watch_workload(self.store.type_of(plural, "apps"), name),
                             f"sim:{self.hub.name}:mco:{name}")
        await asyncio.Event().wait()

    def _admit(self, verb: str, rtype: ResourceType, obj: dict[str, Any]) -> None:
        if verb != "delete" or rtype.key != MULTICLUSTER_HUBS.key:
            return
        remaining = [s.name for s in self.store.list(MANAGED_CLUSTERS).items if s.name != LOCAL_CLUSTER]
        if remaining:
            raise Forbidden(
                'admission webhook "multiclusterhub.validating-webhook.open-cluster-management.io" denied the '
                f"request: Cannot delete MultiClusterHub resource because {len(remaining)} ManagedCluster "
                f"resource(s) exist (first: {remaining[0]}); detach them first"
            )

    def _storage_status(self) -> None:
        available = self.world.storage.available
        patch_status(self.store, BACKUP_STORAGE_LOCATIONS, BACKUP_NAMESPACE, BSL_NAME, {
            "phase": "Available" if available else "Unavailable",
            "lastValidationTime": now_iso(),
            **({"conditions": None} if available else {"conditions": [condition(
                "Available", "False", "BackupStorageUnreachable",
                "BackupStorageLocation \"default\" is unavailable: the object storage cannot be reached")]}),
        })

    async def _watch_mch(self) -> None:
        with self.store.watch(MULTICLUSTER_HUBS, ACM_NAMESPACE) as watch:
            async for kind, stored in watch:
                if kind != DELETED and stored.obj["metadata"].get("deletionTimestamp") and not self._deleting_mch:
                    self._deleting_mch = True
                    patch_status(self.store, MULTICLUSTER_HUBS, ACM_NAMESPACE, stored.name,
                                 {"phase": "Uninstalling"})
                    self.world.spawn(self._uninstall(stored.name), f"sim:{self.hub.name}:mch:uninstall")

    async def _uninstall(self, name: str) -> None:
        await self.world.clock.sleep(self.world.clock.profile.mch_deletion)
        deployments = self.store.type_of("deployments", "apps")
        for stored in self.store.list(deployments, ACM_NAMESPACE).items:
            if not stored.name.startswith("multiclusterhub-operator"):
                with contextlib.suppress(ApiError):
                    self.store.delete(deployments, ACM_NAMESPACE, stored.name)
        mch = self.store.find(MULTICLUSTER_HUBS, ACM_NAMESPACE, name)
        if mch is not None:
            finalizers = [f for f in mch.obj["metadata"].get("finalizers") or [] if f != MCH_FINALIZER]
            self.store.patch(MULTICLUSTER_HUBS, ACM_NAMESPACE, name, MERGE,
                             {"metadata": {"finalizers": finalizers or None}})
        self._deleting_mch = False

    async def _watch_observability(self) -> None:
        with self.store.watch(MULTICLUSTER_OBSERVABILITIES) as watch:
            async for kind, stored in watch:
                if kind == DELETED or stored.obj["metadata"].get("deletionTimestamp"):
                    if not any(not s.obj["metadata"].get("deletionTimestamp")
                               for s in self.store.list(MULTICLUSTER_OBSERVABILITIES).items):
                        self._remove_workloads()
                    if kind != DELETED:
                        patch(self.store, MULTICLUSTER_OBSERVABILITIES, None, stored.name,
                              {"metadata": {"finalizers": None}})
                    continue
                for name in OBSERVABILITY_DEFAULTS:
                    with contextlib.suppress(ApiError):
                        ensure(self.store, self._workload_type(name), observability_workload(name))
                patch_status(self.store, MULTICLUSTER_OBSERVABILITIES, None, stored.name, {
                    "conditions": [condition("Ready", "True", "Ready", "Observability components are deployed")]})

    def _workload_type(self, name: str) -> ResourceType:
        return self.store.type_of(OBSERVABILITY_DEFAULTS[name][0], "apps")

    def _remove_workloads(self) -> None:
        for name in OBSERVABILITY_DEFAULTS:
            with contextlib.suppress(ApiError):
                self.store.delete(self._workload_type(name), OBSERVABILITY_NAMESPACE, name)

    async def _watch_workload(self, rtype: ResourceType, name: str) -> None:
        default = OBSERVABILITY_DEFAULTS[name][1]
        with self.store.watch(rtype, OBSERVABILITY_NAMESPACE, field_selector=f"metadata.name={name}") as watch:
            async for kind, stored in watch:
                replicas = (stored.obj.get("spec") or {}).get("replicas", 1)
                if kind == DELETED or replicas == default:
                    task = self._reverts.pop(name, None)
                    if task is not None:
                        task.cancel()
                elif self.world.config.mco_reverts_scaling and name not in self._reverts:
                    self._reverts[name] = self.world.spawn(self._revert(rtype, name, default),
                                                           f"sim:{self.hub.name}:mco:revert:{name}")

    async def _revert(self, rtype: ResourceType, name: str, default: int) -> None:
        try:
            await self.world.clock.policy_sleep(self.world.clock.profile.mco_revert_after)
            if any(not s.obj["metadata"].get("deletionTimestamp")
                   for s in self.store.list(MULTICLUSTER_OBSERVABILITIES).items):
                patch(self.store, rtype, OBSERVABILITY_NAMESPACE, name, {"spec": {"replicas": default}})
        finally:
            self._reverts.pop(name, None)
