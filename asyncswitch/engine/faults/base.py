"""What every fault scenario is: a target and a moment, an injection, a roll-back, and a check that
the target is back. Scenarios that need the simulator reach it through ``SimControls``."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from ...kube import DEPLOYMENTS, Hub, ResourceCache
from .triggers import Trigger

__all__ = ["Aim", "FaultContext", "Scenario", "SimControls", "wait_ready"]


@runtime_checkable
class SimControls(Protocol):
    """What the simulator-only scenarios need of an embedded hub pair (the CLI and the test
    fixtures hand the engine the pair itself; the engine never imports the simulator)."""

    def set_storage_available(self, available: bool) -> None: ...

    def add_api_fault(self, hub: str, rule: Mapping[str, Any]) -> str: ...

    def remove_api_fault(self, hub: str, rule_id: str) -> None: ...

    def drop_watches(self, hub: str, *, stalled: bool) -> None: ...


@dataclass(frozen=True)
class Aim:
    """What a fault found to disturb, and what its roll-back needs (JSON: it goes to the journal)."""

    hub: str
    target: str
    undo: dict[str, Any] = field(default_factory=dict)


@dataclass
class FaultContext:
    """The cycle a fault acts in. At a journal replay (``--resume``) there is no cycle: the roles are
    the journal's and ``primary_prepared`` is unknown (None)."""

    new_hub: Hub
    old_hub: Hub
    sim: SimControls | None
    rng: random.Random
    primary_prepared: Callable[[], bool] | None = None

    def hub(self, name: str) -> Hub:
        return self.new_hub if name == self.new_hub.name else self.old_hub

    def other(self, name: str) -> Hub:
        return self.old_hub if name == self.new_hub.name else self.new_hub


class Scenario:
    """One way real hubs suffer. Subclasses set the class attributes and the four steps."""

    name: ClassVar[str]
    summary: ClassVar[str]
    moment: ClassVar[Trigger]
    """When it fires by default (``--inject-at-phase`` replaces it with the start of that phase)."""
    needs_sim: ClassVar[bool] = False
    refusal: ClassVar[str] = ""
    """Why it is refused on real hubs (needs_sim scenarios)."""
    needs_repair: ClassVar[str] = ""
    """What an operator must fix after it before the next switchover can run (then ``random`` leaves it
    out: a soak would stop at it; name it to run it)."""

    def applies(self, *, method: str, old_hub_action: str, argocd: str) -> bool:
        """Whether it can act in a run of this method, old-hub action and --argocd mode (for ``random``)."""
        return True

    async def aim(self, ctx: FaultContext) -> Aim | str:
        """Find the target at this moment, changing nothing: an Aim, or why there is nothing to disturb."""
        raise NotImplementedError

    async def act(self, ctx: FaultContext, aim: Aim) -> None:
        raise NotImplementedError

    async def undo(self, ctx: FaultContext, aim: Aim) -> str:
        """Roll back (idempotent: a journal replay may run it again); returns what was done."""
        return "nothing to roll back"

    async def back(self, ctx: FaultContext, aim: Aim, timeout: float) -> None:  # noqa: ASYNC109
        """Return once the target is back as it was; WaitTimeout if not within ``timeout``."""


async def wait_ready(hub: Hub, name: str, namespace: str, timeout: float) -> None:  # noqa: ASYNC109
    """A Deployment with every wanted replica ready again."""

    def ready(objects: Mapping[str, Any]) -> bool:
        deploy = objects.get(name)
        if deploy is None:
            return False
        wanted = int((deploy.get("spec") or {}).get("replicas", 1))
        return int((deploy.get("status") or {}).get("readyReplicas") or 0) >= max(1, wanted)

    async with ResourceCache(hub, DEPLOYMENTS, namespace=namespace) as cache:
        await cache.wait_for(ready, timeout=timeout, description=f"deployment {name} ready on {hub.name}")
