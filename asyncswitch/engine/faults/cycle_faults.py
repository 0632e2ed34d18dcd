"""Everything the cycle loop asks of fault injection, behind one object per cycle."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import anyio
import structlog

from ...config import RunConfig
from ...kube import Hub
from .base import FaultContext, SimControls
from .director import FaultDirector, FaultOutcome
from .journal import FaultJournal
from .registry import plan_cycle
from .verdict import DAMAGED, Verdict, count_clusters, judge

__all__ = ["CycleFaults"]

Publish = Callable[[str, dict[str, Any]], None]


class CycleFaults:
    """One cycle's faults: fed by the pipeline and the monitors, closed and judged at the cycle's end."""

    def __init__(self, director: FaultDirector, hubs: dict[str, Hub], expected_clusters: int | None,
                 publish: Publish) -> None:
        self.director = director
        self.hubs = hubs
        self.expected_clusters = expected_clusters
        self.publish = publish
        self.outcomes: list[FaultOutcome] = []
        self.verdict: Verdict | None = None
        self._phases: set[str] = set()
        self._log = structlog.get_logger("asyncswitch.faults")

    @classmethod
    async def open(cls, config: RunConfig, *, cycle_id: str, new: Hub, old: Hub, sim: SimControls | None,
                   rng: random.Random, publish: Publish, journal: FaultJournal) -> CycleFaults | None:
        """None when this run injects nothing (no --inject-failure, or a dry run)."""
        if not config.inject_failure or config.dry_run:
            return None
        plan = plan_cycle(config.inject_failure, rng=rng, default_duration=config.fault_hold,
                          at=config.inject_at or config.inject_at_phase, method=config.method.value,
                          old_hub_action=config.old_hub_action.value, argocd=config.argocd.value,
                          simulated=sim is not None)
        ctx = FaultContext(new_hub=new, old_hub=old, sim=sim, rng=rng)
        director = FaultDirector(plan, ctx, cycle_id=cycle_id, publish=publish, journal=journal)
        hubs = {old.name: old, new.name: new}
        faults = cls(director, hubs, await count_clusters(hubs), publish)
        # Any phase past preflight (a resumed cycle may start later): the switchover pauses the old
        # hub's schedule itself from primary preparation on.
        ctx.primary_prepared = lambda: bool(faults._phases - {"preflight"})
        return faults

    def start(self, task_group: Any) -> None:
        self.director.start(task_group)

    def phase_started(self, phase: str) -> None:
        self._phases.add(phase)
        self.director.phase_started(phase)

    def saw(self, record_type: str, data: dict[str, Any]) -> None:
        self.director.saw(record_type, data)

    def cut_short(self) -> None:
        self.director.cut_short()

    async def close(self) -> None:
        """Roll back whatever is still held, shielded from cancellation (Ctrl-C included)."""
        with anyio.CancelScope(shield=True):
            self.outcomes = await self.director.close()

    def not_injected(self) -> list[str]:
        """Why each fault that never acted did not (for --require-injection)."""
        return [f"{o.scenario}: {o.skipped}" for o in self.outcomes if not o.acted or o.skipped]

    async def judge(self, *, success: bool) -> Verdict:
        verdict = await judge(self.hubs, success=success, expected_clusters=self.expected_clusters)
        self.verdict = verdict
        self.publish("invariant_check", verdict.report.to_json())
        self.publish("cycle_verdict", {"verdict": verdict.verdict, "scenarios": [o.scenario for o in self.outcomes],
                                       "acted": [o.scenario for o in self.outcomes if o.acted],
                                       "findings": [i.to_json() for i in verdict.report.failed()]})
        if verdict.verdict == DAMAGED:
            self._log.error("DAMAGED: an invariant broke after the injected fault(s)",
                            scenarios=[o.scenario for o in self.outcomes],
                            findings="; ".join(f"{i.name}: {i.finding}" for i in verdict.report.failed()))
        return verdict

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict.verdict if self.verdict else None,
                "faults": [{"scenario": o.scenario, "moment": o.moment, "acted": o.acted, "skipped": o.skipped,
                            "rolled_back": o.rolled_back, "recovery_s": o.recovery_s} for o in self.outcomes]}
