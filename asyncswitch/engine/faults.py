"""Failure injection: disturb the cycle's new hub at a chosen phase, hold, and always roll back.

Scenarios (domain facts §4.4, aimed at namespaces where OADP and ACM really run):
- ``pause-backup``: pause the BackupSchedule (the new hub's, else the old hub's); roll back: unpause,
  except the old hub's once the switchover's primary preparation has begun (it pauses that one itself).
- ``delay-restore``: scale the velero Deployment in the backup namespace to 0; roll back: the old count.
- ``kill-observability-pod``: delete the multicluster-observability-operator pod; its Deployment
  brings it back, so there is nothing to roll back.
Injection and roll-back run shielded from cancellation, so Ctrl-C never leaves a fault behind.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ..kube import BACKUP_SCHEDULES, DEPLOYMENTS, PODS, Hub, HubApiError
from ..switchover.names import ACM_NAMESPACE, BACKUP_NAMESPACE

__all__ = ["SCENARIOS", "FaultInjector"]

SCENARIOS = ("pause-backup", "delay-restore", "kill-observability-pod")


@dataclass
class _Injected:
    scenario: str
    hub: str
    target: str
    rollback: Callable[[], Awaitable[None]] | None


class FaultInjector:
    def __init__(self, *, scenario: str, new_hub: Hub, old_hub: Hub, hold: float, rng: random.Random,
                 publish: Callable[[str, dict[str, Any]], None],
                 primary_prepared: Callable[[], bool] = lambda: False) -> None:
        self.scenario = rng.choice(SCENARIOS) if scenario == "random" else scenario
        self.new_hub = new_hub
        self.old_hub = old_hub
        self.hold = hold
        self.publish = publish
        self.primary_prepared = primary_prepared
        """True once the switchover's primary preparation has begun (it then pauses the old hub's schedule)."""
        self._injected: _Injected | None = None

    async def run(self) -> None:
        """Inject, hold (cut short by cancellation), roll back.

        The injection runs in its own task, so a cancellation cannot stop it half-way with the
        fault made but not recorded; the roll-back waits for it and is shielded too.
        """
        inject = asyncio.ensure_future(self._inject_and_announce())
        try:
            await asyncio.shield(inject)
            if self._injected is not None:
                await asyncio.sleep(self.hold)  # the fault's lifetime is the point here, not a wait for state
        finally:
            await asyncio.shield(self._clean_up(inject))

    async def _inject_and_announce(self) -> None:
        try:
            self._injected = await self._inject()
        except HubApiError as exc:
            self.publish("fault_injected", {"scenario": self.scenario, "success": False, "message": str(exc)})
            return
        if self._injected is not None:
            self.publish("fault_injected", {"scenario": self.scenario, "success": True,
                                            "hub": self._injected.hub, "target": self._injected.target})

    async def _clean_up(self, inject: asyncio.Future[None]) -> None:
        await asyncio.wait([inject])
        await self.roll_back()

    async def roll_back(self) -> None:
        injected, self._injected = self._injected, None
        if injected is None:
            return
        message = "nothing to roll back"
        success = True
        if (injected.scenario == "pause-backup" and injected.hub == self.old_hub.name
                and self.primary_prepared()):
            # Unpausing now would undo the switchover's own pause of the old hub's schedule and leave
            # both hubs writing backups to the shared storage.
            message = "left paused: the switchover pauses the old hub's schedule itself"
        elif injected.rollback is not None:
            try:
                await injected.rollback()
                message = "rolled back"
            except HubApiError as exc:
                success, message = False, str(exc)
        self.publish("fault_rolled_back", {"scenario": injected.scenario, "hub": injected.hub,
                                           "target": injected.target, "success": success, "message": message})

    async def _inject(self) -> _Injected | None:
        if self.scenario == "pause-backup":
            for hub in (self.new_hub, self.old_hub):
                found = (await hub.list(BACKUP_SCHEDULES, BACKUP_NAMESPACE, limit=1)).items
                if found and not (found[0].get("spec") or {}).get("paused"):
                    name = found[0]["metadata"]["name"]
                    await hub.patch(BACKUP_SCHEDULES, name, {"spec": {"paused": True}}, BACKUP_NAMESPACE)

                    async def unpause(hub: Hub = hub, name: str = name) -> None:
                        await hub.patch(BACKUP_SCHEDULES, name, {"spec": {"paused": False}}, BACKUP_NAMESPACE)
                    return _Injected(self.scenario, hub.name, f"backupschedule/{name}", unpause)
            self.publish("fault_injected", {"scenario": self.scenario, "success": False,
                                            "message": "no unpaused BackupSchedule on either hub"})
            return None
        hub = self.new_hub
        if self.scenario == "delay-restore":
            velero = await hub.get(DEPLOYMENTS, "velero", BACKUP_NAMESPACE)
            if velero is None:
                self.publish("fault_injected", {"scenario": self.scenario, "success": False,
                                                "message": f"no velero Deployment in {BACKUP_NAMESPACE} on {hub.name}"})
                return None
            replicas = int((velero.get("spec") or {}).get("replicas", 1)) or 1
            await hub.scale(DEPLOYMENTS, "velero", 0, BACKUP_NAMESPACE)

            async def restore_velero() -> None:
                await hub.scale(DEPLOYMENTS, "velero", replicas, BACKUP_NAMESPACE)
            return _Injected(self.scenario, hub.name, "deployment/velero", restore_velero)
        pods = (await hub.list(PODS, ACM_NAMESPACE, label_selector="name=multicluster-observability-operator")).items
        for pod in pods:
            await hub.delete(PODS, pod["metadata"]["name"], ACM_NAMESPACE)
        return _Injected(self.scenario, hub.name, f"{len(pods)} pod(s)", None)
