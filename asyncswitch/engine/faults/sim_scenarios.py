"""Scenarios that need the simulated hubs: what they disturb (the object storage, an API server's
answers and watches) is outside what a client of a real hub may or can change."""

from __future__ import annotations

from ...kube import BACKUP_STORAGE_LOCATIONS, ResourceCache
from ...switchover.names import BACKUP_NAMESPACE
from .base import Aim, FaultContext, Scenario
from .triggers import at_phase

__all__ = ["SIM_SCENARIOS"]

API_BURST = ({"verb": "*", "resource": "*", "error_rate": 0.15, "status": 429, "retry_after": 1},
             {"verb": "*", "resource": "*", "error_rate": 0.15, "status": 503})
"""The burst: about one request in seven throttled (429, Retry-After 1 s) and one in seven failing (503)."""


class _NeedsSim(Scenario):
    needs_sim = True

    async def aim(self, ctx: FaultContext) -> Aim | str:
        if ctx.sim is None:
            return "needs the simulated hubs"
        return self._aim(ctx)

    def _aim(self, ctx: FaultContext) -> Aim:
        raise NotImplementedError


class BslUnavailable(_NeedsSim):
    name = "bsl-unavailable"
    summary = "the object storage unreachable for a while: every BSL Unavailable, Velero fails validation"
    refusal = ("it makes the object storage unreachable, which a client of the hub cannot do safely "
               "(editing the DataProtectionApplication would point Velero at another bucket)")
    moment = at_phase("primary_preparation")
    needs_repair = ("the passive restore the activation patched goes Error and, once the storage is back, finishes "
                    "the activation on its own and is Finished for good: it must be deleted and created again")

    def _aim(self, ctx: FaultContext) -> Aim:
        return Aim(ctx.new_hub.name, "backupstoragelocation/default (both hubs)")

    async def act(self, ctx: FaultContext, aim: Aim) -> None:
        assert ctx.sim is not None
        ctx.sim.set_storage_available(False)

    async def undo(self, ctx: FaultContext, aim: Aim) -> str:
        if ctx.sim is None:
            return "the simulated hubs it acted on ended with their process"
        ctx.sim.set_storage_available(True)
        return "rolled back"

    async def back(self, ctx: FaultContext, aim: Aim, timeout: float) -> None:  # noqa: ASYNC109
        for hub in (ctx.new_hub, ctx.old_hub):
            async with ResourceCache(hub, BACKUP_STORAGE_LOCATIONS, namespace=BACKUP_NAMESPACE) as cache:
                await cache.wait_for(lambda objs: bool(objs) and all(
                    (b.get("status") or {}).get("phase") == "Available" for b in objs.values()),
                    timeout=timeout, description=f"the BSL Available on {hub.name}")


class ApiErrors(_NeedsSim):
    name = "api-errors"
    summary = "429 and 5xx bursts on the new hub's API server"
    refusal = "it needs the API server to fail requests on purpose (the emulator's fault table)"
    moment = at_phase("activation")

    def _aim(self, ctx: FaultContext) -> Aim:
        return Aim(ctx.new_hub.name, "apiserver (429/503 burst)")

    async def act(self, ctx: FaultContext, aim: Aim) -> None:
        assert ctx.sim is not None
        ids = [ctx.sim.add_api_fault(aim.hub, rule) for rule in API_BURST]
        aim.undo["rules"] = ids  # recorded for the roll-back of this process; a restarted pair has none

    async def undo(self, ctx: FaultContext, aim: Aim) -> str:
        if ctx.sim is None:
            return "the simulated hubs it acted on ended with their process"
        for rule_id in aim.undo.get("rules") or []:
            ctx.sim.remove_api_fault(aim.hub, rule_id)
        return "rolled back"


class WatchDrops(_NeedsSim):
    name = "watch-drops"
    summary = "every watch on the new hub's API server goes silent, and reconnects start expired (410)"
    refusal = "it needs the API server to stall its watches on purpose (the emulator's fault table)"
    moment = at_phase("post_activation_verification")

    def _aim(self, ctx: FaultContext) -> Aim:
        return Aim(ctx.new_hub.name, "apiserver (watches)")

    async def act(self, ctx: FaultContext, aim: Aim) -> None:
        assert ctx.sim is not None
        ctx.sim.drop_watches(aim.hub, stalled=True)

    async def undo(self, ctx: FaultContext, aim: Aim) -> str:
        if ctx.sim is None:
            return "the simulated hubs it acted on ended with their process"
        ctx.sim.drop_watches(aim.hub, stalled=False)
        return "rolled back"


SIM_SCENARIOS: tuple[Scenario, ...] = (BslUnavailable(), ApiErrors(), WatchDrops())
