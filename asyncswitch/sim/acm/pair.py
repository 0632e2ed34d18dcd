"""The simulated ACM hub pair: two emulated API servers with ACM, OADP/Velero, registration and
observability controllers, and a fleet that lives outside both.

    async with SimulatedHubPair(SimConfig(clusters=20)) as pair:
        pair.write_kubeconfig(path)   # contexts hub-a (active) and hub-b (passive)
"""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ...errors import ConfigError
from ..faults import FaultRule
from ..hubs import EmulatedHubPair
from ..resources import ResourceType
from ..server import ApiServer
from ..store import Store
from .argocd import ArgoCdController
from .context import SimConfig, SimHub, SimWorld
from .hubctl import HubOperators
from .kinds import (
    ACM_NAMESPACE,
    ACM_RESTORES,
    AVAILABLE,
    BACKUP_NAMESPACE,
    MANAGED_CLUSTERS,
    PASSIVE_RESTORE,
    VELERO_BACKUPS,
    VELERO_RESTORES,
)
from .pod_gate import DeploymentGate
from .registration import RegistrationController
from .restore import AcmRestoreController
from .schedule import VELERO_SCHEDULE_NAMES, BackupScheduleController
from .seed import passive_restore, seed_active_hub, seed_fleet, seed_hub
from .velero import VeleroController
from .velero_schedules import VeleroScheduleController
from .workloads import WorkloadController

__all__ = ["SimulatedHubPair", "wait_until"]

SETTLE_TIMEOUT = 120.0


async def wait_until(store: Store, rtype: ResourceType, check: Callable[[], bool], *,
                     namespace: str | None = None, timeout: float = SETTLE_TIMEOUT) -> None:  # noqa: ASYNC109
    """Wait, on the store's own watch, until ``check()`` holds (re-evaluated on every change)."""
    async with asyncio.timeout(timeout):
        with store.watch(rtype, namespace) as watch:
            while not check():
                if await watch.next() is None:
                    raise RuntimeError(f"the watch on {rtype.key} closed while waiting")


class SimulatedHubPair:
    """hub-a active (schedule Enabled, fleet joined, backups taken) and hub-b passive (passive-sync
    Restore Enabled), ready for a switchover from hub-a to hub-b."""

    def __init__(self, config: SimConfig | None = None, *, servers: EmulatedHubPair | None = None) -> None:
        if config is not None and not isinstance(config, SimConfig):
            raise ConfigError(f"SimulatedHubPair takes a SimConfig, not {type(config).__name__}")
        self.config = config or SimConfig()
        self.servers = servers or EmulatedHubPair(seed=self.config.seed, tls=self.config.tls,
                                                  bookmark_interval=self.config.bookmark_interval)
        self._tg: asyncio.TaskGroup | None = None
        self.world: SimWorld | None = None
        self.hubs: dict[str, SimHub] = {
            s.name: SimHub(s, acm_version=self.config.version_of(s.name)) for s in self.servers.servers
        }
        self.operators: dict[str, HubOperators] = {}
        self.argocd: dict[str, ArgoCdController] = {}
        """Simulated Argo CD by hub (with SimConfig.argocd: on hub-a); its ``git`` is the desired state."""

    @property
    def hub_a(self) -> ApiServer:
        return self.servers.hub_a

    @property
    def hub_b(self) -> ApiServer:
        return self.servers.hub_b

    def kubeconfig(self, *, read_only: bool = False) -> dict[str, Any]:
        return self.servers.kubeconfig(read_only=read_only)

    def write_kubeconfig(self, path: str | os.PathLike[str], *, read_only: bool = False) -> Path:
        return self.servers.write_kubeconfig(path, read_only=read_only)

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        await self.servers.start()
        self._tg = asyncio.TaskGroup()
        await self._tg.__aenter__()
        try:
            await self._bring_up()
        except BaseException:
            await self.stop()
            raise

    async def _bring_up(self) -> None:
        assert self._tg is not None
        world = self.world = SimWorld(self.config, self._tg)
        world.clock.settling = True
        hub_a, hub_b = self.hubs["hub-a"], self.hubs["hub-b"]
        for hub in (hub_a, hub_b):
            seed_hub(hub, self.config)
        seed_fleet(world, hub_a)
        hub_a.imported.update(world.fleet.clusters)
        seed_active_hub(world, hub_a)

        registration = RegistrationController(self.hubs, world)

        def activated(hub: SimHub) -> None:
            self.operators[hub.name].took_over()

        for hub in (hub_a, hub_b):
            velero = VeleroController(hub, world)
            self.operators[hub.name] = HubOperators(hub, world)
            backup_operator = DeploymentGate(hub, ACM_NAMESPACE, "cluster-backup-operator")
            controllers = (
                WorkloadController(hub, world), velero, VeleroScheduleController(hub, world),
                BackupScheduleController(hub, world, velero, backup_operator),
                AcmRestoreController(hub, world, on_activated=activated, operator=backup_operator),
                self.operators[hub.name], backup_operator,
            )
            for controller in controllers:
                world.spawn(controller.run(), f"sim:{hub.name}:{type(controller).__name__}")
        world.spawn(registration.run(), "sim:registration")
        if self.config.argocd:
            argocd = self.argocd[hub_a.name] = ArgoCdController(hub_a, world)
            argocd.seed()
            world.spawn(argocd.run(), f"sim:{hub_a.name}:argocd")

        # Settle: hub-a's first backups complete, hub-b's passive restore syncs them, pods run.
        def backups_done() -> bool:
            done = {(b.obj["metadata"].get("labels") or {}).get("velero.io/schedule-name")
                    for b in hub_a.store.list(VELERO_BACKUPS, BACKUP_NAMESPACE).items
                    if (b.obj.get("status") or {}).get("phase") == "Completed"}
            return set(VELERO_SCHEDULE_NAMES) <= done

        await wait_until(hub_a.store, VELERO_BACKUPS, backups_done, namespace=BACKUP_NAMESPACE)
        hub_b.store.create(ACM_RESTORES, BACKUP_NAMESPACE, passive_restore())

        def passive_enabled() -> bool:
            restore = hub_b.store.find(ACM_RESTORES, BACKUP_NAMESPACE, PASSIVE_RESTORE)
            status = (restore.obj.get("status") or {}) if restore else {}
            return status.get("phase") == "Enabled" and bool(status.get("veleroResourcesRestoreName"))

        await wait_until(hub_b.store, ACM_RESTORES, passive_enabled, namespace=BACKUP_NAMESPACE)
        for hub in (hub_a, hub_b):
            await wait_until(hub.store, hub.store.type_of("pods"), lambda h=hub: _workloads_ready(h))  # type: ignore[misc]
        await wait_until(hub_a.store, MANAGED_CLUSTERS, lambda: _fleet_available(hub_a))
        await wait_until(hub_b.store, VELERO_RESTORES, lambda: _restores_settled(hub_b), namespace=BACKUP_NAMESPACE)
        world.clock.settling = False

    async def stop(self) -> None:
        try:
            if self._tg is not None:
                if self.world is not None:
                    for task in list(self.world.tasks):
                        task.cancel()
                tg, self._tg = self._tg, None
                await tg.__aexit__(None, None, None)
        finally:
            await self.servers.stop()

    async def __aenter__(self) -> SimulatedHubPair:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def real_seconds(self, sim_seconds: float) -> float:
        """Real seconds for a simulated duration at this pair's speed (0 for the instant profile)."""
        speed = self.config.profile.speed
        return 0.0 if math.isinf(speed) else max(0.0, sim_seconds) / speed

    # -- knobs at run time -----------------------------------------------------------------

    def set_storage_available(self, available: bool) -> None:
        """Make the shared backup storage reachable or not (BSLs follow; restores fail validation)."""
        assert self.world is not None
        self.world.storage.set_available(available)

    def add_api_fault(self, hub: str, rule: Mapping[str, Any]) -> str:
        """Add a fault rule (FaultRule's fields) to ``hub``'s API server; returns its id."""
        return self.hubs[hub].server.faults.add(FaultRule.from_dict(dict(rule)))

    def remove_api_fault(self, hub: str, rule_id: str) -> None:
        self.hubs[hub].server.faults.remove(rule_id)

    def drop_watches(self, hub: str, *, stalled: bool) -> None:
        """Stall every watch on ``hub``'s API server (open and new ones send nothing; the next
        reconnects start expired), or let them deliver again."""
        faults = self.hubs[hub].server.faults
        if stalled:
            faults.stall_watches("*")
            faults.expire_next_watches("*", count=16)
        else:
            faults.unstall_watches("*")


def _workloads_ready(hub: SimHub) -> bool:
    store = hub.store
    for plural in ("deployments", "statefulsets"):
        for stored in store.list(store.type_of(plural, "apps")).items:
            replicas = (stored.obj.get("spec") or {}).get("replicas", 1)
            if (stored.obj.get("status") or {}).get("readyReplicas", 0) != replicas:
                return False
    return True


def _fleet_available(hub: SimHub) -> bool:
    for stored in hub.store.list(MANAGED_CLUSTERS).items:
        conditions = {c["type"]: c["status"] for c in (stored.obj.get("status") or {}).get("conditions") or []}
        if conditions.get(AVAILABLE) != "True":
            return False
    return True


def _restores_settled(hub: SimHub) -> bool:
    done = ("Completed", "PartiallyFailed", "FailedValidation", "Failed")
    return all((r.obj.get("status") or {}).get("phase") in done
               for r in hub.store.list(VELERO_RESTORES, BACKUP_NAMESPACE).items)
