"""A cycle's faults: each fired at its moment, held for its duration, and always rolled back.

The cycle feeds the director what the pipeline and the monitors see (``phase_started``, ``saw``);
a fault fires once its trigger matches. Injection runs in its own task, shielded, so a cancellation
cannot stop it half-way with the fault made but not journalled or announced; the roll-back is
shielded too, and ``close`` (run when the switchover is over, on success, failure or Ctrl-C) cuts
every hold short, rolls back what is held and records every fault whose moment never came.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...kube import HubApiError, WaitTimeout
from .base import Aim, FaultContext
from .journal import FaultJournal
from .registry import PlannedFault

__all__ = ["FaultDirector", "FaultOutcome"]

RECOVERY_TIMEOUT = 300.0
"""Seconds a rolled-back target has to be back (a pod ready again, clusters Available) before the
roll-back is reported as not back."""

Publish = Callable[[str, dict[str, Any]], None]


@dataclass
class FaultOutcome:
    scenario: str
    moment: str
    acted: bool = False
    skipped: str | None = None
    """Why it never acted: its target absent at its moment, its moment never came, the injection failed."""
    rolled_back: bool = False
    recovery_s: float | None = None


class _Fault:
    def __init__(self, index: int, planned: PlannedFault, cycle_id: str) -> None:
        self.id = f"{cycle_id}/{index}-{planned.scenario.name}"
        self.planned = planned
        self.outcome = FaultOutcome(planned.scenario.name, planned.trigger.name)
        self.fired = False
        self.aim: Aim | None = None
        self.injected_at = 0.0
        self.task: asyncio.Task[None] | None = None
        self.inject: asyncio.Future[None] | None = None
        self.rolling: asyncio.Future[None] | None = None


class FaultDirector:
    def __init__(self, plan: list[PlannedFault], ctx: FaultContext, *, cycle_id: str, publish: Publish,
                 journal: FaultJournal, recovery_timeout: float = RECOVERY_TIMEOUT) -> None:
        self.ctx = ctx
        self.publish = publish
        self.journal = journal
        self.recovery_timeout = recovery_timeout
        self.cycle_id = cycle_id
        self._faults = [_Fault(i + 1, p, cycle_id) for i, p in enumerate(plan)]
        self._phase: str | None = None
        self._tg: asyncio.TaskGroup | None = None

    def start(self, task_group: asyncio.TaskGroup) -> None:
        self._tg = task_group

    # -- what the cycle sees -------------------------------------------------------------------

    def phase_started(self, phase: str) -> None:
        self._phase = phase
        for fault in self._faults:
            if not fault.fired and fault.planned.trigger.by_phase(phase):
                self._fire(fault)

    def saw(self, record_type: str, data: dict[str, Any]) -> None:
        for fault in self._faults:
            if not fault.fired and fault.planned.trigger.by_record(record_type, data, self.ctx.new_hub.name):
                self._fire(fault)

    def _fire(self, fault: _Fault) -> None:
        if self._tg is None:
            return
        fault.fired = True
        fault.task = self._tg.create_task(self._run(fault), name=f"fault:{fault.id}")

    # -- one fault -----------------------------------------------------------------------------

    def _record(self, fault: _Fault, **extra: Any) -> dict[str, Any]:
        return {"scenario": fault.planned.scenario.name, "fault_id": fault.id, "moment": fault.planned.trigger.name,
                "phase": self._phase, **extra}

    async def _run(self, fault: _Fault) -> None:
        fault.inject = asyncio.ensure_future(self._inject(fault))
        await asyncio.shield(fault.inject)
        if fault.outcome.acted:
            await asyncio.sleep(fault.planned.duration)  # the fault's lifetime is the point, not a wait for state
            await self._roll_back(fault)

    async def _inject(self, fault: _Fault) -> None:
        scenario = fault.planned.scenario
        try:
            aim = await scenario.aim(self.ctx)
        except HubApiError as exc:
            aim = f"cannot read its target: {exc}"
        if isinstance(aim, str):
            self._skip(fault, f"{aim} at {fault.planned.trigger.description}")
            return
        fault.aim = aim
        await self.journal.held({"id": fault.id, "cycle_id": self.cycle_id, "scenario": scenario.name,
                                 "hub": aim.hub, "new_hub": self.ctx.new_hub.name, "old_hub": self.ctx.old_hub.name,
                                 "target": aim.target, "undo": aim.undo})
        fault.injected_at = time.monotonic()
        try:
            await scenario.act(self.ctx, aim)
        except HubApiError as exc:
            # It may have acted in part (a sample patched half-way): roll back all the same.
            fault.outcome.acted = True
            fault.outcome.skipped = f"the injection failed: {exc}"
            self.publish("fault_injected", self._record(fault, success=False, hub=aim.hub, target=aim.target,
                                                        message=str(exc)))
            return
        fault.outcome.acted = True
        self.publish("fault_injected", self._record(fault, success=True, hub=aim.hub, target=aim.target,
                                                    duration_s=fault.planned.duration))

    def _skip(self, fault: _Fault, reason: str) -> None:
        fault.outcome.skipped = reason
        self.publish("fault_skipped", self._record(fault, reason=reason))

    async def _roll_back(self, fault: _Fault) -> None:
        if fault.rolling is None:
            fault.rolling = asyncio.ensure_future(self._undo(fault))
        await asyncio.shield(fault.rolling)

    async def _undo(self, fault: _Fault) -> None:
        aim = fault.aim
        assert aim is not None
        scenario = fault.planned.scenario
        back = False
        try:
            message = await scenario.undo(self.ctx, aim)
            success = True
        except HubApiError as exc:
            success, message = False, f"roll-back failed: {exc}"
        if success:
            await self.journal.released(fault.id)
            try:
                await scenario.back(self.ctx, aim, self.recovery_timeout)
                back = True
            except (WaitTimeout, HubApiError) as exc:
                message = f"{message}; not back: {exc}"
        recovery = time.monotonic() - fault.injected_at
        fault.outcome.rolled_back = success
        fault.outcome.recovery_s = recovery if back else None
        self.publish("fault_rolled_back", self._record(fault, hub=aim.hub, target=aim.target, success=success,
                                                       message=message, back=back, recovery_s=recovery))

    # -- the end of the switchover -------------------------------------------------------------

    def cut_short(self) -> None:
        """The switchover is over: end every hold now (the roll-backs follow in ``close``)."""
        for fault in self._faults:
            if fault.task is not None and not fault.task.done():
                fault.task.cancel()

    async def close(self) -> list[FaultOutcome]:
        """Roll back every fault still held, record those whose moment never came; run it shielded."""
        self.cut_short()
        tasks = [f.task for f in self._faults if f.task is not None]
        if tasks:
            await asyncio.wait(tasks)
        for fault in self._faults:
            if fault.inject is not None:
                await asyncio.wait([fault.inject])
            if fault.outcome.acted and fault.aim is not None:
                await self._roll_back(fault)
            elif not fault.fired:
                self._skip(fault, f"its moment ({fault.planned.trigger.description}) never came; the switchover "
                                  f"ended at {self._phase or 'its start'}")
        return [f.outcome for f in self._faults]
